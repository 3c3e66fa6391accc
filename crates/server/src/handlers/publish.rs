//! PUBLISH `Event: presence` (RFC 3903, PIDF RFC 3863): an agent switches the voice channel on
//! (`open`) or off (`closed`). `Expires: 0` withdraws it (= off). A refresh without a body keeps it.
//! PUBLISH `Event: agentphone-agent-state` (JSON): the agent sets their state (SPEC S1).

use std::sync::Arc;

use agentphone_protocol::agent_state::{self, AgentStateRequest};
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
    let package = event.split(';').next().unwrap_or_default().trim();
    let is_state = package.eq_ignore_ascii_case(agent_state::EVENT);
    if !is_state && !package.eq_ignore_ascii_case("presence") {
        let mut resp = sip_reply::build(&tx, 489, "Bad Event");
        sip_reply::add_header(
            &mut resp,
            "Allow-Events",
            format!("presence, {}", agent_state::EVENT),
        );
        sip_reply::send(&tx, resp).await;
        return;
    }
    let target = fields::to_uri(msg).and_then(|u| u.user().map(str::to_string));
    if target.as_deref() != Some(user.as_str()) {
        sip_reply::reply(&tx, 403, "Forbidden (not your presence)").await;
        return;
    }
    if is_state {
        return set_state(ctx, tx, &user).await;
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
    accepted(&tx, expires).await;
}

/// 200 with a fresh entity tag and the granted lifetime.
async fn accepted(tx: &ServerTransaction, expires: u64) {
    let mut resp = sip_reply::build(tx, 200, "OK");
    sip_reply::add_header(
        &mut resp,
        "SIP-ETag",
        format!("{:x}", rand::random::<u64>()),
    );
    sip_reply::add_header(&mut resp, "Expires", expires.to_string());
    sip_reply::send(tx, resp).await;
}

/// The agent sets their state: available, or away for one of the configured reasons. The state
/// is the server's until changed (no refresh), so the lifetime granted is the longest.
async fn set_state(ctx: &Arc<Ctx>, tx: ServerTransaction, user: &str) {
    let state = match AgentStateRequest::parse(&tx.request.body) {
        Ok(state) => state,
        Err(why) => {
            sip_reply::refuse(&tx, 400, "Bad Request", &why.to_string()).await;
            return;
        }
    };
    if let AgentStateRequest::Away { reason } = &state {
        let reasons = &ctx.config.away_reasons;
        if !reasons.iter().any(|r| r == reason) {
            let why = format!(
                "\"{reason}\" is not an away reason here: {}",
                reasons.join(", ")
            );
            sip_reply::refuse(&tx, 488, "Not Acceptable Here", &why).await;
            return;
        }
    }
    tracing::info!(%user, ?state, "agent state");
    ctx.directory.set_state(user, state);
    accepted(&tx, 3600).await;
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
