//! The SDP offer an INVITE must carry, read for a new call and for a supervisor joining one.

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message::fields;
use agentphone_sip::sdp::Sdp;

use crate::sip_reply;

/// The SDP offer of an INVITE: 415 for another body type (RFC 4475 `invut`), 488 without a body
/// (we need the offer), 406 when the caller's Accept leaves out application/sdp, which our
/// answer is (RFC 4475 `sdp01`), 400 when the SDP does not parse.
pub(super) fn read_offer(req: &rsip::Request) -> Result<Sdp, (u16, String)> {
    if req.body.is_empty() {
        return Err((488, "Not Acceptable Here (an SDP offer is required)".into()));
    }
    if let Some(ct) = fields::header_value(req, "Content-Type") {
        if !is_sdp(ct.split(';').next().unwrap_or_default()) {
            return Err((415, "Unsupported Media Type".into()));
        }
    }
    if !accepts_sdp(&fields::header_values(req, "Accept")) {
        return Err((406, "Not Acceptable".into()));
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| (400, "Bad Request (SDP is not UTF-8)".to_string()))?;
    Sdp::parse(text).map_err(|e| (400, format!("Bad Request (bad SDP: {})", e.0)))
}

/// Answer a [`read_offer`] refusal with the header its status calls for: a 415 lists what we
/// take (`Accept`, RFC 3261 §8.2.3), a 406 says why (`Warning: 399`, RFC 4475 §3.3.15).
pub(super) async fn refuse(tx: &ServerTransaction, code: u16, reason: &str) {
    match code {
        415 => {
            let mut resp = sip_reply::build(tx, code, reason);
            sip_reply::add_header(&mut resp, "Accept", "application/sdp");
            sip_reply::send(tx, resp).await;
        }
        406 => {
            let why = "Our answer is application/sdp, which your Accept leaves out";
            sip_reply::refuse(tx, code, reason, why).await;
        }
        _ => sip_reply::reply(tx, code, reason).await,
    }
}

/// `application/sdp`, case-insensitive, surrounding space ignored.
fn is_sdp(media_type: &str) -> bool {
    media_type.trim().eq_ignore_ascii_case("application/sdp")
}

/// Whether the Accept header values (all of them, in order) let the answer be application/sdp.
/// No Accept means application/sdp (RFC 3261 §20.1); an empty one accepts nothing. The most
/// specific range that covers it decides (`application/sdp` over `application/*` over `*/*`,
/// RFC 2616 §14.1), and `q=0` refuses.
fn accepts_sdp(values: &[String]) -> bool {
    if values.is_empty() {
        return true;
    }
    let mut best: Option<(u8, bool)> = None; // (specificity, accepted)
    for range in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let specificity = if is_sdp(media) {
            3
        } else if media.eq_ignore_ascii_case("application/*") {
            2
        } else if media == "*/*" {
            1
        } else {
            continue;
        };
        let accepted = !parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("q")
                    && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
            })
        });
        match best {
            Some((s, _)) if s > specificity => {}
            Some((s, yes)) if s == specificity => best = Some((s, yes || accepted)),
            _ => best = Some((specificity, accepted)),
        }
    }
    best.is_some_and(|(_, accepted)| accepted)
}

#[cfg(test)]
mod tests {
    use super::accepts_sdp;

    #[test]
    fn accept_headers_that_take_or_leave_out_sdp() {
        let cases: [(&[&str], bool); 16] = [
            (&[], true),
            (&["application/sdp"], true),
            (&["APPLICATION/SDP"], true),
            (&["application/sdp, application/dtmf-relay"], true),
            (
                &["multipart/mixed, application/media_control+xml, application/sdp"],
                true,
            ),
            (&["text/plain", "application/sdp;level=1"], true),
            (&["application/*"], true),
            (&["*/*"], true),
            (&["application/sdp;q=0.5"], true),
            (&["*/*;q=0, application/sdp"], true),
            // RFC 4475 sdp01
            (&["text/nobodyKnowsThis"], false),
            (&[""], false),
            (&["application/sdp;q=0"], false),
            (&["application/sdp;q=0.000, */*"], false),
            (&["application/*;q=0", "*/*"], false),
            (&["application/sdpx"], false),
        ];
        for (values, want) in cases {
            let values: Vec<String> = values.iter().map(|v| (*v).to_string()).collect();
            assert_eq!(accepts_sdp(&values), want, "{values:?}");
        }
    }
}
