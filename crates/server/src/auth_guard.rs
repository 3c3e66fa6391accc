//! Digest authentication for agents (RFC 8760 SHA-256 and MD5, stateless nonces) and slowing down
//! sources that keep failing (SPEC B2).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentphone_sip::auth::{Challenge, Credentials, NonceCheck, NonceIssuer};

use crate::config::Config;
use crate::request_headers;

/// Failed attempts from one IP within [`FAILURE_WINDOW`] before it is blocked.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long a source that failed too often gets 403 without its credentials being looked at.
const BLOCK_FOR: Duration = Duration::from_secs(30);
/// Bound on remembered sources, so a spoofing flood cannot grow the map without end.
const MAX_TRACKED_SOURCES: usize = 10_000;

/// What to do with a request that needs an authenticated agent.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthDecision {
    /// The credentials are right: this agent sent it.
    Agent(String),
    /// Answer 401 with fresh challenges (`stale` when the nonce had expired).
    Challenge { stale: bool },
    /// Answer 403 with this reason.
    Forbidden(&'static str),
}

/// Checks digest credentials against the configured agents.
pub struct AuthGuard {
    config: Arc<Config>,
    /// Agent user name → password, so a check does not scan the agent list.
    passwords: HashMap<String, String>,
    nonces: NonceIssuer,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    window_start: Instant,
    blocked_until: Option<Instant>,
}

impl AuthGuard {
    /// A guard for the agents of `config`.
    pub fn new(config: Arc<Config>) -> Self {
        let nonces = NonceIssuer::new(config.nonce_lifetime);
        let passwords = config
            .agents
            .iter()
            .map(|a| (a.username.clone(), a.password.clone()))
            .collect();
        AuthGuard {
            config,
            passwords,
            nonces,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The `WWW-Authenticate` values of a 401, one per configured algorithm in the configured
    /// order (default SHA-256 first, then MD5: RFC 8760 §2.4).
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        let nonce = self.nonces.issue();
        self.config
            .digest_algorithms
            .iter()
            .map(|&algorithm| {
                Challenge {
                    realm: self.config.realm.clone(),
                    nonce: nonce.clone(),
                    algorithm,
                    opaque: None,
                    qop_auth: true,
                    stale,
                }
                .to_header_value()
            })
            .collect()
    }

    /// Check the Authorization (or Proxy-Authorization) of `req`, sent from `source`.
    pub fn check(&self, req: &rsip::Request, source: IpAddr) -> AuthDecision {
        let header = request_headers::authorization(req);
        self.check_header(header, method_name(&req.method), source)
    }

    /// [`AuthGuard::check`] from the (Proxy-)Authorization value and the method token (the SIP
    /// fast path has no rsip request).
    pub fn check_header(&self, header: Option<&str>, method: &str, source: IpAddr) -> AuthDecision {
        let now = Instant::now();
        if self.is_blocked(source, now) {
            return AuthDecision::Forbidden("Too many failed attempts");
        }
        let Some(header) = header else {
            return AuthDecision::Challenge { stale: false };
        };
        let Some(creds) = Credentials::parse(header) else {
            return self.fail(source, now, "Malformed credentials");
        };
        if creds.realm != self.config.realm {
            return AuthDecision::Challenge { stale: false };
        }
        match self.nonces.check(&creds.nonce) {
            NonceCheck::Valid => {}
            NonceCheck::Stale => return AuthDecision::Challenge { stale: true },
            NonceCheck::Invalid => return AuthDecision::Challenge { stale: false },
        }
        let Some(password) = self.passwords.get(&creds.username) else {
            return self.fail(source, now, "Wrong user name or password");
        };
        if !creds.verify(method, password) {
            return self.fail(source, now, "Wrong user name or password");
        }
        self.forget_failures(source);
        AuthDecision::Agent(creds.username)
    }

    /// A source that authenticated starts afresh (no lock taken when it never failed).
    fn forget_failures(&self, source: IpAddr) {
        let mut map = self.lock();
        if !map.is_empty() {
            map.remove(&source);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_blocked(&self, source: IpAddr, now: Instant) -> bool {
        // Never-failed sources are the common case: one lock, one hash look-up, no allocation.
        self.lock()
            .get(&source)
            .and_then(|f| f.blocked_until)
            .is_some_and(|until| until > now)
    }

    fn fail(&self, source: IpAddr, now: Instant, reason: &'static str) -> AuthDecision {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED_SOURCES && !map.contains_key(&source) {
            map.retain(|_, f| now.duration_since(f.window_start) < FAILURE_WINDOW);
        }
        let f = map.entry(source).or_insert(Failures {
            count: 0,
            window_start: now,
            blocked_until: None,
        });
        if now.duration_since(f.window_start) >= FAILURE_WINDOW {
            *f = Failures {
                count: 0,
                window_start: now,
                blocked_until: None,
            };
        }
        f.count += 1;
        if f.count >= MAX_FAILURES {
            f.blocked_until = Some(now + BLOCK_FOR);
            tracing::warn!(%source, failures = f.count, "authentication failures: source blocked for {}s", BLOCK_FOR.as_secs());
        }
        AuthDecision::Forbidden(reason)
    }
}

/// The method token (digest A2 = METHOD:URI), without formatting it into a new String.
fn method_name(method: &rsip::Method) -> &'static str {
    use rsip::Method::*;
    match method {
        Ack => "ACK",
        Bye => "BYE",
        Cancel => "CANCEL",
        Info => "INFO",
        Invite => "INVITE",
        Message => "MESSAGE",
        Notify => "NOTIFY",
        Options => "OPTIONS",
        PRack => "PRACK",
        Publish => "PUBLISH",
        Refer => "REFER",
        Register => "REGISTER",
        Subscribe => "SUBSCRIBE",
        Update => "UPDATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(extra: &str) -> AuthGuard {
        let text =
            format!("[server]\n{extra}\n[[agents]]\nusername = \"alice\"\npassword = \"a\"\n");
        let config = Config::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        AuthGuard::new(Arc::new(config))
    }

    fn algorithms(challenges: &[String]) -> Vec<String> {
        challenges
            .iter()
            .filter_map(|c| Challenge::parse(c))
            .map(|c| c.algorithm.name().to_string())
            .collect()
    }

    #[test]
    fn challenges_follow_the_configured_order() {
        assert_eq!(algorithms(&guard("").challenges(false)), ["SHA-256", "MD5"]);
        let md5_first = guard("digest_algorithms = [\"MD5\", \"SHA-256\"]");
        assert_eq!(algorithms(&md5_first.challenges(false)), ["MD5", "SHA-256"]);
        let md5_only = guard("digest_algorithms = [\"MD5\"]");
        assert_eq!(algorithms(&md5_only.challenges(true)), ["MD5"]);
    }

    #[test]
    fn method_names_are_the_wire_tokens() {
        for m in [
            rsip::Method::Register,
            rsip::Method::Invite,
            rsip::Method::PRack,
        ] {
            assert_eq!(method_name(&m), m.to_string());
        }
    }
}
