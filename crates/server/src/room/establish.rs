//! The establishing phase of a room: answer the caller with early media (183 + ringback), then ring
//! candidates one at a time — team members in offer order, or the one agent, or the outbound
//! URI — each for the ring timeout (`ring.rs`), until one answers (`connect.rs`) or none is left.

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::message;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::{session_config, Room};
use super::leg::{Leg, Role};
use super::queue::QueueWait;
use super::{Destination, LegId, RoomSetup};
use crate::directory::Binding;
use crate::media_engine::{LegMode, MediaCmd};
use crate::records::RecordOp;
use crate::sip_reply;

/// One party we try to reach.
pub(super) enum Candidate {
    /// An agent, reserved in the directory (ringing).
    Agent { user: String, binding: Binding },
    /// An outside URI.
    External { uri: rsip::Uri, peer: Peer },
}

/// How ringing one candidate ended.
pub(super) enum Ring {
    /// Connected: the room has both legs.
    Answered,
    /// Not reached: the status to give the caller if this was the last candidate.
    Failed(u16, String),
    /// The caller gave up (CANCEL or BYE): answered 487 already.
    CallerLeft,
    /// The server is stopping.
    Shutdown,
}

/// What stays the same over all attempts.
pub(super) struct Call<'a> {
    pub invite: &'a ServerTransaction,
    pub caller: Role,
    pub caller_leg: LegId,
    pub caller_tag: String,
    pub team: Option<String>,
}

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
        let mut attempts = 0u64;
        let mut last = (480u16, "Temporarily Unavailable".to_string());
        // R1: a customer calling a team with nobody available queues (see queue.rs).
        let queues = call.caller.is_customer() && matches!(destination, Destination::Team(_));
        let mut queued_until: Option<tokio::time::Instant> = None;
        let mut changes = self.ctx.directory.changes();
        loop {
            changes.borrow_and_update();
            let candidate = match &destination {
                Destination::Team(t) => {
                    match self.ctx.directory.reserve_for_team(t, &tried).await {
                        Some((user, binding)) => {
                            if queued_until.is_some() {
                                self.caller_hears(&call, LegMode::Ringback);
                            }
                            Candidate::Agent { user, binding }
                        }
                        None if queues && (attempts == 0 || queued_until.is_some()) => {
                            let until = *queued_until.get_or_insert_with(|| {
                                self.record("queued", Some(t.clone()));
                                tokio::time::Instant::now() + self.ctx.config.queue_timeout
                            });
                            match self.wait_in_queue(&call, until, &mut changes).await {
                                QueueWait::Changed => continue,
                                QueueWait::TimedOut => {
                                    last = (480, "Temporarily Unavailable".into());
                                    break;
                                }
                                QueueWait::CallerLeft => return Err("caller cancelled".into()),
                                QueueWait::Shutdown => {
                                    sip_reply::reply(&invite, 503, "Service Unavailable").await;
                                    return Err("server shutting down".into());
                                }
                            }
                        }
                        None => {
                            last = (480, "Temporarily Unavailable".into());
                            break;
                        }
                    }
                }
                _ if attempts > 0 => break,
                Destination::Agent(user) if Some(user.as_str()) == call.caller.agent() => {
                    last = (486, "Busy Here".into());
                    break;
                }
                Destination::Agent(user) => match self.ctx.directory.reserve(user).await {
                    Ok(binding) => Candidate::Agent {
                        user: user.clone(),
                        binding,
                    },
                    Err(status) => {
                        let (code, reason) = crate::directory::unavailable_reply(status);
                        last = (code, reason.into());
                        break;
                    }
                },
                Destination::External { uri, peer } => Candidate::External {
                    uri: uri.clone(),
                    peer: *peer,
                },
            };
            attempts += 1;
            if let Candidate::Agent { user, .. } = &candidate {
                tried.push(user.clone());
            }
            match self.ring(&call, candidate, attempts).await {
                Ring::Answered => {
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
                    return Ok(());
                }
                Ring::Failed(code, reason) => last = (code, reason),
                Ring::CallerLeft => return Err("caller cancelled".into()),
                Ring::Shutdown => {
                    sip_reply::reply(&invite, 503, "Service Unavailable").await;
                    return Err("server shutting down".into());
                }
            }
        }
        let resp = message::response(&invite.request, last.0, &last.1, Some(&call.caller_tag));
        sip_reply::send(&invite, resp).await;
        Err(format!("not answered: {} {}", last.0, last.1))
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
