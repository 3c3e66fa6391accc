//! Which legs get SRTP (SDES, RFC 4568; AES_CM_128_HMAC_SHA1_80 only): a pure decision per
//! offer/answer from the leg's policy (per account or team, `[tls] srtp` by default), whether its
//! signalling came over TLS, and whether SDES keys may travel over plain SIP at all.

use agentphone_media::srtp::{SrtpKey, SrtpKeys, SUITE};
use agentphone_sip::sdp::{Crypto, Sdp, RTP_SAVP};

/// How a leg's media may be protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only (an offer that demands SRTP gets 488).
    Off,
    /// SRTP when the peer offers/accepts keys, plain RTP otherwise.
    #[default]
    Optional,
    /// SRTP or nothing: an offer without usable keys gets 488.
    Required,
}

impl SrtpPolicy {
    /// `off`, `optional`, `required`.
    pub fn parse(word: &str) -> Option<SrtpPolicy> {
        match word {
            "off" => Some(SrtpPolicy::Off),
            "optional" => Some(SrtpPolicy::Optional),
            "required" => Some(SrtpPolicy::Required),
            _ => None,
        }
    }
}

/// What decides SRTP for one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtpRules {
    /// The account's or team's policy.
    pub policy: SrtpPolicy,
    /// The leg's SIP comes over TLS (SDES keys are only secret there).
    pub signalling_secure: bool,
    /// `[tls] sdes_over_plain`: accept and send keys over plain UDP/TCP too.
    pub sdes_over_plain: bool,
}

impl SrtpRules {
    fn keys_may_travel(&self) -> bool {
        self.signalling_secure || self.sdes_over_plain
    }

    /// Should our offer to this leg carry a key?
    pub fn offer_key(&self) -> bool {
        self.policy != SrtpPolicy::Off && self.keys_may_travel()
    }

    /// The peer's key from its offer (use SRTP), None (plain RTP), or why the offer gets 488.
    pub fn accept_offer(&self, offer: &Sdp) -> Result<Option<(u32, SrtpKey)>, String> {
        let usable = offer
            .crypto_of(SUITE)
            .and_then(|c| Some((c.tag, SrtpKey::from_inline(&c.key_params)?)));
        if !offer.crypto.is_empty() && !self.keys_may_travel() {
            return Err("SDES keys over an unencrypted transport refused (use TLS)".into());
        }
        match (usable, self.policy) {
            (Some(_), SrtpPolicy::Off) | (None, _) if offer.requires_srtp() => {
                Err(format!("SRTP with {SUITE} and an inline key only"))
            }
            (None, SrtpPolicy::Required) => Err("SRTP required (a=crypto over TLS)".into()),
            (Some(_), SrtpPolicy::Off) | (None, _) => Ok(None),
            (Some(key), _) => Ok(Some(key)),
        }
    }

    /// Answer `offer`: on SRTP, put our key (`ours`, or a new one) in `answer` under the
    /// offer's tag and profile. The stream's keys, None for plain RTP, or why 488.
    pub fn answer(
        &self,
        offer: &Sdp,
        answer: &mut Sdp,
        ours: Option<SrtpKey>,
    ) -> Result<Option<SrtpKeys>, String> {
        let Some((tag, remote)) = self.accept_offer(offer)? else {
            answer.set_crypto(None, "");
            return Ok(None);
        };
        let local = ours.unwrap_or_else(SrtpKey::generate);
        answer.set_crypto(Some(crypto_line(tag, &local)), &offer.profile);
        Ok(Some(SrtpKeys { local, remote }))
    }

    /// The keys from the answer to our offer (which carried `our_offer`'s key, if any), None
    /// for plain RTP, or why the answer is unusable.
    pub fn accept_answer(&self, our_offer: &Sdp, answer: &Sdp) -> Result<Option<SrtpKeys>, String> {
        let local = local_key(our_offer);
        let remote = answer
            .crypto_of(SUITE)
            .and_then(|c| SrtpKey::from_inline(&c.key_params));
        match (local, remote) {
            (Some(local), Some(remote)) => Ok(Some(SrtpKeys { local, remote })),
            _ if self.policy == SrtpPolicy::Required => {
                Err("SRTP required but the answer has no usable key".into())
            }
            _ => Ok(None),
        }
    }
}

/// Put a fresh key in our offer (`RTP/SAVP`).
pub fn secure_offer(offer: &mut Sdp) {
    secure_offer_with(offer, &SrtpKey::generate());
}

/// Put `key` in our offer (`RTP/SAVP`).
pub fn secure_offer_with(offer: &mut Sdp, key: &SrtpKey) {
    offer.set_crypto(Some(crypto_line(1, key)), RTP_SAVP);
}

/// The key we announced in `sdp` (ours), if any.
pub fn local_key(sdp: &Sdp) -> Option<SrtpKey> {
    sdp.crypto_of(SUITE)
        .and_then(|c| SrtpKey::from_inline(&c.key_params))
}

