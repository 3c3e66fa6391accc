//! The digest computations of RFC 2617 / RFC 7616.

use super::Algorithm;
use md5::Md5;
use sha2::{Digest, Sha256};

impl Algorithm {
    /// Name as written in the `algorithm` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// From the `algorithm` parameter (absent = MD5); None for unsupported ones (e.g. -sess).
    pub fn from_name(name: Option<&str>) -> Option<Algorithm> {
        match name {
            None => Some(Algorithm::Md5),
            Some(n) if n.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(n) if n.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    /// Lower-case hex digest of `data`.
    pub(crate) fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }
}

/// What goes into a digest response.
pub(crate) struct DigestInput<'a> {
    pub algorithm: Algorithm,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// (nc, cnonce, qop) when qop is used.
    pub qop: Option<(&'a str, &'a str, &'a str)>,
}

impl Algorithm {
    /// HA1 = H(username:realm:password): what a server stores instead of the password.
    pub fn ha1(self, username: &str, realm: &str, password: &str) -> String {
        self.hex(&format!("{username}:{realm}:{password}"))
    }
}

/// The `response` value.
pub(crate) fn digest_response(i: &DigestInput<'_>) -> String {
    let ha1 = i.algorithm.ha1(i.username, i.realm, i.password);
    response_from_ha1(i, &ha1)
}

/// The `response` value from a stored HA1 (`i.password` unused).
pub(crate) fn response_from_ha1(i: &DigestInput<'_>, ha1: &str) -> String {
    let ha2 = i.algorithm.hex(&format!("{}:{}", i.method, i.uri));
    match i.qop {
        Some((nc, cnonce, qop)) => i
            .algorithm
            .hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", i.nonce)),
        None => i.algorithm.hex(&format!("{ha1}:{}:{ha2}", i.nonce)),
    }
}

/// Equality that takes the same time wherever the first difference is.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
