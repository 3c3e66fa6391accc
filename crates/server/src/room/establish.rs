//! The establishing phase of a room: answer the caller with early media (183 + ringback), then ring
//! candidates one at a time — team members in offer order, or the one agent, or the outbound
//! URI — each for the ring timeout (`ring.rs`), queueing a customer while nobody is free
//! (`queue.rs`), until one answers (`connect.rs`) or none is left. The hunt (`hunt.rs`) decides;
//! this file carries out its decisions and feeds it the room's wake-ups while establishing.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::{Room, Wake};
use super::call_setup::{Call, Candidate, Establishing, Phase};
use super::hunt::{Decision, Found, Hunt, Target};
use super::leg::session_config;
use super::leg::{Leg, Role};
use super::offer::OfferInput;
use super::outgoing::offer_input;
use super::{Destination, LegId, RoomSetup};
use crate::directory::DirectoryHandle;
use crate::media_engine::{LegMode, MediaCmd};
use crate::records::RecordOp;
use crate::room_handle::{OfferEvent, RoomMsg};
use crate::sip_reply;

impl Room {
    /// Record the call, answer the caller early and start the hunt. Err(reason) when the call
    /// cannot even start (the caller already has its final response).
    pub(super) async fn begin(&mut self, setup: RoomSetup) -> Result<(), String> {
        let RoomSetup {
            invite,
            caller,
            offer,
            destination,
        } = setup;
        let kind = match (&caller, &destination) {
            (Role::Customer { .. }, _) => "inbound",
            (Role::Agent(_), Destination::External { .. }) => "outbound",
            (Role::Agent(_), _) => "internal",
        };
        let (target, team) = match &destination {
            Destination::Team(t) => (t.clone(), Some(t.clone())),
            Destination::Agent(a) => (a.clone(), None),
            Destination::External { uri, .. } => (uri.to_string(), None),
        };
        self.ctx.records.write(RecordOp::Started {
            call: self.record_id.clone(),
            kind,
            caller: caller.label(),
            target,
            team: team.clone(),
        });
        if let Some(agent) = caller.agent() {
            self.ctx.directory.call_started(agent);
        }
        let (caller_leg, caller_tag) =
            match self.answer_caller_early(&invite, &caller, &offer).await {
                Ok(v) => v,
                Err((code, reason)) => {
                    if let Some(agent) = caller.agent() {
                        self.ctx.directory.call_ended(agent);
                    }
                    sip_reply::reply(&invite, code, &reason).await;
                    return Err(reason);
                }
            };
        let tried = caller
            .agent()
            .map(|a| vec![a.to_string()])
            .unwrap_or_default();
        let target = match &destination {
            // R1: a customer calling a team with nobody available queues (see queue.rs).
            Destination::Team(_) => Target::Team {
                queues: caller.is_customer(),
            },
            Destination::Agent(user) => Target::Agent {
                self_call: Some(user.as_str()) == caller.agent(),
            },
            Destination::External { .. } => Target::External,
        };
        let mut hunt = Hunt::new(target, self.ctx.config.queue_timeout);
        let next = Some(hunt.start());
        self.caller_invite = Some(invite);
        self.phase = Phase::Establishing;
        self.establishing = Some(Establishing {
            call: Call {
                caller,
                caller_leg,
                caller_tag,
                team,
                destination,
            },
            hunt,
            next,
            tried,
            reserved: None,
            ringing: None,
        });
        Ok(())
    }

    /// Carry out the hunt's decisions until one waits for an event (ringing, queued); Some(reason)
    /// when the call did not connect (the caller has its final response).
    pub(super) async fn advance_hunt(&mut self) -> Option<String> {
        let mut est = self.establishing.take()?;
        let ended = self.carry_out(&mut est).await;
        self.establishing = Some(est);
        ended
    }

