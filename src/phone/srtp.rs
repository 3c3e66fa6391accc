//! The phone's SRTP (SDES): keys offered and accepted only over TLS, by the same rules as the
//! server's legs (`agentphone_server::security::srtp`): the phone's `srtp` setting is the
//! policy, the signalling is secure when the transport is TLS.

use agentphone_media::srtp::SrtpKeys;
use agentphone_server::security::srtp::SrtpRules;
use agentphone_sip::sdp::{Negotiated, Sdp};

use super::config::Transport;
use super::engine::Engine;

impl Engine {
    pub(super) fn srtp_rules(&self) -> SrtpRules {
        SrtpRules {
            policy: self.cfg.srtp,
            signalling_secure: self.cfg.transport == Transport::Tls,
            sdes_over_plain: false,
        }
    }

    /// Secure our answer to `offer` (our key: the one the call already uses, if any); the
    /// stream's keys, or why the offer gets 488.
    pub(super) fn secure_answer(
        &self,
        offer: &Sdp,
        neg: &mut Negotiated,
        current: Option<SrtpKeys>,
    ) -> Result<Option<SrtpKeys>, String> {
        self.srtp_rules()
            .answer(offer, &mut neg.answer, current.map(|k| k.local))
    }

    /// The keys of an answer to our `offer`, or why it is unusable.
    pub(super) fn answer_keys(
        &self,
        offer: &Sdp,
        answer: &Sdp,
    ) -> Result<Option<SrtpKeys>, String> {
        self.srtp_rules().accept_answer(offer, answer)
    }

    /// Our key for a new call's offers, when SRTP is on for us.
    pub(super) fn new_offer_key(&self) -> Option<agentphone_media::srtp::SrtpKey> {
        self.srtp_rules()
            .offer_key()
            .then(agentphone_media::srtp::SrtpKey::generate)
    }
}
