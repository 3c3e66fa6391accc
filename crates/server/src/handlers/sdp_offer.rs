//! The SDP offer an INVITE must carry, read for a new call and for a supervisor joining one.

use agentphone_sip::message::fields;
use agentphone_sip::sdp::Sdp;

/// The SDP offer of an INVITE: 415 for another body type, 488 without a body (we need the offer),
/// 400 when it does not parse.
pub(super) fn read_offer(req: &rsip::Request) -> Result<Sdp, (u16, String)> {
    if req.body.is_empty() {
        return Err((488, "Not Acceptable Here (an SDP offer is required)".into()));
    }
    let msg = req;
    if let Some(ct) = fields::header_value(msg, "Content-Type") {
        if !ct
            .trim()
            .to_ascii_lowercase()
            .starts_with("application/sdp")
        {
            return Err((415, "Unsupported Media Type".into()));
        }
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| (400, "Bad Request (SDP is not UTF-8)".to_string()))?;
    Sdp::parse(text).map_err(|e| (400, format!("Bad Request (bad SDP: {})", e.0)))
}
