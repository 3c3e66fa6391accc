//! Ringing one candidate of the establishing phase: send the INVITE and feed its answer, the ring
//! timeout or the caller leaving to the offer machine; cancel what is not answered.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::endpoint::Peer;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::sdp::{Direction, Sdp};

use agentphone_protocol::command::INFO_PACKAGE;

use super::actor::Room;
use super::call_setup::{Call, Candidate, Ring};
use super::leg::identity;
use super::offer::{MissKind, Offer, OfferInput, Offeree, Step};
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
        let (request, peer) = match self.build_invite(call, &candidate, &sdp_offer) {
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

    /// The INVITE for a candidate and where to send it.
    fn build_invite(
        &self,
        call: &Call<'_>,
        candidate: &Candidate,
        offer: &Sdp,
    ) -> Result<(rsip::Request, Peer), String> {
        let cfg = &self.ctx.config;
        let (from_display, from_uri) = identity(&self.ctx, &call.caller);
        let (uri, peer, to_display, to_uri) = match candidate {
            Candidate::Agent { user, binding } => (
                binding.contact.to_string(),
                binding.peer,
                cfg.agent(user).map(|a| a.display_name.clone()),
                format!("sip:{user}@{}", cfg.domain),
            ),
            Candidate::External { uri, peer } => (uri.to_string(), *peer, None, uri.to_string()),
        };
        let mut builder = RequestBuilder::new(rsip::Method::Invite, &uri)
            .map_err(|e| format!("bad target URI: {e}"))?
            .from(from_display.as_deref(), &from_uri, &message::new_tag())
            .to(to_display.as_deref(), &to_uri, None)
            .call_id(&message::new_call_id())
            .cseq(1);
        builder = match candidate {
            Candidate::Agent { .. } => builder
                .contact_with_params(&self.room_uri.to_string(), "isfocus")
                .header("Recv-Info", INFO_PACKAGE),
            Candidate::External { .. } => builder.contact(&self.ctx.local_contact.to_string()),
        };
        if let (Some(team), Candidate::Agent { .. }) = (&call.team, candidate) {
            let user = cfg
                .team(team)
                .and_then(|t| t.inbound.clone())
                .unwrap_or_else(|| team.clone());
            builder = builder.header(
                "Call-Info",
                &format!("<sip:{user}@{}>;purpose=x-agentphone-team", cfg.domain),
            );
        }
        let request = builder
            .body("application/sdp", offer.to_string().into_bytes())
            .build()
            .map_err(|e| format!("cannot build the INVITE: {e}"))?;
        Ok((request, peer))
    }
}
