//! `Authorization` credentials: answering challenges and verifying answers.

use super::{Algorithm, Challenge};

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
    /// Parse an `Authorization` header value.
    pub fn parse(authorization: &str) -> Option<Credentials> {
        let _ = authorization;
        todo!()
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
        let _ = (ch, username, password, method, uri, nc);
        todo!()
    }

    /// The header value (`Digest username="…", …`).
    pub fn to_header_value(&self) -> String {
        todo!()
    }

    /// Whether `response` is right for `method` and `password`.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        let _ = (method, password);
        todo!()
    }
}
