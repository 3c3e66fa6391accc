//! One handler per kind of incoming request (mini-redis style: `cmd/` one file per command).

pub mod ack;
pub mod cancel;
pub mod history;
pub mod in_dialog;
pub mod invite;
pub mod options;
pub mod publish;
pub mod register;
mod sdp_offer;
pub mod subscribe;
pub mod supervise;
pub mod unsupported;

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;

use crate::auth_guard::AuthDecision;
use crate::context::Ctx;
use crate::sip_reply;

/// `503 Service Unavailable` with `Retry-After` for a call past an admission cap.
pub async fn refuse_full(tx: &ServerTransaction, full: crate::security::admission::Full) {
    use crate::security::admission::Full;
    let (reason, retry) = match full {
        Full::Source => ("Service Unavailable (too many calls from your address)", 30),
        Full::Server => ("Service Unavailable (too many calls)", 10),
    };
    let mut resp = sip_reply::build(tx, 503, reason);
    sip_reply::add_header(&mut resp, "Retry-After", retry.to_string());
    sip_reply::send(tx, resp).await;
}

/// Refuse a new call while the server is overloaded (`security::setup_gate`): 503 with
/// Retry-After (RFC 3261 §21.5.4), sent statelessly (§8.2.7) so that the refusal keeps no
/// transaction — a retransmitted INVITE simply gets another 503.
pub async fn refuse_overloaded(tx: &ServerTransaction, why: crate::security::setup_gate::Overload) {
    tracing::debug!(peer = %tx.peer.addr, ?why, "new call shed: overloaded");
    let mut resp = sip_reply::build(tx, 503, "Service Unavailable (overloaded)");
    sip_reply::add_header(&mut resp, "Retry-After", OVERLOAD_RETRY_AFTER_S.to_string());
    if let Err(e) = tx.respond_stateless(resp).await {
        tracing::debug!(error = %e, peer = %tx.peer.addr, "could not send 503");
    }
}

/// Retry-After of an overload 503: short, the overload is measured in set-up time.
const OVERLOAD_RETRY_AFTER_S: u32 = 5;

/// Authenticate an agent's request, answering 401 (statelessly) / 403 when that fails. Some(user)
/// when it passed.
pub async fn require_agent(ctx: &Arc<Ctx>, tx: &ServerTransaction) -> Option<String> {
    match ctx.auth.check(&tx.request, tx.peer.addr.ip()) {
        AuthDecision::Agent(user) => Some(user),
        AuthDecision::Challenge { stale } => {
            let mut resp = sip_reply::build(tx, 401, "Unauthorized");
            for value in ctx.auth.challenges(stale, tx.peer.addr.ip()) {
                sip_reply::add_header(&mut resp, "WWW-Authenticate", value);
            }
            // Stateless (RFC 3261 §8.2.7): nonces are stateless too, so a retransmitted request
            // simply gets a fresh challenge and the endpoint keeps nothing per challenge.
            if let Err(e) = tx.respond_stateless(resp).await {
                tracing::debug!(error = %e, peer = %tx.peer.addr, "could not send a challenge");
            }
            None
        }
        AuthDecision::Slowed(wait) => {
            let mut resp = sip_reply::build(tx, 503, "Service Unavailable (too many attempts)");
            sip_reply::add_header(&mut resp, "Retry-After", wait.as_secs().max(1).to_string());
            sip_reply::send(tx, resp).await;
            None
        }
        AuthDecision::Forbidden(reason) => {
            sip_reply::reply(tx, 403, &format!("Forbidden ({reason})")).await;
            None
        }
    }
}