fn crypto_line(tag: u32, key: &SrtpKey) -> Crypto {
    Crypto {
        tag,
        suite: SUITE.into(),
        key_params: key.to_inline(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_sip::sdp::{Direction, RTP_AVP};
    use std::net::{IpAddr, Ipv4Addr};

    fn offer(profile: &str, crypto: &[(&str, String)]) -> Sdp {
        let mut sdp = Sdp::offer(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            4000,
            1,
            Direction::SendRecv,
        );
        sdp.profile = profile.into();
        sdp.crypto = crypto
            .iter()
            .enumerate()
            .map(|(i, (suite, key))| Crypto {
                tag: i as u32 + 1,
                suite: (*suite).into(),
                key_params: key.clone(),
            })
            .collect();
        sdp
    }

    /// (policy, over TLS, sdes_over_plain, profile, crypto lines, Ok(SRTP?) or Err(488)).
    type Row<'a> = (
        SrtpPolicy,
        bool,
        bool,
        &'a str,
        &'a [(&'a str, String)],
        Result<bool, ()>,
    );

    #[test]
    fn offers_decided_by_policy_transport_and_keys() {
        use SrtpPolicy::*;
        let key = SrtpKey::generate().to_inline();
        let good = [(SUITE, key.clone())];
        let other_suite = [("AES_256_CM_HMAC_SHA1_80", key.clone())];
        let bad_key = [(SUITE, "inline:short".to_string())];
        // (policy, over TLS, sdes_over_plain, profile, crypto) → Ok(SRTP?) or Err(488)
        let table: &[Row] = &[
            (Optional, true, false, RTP_SAVP, &good, Ok(true)),
            (Optional, true, false, RTP_AVP, &good, Ok(true)), // best-effort SRTP
            (Required, true, false, RTP_SAVP, &good, Ok(true)),
            (Optional, true, false, RTP_AVP, &[], Ok(false)),
            (Required, true, false, RTP_AVP, &[], Err(())),
            (Required, true, false, RTP_AVP, &other_suite, Err(())),
            (Optional, true, false, RTP_SAVP, &other_suite, Err(())),
            (Optional, true, false, RTP_SAVP, &bad_key, Err(())),
            (Optional, true, false, RTP_AVP, &bad_key, Ok(false)),
            (Off, true, false, RTP_AVP, &good, Ok(false)),
            (Off, true, false, RTP_SAVP, &good, Err(())),
            (Off, false, false, RTP_AVP, &[], Ok(false)),
            // Keys in clear-text SIP: refused unless allowed.
            (Optional, false, false, RTP_AVP, &good, Err(())),
            (Optional, false, false, RTP_AVP, &[], Ok(false)),
            (Optional, false, true, RTP_SAVP, &good, Ok(true)),
            (Required, false, false, RTP_AVP, &[], Err(())),
        ];
        for (i, (policy, tls, plain_ok, profile, crypto, want)) in table.iter().enumerate() {
            let rules = SrtpRules {
                policy: *policy,
                signalling_secure: *tls,
                sdes_over_plain: *plain_ok,
            };
            let offer = offer(profile, crypto);
            let mut answer = Sdp::offer(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                5000,
                2,
                Direction::SendRecv,
            );
            let got = rules.answer(&offer, &mut answer, None);
            assert_eq!(
                got.as_ref().map(Option::is_some).map_err(|_| ()),
                *want,
                "row {i}"
            );
            if let Ok(Some(keys)) = got {
                assert_eq!(answer.profile, *profile, "row {i}: the offer's profile");
                assert_eq!(answer.crypto.len(), 1, "row {i}");
                assert_eq!(answer.crypto[0].tag, 1, "row {i}: the offer's tag");
                assert_eq!(local_key(&answer), Some(keys.local), "row {i}");
                assert_eq!(keys.remote.to_inline(), key, "row {i}");
            } else if got.is_ok() {
                assert_eq!(
                    (answer.profile.as_str(), answer.crypto.len()),
                    (RTP_AVP, 0),
                    "row {i}"
                );
            }
        }
    }

    #[test]
    fn answers_to_our_offers() {
        let rules = |policy| SrtpRules {
            policy,
            signalling_secure: true,
            sdes_over_plain: false,
        };
        assert!(rules(SrtpPolicy::Optional).offer_key());
        assert!(!rules(SrtpPolicy::Off).offer_key());
        let plain_leg = SrtpRules {
            signalling_secure: false,
            ..rules(SrtpPolicy::Required)
        };
        assert!(!plain_leg.offer_key(), "no keys over plain SIP");

        let mut ours = offer(RTP_AVP, &[]);
        secure_offer(&mut ours);
        assert_eq!(ours.profile, RTP_SAVP);
        let theirs = SrtpKey::generate();
        let answer = offer(RTP_SAVP, &[(SUITE, theirs.to_inline())]);
        let keys = rules(SrtpPolicy::Optional)
            .accept_answer(&ours, &answer)
            .expect("ok")
            .expect("srtp");
        assert_eq!((Some(keys.local), keys.remote), (local_key(&ours), theirs));
        let plain = offer(RTP_AVP, &[]);
        assert_eq!(
            rules(SrtpPolicy::Optional)
                .accept_answer(&ours, &plain)
                .ok(),
            Some(None)
        );
        assert!(rules(SrtpPolicy::Required)
            .accept_answer(&ours, &plain)
            .is_err());
    }
}
