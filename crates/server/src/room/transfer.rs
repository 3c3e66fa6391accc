//! Transfer (SPEC T1–T10, protocol.md "Transfer"): a REFER from an agent in the call asks the
//! room to ring another agent or a team. Refusals come at once with a Warning (T1); accepted, the
//! customer is held (unless listen-only or switched off), the requester hears ringback and the
//! target is rung without blocking the room (its INVITE's events arrive as `RoomMsg::Offer`).
//! The target answering joins the room (consultation); complete, cancel, failure and the parties
//! hanging up move the call on from there. Progress goes to the requester as sipfrag NOTIFYs.

use agentphone_media::session::RtpSession;
use agentphone_protocol::TimelineKind;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::{identity, session_config, Room};
use super::leg::{Leg, Role};
use super::outgoing::{OfferEvent, Outgoing};
use super::refer_to;
use super::LegId;
use crate::directory::{AgentStatus, Binding};
use crate::media_engine::{LegMode, MediaCmd};
use crate::notify;
use crate::sip_reply;

/// Attempt numbers of transfer INVITEs start here (establishing attempts count from 1).
const TRANSFER_ATTEMPTS: u64 = 1 << 32;

/// Where a transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferState {
    /// The target (or a team member) is being rung.
    Ringing,
    /// The target joined; the agents talk, the customer waits.
    Consulting,
}

/// The target being rung.
pub struct RingingTarget {
    /// The agent.
    pub user: String,
    /// The INVITE.
    pub out: Outgoing,
    /// The RTP session offered to the target.
    pub session: RtpSession,
    /// Our SDP offer.
    pub offer: Sdp,
    /// When to give up on this agent.
    pub deadline: tokio::time::Instant,
}

/// The transfer under way (one per call).
pub struct Transfer {
    /// Number within the room (1, 2, …).
    pub id: u64,
    /// Ringing or consulting.
    pub state: TransferState,
    /// The team, for a team transfer.
    pub team: Option<String>,
    /// The agent rung now, or who joined.
    pub target: Option<String>,
    /// The requesting agent.
    pub by: String,
    /// The requesting agent's leg (may have left: a blind transfer).
    pub by_leg: LegId,
    /// The reason typed by the requester.
    pub reason: Option<String>,
    /// Listen-only (training, M5).
    pub listen_only: bool,
    /// The transfer put the customer on hold (so failure / completion resumes them).
    pub held_customer: bool,
    /// Agents rung so far.
    pub tried: Vec<String>,
    /// The INVITE in progress.
    pub ringing: Option<RingingTarget>,
    /// The target's leg once joined.
    pub joined_leg: Option<LegId>,
}

impl Transfer {
    /// The agent rung now or who joined.
    pub fn target_user(&self) -> Option<&str> {
        self.target.as_deref()
    }
}

