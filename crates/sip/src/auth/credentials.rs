//! `Authorization` credentials: answering challenges and verifying answers.

use super::hash::{constant_time_eq, digest_response, response_from_ha1, DigestInput};
use super::params::{digest_params, get, quote};
use super::{Algorithm, Challenge};
use rand::Rng;

/// Digest credentials as carried in `Authorization`.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Digest URI.
    pub uri: String,
    /// The response hash (hex).
    pub response: String,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Client nonce (with qop).
    pub cnonce: Option<String>,
    /// Nonce count, 8 hex digits (with qop).
    pub nc: Option<String>,
    /// Quality of protection ("auth").
    pub qop: Option<String>,
    /// Opaque value echoed from the challenge.
    pub opaque: Option<String>,
}

impl Credentials {
    /// Parse an `Authorization` header value; None when it is not complete Digest credentials.
    pub fn parse(authorization: &str) -> Option<Credentials> {
        let p = digest_params(authorization)?;
        let owned = |k: &str| get(&p, k).map(str::to_string);
        Some(Credentials {
            username: owned("username")?,
            realm: owned("realm")?,
            nonce: owned("nonce")?,
            uri: owned("uri")?,
            response: owned("response")?,
            algorithm: Algorithm::from_name(get(&p, "algorithm"))?,
            cnonce: owned("cnonce"),
            nc: owned("nc"),
            qop: owned("qop"),
            opaque: owned("opaque"),
        })
    }

    /// Answer a challenge (qop=auth when offered, new cnonce, nc counter).
    pub fn answer(
        ch: &Challenge,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
    ) -> Credentials {
        let (cnonce, nc, qop) = if ch.qop_auth {
            let cnonce = hex::encode(rand::thread_rng().gen::<[u8; 12]>());
            (
                Some(cnonce),
                Some(format!("{nc:08x}")),
                Some("auth".to_string()),
            )
        } else {
            (None, None, None)
        };
        let mut creds = Credentials {
            username: username.to_string(),
            realm: ch.realm.clone(),
            nonce: ch.nonce.clone(),
            uri: uri.to_string(),
            response: String::new(),
            algorithm: ch.algorithm,
            cnonce,
            nc,
            qop,
            opaque: ch.opaque.clone(),
        };
        creds.response = creds.expected_response(method, password);
        creds
    }

    fn input<'a>(&'a self, method: &'a str, password: &'a str) -> DigestInput<'a> {
        let qop = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(q), Some(nc), Some(cnonce)) => Some((nc.as_str(), cnonce.as_str(), q.as_str())),
            _ => None,
        };
        DigestInput {
            algorithm: self.algorithm,
            username: &self.username,
            realm: &self.realm,
            password,
            method,
            uri: &self.uri,
            nonce: &self.nonce,
            qop,
        }
    }

    fn expected_response(&self, method: &str, password: &str) -> String {
        digest_response(&self.input(method, password))
    }

    /// As [`Credentials::verify`], against a stored HA1 (hex, of this credentials' algorithm)
    /// instead of the password.
    pub fn verify_ha1(&self, method: &str, ha1: &str) -> bool {
        if !self.qop_ok() {
            return false;
        }
        let expected = response_from_ha1(&self.input(method, ""), &ha1.to_ascii_lowercase());
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }

    fn qop_ok(&self) -> bool {
        match &self.qop {
            None => true,
            Some(q) => q.eq_ignore_ascii_case("auth") && self.nc.is_some() && self.cnonce.is_some(),
        }
    }

    /// The header value (`Digest username="…", …`).
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.name()
        );
        if let (Some(qop), Some(nc), Some(cnonce)) = (&self.qop, &self.nc, &self.cnonce) {
            out.push_str(&format!(", qop={qop}, nc={nc}, cnonce={}", quote(cnonce)));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            out.push_str(&quote(opaque));
        }
        out
    }

    /// Whether `response` is right for `method` and `password`. Only qop=auth or no qop are
    /// accepted; with qop, nc and cnonce must be present.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        if !self.qop_ok() {
            return false;
        }
        let expected = self.expected_response(method, password);
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}
