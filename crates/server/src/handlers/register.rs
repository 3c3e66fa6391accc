//! REGISTER: an agent logs in (digest auth), refreshes, or logs out. Most REGISTERs never get
//! here: the SIP fast path (`sip_fast_path.rs`) answers them where they are read, with the same
//! [`registered`] decision; this handler takes the rest (queries, unusual forms).

use std::sync::Arc;

use agentphone_sip::endpoint::{Peer, ServerTransaction};

use crate::context::Ctx;
use crate::registrar::{self, RegisterRequest};
use crate::request_headers;
use crate::sip_reply;

/// What a REGISTER of an authenticated agent gets.
pub enum Outcome {
    /// This status, reason and extra headers (the binding change is already made).
    Reply {
        code: u16,
        reason: &'static str,
        headers: Vec<(&'static str, String)>,
    },
    /// It asks which bindings exist (a directory look-up: the handler's job).
    Query,
}

/// Decide a REGISTER of agent `user` (already authenticated) and make its binding change: the
/// address-of-record (To user) must be the agent's own.
pub fn registered(
    ctx: &Ctx,
    user: &str,
    to_user: Option<&str>,
    contact: Option<&str>,
    expires: Option<&str>,
    peer: Peer,
) -> Outcome {
    if to_user != Some(user) {
        return Outcome::Reply {
            code: 403,
            reason: "Forbidden (To is not your address)",
            headers: Vec::new(),
        };
    }
    let request = match registrar::read_values(contact, expires) {
        Ok(r) => r,
        Err(reason) => {
            return Outcome::Reply {
                code: 400,
                reason,
                headers: Vec::new(),
            }
        }
    };
    let headers = match request {
        RegisterRequest::Bind { contact, expires } => {
            let secs = expires.as_secs();
            // Debug, not info: refreshes arrive at the registration rate (a log line each costs
            // more than the registration).
            tracing::debug!(%user, %contact, peer = %peer.addr, secs, "registered");
            let headers = vec![
                ("Contact", format!("<{contact}>;expires={secs}")),
                ("Expires", secs.to_string()),
            ];
            ctx.liveness.registered(user, peer, contact.clone());
            ctx.directory
                .register(user, Some(registrar::binding(contact, peer, expires)));
            headers
        }
        RegisterRequest::Unbind => {
            tracing::debug!(%user, "unregistered");
            ctx.liveness.unregistered(user);
            ctx.directory.register(user, None);
            Vec::new()
        }
        RegisterRequest::Query => return Outcome::Query,
    };
    Outcome::Reply {
        code: 200,
        reason: "OK",
        headers,
    }
}

/// Handle a REGISTER.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    let to_user = request_headers::to_user(&tx.request);
    let contact = request_headers::contact(&tx.request);
    let expires = request_headers::expires(&tx.request);
    let mut resp = sip_reply::build(&tx, 200, "OK");
    match registered(ctx, &user, to_user.as_deref(), contact, expires, tx.peer) {
        Outcome::Reply { code, reason, .. } if code != 200 => {
            sip_reply::reply(&tx, code, reason).await;
            return;
        }
        Outcome::Reply { headers, .. } => {
            for (name, value) in headers {
                sip_reply::add_header(&mut resp, name, value);
            }
        }
        Outcome::Query => {
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
