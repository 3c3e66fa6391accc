//! Stateless nonces: a millisecond timestamp plus an HMAC-SHA-256 over it with a random secret,
//! so the server keeps no per-client state and can tell its own expired nonces (stale) from forged
//! ones (invalid).

use super::hash::constant_time_eq;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nonces from the future beyond this are forged (or the clock jumped).
const MAX_CLOCK_SKEW_MS: u64 = 60_000;
/// Bytes of the MAC kept in the nonce.
const MAC_LEN: usize = 16;

/// Issues and checks stateless nonces.
pub struct NonceIssuer {
    lifetime: Duration,
    secret: [u8; 32],
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl NonceIssuer {
    /// A new issuer with a fresh random secret.
    pub fn new(lifetime: Duration) -> Self {
        NonceIssuer {
            lifetime,
            secret: rand::thread_rng().gen(),
        }
    }

    fn mac(&self, timestamp: u64, salt: u32, client: &[u8]) -> [u8; MAC_LEN] {
        let mut data = Vec::with_capacity(12 + client.len());
        data.extend_from_slice(&timestamp.to_be_bytes());
        data.extend_from_slice(&salt.to_be_bytes());
        data.extend_from_slice(client);
        hmac_sha256(&self.secret, &data)
    }

    /// A new nonce.
    pub fn issue(&self) -> String {
        self.issue_for(&[])
    }

    /// A new nonce only valid for `client` (e.g. the IP address it is sent to): an answer that
    /// comes back from elsewhere carries a nonce that is not valid there.
    pub fn issue_for(&self, client: &[u8]) -> String {
        self.issue_at(now_ms(), client)
    }

    fn issue_at(&self, timestamp_ms: u64, client: &[u8]) -> String {
        // The salt makes two nonces of the same millisecond differ (a nonce's counts are
        // tracked by servers that refuse replays).
        let salt: u32 = rand::thread_rng().gen();
        format!(
            "{timestamp_ms:016x}{salt:08x}{}",
            hex::encode(self.mac(timestamp_ms, salt, client))
        )
    }

    /// Check a nonce.
    pub fn check(&self, nonce: &str) -> NonceCheck {
        self.check_for(nonce, &[])
    }

    /// Check a nonce issued with [`NonceIssuer::issue_for`] for `client`.
    pub fn check_for(&self, nonce: &str, client: &[u8]) -> NonceCheck {
        self.check_at(nonce, now_ms(), client)
    }

    /// When a nonce of this issuer's format was issued (ms since the Unix epoch), unchecked.
    pub fn issued_ms(nonce: &str) -> Option<u64> {
        u64::from_str_radix(nonce.get(..16)?, 16).ok()
    }

    /// The random salt of a nonce of this issuer's format, unchecked: covered by the MAC, so in
    /// a checked nonce it is ours, and it tells two nonces of the same millisecond apart.
    pub fn salt(nonce: &str) -> Option<u32> {
        u32::from_str_radix(nonce.get(16..24)?, 16).ok()
    }

    fn check_at(&self, nonce: &str, now: u64, client: &[u8]) -> NonceCheck {
        let (Some(ts_hex), Some(salt_hex), Some(mac_hex)) =
            (nonce.get(..16), nonce.get(16..24), nonce.get(24..))
        else {
            return NonceCheck::Invalid;
        };
        let (Ok(timestamp), Ok(salt), Ok(mac)) = (
            u64::from_str_radix(ts_hex, 16),
            u32::from_str_radix(salt_hex, 16),
            hex::decode(mac_hex),
        ) else {
            return NonceCheck::Invalid;
        };
        if !constant_time_eq(&mac, &self.mac(timestamp, salt, client)) {
            return NonceCheck::Invalid;
        }
        if timestamp > now.saturating_add(MAX_CLOCK_SKEW_MS) {
            return NonceCheck::Invalid;
        }
        let lifetime_ms = u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(timestamp) > lifetime_ms {
            NonceCheck::Stale
        } else {
            NonceCheck::Valid
        }
    }
}

/// HMAC-SHA-256 (RFC 2104), truncated to `MAC_LEN` bytes.
fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> [u8; MAC_LEN] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(data)
        .finalize();
    let outer = Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    let mut out = [0u8; MAC_LEN];
    for (o, b) in out.iter_mut().zip(outer.iter()) {
        *o = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_nonce_is_valid_and_expires() {
        let issuer = NonceIssuer::new(Duration::from_secs(30));
        let nonce = issuer.issue_at(1_000_000, &[]);
        assert_eq!(issuer.check_at(&nonce, 1_000_000, &[]), NonceCheck::Valid);
        assert_eq!(issuer.check_at(&nonce, 1_029_999, &[]), NonceCheck::Valid);
        assert_eq!(issuer.check_at(&nonce, 1_030_001, &[]), NonceCheck::Stale);
        assert_eq!(issuer.check(&issuer.issue()), NonceCheck::Valid);
    }

    #[test]
    fn tampered_or_foreign_nonces_are_invalid() {
        let issuer = NonceIssuer::new(Duration::from_secs(30));
        let nonce = issuer.issue_at(5_000_000, &[]);
        // Move the timestamp forward to extend the lifetime: the MAC no longer matches.
        let forged = format!("{:016x}{}", 5_000_000u64 + 20_000, &nonce[16..]);
        assert_eq!(
            issuer.check_at(&forged, 5_040_000, &[]),
            NonceCheck::Invalid
        );
        let other = NonceIssuer::new(Duration::from_secs(30));
        assert_eq!(other.check_at(&nonce, 5_000_000, &[]), NonceCheck::Invalid);
        for garbage in ["", "abc", "zzzzzzzzzzzzzzzzzz", "é", &nonce[..20]] {
            assert_eq!(issuer.check(garbage), NonceCheck::Invalid, "{garbage:?}");
        }
        // A nonce from the far future is not accepted either.
        let future = issuer.issue_at(10_000_000, &[]);
        assert_eq!(issuer.check_at(&future, 1_000, &[]), NonceCheck::Invalid);
    }

    #[test]
    fn a_bound_nonce_is_only_valid_for_its_client() {
        let issuer = NonceIssuer::new(Duration::from_secs(30));
        let nonce = issuer.issue_at(1_000_000, b"\x7f\x00\x00\x01");
        assert_eq!(
            issuer.check_at(&nonce, 1_000_001, b"\x7f\x00\x00\x01"),
            NonceCheck::Valid
        );
        assert_eq!(
            issuer.check_at(&nonce, 1_000_001, b"\x7f\x00\x00\x02"),
            NonceCheck::Invalid
        );
        assert_eq!(issuer.check_at(&nonce, 1_000_001, &[]), NonceCheck::Invalid);
        assert_eq!(NonceIssuer::issued_ms(&nonce), Some(1_000_000));
        assert_eq!(
            NonceIssuer::salt(&nonce).map(|s| format!("{s:08x}")),
            Some(nonce[16..24].to_string())
        );
        assert_ne!(
            nonce,
            issuer.issue_at(1_000_000, b"\x7f\x00\x00\x01"),
            "unique"
        );
    }
}
