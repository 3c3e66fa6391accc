//! REGISTER: an agent logs in (digest auth), refreshes, or logs out.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;

use crate::context::Ctx;
use crate::registrar::{self, RegisterRequest};
use crate::request_headers;
use crate::sip_reply;

/// Handle a REGISTER.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    // The address-of-record (To) must be the authenticated agent's own.
    if request_headers::to_user(&tx.request).as_deref() != Some(user.as_str()) {
        sip_reply::reply(&tx, 403, "Forbidden (To is not your address)").await;
        return;
    }
    let request = match registrar::read(&tx.request) {
        Ok(r) => r,
        Err(reason) => {
            sip_reply::reply(&tx, 400, reason).await;
            return;
        }
    };
    let mut resp = sip_reply::build(&tx, 200, "OK");
    match request {
        RegisterRequest::Bind { contact, expires } => {
            let secs = expires.as_secs();
            sip_reply::add_header(&mut resp, "Contact", format!("<{contact}>;expires={secs}"));
            sip_reply::add_header(&mut resp, "Expires", secs.to_string());
            // Debug, not info: refreshes arrive at the registration rate (a log line each costs
            // more than the registration).
            tracing::debug!(%user, %contact, peer = %tx.peer.addr, secs, "registered");
            ctx.liveness.registered(&user, tx.peer, contact.clone());
            ctx.directory
                .register(&user, Some(registrar::binding(contact, tx.peer, expires)));
        }
        RegisterRequest::Unbind => {
            tracing::debug!(%user, "unregistered");
            ctx.liveness.unregistered(&user);
            ctx.directory.register(&user, None);
        }
        RegisterRequest::Query => {
            if let Some(b) = ctx.directory.binding(&user).await {
                let left = b
                    .expires_at
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs();
                sip_reply::add_header(
                    &mut resp,
                    "Contact",
                    format!("<{}>;expires={left}", b.contact),
                );
            }
        }
    }
    // Stateless, like Kamailio's registrar (RFC 3261 §8.2.7): a REGISTER is idempotent and our
    // nonces are stateless, so a retransmission (the 200 was lost) is simply handled again. A
    // transaction would keep the 200 for Timer J (32 s): rate × 32 s of them, ≈ 1 KB each.
    if let Err(e) = tx.respond_stateless(resp).await {
        tracing::debug!(error = %e, peer = %tx.peer.addr, "could not answer a REGISTER");
    }
}
