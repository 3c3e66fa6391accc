//! CANCEL that the endpoint could not match to a pending INVITE (matched ones are answered by
//! the endpoint, and the room sees `cancelled()`).

use agentphone_sip::endpoint::ServerTransaction;

use crate::sip_reply;

/// Answer 481.
pub async fn handle(tx: ServerTransaction) {
    sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
}
