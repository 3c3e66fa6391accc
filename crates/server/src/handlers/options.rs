//! OPTIONS outside a dialog: we are alive, and this is what we do.

use agentphone_sip::endpoint::ServerTransaction;

use crate::sip_reply;

/// Answer 200 with Allow / Accept.
pub async fn handle(tx: ServerTransaction) {
    let mut resp = sip_reply::build(&tx, 200, "OK");
    sip_reply::add_header(&mut resp, "Allow", sip_reply::ALLOW);
    sip_reply::add_header(&mut resp, "Accept", "application/sdp, application/pidf+xml");
    sip_reply::send(&tx, resp).await;
}
