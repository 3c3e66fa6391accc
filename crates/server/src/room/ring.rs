//! Ringing one candidate: send the INVITE, wait for its answer, the ring timeout, or the caller
//! leaving; cancel what is not answered.

use std::time::{Duration, Instant};

use agentphone_media::session::RtpSession;
use agentphone_sip::endpoint::Peer;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::{identity, Room};
use super::establish::{Call, Candidate, Ring};
use super::outgoing::{OfferEvent, Outgoing};
use super::RoomMsg;
use crate::sip_reply;

/// An outbound call rings at least this long, whatever the agents' ring timeout.
const MIN_OUTBOUND_RING: Duration = Duration::from_secs(60);

impl Room {
    /// Ring one candidate until it answers, refuses, times out, or the caller leaves.
    pub(super) async fn ring(
        &mut self,
        call: &Call<'_>,
        candidate: Candidate,
        attempt: u64,
    ) -> Ring {
        let ip = self.ctx.config.media_ip;
        let agent = match &candidate {
            Candidate::Agent { user, .. } => Some(user.clone()),
            Candidate::External { .. } => None,
        };
        let release = |room: &Room| {
            if let Some(a) = &agent {
                room.ctx.directory.release(a);
            }
        };
        let session = match RtpSession::bind(ip) {
            Ok(s) => s,
            Err(e) => {
                release(self);
                return Ring::Failed(500, format!("Server Internal Error (RTP: {e})"));
            }
        };
        let offer = Sdp::offer(
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        );
        let (request, peer, ring_for, label) = match self.build_invite(call, &candidate, &offer) {
            Ok(v) => v,
            Err(reason) => {
                release(self);
                return Ring::Failed(480, reason);
            }
        };
        self.record("ringing", Some(label.clone()));
        let mut out = Outgoing::start(
            &self.ctx.endpoint,
            request,
            peer,
            attempt,
            self.handle.tx.clone(),
        );
        let deadline = tokio::time::Instant::from_std(Instant::now() + ring_for);
        loop {
            tokio::select! {
                _ = call.invite.cancelled() => {
                    out.cancel();
                    self.abandoned.push(out);
                    release(self);
                    let resp = message::response(&call.invite.request, 487, "Request Terminated", Some(&call.caller_tag));
                    sip_reply::send(call.invite, resp).await;
                    return Ring::CallerLeft;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    out.cancel();
                    self.abandoned.push(out);
                    release(self);
                    self.record("no answer", Some(label));
                    return Ring::Failed(480, "Temporarily Unavailable".into());
                }
                msg = self.rx.recv() => match msg {
                    None | Some(RoomMsg::Shutdown) => {
                        out.cancel();
                        self.abandoned.push(out);
                        release(self);
                        return Ring::Shutdown;
                    }
                    Some(RoomMsg::Offer { attempt: a, event }) if a == attempt => match event {
                        OfferEvent::Response(resp) => {
                            let code = u16::from(resp.status_code.clone());
                            if code < 200 {
                                continue;
                            }
                            if code >= 300 {
                                release(self);
                                self.record("refused", Some(format!("{label}: {code}")));
                                return Ring::Failed(code, reason_phrase(&resp));
                            }
                            return self.connect(call, &out, &resp, session, &offer, agent.as_deref(), &label).await;
                        }
                        OfferEvent::Failed(reason) => {
                            release(self);
                            self.record("unreachable", Some(format!("{label}: {reason}")));
                            return Ring::Failed(480, "Temporarily Unavailable".into());
                        }
                    },
                    Some(RoomMsg::Offer { attempt: a, event }) => self.abandoned_offer(a, event).await,
                    Some(RoomMsg::Subscribe { user, expires, tx }) => {
                        // Maybe the one answering right now: decided once the call is connected.
                        self.early_subs.push((user, expires, tx));
                    }
                    Some(RoomMsg::Resubscribe { tx, .. }) => {
                        sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
                    }
                    Some(RoomMsg::InDialog { leg, tx }) => {
                        if leg == call.caller_leg && tx.request.method == rsip::Method::Bye {
                            // BYE in the early dialog: the caller gives up.
                            sip_reply::reply(&tx, 200, "OK").await;
                            out.cancel();
                            self.abandoned.push(out);
                            release(self);
                            let resp = message::response(&call.invite.request, 487, "Request Terminated", Some(&call.caller_tag));
                            sip_reply::send(call.invite, resp).await;
                            return Ring::CallerLeft;
                        }
                        sip_reply::reply(&tx, 491, "Request Pending").await;
                    }
                },
                _ = self.media_rx.recv() => {}
            }
        }
    }

    /// The INVITE for a candidate, where to send it, how long to ring, and a label for records.
    fn build_invite(
        &self,
        call: &Call<'_>,
        candidate: &Candidate,
        offer: &Sdp,
    ) -> Result<(rsip::Request, Peer, Duration, String), String> {
        let cfg = &self.ctx.config;
        let (from_display, from_uri) = identity(&self.ctx, &call.caller);
        let (uri, peer, to_display, to_uri, ring_for, label) = match candidate {
            Candidate::Agent { user, binding } => (
                binding.contact.to_string(),
                binding.peer,
                cfg.agent(user).map(|a| a.display_name.clone()),
                format!("sip:{user}@{}", cfg.domain),
                cfg.ring_timeout,
                user.clone(),
            ),
            Candidate::External { uri, peer } => (
                uri.to_string(),
                *peer,
                None,
                uri.to_string(),
                cfg.ring_timeout.max(MIN_OUTBOUND_RING),
                uri.to_string(),
            ),
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
                .header("Recv-Info", super::commands::INFO_PACKAGE),
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
        Ok((request, peer, ring_for, label))
    }
}

fn reason_phrase(resp: &rsip::Response) -> String {
    let full = resp.status_code.to_string();
    full.split_once(' ')
        .map(|(_, r)| r.to_string())
        .unwrap_or(full)
}
