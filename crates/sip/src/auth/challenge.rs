//! `WWW-Authenticate` / `Proxy-Authenticate` challenges.

use super::params::{digest_params, get, quote};
use super::Algorithm;

/// A digest challenge.
#[derive(Clone, Debug)]
pub struct Challenge {
    /// Realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Opaque value to echo back.
    pub opaque: Option<String>,
    /// Whether qop=auth is offered.
    pub qop_auth: bool,
    /// Whether the previous nonce was merely stale.
    pub stale: bool,
}

impl Challenge {
    /// Parse a `WWW-Authenticate` header value; None when it is not a usable Digest challenge
    /// (other scheme, unsupported algorithm, missing realm or nonce).
    pub fn parse(www_authenticate: &str) -> Option<Challenge> {
        let p = digest_params(www_authenticate)?;
        Some(Challenge {
            realm: get(&p, "realm")?.to_string(),
            nonce: get(&p, "nonce")?.to_string(),
            algorithm: Algorithm::from_name(get(&p, "algorithm"))?,
            opaque: get(&p, "opaque").map(str::to_string),
            qop_auth: get(&p, "qop")
                .is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth"))),
            stale: get(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The header value (`Digest realm="…", nonce="…", …`).
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        );
        if self.qop_auth {
            out.push_str(", qop=\"auth\"");
        }
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.name());
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&quote(opaque));
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        out
    }
}
