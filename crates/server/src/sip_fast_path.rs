//! REGISTER answered where it is read (the endpoint's [`FastPath`]): the 401 challenge and the
//! 200 of a registration need no transaction (RFC 3261 §8.2.7; our nonces are stateless), so the
//! receive worker reads the request's hot headers ([`LiteRequest`]), checks the digest and
//! answers — no full parse, no TU queue, no task. Requests it does not take (in-dialog, binding
//! queries, anything the lite reader refuses) go the normal way to `handlers::register`.
//!
//! A 403 (wrong credentials) or 503 (account being guessed at) is answered here too: returning
//! None after the guard counted a failure would count it twice. A retransmission of such a REGISTER (its 403 was lost) counts
//! again, as a new attempt.

use std::sync::{Arc, Weak};

use agentphone_sip::endpoint::{FastPath, Peer};
use agentphone_sip::message::lite::LiteRequest;
use agentphone_sip::message::new_tag;

use crate::auth_guard::AuthDecision;
use crate::context::Ctx;
use crate::handlers::register::{registered, Outcome};

/// The server's fast path (holds the context weakly: the context owns the endpoint).
pub struct RegisterFastPath {
    ctx: Weak<Ctx>,
}

impl RegisterFastPath {
    /// A fast path for `ctx`'s endpoint.
    pub fn new(ctx: &Arc<Ctx>) -> Self {
        RegisterFastPath {
            ctx: Arc::downgrade(ctx),
        }
    }
}

impl FastPath for RegisterFastPath {
    fn wants(&self, method: &str) -> bool {
        method == "REGISTER"
    }

    fn answer(&self, req: &LiteRequest<'_>, peer: Peer) -> Option<Vec<u8>> {
        if req.to_has_tag() {
            return None; // inside a dialog: the router's in-dialog handler
        }
        let ctx = self.ctx.upgrade()?;
        let tag = new_tag();
        let reply = |code, reason: &str, headers: &[(&str, &str)]| {
            req.response(peer.addr, code, reason, Some(&tag), headers)
        };
        match ctx
            .auth
            .check_header(req.authorization, "REGISTER", peer.addr.ip())
        {
            AuthDecision::Challenge { stale } => {
                let challenges = ctx.auth.challenges(stale, peer.addr.ip());
                let headers: Vec<(&str, &str)> = challenges
                    .iter()
                    .map(|c| ("WWW-Authenticate", c.as_str()))
                    .collect();
                Some(reply(401, "Unauthorized", &headers))
            }
            AuthDecision::Slowed(wait) => {
                let secs = wait.as_secs().max(1).to_string();
                let reason = "Service Unavailable (too many attempts)";
                Some(reply(503, reason, &[("Retry-After", &secs)]))
            }
            AuthDecision::Forbidden(reason) => {
                Some(reply(403, &format!("Forbidden ({reason})"), &[]))
            }
            AuthDecision::Agent(user) => {
                let to_user = req.to_uri.user();
                match registered(&ctx, &user, to_user, req.contact, req.expires, peer) {
                    Outcome::Reply {
                        code,
                        reason,
                        headers,
                    } => {
                        let headers: Vec<(&str, &str)> =
                            headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                        Some(reply(code, reason, &headers))
                    }
                    Outcome::Query => None,
                }
            }
        }
    }
}
