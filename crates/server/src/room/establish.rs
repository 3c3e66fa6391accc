//! The establishing phase of a room: answer the caller with early media (183 + ringback), then ring
//! candidates one at a time — team members in offer order, or the one agent, or the outbound
//! URI — each for the ring timeout, until one answers (200 to the caller) or none is left.

use std::time::{Duration, Instant};

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::{identity, session_config, Room};
use super::leg::{Leg, Role};
use super::outgoing::{OfferEvent, Outgoing};
use super::{Destination, LegId, RoomMsg, RoomSetup};
use crate::directory::Binding;
use crate::media_engine::{LegMode, MediaCmd};
use crate::records::RecordOp;
use crate::sip_reply;

/// An outbound call rings at least this long, whatever the agents' ring timeout.
const MIN_OUTBOUND_RING: Duration = Duration::from_secs(60);

/// One party we try to reach.
enum Candidate {
    Agent { user: String, binding: Binding },
    External { uri: rsip::Uri, peer: Peer },
}

/// How ringing one candidate ended.
enum Ring {
    Answered,
    /// Not reached: the status to give the caller if this was the last candidate.
    Failed(u16, String),
    /// The caller gave up (CANCEL or BYE): answered 487 already.
    CallerLeft,
    Shutdown,
}

/// What stays the same over all attempts.
struct Call<'a> {
    invite: &'a ServerTransaction,
    caller: Role,
    caller_leg: LegId,
    caller_tag: String,
    team: Option<String>,
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
        loop {
            let candidate = match &destination {
                Destination::Team(t) => {
                    match self.ctx.directory.reserve_for_team(t, &tried).await {
                        Some((user, binding)) => Candidate::Agent { user, binding },
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
                        let (code, reason) = status.unavailable_reply();
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
        let dialog = Dialog::from_uas(&invite.request, &tag, &self.ctx.local_contact, invite.peer)
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
        });
        sip_reply::send(
            invite,
            message::response(&invite.request, 100, "Trying", None),
        )
        .await;
        let mut early = message::response(&invite.request, 183, "Session Progress", Some(&tag));
        sip_reply::add_header(
            &mut early,
            "Contact",
            format!("<{}>", self.ctx.local_contact),
        );
        sip_reply::set_sdp(&mut early, &answer);
        sip_reply::send(invite, early).await;
        Ok((id, tag))
    }

    /// Ring one candidate until it answers, refuses, times out, or the caller leaves.
    async fn ring(&mut self, call: &Call<'_>, candidate: Candidate, attempt: u64) -> Ring {
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
            .cseq(1)
            .contact(&self.ctx.local_contact.to_string());
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

    /// The candidate answered: ACK, accept its SDP, add its leg, answer the caller 200.
    #[allow(clippy::too_many_arguments)]
    async fn connect(
        &mut self,
        call: &Call<'_>,
        out: &Outgoing,
        resp: &rsip::Response,
        mut session: RtpSession,
        offer: &Sdp,
        agent: Option<&str>,
        label: &str,
    ) -> Ring {
        let Some(mut dialog) = Dialog::from_uac(&out.request, resp, out.peer) else {
            if let Some(a) = agent {
                self.ctx.directory.release(a);
            }
            return Ring::Failed(502, "Bad Gateway (answer without a dialog)".into());
        };
        if let Err(e) = self
            .ctx
            .endpoint
            .ack(dialog.ack(1, None), dialog.peer)
            .await
        {
            tracing::warn!(error = %e, "could not send ACK");
        }
        let negotiated = std::str::from_utf8(&resp.body)
            .map_err(|_| "SDP is not UTF-8".to_string())
            .and_then(|t| Sdp::parse(t).map_err(|e| e.0))
            .and_then(|answer| sdp::accept_answer(offer, &answer).map_err(|e| e.0));
        let configured = negotiated.as_ref().ok().and_then(|n| {
            let cfg = session_config(n)?;
            session.configure(cfg).ok().map(|_| n.remote_direction)
        });
        let Some(remote_direction) = configured else {
            tracing::warn!(%label, "answer with unusable SDP: hanging up that leg");
            let bye = dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
            if let Some(a) = agent {
                self.ctx.directory.release(a);
            }
            return Ring::Failed(488, "Not Acceptable Here".into());
        };
        let id = self.new_leg_id();
        let room = self.handle.id();
        self.ctx.dialogs.bind(&dialog.call_id, room, id);
        let role = match agent {
            Some(a) => Role::Agent(a.to_string()),
            None => Role::Customer {
                uri: label.to_string(),
                display: None,
            },
        };
        let leg = Leg {
            id,
            role,
            dialog,
            local_sdp: offer.clone(),
            remote_direction,
            listen_only: false,
        };
        let watch = leg.sends_media();
        self.legs.push(leg);
        self.confirmed.push(id);
        self.media(MediaCmd::AddLeg {
            room,
            leg: id,
            session: Box::new(session),
            mode: LegMode::Mixed,
            watch_timeout: watch,
        });
        if let Some(a) = agent {
            self.ctx.directory.answered(a);
        }
        // The caller gets the SDP it already had in the 183: same session, same version.
        let caller_sdp = self
            .legs
            .iter()
            .find(|l| l.id == call.caller_leg)
            .map(|l| l.local_sdp.clone());
        let mut ok = message::response(&call.invite.request, 200, "OK", Some(&call.caller_tag));
        sip_reply::add_header(&mut ok, "Contact", format!("<{}>", self.ctx.local_contact));
        if let Some(sdp) = &caller_sdp {
            sip_reply::set_sdp(&mut ok, sdp);
        }
        sip_reply::send(call.invite, ok).await;
        self.ctx.records.write(RecordOp::Answered {
            call: self.record_id.clone(),
            agent: label.to_string(),
        });
        tracing::info!(room, call = %self.record_id, answered_by = %label, "call connected");
        Ring::Answered
    }
}

fn reason_phrase(resp: &rsip::Response) -> String {
    let full = resp.status_code.to_string();
    full.split_once(' ')
        .map(|(_, r)| r.to_string())
        .unwrap_or(full)
}
