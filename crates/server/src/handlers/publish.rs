//! PUBLISH `Event: presence` (RFC 3903, PIDF RFC 3863): an agent switches the voice channel on
//! (`open`) or off (`closed`). `Expires: 0` withdraws it (= off). A refresh without a body keeps it.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message::fields;

use crate::context::Ctx;
use crate::sip_reply;

/// Handle a PUBLISH.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    let msg = &tx.request;
    let event = fields::header_value(msg, "Event").unwrap_or_default();
    if !event
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("presence")
    {
        let mut resp = sip_reply::build(&tx, 489, "Bad Event");
        sip_reply::add_header(&mut resp, "Allow-Events", "presence");
        sip_reply::send(&tx, resp).await;
        return;
    }
    let target = fields::to_uri(msg).and_then(|u| u.user().map(str::to_string));
    if target.as_deref() != Some(user.as_str()) {
        sip_reply::reply(&tx, 403, "Forbidden (not your presence)").await;
        return;
    }
    let expires = match fields::header_value(msg, "Expires").map(|v| v.trim().parse::<u64>()) {
        None => 3600,
        Some(Ok(v)) => v.min(3600),
        Some(Err(_)) => {
            sip_reply::reply(&tx, 400, "Bad Expires header").await;
            return;
        }
    };
    if expires == 0 {
        ctx.directory.set_voice(&user, false);
    } else if !tx.request.body.is_empty() {
        match voice_open(&tx.request.body) {
            Some(active) => {
                tracing::info!(%user, active, "voice channel");
                ctx.directory.set_voice(&user, active);
            }
            None => {
                sip_reply::reply(&tx, 400, "Bad PIDF body (no basic open/closed)").await;
                return;
            }
        }
    }
    let mut resp = sip_reply::build(&tx, 200, "OK");
    sip_reply::add_header(
        &mut resp,
        "SIP-ETag",
        format!("{:x}", rand::random::<u64>()),
    );
    sip_reply::add_header(&mut resp, "Expires", expires.to_string());
    sip_reply::send(&tx, resp).await;
}

/// `<basic>open</basic>` → true, `closed` → false (namespace prefixes allowed); None otherwise.
fn voice_open(body: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(body).ok()?.to_ascii_lowercase();
    let start = text.find("basic>")? + "basic>".len();
    let value = text.get(start..)?.split('<').next()?.trim();
    match value {
        "open" => Some(true),
        "closed" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::voice_open;

    #[test]
    fn reads_pidf_basic_status() {
        let open = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="voice"><status><basic>open</basic></status></tuple></presence>"#;
        assert_eq!(voice_open(open), Some(true));
        assert_eq!(voice_open(b"<p:basic> Closed </p:basic>"), Some(false));
        assert_eq!(voice_open(b"<basic>maybe</basic>"), None);
        assert_eq!(voice_open(&[0xff, 0xfe]), None);
    }
}
