//! `WWW-Authenticate` / `Proxy-Authenticate` challenges.

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
    /// Parse a `WWW-Authenticate` header value; None when it is not a usable Digest challenge.
    pub fn parse(www_authenticate: &str) -> Option<Challenge> {
        let _ = www_authenticate;
        todo!()
    }

    /// The header value (`Digest realm="…", …`).
    pub fn to_header_value(&self) -> String {
        todo!()
    }
}