    async fn carry_out(&mut self, est: &mut Establishing) -> Option<String> {
        while let Some(decision) = est.next.take() {
            match decision {
                Decision::Ask => {
                    self.changes.borrow_and_update();
                    let (found, candidate) =
                        ask_directory(&self.ctx.directory, &est.call.destination, &est.tried).await;
                    est.reserved = candidate;
                    est.next = Some(est.hunt.found(found, Instant::now()));
                }
                Decision::Queue { until, first } => {
                    if let (true, Destination::Team(t)) = (first, &est.call.destination) {
                        self.record("queued", Some(t.clone()));
                    }
                    self.caller_hears(est.call.caller_leg, LegMode::Held);
                    self.phase = Phase::Queued { until };
                }
                Decision::Fail(code, phrase) => {
                    self.answer_caller(&est.call, code, &phrase).await;
                    return Some(format!("not answered: {code} {phrase}"));
                }
                Decision::Ring { from_queue } => {
                    let candidate = match (est.reserved.take(), &est.call.destination) {
                        (Some(c), _) => c,
                        (None, Destination::External { uri, peer }) => Candidate::External {
                            uri: uri.clone(),
                            peer: *peer,
                        },
                        // The hunt rings only what the directory reserved.
                        (None, _) => {
                            est.next = Some(Decision::Fail(500, "Server Internal Error".into()));
                            continue;
                        }
                    };
                    if from_queue {
                        self.caller_hears(est.call.caller_leg, LegMode::Ringback);
                    }
                    self.phase = Phase::Establishing;
                    if let Candidate::Agent { user, .. } = &candidate {
                        est.tried.push(user.clone());
                    }
                    match self.start_ring(&est.call, candidate) {
                        Ok(ringing) => est.ringing = Some(ringing),
                        Err((code, reason)) => est.next = Some(est.hunt.missed(code, reason)),
                    }
                }
            }
        }
        None
    }

    /// One wake-up of the room while establishing or queued; Some(reason) when the call did not
    /// connect. Once the call is answered the phase is `Connected`.
    pub(super) async fn establishing_wake(&mut self, wake: Wake) -> Option<String> {
        let mut est = self.establishing.take()?;
        let ended = self.establishing_event(&mut est, wake).await;
        if self.phase != Phase::Connected {
            self.establishing = Some(est);
        } else {
            self.connected_now(est.call).await;
        }
        ended
    }

    async fn establishing_event(&mut self, est: &mut Establishing, wake: Wake) -> Option<String> {
        let now = Instant::now();
        match wake {
            Wake::Msg(None | Some(RoomMsg::Shutdown)) => {
                return Some(self.stop_establishing(est, "server shutting down").await);
            }
            Wake::Media(None) => {
                return Some(self.stop_establishing(est, "media engine stopped").await);
            }
            Wake::Media(Some(_)) => {}
            Wake::Msg(Some(RoomMsg::Offer { offer, event })) => {
                if est.ringing.as_ref().is_some_and(|r| r.offer.id == offer) {
                    let input = offer_input(&event);
                    let response = match event {
                        OfferEvent::Response(r) => Some(r),
                        OfferEvent::Failed(_) => None,
                    };
                    self.ring_input(est, input, response).await;
                } else {
                    self.abandoned_offer(offer, event).await;
                }
            }
            Wake::Msg(Some(RoomMsg::Subscribe { user, expires, tx })) => {
                // Maybe the one answering right now: decided once the call is connected.
                self.early_subs.push((user, expires, tx));
            }
            Wake::Msg(Some(RoomMsg::Resubscribe { tx, .. })) => {
                sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            }
            Wake::Msg(Some(RoomMsg::InDialog { leg, tx })) => {
                if leg == est.call.caller_leg && tx.request.method == rsip::Method::Bye {
                    // BYE in the early dialog: the caller gives up.
                    sip_reply::reply(&tx, 200, "OK").await;
                    return Some(self.caller_left(est).await);
                }
                if tx.request.method != rsip::Method::Ack {
                    sip_reply::reply(&tx, 491, "Request Pending").await;
                }
            }
            Wake::CallerCancelled => return Some(self.caller_left(est).await),
            Wake::DirectoryChanged(false) => {
                return Some(self.stop_establishing(est, "server shutting down").await);
            }
            Wake::DirectoryChanged(true) => {
                if let Phase::Queued { .. } = self.phase {
                    est.next = Some(est.hunt.queue_event(true, now));
                }
            }
            Wake::Timer => match self.phase {
                Phase::Queued { until } if now >= until => {
                    est.next = Some(est.hunt.queue_event(false, now));
                }
                _ => self.ring_input(est, OfferInput::Tick, None).await,
            },
        }
        None
    }

    /// The caller gave up (CANCEL or BYE): withdraw the offer ringing, 487.
    async fn caller_left(&mut self, est: &mut Establishing) -> String {
        self.withdraw_establishing(est);
        self.answer_caller(&est.call, 487, "Request Terminated")
            .await;
        "caller cancelled".into()
    }

    /// The server (or its media engine) stops while establishing: withdraw, 503.
    async fn stop_establishing(&mut self, est: &mut Establishing, why: &str) -> String {
        self.withdraw_establishing(est);
        if let Some(invite) = &self.caller_invite {
            sip_reply::reply(invite, 503, "Service Unavailable").await;
        }
        why.to_string()
    }

