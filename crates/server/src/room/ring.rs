//! Ringing one candidate of the establishing phase: send the INVITE, then feed its answer, the
//! ring timeout or the caller leaving to the offer machine (`offer.rs`) and carry out its step;
//! cancel what is not answered. The room's loop (`actor.rs`) delivers the events.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::Room;
use super::call_setup::{Call, Candidate, Establishing, Phase};
use super::offer::{Offer, OfferInput, Offeree, Step};
use super::offer_invite::OfferInvite;
use super::outgoing::Outgoing;
use super::transfer_state::RingingTarget;

impl Room {
    /// Start offering the call to `candidate`: RTP session, SDP offer, INVITE. Err: the status
    /// for the caller if this was the last candidate (the agent is released).
    pub(super) fn start_ring(
        &mut self,
        call: &Call,
        candidate: Candidate,
    ) -> Result<RingingTarget, (u16, String)> {
        let ip = self.ctx.config.media_ip;
        let to = match &candidate {
            Candidate::Agent { user, .. } => Offeree::Agent(user.clone()),
            Candidate::External { uri, .. } => Offeree::External(uri.to_string()),
        };
        let session = match RtpSession::bind(ip) {
            Ok(s) => s,
            Err(e) => {
                self.release_offeree(&to);
                return Err((500, format!("Server Internal Error (RTP: {e})")));
            }
        };
        let sdp = Sdp::offer(
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        );
        let what = OfferInvite {
            shown: &call.caller,
            team: call.team.as_deref(),
            referred_by: None,
            subject: None,
            listen_only: false,
        };
        let (request, peer) = match self.offer_invite(&candidate, &what, &sdp) {
            Ok(v) => v,
            Err(reason) => {
                self.release_offeree(&to);
                return Err((480, reason));
            }
        };
        let id = self.new_offer_id();
        let offer = Offer::new(id, to, Instant::now(), self.ctx.config.ring_timeout);
        self.record("ringing", Some(offer.to.label().to_string()));
        let out = Outgoing::start(&self.ctx.endpoint, request, peer, id, self.handle.clone());
        Ok(RingingTarget {
            offer,
            out,
            session,
            sdp,
        })
    }

    /// An input for the offer ringing now (its INVITE's event, or the clock): answered → the call
    /// connects (phase `Connected`); missed → the hunt decides what next.
    pub(super) async fn ring_input(
        &mut self,
        est: &mut Establishing,
        input: OfferInput,
        response: Option<rsip::Response>,
    ) {
        let Some(ringing) = est.ringing.as_mut() else {
            return;
        };
        match ringing.offer.handle(input, Instant::now()) {
            Step::Wait | Step::Over => {}
            Step::Answered => {
                let (Some(resp), Some(ringing)) = (response, est.ringing.take()) else {
                    return;
                };
                match self.connect(&est.call, ringing, &resp).await {
                    Ok(()) => self.phase = Phase::Connected,
                    Err((code, reason)) => est.next = Some(est.hunt.missed(code, reason)),
                }
            }
            Step::Missed(miss) => {
                let Some(ringing) = est.ringing.take() else {
                    return;
                };
                let label = ringing.offer.to.label().to_string();
                self.offer_over(&ringing.offer, ringing.out, miss.cancel_invite);
                if miss.rang_out() {
                    self.ctx.directory.ring_timed_out(&label);
                }
                if let Some((state, detail)) = miss.record(&label) {
                    self.record(state, Some(detail));
                }
                let (code, reason) = miss.caller_status();
                est.next = Some(est.hunt.missed(code, reason));
            }
        }
    }

    /// The caller left or the room stops: the offer ringing now is withdrawn.
    pub(super) fn withdraw_establishing(&mut self, est: &mut Establishing) {
        est.next = None;
        if let Some(mut ringing) = est.ringing.take() {
            let cancel = match ringing.offer.handle(OfferInput::Withdraw, Instant::now()) {
                Step::Missed(m) => m.cancel_invite,
                _ => false,
            };
            self.offer_over(&ringing.offer, ringing.out, cancel);
        }
    }

    /// An offer is over without an answer: the agent is free again; a pending INVITE is
    /// CANCELled and kept so that a late 2xx is ACKed and hung up.
    pub(super) fn offer_over(&mut self, offer: &Offer, mut out: Outgoing, cancel: bool) {
        self.release_offeree(&offer.to);
        if cancel {
            out.cancel();
            self.abandoned.push(out);
        }
    }

    fn release_offeree(&self, to: &Offeree) {
        if let Some(a) = to.agent() {
            self.ctx.directory.release(a);
        }
    }
}
