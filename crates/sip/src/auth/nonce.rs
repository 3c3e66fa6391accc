//! Stateless nonces: a timestamp plus a keyed hash over a random server secret.

use std::time::Duration;

/// Issues and checks stateless nonces.
pub struct NonceIssuer {
    lifetime: Duration,
}

/// Result of checking a nonce.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceCheck {
    /// Ours and not expired.
    Valid,
    /// Ours but older than the lifetime.
    Stale,
    /// Not ours (tampered or garbage).
    Invalid,
}

impl NonceIssuer {
    /// A new issuer with a fresh random secret.
    pub fn new(lifetime: Duration) -> Self {
        let _ = lifetime;
        todo!()
    }
    /// A new nonce.
    pub fn issue(&self) -> String {
        let _ = self.lifetime;
        todo!()
    }
    /// Check a nonce.
    pub fn check(&self, nonce: &str) -> NonceCheck {
        let _ = nonce;
        todo!()
    }
}
