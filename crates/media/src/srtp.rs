//! SRTP and SRTCP (RFC 3711) with SDES keys (RFC 4568): AES_CM_128_HMAC_SHA1_80 only. An
//! [`RtpSession`](crate::session::RtpSession) given [`SrtpKeys`] protects every datagram right
//! before `send_to` and unprotects it right after `recv_from`, so jitter buffer, relay and mixer
//! only ever see plain RTP. The transform itself is the `webrtc-srtp` crate's.

use base64::Engine as _;
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

/// The one crypto suite we offer and accept (`a=crypto:<tag> AES_CM_128_HMAC_SHA1_80 inline:…`).
pub const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";
/// Master key (16) + master salt (14) bytes.
pub const KEY_LEN: usize = 30;
/// Bytes SRTP adds to an RTP packet (the 80-bit tag); SRTCP adds the index too.
pub const RTP_OVERHEAD: usize = 10;
/// Distinct SSRCs whose packets failed authentication before the receive context is rebuilt
/// (the crate keeps state per SSRC it is shown: forged packets must not grow it without bound).
const MAX_UNKNOWN_SSRCS: usize = 64;
/// Packets of reordering tolerated by the replay check (RFC 3711 §3.3.2 asks for at least 64).
const REPLAY_WINDOW: usize = 128;

/// One direction's master key and salt, as carried in `inline:` (base64 of the 30 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKey([u8; KEY_LEN]);

impl std::fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpKey(..)") // never the key material in logs
    }
}

impl SrtpKey {
    /// A fresh random key and salt.
    pub fn generate() -> SrtpKey {
        SrtpKey(rand::random())
    }

