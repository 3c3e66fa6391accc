//! Requests we do not serve outside a dialog.

use agentphone_sip::endpoint::ServerTransaction;
use rsip::headers::UntypedHeader;

use crate::sip_reply;

/// Any other method: 405 with what we allow.
pub async fn not_allowed(tx: ServerTransaction) {
    let mut resp = sip_reply::build(&tx, 405, "Method Not Allowed");
    sip_reply::add_header(&mut resp, "Allow", sip_reply::ALLOW);
    sip_reply::send(&tx, resp).await;
}

/// RFC 3261 §8.2.2.3: a request that Requires an option-tag gets `420 Bad Extension` with the
/// tags in `Unsupported` (we support no extension). True when it was refused. The caller skips
/// ACK and CANCEL, which are never refused for this.
pub async fn bad_extension(tx: &ServerTransaction) -> bool {
    let required: Vec<&str> = tx
        .request
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Require(r) => Some(r.value()),
            _ => None,
        })
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .collect();
    if required.is_empty() {
        return false;
    }
    let mut resp = sip_reply::build(tx, 420, "Bad Extension");
    sip_reply::add_header(&mut resp, "Unsupported", required.join(", "));
    sip_reply::send(tx, resp).await;
    true
}
