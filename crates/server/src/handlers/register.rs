//! REGISTER: an agent logs in (digest auth), refreshes, or logs out.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;

use crate::context::Ctx;
use crate::registrar::{self, RegisterRequest};
use crate::sip_reply;

/// Handle a REGISTER.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    let msg = sip_reply::as_message(&tx.request);
    // The address-of-record (To) must be the authenticated agent's own.
    let aor_user = message::to_uri(&msg).and_then(|u| u.user().map(str::to_string));
    if aor_user.as_deref() != Some(user.as_str()) {
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
            tracing::info!(%user, %contact, peer = %tx.peer.addr, secs, "registered");
            ctx.directory
                .register(&user, Some(registrar::binding(contact, tx.peer, expires)));
        }
        RegisterRequest::Unbind => {
            tracing::info!(%user, "unregistered");
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
    sip_reply::send(&tx, resp).await;
}