    /// The key as raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SrtpKey {
        SrtpKey(bytes)
    }

    /// `inline:BASE64` for an `a=crypto` line.
    pub fn to_inline(&self) -> String {
        format!(
            "inline:{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }

    /// Read the key params of an `a=crypto` line: `inline:BASE64[|lifetime][|MKI:len]`. Only a
    /// single key without MKI is accepted (what SDES peers send in practice).
    pub fn from_inline(params: &str) -> Option<SrtpKey> {
        let rest = params.trim().strip_prefix("inline:")?;
        let mut parts = rest.split('|');
        let b64 = parts.next()?;
        if parts.any(|p| p.contains(':')) {
            return None; // an MKI
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
            .ok()?;
        Some(SrtpKey(raw.try_into().ok()?))
    }
}

/// The keys of one SRTP stream pair: ours protects what we send, theirs unprotects what we get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The key we announced (we encrypt with it).
    pub local: SrtpKey,
    /// The key the peer announced (it encrypts with it).
    pub remote: SrtpKey,
}

/// Why a datagram was not protected/unprotected.
#[derive(Debug, thiserror::Error)]
#[error("srtp: {0}")]
pub struct SrtpError(String);

fn context(key: &SrtpKey) -> Result<Context, SrtpError> {
    let (master, salt) = key.0.split_at(16);
    Context::new(
        master,
        salt,
        ProtectionProfile::Aes128CmHmacSha1_80,
        Some(webrtc_srtp::option::srtp_replay_protection(REPLAY_WINDOW)),
        Some(webrtc_srtp::option::srtcp_replay_protection(REPLAY_WINDOW)),
    )
    .map_err(|e| SrtpError(e.to_string()))
}

/// Both directions' SRTP state.
pub struct SrtpSession {
    keys: SrtpKeys,
    tx: Context,
    rx: Context,
    unknown_ssrcs: usize,
}

impl SrtpSession {
    /// Contexts for `keys`.
    pub fn new(keys: SrtpKeys) -> Result<SrtpSession, SrtpError> {
        Ok(SrtpSession {
            keys,
            tx: context(&keys.local)?,
            rx: context(&keys.remote)?,
            unknown_ssrcs: 0,
        })
    }

    /// The keys in use.
    pub fn keys(&self) -> SrtpKeys {
        self.keys
    }

    /// Encrypt and authenticate one RTP or RTCP datagram into `out`; its length.
    pub fn protect(&mut self, datagram: &[u8], rtcp: bool, out: &mut [u8]) -> Option<usize> {
        let protected = if rtcp {
            self.tx.encrypt_rtcp(datagram)
        } else {
            self.tx.encrypt_rtp(datagram)
        }
        .ok()?;
        let dst = out.get_mut(..protected.len())?;
        dst.copy_from_slice(&protected);
        Some(protected.len())
    }

    /// Authenticate and decrypt one datagram in place; the plain length, None when it does not
    /// authenticate (forged, replayed, wrong key).
    pub fn unprotect(&mut self, buf: &mut [u8], len: usize, rtcp: bool) -> Option<usize> {
        let datagram = buf.get(..len)?;
        let plain = if rtcp {
            self.rx.decrypt_rtcp(datagram)
        } else {
            self.rx.decrypt_rtp(datagram)
        };
        match plain {
            Ok(plain) => {
                buf.get_mut(..plain.len())?.copy_from_slice(&plain);
                Some(plain.len())
            }
            Err(_) => {
                self.unknown_ssrcs += 1;
                if self.unknown_ssrcs > MAX_UNKNOWN_SSRCS {
                    if let Ok(rx) = context(&self.keys.remote) {
                        self.rx = rx;
                    }
                    self.unknown_ssrcs = 0;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{self, RtpHeader};

    fn packet(seq: u16, payload: &[u8]) -> Vec<u8> {
        let h = RtpHeader {
            marker: false,
            pt: 0,
            seq,
            ts: u32::from(seq) * 160,
            ssrc: 0x1234_5678,
        };
        let mut buf = vec![0u8; 200];
        let n = rtp::write(&h, payload, &mut buf);
        buf.truncate(n);
        buf
    }

    #[test]
    fn inline_keys_round_trip_and_refuse_garbage() {
        let key = SrtpKey::generate();
        let inline = key.to_inline();
        assert_eq!(inline.len(), "inline:".len() + 40);
        assert_eq!(SrtpKey::from_inline(&inline), Some(key));
        assert_eq!(SrtpKey::from_inline(&format!("{inline}|2^31")), Some(key));
        assert_eq!(SrtpKey::from_inline(&format!("{inline}|2^20|1:4")), None);
        assert_eq!(SrtpKey::from_inline("inline:AAAA"), None);
        assert_eq!(SrtpKey::from_inline("nonsense"), None);
        assert_eq!(format!("{key:?}"), "SrtpKey(..)");
    }

    #[test]
    fn protected_packets_hide_the_payload_and_fail_with_the_wrong_key() {
        let (a, b) = (SrtpKey::generate(), SrtpKey::generate());
        let mut alice = SrtpSession::new(SrtpKeys {
            local: a,
            remote: b,
        })
        .expect("alice");
        let mut bob = SrtpSession::new(SrtpKeys {
            local: b,
            remote: a,
        })
        .expect("bob");
        let mut eve = SrtpSession::new(SrtpKeys {
            local: b,
            remote: b,
        })
        .expect("eve");
        let payload = [0x55u8; 160];
        for seq in [1u16, 2, 3] {
            let plain = packet(seq, &payload);
            let mut wire = [0u8; 400];
            let n = alice.protect(&plain, false, &mut wire).expect("protect");
            assert_eq!(n, plain.len() + RTP_OVERHEAD);
            assert_ne!(&wire[12..12 + 160], &payload[..], "payload encrypted");
            assert_eq!(&wire[..12], &plain[..12], "header in the clear");
            let mut forged = wire;
            assert_eq!(eve.unprotect(&mut forged, n, false), None, "wrong key");
            let mut tampered = wire;
            tampered[20] ^= 1;
            assert_eq!(bob.unprotect(&mut tampered, n, false), None, "tampered");
            let got = bob.unprotect(&mut wire, n, false).expect("unprotect");
            assert_eq!(&wire[..got], &plain[..]);
        }
        // A replayed packet is refused.
        let plain = packet(4, &payload);
        let mut wire = [0u8; 400];
        let n = alice.protect(&plain, false, &mut wire).expect("protect");
        let mut again = wire;
        assert!(bob.unprotect(&mut wire, n, false).is_some());
        assert_eq!(bob.unprotect(&mut again, n, false), None, "replay");
        // RTCP too.
        let mut rtcp = [0u8; 256];
        let len = crate::rtcp::write_bye(0x1234_5678, &mut rtcp);
        let mut wire = [0u8; 400];
        let n = alice.protect(&rtcp[..len], true, &mut wire).expect("srtcp");
        assert!(n > len);
        let got = bob.unprotect(&mut wire, n, true).expect("srtcp in");
        assert_eq!(&wire[..got], &rtcp[..len]);
    }
}
