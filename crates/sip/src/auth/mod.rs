//! Digest authentication (RFC 2617 / 7616 / 8760, MD5 and SHA-256, qop=auth) and stateless nonces.

mod challenge;
mod credentials;
mod hash;
mod nonce;
mod params;

pub use challenge::Challenge;
pub use credentials::Credentials;
pub use nonce::{NonceCheck, NonceIssuer};

/// Digest hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (RFC 2617).
    Md5,
    /// SHA-256 (RFC 7616 / 8760).
    Sha256,
}
