//! The establishing phase of a room: answer the caller with early media (183 + ringback), then ring
//! candidates one at a time — team members in offer order, or the one agent, or the outbound
//! URI — each for the ring timeout (`ring.rs`), until one answers (`connect.rs`) or none is left.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::Room;
use super::call_setup::{Call, Candidate, QueueWait, Ring};
use super::hunt::{Decision, Found, Hunt, Target};
use super::leg::session_config;
use super::leg::{Leg, Role};
use super::{Destination, LegId, RoomSetup};
use crate::directory::DirectoryHandle;
use crate::media_engine::{LegMode, MediaCmd};
use crate::records::RecordOp;
use crate::sip_reply;

impl Room {
    /// Returns Ok once a candidate answered, Err(reason) when the call did not connect (the caller
    /// already has its final response).
    pub(super) async fn establish(&mut self, setup: RoomSetup) -> Result<(), String> {
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
        let call = Call {
            invite: &invite,
            caller,
            caller_leg,
            caller_tag,
            team,
        };

        let mut tried: Vec<String> = call
            .caller
            .agent()
            .map(|a| vec![a.to_string()])
            .unwrap_or_default();
        let target = match &destination {
            // R1: a customer calling a team with nobody available queues (see queue.rs).
            Destination::Team(_) => Target::Team {
                queues: call.caller.is_customer(),
            },
            Destination::Agent(user) => Target::Agent {
                self_call: Some(user.as_str()) == call.caller.agent(),
            },
            Destination::External { .. } => Target::External,
        };
        let mut hunt = Hunt::new(target, self.ctx.config.queue_timeout);
        let mut changes = self.ctx.directory.changes();
        let mut decision = hunt.start();
        let mut reserved: Option<Candidate> = None;
        loop {
            match decision {
                Decision::Ask => {
                    changes.borrow_and_update();
                    let (found, candidate) =
                        ask_directory(&self.ctx.directory, &destination, &tried).await;
                    reserved = candidate;
                    decision = hunt.found(found, Instant::now());
                }
                Decision::Queue { until, first } => {
                    if first {
                        if let Destination::Team(t) = &destination {
                            self.record("queued", Some(t.clone()));
                        }
                    }
                    let until = tokio::time::Instant::from_std(until);
                    decision = match self.wait_in_queue(&call, until, &mut changes).await {
                        QueueWait::Changed => hunt.queue_event(true, Instant::now()),
                        QueueWait::TimedOut => hunt.queue_event(false, Instant::now()),
                        QueueWait::CallerLeft => return Err("caller cancelled".into()),
                        QueueWait::Shutdown => {
                            sip_reply::reply(&invite, 503, "Service Unavailable").await;
                            return Err("server shutting down".into());
                        }
                    };
                }
                Decision::Fail(code, phrase) => {
                    let resp =
                        message::response(&invite.request, code, &phrase, Some(&call.caller_tag));
                    sip_reply::send(&invite, resp).await;
                    return Err(format!("not answered: {code} {phrase}"));
                }
                Decision::Ring { from_queue } => {
                    let candidate = match (reserved.take(), &destination) {
                        (Some(c), _) => c,
                        (None, Destination::External { uri, peer }) => Candidate::External {
                            uri: uri.clone(),
                            peer: *peer,
                        },
                        // The hunt rings only what the directory reserved.
                        (None, _) => {
                            decision = Decision::Fail(500, "Server Internal Error".into());
                            continue;
                        }
                    };
                    if from_queue {
                        self.caller_hears(&call, LegMode::Ringback);
                    }
                    if let Candidate::Agent { user, .. } = &candidate {
                        tried.push(user.clone());
                    }
                    let offer_id = self.new_offer_id();
                    decision = match self.ring(&call, candidate, offer_id).await {
                        Ring::Answered => break,
                        Ring::Failed(code, reason) => hunt.missed(code, reason),
                        Ring::CallerLeft => return Err("caller cancelled".into()),
                        Ring::Shutdown => {
                            sip_reply::reply(&invite, 503, "Service Unavailable").await;
                            return Err("server shutting down".into());
                        }
                    };
                }
            }
        }
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
        self.caller_invite = Some(invite);
        Ok(())
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
