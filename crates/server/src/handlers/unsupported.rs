//! Requests we do not serve outside a dialog.

use agentphone_sip::endpoint::ServerTransaction;

use crate::sip_reply;

/// Any other method: 405 with what we allow.
pub async fn not_allowed(tx: ServerTransaction) {
    let mut resp = sip_reply::build(&tx, 405, "Method Not Allowed");
    sip_reply::add_header(&mut resp, "Allow", sip_reply::ALLOW);
    sip_reply::send(&tx, resp).await;
}
