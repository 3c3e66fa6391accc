//! Ringing one candidate of the establishing phase: send the INVITE and feed its answer, the ring
//! timeout or the caller leaving to the offer machine; cancel what is not answered.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::Room;
use super::call_setup::{Call, Candidate, Ring};
use super::offer::{MissKind, Offer, OfferInput, Offeree, Step};
use super::offer_invite::OfferInvite;
use super::outgoing::{offer_input, Outgoing};
use crate::ids::OfferId;
use crate::room_handle::{OfferEvent, RoomMsg};
use crate::sip_reply;

impl Room {
    /// Ring one candidate until it answers, refuses, times out, or the caller leaves. The offer
    /// machine (`offer.rs`) decides; this loop feeds it the INVITE's events and the clock.
    pub(super) async fn ring(
        &mut self,
        call: &Call<'_>,
        candidate: Candidate,
        offer_id: OfferId,
    ) -> Ring {
        let ip = self.ctx.config.media_ip;
        let to = match &candidate {
            Candidate::Agent { user, .. } => Offeree::Agent(user.clone()),
            Candidate::External { uri, .. } => Offeree::External(uri.to_string()),
        };
        let session = match RtpSession::bind(ip) {
            Ok(s) => s,
            Err(e) => {
                self.release_offeree(&to);
                return Ring::Failed(500, format!("Server Internal Error (RTP: {e})"));
            }
        };
        let sdp_offer = Sdp::offer(
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
        let (request, peer) = match self.offer_invite(&candidate, &what, &sdp_offer) {
            Ok(v) => v,
            Err(reason) => {
                self.release_offeree(&to);
                return Ring::Failed(480, reason);
            }
        };
        let mut offer = Offer::new(offer_id, to, Instant::now(), self.ctx.config.ring_timeout);
        self.record("ringing", Some(offer.to.label().to_string()));
        let out = Outgoing::start(
            &self.ctx.endpoint,
            request,
            peer,
            offer_id,
            self.handle.clone(),
        );
        loop {
            let deadline = tokio::time::Instant::from_std(offer.deadline);
            let (step, response) = tokio::select! {
                _ = call.invite.cancelled() => (offer.handle(OfferInput::Withdraw, Instant::now()), None),
                _ = tokio::time::sleep_until(deadline) => (offer.handle(OfferInput::Tick, Instant::now()), None),
                msg = self.rx.recv() => match msg {
                    None | Some(RoomMsg::Shutdown) => {
                        offer.handle(OfferInput::Withdraw, Instant::now());
                        self.offer_over(&offer, out, true);
                        return Ring::Shutdown;
                    }
                    Some(RoomMsg::Offer { offer: id, event }) if id == offer_id => {
                        let input = offer_input(&event);
                        let response = match event {
                            OfferEvent::Response(r) => Some(r),
                            OfferEvent::Failed(_) => None,
                        };
                        (offer.handle(input, Instant::now()), response)
                    }
                    Some(RoomMsg::Offer { offer, event }) => {
                        self.abandoned_offer(offer, event).await;
                        continue;
                    }
                    Some(RoomMsg::Subscribe { user, expires, tx }) => {
                        // Maybe the one answering right now: decided once the call is connected.
                        self.early_subs.push((user, expires, tx));
                        continue;
                    }
                    Some(RoomMsg::Resubscribe { tx, .. }) => {
                        sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
                        continue;
                    }
                    Some(RoomMsg::InDialog { leg, tx }) => {
                        if leg == call.caller_leg && tx.request.method == rsip::Method::Bye {
                            // BYE in the early dialog: the caller gives up.
                            sip_reply::reply(&tx, 200, "OK").await;
                            (offer.handle(OfferInput::Withdraw, Instant::now()), None)
                        } else {
                            sip_reply::reply(&tx, 491, "Request Pending").await;
                            continue;
                        }
                    }
                },
                _ = self.media_rx.recv() => continue,
            };
            match step {
                Step::Wait | Step::Over => {}
                Step::Answered => {
                    let Some(resp) = response else { continue };
                    return self
                        .connect(call, &mut offer, &out, &resp, session, &sdp_offer)
                        .await;
                }
                Step::Missed(miss) => {
                    self.offer_over(&offer, out, miss.cancel_invite);
                    if miss.kind == MissKind::Withdrawn {
                        let resp = message::response(
                            &call.invite.request,
                            487,
                            "Request Terminated",
                            Some(&call.caller_tag),
                        );
                        sip_reply::send(call.invite, resp).await;
                        return Ring::CallerLeft;
                    }
                    if let Some((state, detail)) = miss.record(offer.to.label()) {
                        self.record(state, Some(detail));
                    }
                    let (code, reason) = miss.caller_status();
                    return Ring::Failed(code, reason);
                }
            }
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
