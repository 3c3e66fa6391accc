//! Digest authentication for agents (RFC 8760 SHA-256 and MD5, qop=auth) against secrets stored
//! as HA1, with nonces bound to the client's address, nonce counts checked against replays, and
//! failures throttled per (account, source) and per account (SPEC B2, issue 11 §2–3).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use agentphone_sip::auth::{Challenge, Credentials, NonceCheck, NonceIssuer};

use crate::config::Config;
use crate::request_headers;
use crate::security::events::{self, Kind};
use crate::security::nonce_counts::NonceCounts;
use crate::security::secrets::Ha1;
use crate::security::throttle::{Gate, Throttle};

/// Slots for nonces remembered with their counts (only after a verified answer): 24 bytes each,
/// 3 MB allocated and written at start.
const COUNTED_NONCE_SLOTS: usize = 1 << 17;

/// What to do with a request that needs an authenticated agent.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthDecision {
    /// The credentials are right: this agent sent it.
    Agent(String),
    /// Answer 401 with fresh challenges (`stale` when the nonce had expired or was used up).
    Challenge { stale: bool },
    /// Answer 403 with this reason.
    Forbidden(&'static str),
    /// Answer 503 with `Retry-After`: the account is being guessed at, answers from new sources
    /// are checked at a slow rate only.
    Slowed(Duration),
}

/// Checks digest credentials against the agents' stored secrets.
pub struct AuthGuard {
    config: Arc<Config>,
    /// Agent user name → HA1s.
    secrets: HashMap<String, Ha1>,
    nonces: NonceIssuer,
    state: Mutex<State>,
}

struct State {
    throttle: Throttle,
    counts: NonceCounts,
}

impl AuthGuard {
    /// A guard for the agents of `config` with their `secrets`.
    pub fn new(config: Arc<Config>, secrets: HashMap<String, Ha1>) -> Self {
        let nonces = NonceIssuer::new(config.nonce_lifetime);
        AuthGuard {
            state: Mutex::new(State {
                throttle: Throttle::new(config.security.throttle.clone()),
                counts: NonceCounts::new(COUNTED_NONCE_SLOTS),
            }),
            config,
            secrets,
            nonces,
        }
    }

