//! Small helpers to build and send responses (headers added as plain name/value pairs).

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::Sdp;

/// Methods the server understands, for `Allow`.
pub const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, PUBLISH, INFO, SUBSCRIBE, NOTIFY, REFER, MESSAGE";

/// A response to `tx`'s request. Final responses to requests without a To tag get one.
pub fn build(tx: &ServerTransaction, code: u16, reason: &str) -> rsip::Response {
    let tag = (code >= 200).then(message::new_tag);
    message::response(&tx.request, code, reason, tag.as_deref())
}

/// Add a header by name.
pub fn add_header(resp: &mut rsip::Response, name: &str, value: impl Into<String>) {
    resp.headers
        .push(rsip::Header::Other(name.to_string(), value.into()));
}

/// Put an SDP body into a response.
pub fn set_sdp(resp: &mut rsip::Response, sdp: &Sdp) {
    add_header(resp, "Content-Type", "application/sdp");
    resp.body = sdp.to_string().into_bytes();
}

/// Send a response, logging (not failing) when the transport refuses it.
pub async fn send(tx: &ServerTransaction, resp: rsip::Response) {
    if let Err(e) = tx.respond(resp).await {
        tracing::debug!(error = %e, peer = %tx.peer.addr, "could not send a response");
    }
}

/// Build and send a plain response.
pub async fn reply(tx: &ServerTransaction, code: u16, reason: &str) {
    send(tx, build(tx, code, reason)).await;
}

/// The request as a `SipMessage`, for the header helpers of `agentphone_sip::message`.
pub fn as_message(req: &rsip::Request) -> rsip::SipMessage {
    rsip::SipMessage::Request(req.clone())
}

/// A refusal with a `Warning: 399 agentphone "…"` whose text is the reason an agent reads.
pub async fn refuse(tx: &ServerTransaction, code: u16, reason: &str, warning: &str) {
    let mut resp = build(tx, code, reason);
    add_header(&mut resp, "Warning", warning_value(warning));
    send(tx, resp).await;
}

/// The value of a Warning header (RFC 3261 §20.43) carrying `text` (quotes and backslashes escaped).
pub fn warning_value(text: &str) -> String {
    let escaped: String = text
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("399 agentphone \"{escaped}\"")
}