/// How a transfer ends.
pub enum Outcome {
    /// Did not reach anyone (or the target left during the consultation): the status for the
    /// sipfrag and the text for the timeline.
    Failed(u16, &'static str, String),
    /// The requester cancelled.
    Cancelled,
}

/// A REFER refused at once (T1): status, reason phrase, Warning text.
type Refusal = (u16, &'static str, String);

impl Room {
    /// A REFER in one of the room's dialogs.
    pub(super) async fn refer(&mut self, leg_id: LegId, tx: ServerTransaction) {
        match self.start_transfer(leg_id, &tx).await {
            Ok(()) => {}
            Err((code, phrase, warning)) => {
                tracing::info!(room = self.handle.id(), code, %warning, "transfer refused");
                sip_reply::refuse(&tx, code, phrase, &warning).await;
            }
        }
    }

    async fn start_transfer(
        &mut self,
        leg_id: LegId,
        tx: &ServerTransaction,
    ) -> Result<(), Refusal> {
        let Some(leg) = self.legs.iter().find(|l| l.id == leg_id) else {
            return Err((403, "Forbidden", "You are not in this call".into()));
        };
        let Some(by) = leg.role.agent().map(str::to_string) else {
            return Err((403, "Forbidden", "A customer cannot transfer".into()));
        };
        let msg = sip_reply::as_message(&tx.request);
        let refer_to = message::header_value(&msg, "Refer-To").ok_or((
            400,
            "Bad Request",
            "Refer-To is missing".to_string(),
        ))?;
        let target = refer_to::parse(&refer_to).map_err(|e| (400, "Bad Request", e.to_string()))?;
        if self.transfer.is_some() {
            return Err((409, "Conflict", "A transfer is already under way".into()));
        }
        let max = self.ctx.config.max_participants;
        if self.legs.len() + 1 > max {
            return Err((
                488,
                "Not Acceptable Here",
                format!("The call already has {max} participants"),
            ));
        }
        let in_call: Vec<String> = self
            .legs
            .iter()
            .filter_map(|l| l.role.agent().map(str::to_string))
            .collect();
        let cfg = self.ctx.config.clone();
        let team = if target.team || cfg.agent(&target.user).is_none() {
            let team = cfg
                .team(&target.user)
                .or_else(|| cfg.team_by_inbound(&target.user))
                .ok_or((
                    404,
                    "Not Found",
                    format!("No agent or team {}", target.user),
                ))?;
            Some(team.name.clone())
        } else {
            None
        };
        let (user, binding) = match &team {
            Some(team) => self
                .ctx
                .directory
                .reserve_for_team(team, &in_call)
                .await
                .ok_or((
                    480,
                    "Temporarily Unavailable",
                    format!("Nobody in team {team} is available"),
                ))?,
            None => {
                let user = target.user.clone();
                let name = self.agent_name(&user);
                if in_call.contains(&user) {
                    return Err((
                        482,
                        "Loop Detected",
                        format!("{name} is already in the call"),
                    ));
                }
                let binding = self.ctx.directory.reserve(&user).await.map_err(|s| {
                    let (code, phrase, why) = match s {
                        AgentStatus::Offline | AgentStatus::Unknown => {
                            (480, "Temporarily Unavailable", "is offline")
                        }
                        AgentStatus::Inactive => {
                            (480, "Temporarily Unavailable", "has the voice channel off")
                        }
                        AgentStatus::Ringing => (486, "Busy Here", "is ringing for another call"),
                        AgentStatus::OnCall | AgentStatus::Available => {
                            (486, "Busy Here", "is on a call")
                        }
                    };
                    (code, phrase, format!("{name} {why}"))
                })?;
                (user, binding)
            }
        };
        // Accepted.
        let mut accepted = sip_reply::build(tx, 202, "Accepted");
        sip_reply::add_header(
            &mut accepted,
            "Contact",
            format!("<{}>;isfocus", self.room_uri),
        );
        sip_reply::send(tx, accepted).await;
        let has_customer = self.legs.iter().any(|l| l.role.is_customer());
        let customer_already_held = self
            .current_modes()
            .iter()
            .zip(&self.legs)
            .any(|((_, m), l)| l.role.is_customer() && *m == LegMode::Held);
        let held_customer = !target.listen_only
            && cfg.hold_customer_on_transfer
            && has_customer
            && !customer_already_held;
        self.next_transfer += 1;
        self.transfer = Some(Transfer {
            id: self.next_transfer,
            state: TransferState::Ringing,
            team: team.clone(),
            target: None,
            by: by.clone(),
            by_leg: leg_id,
            reason: target.reason.clone(),
            listen_only: target.listen_only,
            held_customer,
            tried: Vec::new(),
            ringing: None,
            joined_leg: None,
        });
        self.sipfrag("100 Trying", false);
        let to = match &team {
            Some(t) => format!("team {t}"),
            None => self.agent_name(&user),
        };
        let mode = if target.listen_only { " to listen" } else { "" };
        let text = format!(
            "{} asked to transfer to {to}{mode}{}",
            self.agent_name(&by),
            reason_suffix(target.reason.as_deref())
        );
        self.note(TimelineKind::TransferRequested, text);
        self.ring_transfer_target(user, binding).await;
        Ok(())
    }

    /// Ring `user` (already reserved) for the transfer; on a local failure try the next one.
    async fn ring_transfer_target(&mut self, user: String, binding: Binding) {
        let ip = self.ctx.config.media_ip;
        let started = match RtpSession::bind(ip) {
            Err(e) => Err(format!("RTP: {e}")),
            Ok(session) => {
                let offer = Sdp::offer(
                    ip,
                    session.local_addr().port(),
                    self.session_id,
                    Direction::SendRecv,
                );
                self.transfer_invite(&user, &binding, &offer)
                    .map(|req| (session, offer, req))
            }
        };
        let (session, offer, request) = match started {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot ring a transfer target");
                self.ctx.directory.release(&user);
                return Box::pin(self.next_or_fail(
                    480,
                    "Temporarily Unavailable",
                    user,
                    "cannot be reached",
                ))
                .await;
            }
        };
        self.next_attempt += 1;
        let attempt = TRANSFER_ATTEMPTS + self.next_attempt;
        let out = Outgoing::start(
            &self.ctx.endpoint,
            request,
            binding.peer,
            attempt,
            self.handle.tx.clone(),
        );
        let deadline = tokio::time::Instant::now() + self.ctx.config.ring_timeout;
        let name = self.agent_name(&user);
        if let Some(t) = &mut self.transfer {
            t.target = Some(user.clone());
            t.tried.push(user.clone());
            t.ringing = Some(RingingTarget {
                user,
                out,
                session,
                offer,
                deadline,
            });
        }
        self.sipfrag("180 Ringing", false);
        self.note(TimelineKind::TransferRinging, format!("Ringing {name}"));
        self.apply_modes();
    }

    /// The INVITE to a transfer target (protocol.md "Transfer").
    fn transfer_invite(
        &self,
        user: &str,
        binding: &Binding,
        offer: &Sdp,
    ) -> Result<rsip::Request, String> {
        let cfg = &self.ctx.config;
        let t = self.transfer.as_ref().ok_or("no transfer")?;
        let shown = self
            .legs
            .iter()
            .find(|l| l.role.is_customer())
            .map(|l| l.role.clone())
            .unwrap_or_else(|| Role::Agent(t.by.clone()));
        let (from_display, from_uri) = identity(&self.ctx, &shown);
        let mut b = RequestBuilder::new(rsip::Method::Invite, &binding.contact.to_string())
            .map_err(|e| format!("bad contact: {e}"))?
            .from(from_display.as_deref(), &from_uri, &message::new_tag())
            .to(
                Some(&self.agent_name(user)),
                &format!("sip:{user}@{}", cfg.domain),
                None,
            )
            .call_id(&message::new_call_id())
            .cseq(1)
            .contact_with_params(&self.room_uri.to_string(), "isfocus")
            .header("Recv-Info", super::commands::INFO_PACKAGE)
            .header("Referred-By", &format!("<sip:{}@{}>", t.by, cfg.domain));
        if let Some(reason) = &t.reason {
            b = b.header("Subject", reason);
        }
        if let Some(team) = &t.team {
            let address = cfg
                .team(team)
                .and_then(|t| t.inbound.clone())
                .unwrap_or_else(|| team.clone());
            b = b.header(
                "Call-Info",
                &format!("<sip:{address}@{}>;purpose=x-agentphone-team", cfg.domain),
            );
        }
        if t.listen_only {
            b = b.header(
                "Call-Info",
                &format!("<sip:{}>;purpose=x-agentphone-listen-only", cfg.domain),
            );
        }
        b.body("application/sdp", offer.to_string().into_bytes())
            .build()
            .map_err(|e| format!("cannot build the INVITE: {e}"))
    }

    /// Is this INVITE attempt the transfer's current one?
    pub(super) fn is_transfer_attempt(&self, attempt: u64) -> bool {
        self.transfer
            .as_ref()
            .and_then(|t| t.ringing.as_ref())
            .is_some_and(|r| r.out.attempt == attempt)
    }

    /// When the target being rung times out.
    pub(super) fn transfer_deadline(&self) -> Option<tokio::time::Instant> {
        self.transfer
            .as_ref()
            .and_then(|t| t.ringing.as_ref())
            .map(|r| r.deadline)
    }

    /// The ring timeout of the current target: CANCEL, next member or failure (408).
    pub(super) async fn transfer_ring_timeout(&mut self) {
        let Some(mut ringing) = self.transfer.as_mut().and_then(|t| t.ringing.take()) else {
            return;
        };
        ringing.out.cancel();
        self.abandoned.push(ringing.out);
        self.ctx.directory.release(&ringing.user);
        self.next_or_fail(408, "Request Timeout", ringing.user, "did not answer")
            .await;
    }

    /// An event of the transfer's INVITE.
    pub(super) async fn transfer_offer(&mut self, event: OfferEvent) {
        let code = match &event {
            OfferEvent::Response(r) => u16::from(r.status_code.clone()),
            OfferEvent::Failed(_) => 0,
        };
        if (100..200).contains(&code) {
            return;
        }
        let Some(ringing) = self.transfer.as_mut().and_then(|t| t.ringing.take()) else {
            return;
        };
        match event {
            OfferEvent::Response(resp) if (200..300).contains(&code) => {
                self.target_answered(ringing, &resp).await;
            }
            OfferEvent::Response(_) => {
                self.ctx.directory.release(&ringing.user);
                let (code, phrase, why) = match code {
                    486 | 600 => (486, "Busy Here", "is busy"),
                    480 | 408 => (480, "Temporarily Unavailable", "did not answer"),
                    _ => (603, "Declined", "declined"),
                };
                self.next_or_fail(code, phrase, ringing.user, why).await;
            }
            OfferEvent::Failed(reason) => {
                tracing::info!(user = %ringing.user, %reason, "transfer target unreachable");
                self.ctx.directory.release(&ringing.user);
                self.next_or_fail(
                    480,
                    "Temporarily Unavailable",
                    ringing.user,
                    "cannot be reached",
                )
                .await;
            }
        }
    }

    /// A team transfer rings the next available member (T3); otherwise the transfer fails.
    async fn next_or_fail(&mut self, code: u16, phrase: &'static str, user: String, why: &str) {
        let name = self.agent_name(&user);
        let Some(t) = &self.transfer else {
            return;
        };
        if let Some(team) = t.team.clone() {
            let mut exclude = t.tried.clone();
            exclude.extend(
                self.legs
                    .iter()
                    .filter_map(|l| l.role.agent().map(str::to_string)),
            );
            self.note(TimelineKind::TransferRinging, format!("{name} {why}"));
            if let Some((next, binding)) =
                self.ctx.directory.reserve_for_team(&team, &exclude).await
            {
                return Box::pin(self.ring_transfer_target(next, binding)).await;
            }
            let text = format!("Nobody in team {team} answered (last: {name} {why})");
            return self.finish_transfer(Outcome::Failed(480, "Temporarily Unavailable", text));
        }
        self.finish_transfer(Outcome::Failed(code, phrase, format!("{name} {why}")));
    }

    /// The target answered: ACK, media, new leg; the consultation starts (or, listen-only, the
    /// transfer is done).
    async fn target_answered(&mut self, ringing: RingingTarget, resp: &rsip::Response) {
        let RingingTarget {
            user,
            out,
            mut session,
            offer,
            ..
        } = ringing;
        let name = self.agent_name(&user);
        let Some(mut dialog) = Dialog::from_uac(&out.request, resp, out.peer) else {
            self.ctx.directory.release(&user);
            return self
                .next_or_fail(480, "Temporarily Unavailable", user, "answered badly")
                .await;
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
            .and_then(|answer| sdp::accept_answer(&offer, &answer).map_err(|e| e.0));
        let configured = negotiated.as_ref().ok().and_then(|n| {
            let cfg = session_config(n)?;
            session.configure(cfg).ok().map(|_| n.remote_direction)
        });
        let Some(remote_direction) = configured else {
            let bye = dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
            self.ctx.directory.release(&user);
            return self
                .next_or_fail(488, "Not Acceptable Here", user, "has no usable audio")
                .await;
        };
        let listen_only = self.transfer.as_ref().is_some_and(|t| t.listen_only);
        let id = self.new_leg_id();
        let room = self.handle.id();
        self.ctx.dialogs.bind(&dialog.call_id, room, id);
        let leg = Leg {
            id,
            role: Role::Agent(user.clone()),
            dialog,
            local_sdp: offer,
            remote_direction,
            listen_only,
            muted: false,
            level: 0,
        };
        let watch = leg.sends_media();
        self.legs.push(leg);
        self.confirmed.push(id);
        self.media(MediaCmd::AddLeg {
            room,
            leg: id,
            session: Box::new(session),
            mode: if listen_only {
                LegMode::ListenOnly
            } else {
                LegMode::Mixed
            },
            watch_timeout: watch,
        });
        self.ctx.directory.answered(&user);
        self.sipfrag("200 OK", true);
        tracing::info!(room, %user, listen_only, "transfer target joined");
        if listen_only {
            self.note(
                TimelineKind::TransferAnswered,
                format!("{name} joined to listen"),
            );
            self.transfer = None;
        } else {
            self.note(TimelineKind::TransferAnswered, format!("{name} answered"));
            let requester_left = self
                .transfer
                .as_ref()
                .is_some_and(|t| !self.legs.iter().any(|l| l.id == t.by_leg));
            if let Some(t) = &mut self.transfer {
                t.state = TransferState::Consulting;
                t.joined_leg = Some(id);
            }
            if requester_left {
                // A hung up while the target rang: the transfer completes by itself (blind).
                self.complete_now();
            }
        }
        self.apply_modes();
    }

    /// Complete (T6): the record, the customer resumed, the transfer cleared. The caller makes
    /// the requester leave.
    pub(super) fn complete_now(&mut self) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        let target = t
            .target
            .as_deref()
            .map(|u| self.agent_name(u))
            .unwrap_or_default();
        let text = format!(
            "{} transferred to {target}{}",
            self.agent_name(&t.by),
            reason_suffix(t.reason.as_deref())
        );
        self.command_hold = None;
        self.note(TimelineKind::TransferCompleted, text);
        self.apply_modes();
    }

    /// `complete_transfer` from `leg_id` (INFO): the requester leaves.
    pub(super) fn complete_transfer(&mut self, leg_id: LegId) -> Result<(), (u16, String)> {
        let t = self
            .transfer
            .as_ref()
            .ok_or((409, "No transfer is under way".to_string()))?;
        if t.state != TransferState::Consulting {
            return Err((409, "The target has not answered yet".into()));
        }
        if t.by_leg != leg_id {
            return Err((
                403,
                format!("Only {} can complete this transfer", self.agent_name(&t.by)),
            ));
        }
        self.complete_now();
        self.leave(leg_id, "completed a transfer", true);
        Ok(())
    }

    /// `cancel_transfer` (INFO): stop ringing (or drop the consulted target) and go back.
    pub(super) fn cancel_transfer(&mut self) -> Result<(), (u16, String)> {
        let t = self
            .transfer
            .as_mut()
            .ok_or((409, "No transfer is under way".to_string()))?;
        if let Some(mut ringing) = t.ringing.take() {
            ringing.out.cancel();
            self.ctx.directory.release(&ringing.user);
            self.abandoned.push(ringing.out);
        }
        let joined = t.joined_leg;
        self.finish_transfer(Outcome::Cancelled);
        if let Some(leg) = joined {
            self.leave(leg, "transfer cancelled", true);
        }
        Ok(())
    }

    /// The transfer ends without completing: timeline, sipfrag, the customer resumed if the
    /// transfer held them, modes back as before.
    pub(super) fn finish_transfer(&mut self, outcome: Outcome) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        let target = t
            .target
            .as_deref()
            .map(|u| self.agent_name(u))
            .or(t.team.clone())
            .unwrap_or_default();
        match outcome {
            Outcome::Failed(code, phrase, why) => {
                self.sipfrag_of(&t, &format!("{code} {phrase}"));
                self.note(
                    TimelineKind::TransferFailed,
                    format!("Transfer to {target} failed: {why}"),
                );
            }
            Outcome::Cancelled => {
                self.sipfrag_of(&t, "487 Request Terminated");
                let by = self.agent_name(&t.by);
                self.note(
                    TimelineKind::TransferCancelled,
                    format!("{by} cancelled the transfer to {target}"),
                );
            }
        }
        self.apply_modes();
    }

    /// A sipfrag NOTIFY about the transfer to its requester (`last`: the subscription ends).
    fn sipfrag(&mut self, status: &str, last: bool) {
        let Some(by_leg) = self.transfer.as_ref().map(|t| t.by_leg) else {
            return;
        };
        self.send_sipfrag(by_leg, status, last);
    }

    fn sipfrag_of(&mut self, t: &Transfer, status: &str) {
        if t.state == TransferState::Ringing {
            self.send_sipfrag(t.by_leg, status, true);
        }
    }

    fn send_sipfrag(&mut self, leg_id: LegId, status: &str, last: bool) {
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            return;
        };
        let state = if last {
            "terminated;reason=noresource".to_string()
        } else {
            notify::active(60)
        };
        let body = format!("SIP/2.0 {status}\r\n").into_bytes();
        let req = notify::request(&mut leg.dialog, "refer", &state, "message/sipfrag", body);
        let tx = self.ctx.endpoint.request(req, leg.dialog.peer);
        tokio::spawn(async move {
            let _ = tx.final_response().await;
        });
    }
}

/// ` (reason)` or nothing.
fn reason_suffix(reason: Option<&str>) -> String {
    reason.map(|r| format!(" ({r})")).unwrap_or_default()
}