    /// The `WWW-Authenticate` values of a 401 to `client`, one per configured algorithm in the
    /// configured order (default SHA-256 first, then MD5: RFC 8760 §2.4); the nonce is only valid
    /// for answers from `client`.
    pub fn challenges(&self, stale: bool, client: IpAddr) -> Vec<String> {
        let nonce = self.nonces.issue_for(&ip_bytes(client));
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
        let Some(header) = header else {
            return AuthDecision::Challenge { stale: false };
        };
        if !is_digest(header) {
            // Credentials in a scheme we do not know are as good as none: challenge with ours
            // (RFC 4475 §3.3.9 `regaut01`).
            return AuthDecision::Challenge { stale: false };
        }
        let Some(creds) = Credentials::parse(header) else {
            return AuthDecision::Forbidden("Malformed credentials");
        };
        if creds.realm != self.config.realm {
            return AuthDecision::Challenge { stale: false };
        }
        // A nonce issued to another address (or not by us) is not counted as a failure: the
        // source never received it, so it may be spoofing somebody else's address.
        match self.nonces.check_for(&creds.nonce, &ip_bytes(source)) {
            NonceCheck::Valid => {}
            NonceCheck::Stale => return AuthDecision::Challenge { stale: true },
            NonceCheck::Invalid => return AuthDecision::Challenge { stale: false },
        }
        // qop=auth only: it is what makes a nonce count, and so replays, checkable.
        let nc = match (&creds.qop, &creds.nc, &creds.cnonce) {
            (Some(q), Some(nc), Some(_)) if q.eq_ignore_ascii_case("auth") => {
                u32::from_str_radix(nc, 16).ok()
            }
            _ => None,
        };
        let Some(nc) = nc else {
            return AuthDecision::Challenge { stale: false };
        };
        let secret = self.secrets.get(&creds.username);
        let account = secret.map(|_| creds.username.as_str());
        let now = Instant::now();
        let mut state = self.lock();
        match state.throttle.gate(account, source, now) {
            Gate::Check => {}
            Gate::BackOff(left) => {
                events::log(
                    Kind::AuthBackoff,
                    source,
                    &creds.username,
                    &format!("{}s left", left.as_secs().max(1)),
                );
                return AuthDecision::Forbidden("Too many failed attempts");
            }
            Gate::Slowed(wait) => {
                events::log(
                    Kind::AuthSlowed,
                    source,
                    &creds.username,
                    "account guessed from many sources",
                );
                return AuthDecision::Slowed(wait);
            }
        }
        let right =
            secret.is_some_and(|s| creds.verify_ha1(method, s.for_algorithm(creds.algorithm)));
        if !right {
            let backoff = state.throttle.failed(account, source, now);
            drop(state);
            let detail = match backoff {
                Some(b) => format!("wrong password; back-off {}s", b.as_secs()),
                None => "wrong password".to_string(),
            };
            events::log(Kind::AuthFailure, source, &creds.username, &detail);
            return AuthDecision::Forbidden("Wrong user name or password");
        }
        // Both parse: the nonce was checked above (a stamp of 0 would only be refused).
        let issued = NonceIssuer::issued_ms(&creds.nonce).unwrap_or(0);
        let salt = NonceIssuer::salt(&creds.nonce).unwrap_or(0);
        if !state.counts.first_use(issued, salt, nc) {
            drop(state);
            events::log(
                Kind::AuthReplay,
                source,
                &creds.username,
                "nonce count used before",
            );
            return AuthDecision::Challenge { stale: true };
        }
        state.throttle.succeeded(&creds.username, source, now);
        AuthDecision::Agent(creds.username)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoned only by a panic mid-update of plain counters: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
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

/// Whether an Authorization value is in the Digest scheme (case-insensitive).
fn is_digest(header: &str) -> bool {
    header
        .trim_start()
        .split([' ', '\t'])
        .next()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("Digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(extra: &str) -> AuthGuard {
        let text =
            format!("[server]\n{extra}\n[[agents]]\nusername = \"alice\"\npassword = \"a\"\n");
        let config = Config::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        AuthGuard::new(Arc::new(config), HashMap::new())
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
        assert_eq!(
            algorithms(&guard("").challenges(false, IpAddr::from([127, 0, 0, 1]))),
            ["SHA-256", "MD5"]
        );
        let md5_first = guard("digest_algorithms = [\"MD5\", \"SHA-256\"]");
        assert_eq!(
            algorithms(&md5_first.challenges(false, IpAddr::from([127, 0, 0, 1]))),
            ["MD5", "SHA-256"]
        );
        let md5_only = guard("digest_algorithms = [\"MD5\"]");
        assert_eq!(
            algorithms(&md5_only.challenges(true, IpAddr::from([127, 0, 0, 1]))),
            ["MD5"]
        );
    }

    #[test]
    fn credentials_are_challenged_or_refused_by_their_scheme() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let guard = guard("");
        let challenge = AuthDecision::Challenge { stale: false };
        let cases = [
            // RFC 4475 regaut01: an unknown scheme gets our challenge
            ("NoOneKnowsThisScheme opaque-data=here", challenge),
            (
                "Basic YWxpY2U6YQ==",
                AuthDecision::Challenge { stale: false },
            ),
            ("Bearer", AuthDecision::Challenge { stale: false }),
            // a Digest we cannot read is refused
            ("Digest", AuthDecision::Forbidden("Malformed credentials")),
            (
                "digest username=\"alice\"",
                AuthDecision::Forbidden("Malformed credentials"),
            ),
        ];
        for (header, want) in cases {
            assert_eq!(
                guard.check_header(Some(header), "REGISTER", ip),
                want,
                "{header}"
            );
        }
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