    /// A final response to the caller's INVITE (with our To tag).
    async fn answer_caller(&mut self, call: &Call, code: u16, phrase: &str) {
        answer_invite(self.caller_invite.as_ref(), &call.caller_tag, code, phrase).await;
    }

    /// Answered: the caller's dialog is confirmed, everyone hears what they should, RTP of the
    /// caller is watched, early room subscriptions are decided.
    async fn connected_now(&mut self, call: Call) {
        self.confirmed.push(call.caller_leg);
        self.apply_modes();
        let room = self.handle.id();
        let sends = self
            .legs
            .iter()
            .find(|l| l.id == call.caller_leg)
            .is_some_and(Leg::sends_media);
        self.media(MediaCmd::WatchTimeout {
            room,
            leg: call.caller_leg,
            on: sends,
        });
        for (user, expires, tx) in std::mem::take(&mut self.early_subs) {
            self.subscribe(user, expires, tx).await;
        }
    }

    /// Negotiate the caller's media, add its leg with ringback, send 100 and 183 with our answer.
    async fn answer_caller_early(
        &mut self,
        invite: &ServerTransaction,
        caller: &Role,
        offer: &Sdp,
    ) -> Result<(LegId, String), (u16, String)> {
        let ip = self.ctx.config.media_ip;
        let mut session =
            RtpSession::bind(ip).map_err(|e| (500, format!("Server Internal Error (RTP: {e})")))?;
        let negotiated = sdp::answer(
            offer,
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        )
        .map_err(|e| (488, format!("Not Acceptable Here: {}", e.0)))?;
        let config = session_config(&negotiated).ok_or((488, "Not Acceptable Here".to_string()))?;
        session
            .configure(config)
            .map_err(|e| (488, format!("Not Acceptable Here: {e}")))?;
        let tag = message::new_tag();
        // Agents talk to the room (its URI is our Contact); customers see a plain contact.
        let contact = if caller.agent().is_some() {
            self.room_uri.clone()
        } else {
            self.ctx.local_contact.clone()
        };
        let dialog = Dialog::from_uas(&invite.request, &tag, &contact, invite.peer)
            .ok_or((400, "Bad Request (cannot form a dialog)".to_string()))?;
        let id = self.new_leg_id();
        if !self.ctx.dialogs.bind(&dialog.call_id, self.handle.id(), id) {
            return Err((482, "Loop Detected".into()));
        }
        let mut answer = negotiated.answer;
        answer.session_id = self.session_id;
        self.media(MediaCmd::AddLeg {
            room: self.handle.id(),
            leg: id,
            session: Box::new(session),
            mode: LegMode::Ringback,
            watch_timeout: false,
        });
        self.legs.push(Leg {
            id,
            role: caller.clone(),
            dialog,
            local_sdp: answer.clone(),
            remote_direction: negotiated.remote_direction,
            listen_only: false,
            muted: false,
            level: 0,
        });
        sip_reply::send(
            invite,
            message::response(&invite.request, 100, "Trying", None),
        )
        .await;
        let mut early = message::response(&invite.request, 183, "Session Progress", Some(&tag));
        sip_reply::add_header(&mut early, "Contact", format!("<{contact}>"));
        sip_reply::set_sdp(&mut early, &answer);
        sip_reply::send(invite, early).await;
        Ok((id, tag))
    }
}

/// A final response to `invite` with our To `tag`.
async fn answer_invite(invite: Option<&ServerTransaction>, tag: &str, code: u16, phrase: &str) {
    if let Some(invite) = invite {
        let resp = message::response(&invite.request, code, phrase, Some(tag));
        sip_reply::send(invite, resp).await;
    }
}

/// Ask the directory for the next one to ring: a team member (not yet tried) or the agent.
async fn ask_directory(
    directory: &DirectoryHandle,
    destination: &Destination,
    tried: &[String],
) -> (Found, Option<Candidate>) {
    match destination {
        Destination::Team(t) => match directory.reserve_for_team(t, tried).await {
            Some((user, binding)) => (Found::Reserved, Some(Candidate::Agent { user, binding })),
            None => (Found::NobodyFree, None),
        },
        Destination::Agent(user) => match directory.reserve(user).await {
            Ok(binding) => (
                Found::Reserved,
                Some(Candidate::Agent {
                    user: user.clone(),
                    binding,
                }),
            ),
            Err(status) => (Found::Unavailable(status), None),
        },
        Destination::External { .. } => (Found::NobodyFree, None),
    }
}
