//! Transfer (SPEC T1–T10, protocol.md "Transfer"): a REFER from an agent in the call asks the
//! room to ring another agent or a team. Refusals come at once with a Warning (T1, decided by
//! `transfer_rules.rs`); accepted, the customer is held (unless listen-only or switched off), the
//! requester hears ringback and the target is offered the call by the same offer machine as the
//! establishing phase (`offer.rs`), without blocking the room (its INVITE's events arrive as
//! `RoomMsg::Offer`). A transfer is either ringing someone or consulting someone who joined
//! ([`TransferPhase`]); complete, cancel, failure and the parties hanging up move the call on
//! from there. Progress goes to the requester as sipfrag NOTIFYs.

use std::time::Instant;

use agentphone_media::session::RtpSession;
use agentphone_protocol::TimelineKind;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::Room;
use super::call_setup::Candidate;
use super::leg::Role;
use super::offer::{Offer, OfferInput, Offeree, Step, Unusable};
use super::offer_invite::OfferInvite;
use super::outgoing::{offer_input, Outgoing};
use super::transfer_rules::{self, reason_suffix, Refusal, TransferAsk};
use super::transfer_state::{Outcome, RingingTarget, Transfer, TransferPhase, TransferRequest};
use super::LegId;
use crate::directory::Binding;
use crate::ids::OfferId;
use crate::media_engine::LegMode;
use crate::notify;
use crate::room_handle::OfferEvent;
use crate::sip_reply;

/// The last attempt that reached nobody: who, and the status the offer machine gave.
struct LastMiss {
    user: String,
    status: (u16, &'static str, &'static str),
}

impl Room {
    /// A REFER in one of the room's dialogs.
    pub(super) async fn refer(&mut self, leg_id: LegId, tx: ServerTransaction) {
        match self.start_transfer(leg_id, &tx).await {
            Ok(()) => {}
            Err((code, phrase, warning)) => {
                tracing::info!(room = %self.handle.id(), code, %warning, "transfer refused");
                sip_reply::refuse(&tx, code, phrase, &warning).await;
            }
        }
    }

    async fn start_transfer(
        &mut self,
        leg_id: LegId,
        tx: &ServerTransaction,
    ) -> Result<(), Refusal> {
        let in_call = self.agents_in_call();
        let msg = sip_reply::as_message(&tx.request);
        let refer_to = message::header_value(&msg, "Refer-To");
        let cfg = self.ctx.config.clone();
        let accepted = transfer_rules::check_request(
            &cfg,
            &TransferAsk {
                requester: self.legs.iter().find(|l| l.id == leg_id).map(|l| &l.role),
                refer_to: refer_to.as_deref(),
                under_way: self.transfer.is_some(),
                parties: self.legs.len(),
                agents_in_call: &in_call,
            },
        )?;
        let (user, binding) = match &accepted.team {
            Some(team) => self
                .ctx
                .directory
                .reserve_for_team(team, &in_call)
                .await
                .ok_or_else(|| transfer_rules::team_refusal(team))?,
            None => {
                let user = accepted.target.user.clone();
                let binding = self
                    .ctx
                    .directory
                    .reserve(&user)
                    .await
                    .map_err(|s| transfer_rules::agent_refusal(&cfg, &user, s))?;
                (user, binding)
            }
        };
        // Accepted.
        let mut ok = sip_reply::build(tx, 202, "Accepted");
        sip_reply::add_header(&mut ok, "Contact", format!("<{}>;isfocus", self.room_uri));
        sip_reply::send(tx, ok).await;
        let has_customer = self.legs.iter().any(|l| l.role.is_customer());
        let customer_already_held = self
            .current_modes()
            .iter()
            .zip(&self.legs)
            .any(|((_, m), l)| l.role.is_customer() && *m == LegMode::Held);
        let target = accepted.target;
        self.next_transfer += 1;
        let req = TransferRequest {
            id: self.next_transfer,
            team: accepted.team,
            by: accepted.by,
            by_leg: leg_id,
            reason: target.reason.clone(),
            listen_only: target.listen_only,
            held_customer: transfer_rules::holds_customer(
                target.listen_only,
                cfg.hold_customer_on_transfer,
                has_customer,
                customer_already_held,
            ),
            tried: Vec::new(),
        };
        self.send_sipfrag(leg_id, "100 Trying", false);
        let to = match &req.team {
            Some(t) => format!("team {t}"),
            None => self.agent_name(&user),
        };
        let mode = if req.listen_only { " to listen" } else { "" };
        let text = format!(
            "{} asked to transfer to {to}{mode}{}",
            self.agent_name(&req.by),
            reason_suffix(req.reason.as_deref())
        );
        self.note(TimelineKind::TransferRequested, text);
        self.ring_transfer(req, Some((user, binding)), None).await;
        Ok(())
    }

    /// The agents in the call now.
    fn agents_in_call(&self) -> Vec<String> {
        self.legs
            .iter()
            .filter_map(|l| l.role.agent().map(str::to_string))
            .collect()
    }

    /// Ring `next` (already reserved) or, for a team, the next available member (T3) — one after
    /// another while they cannot even be rung; when nobody is left the transfer fails (T7) with
    /// the last miss.
    async fn ring_transfer(
        &mut self,
        mut req: TransferRequest,
        mut next: Option<(String, Binding)>,
        mut last: Option<LastMiss>,
    ) {
        loop {
            let candidate = match (next.take(), req.team.clone()) {
                (Some(c), _) => Some(c),
                (None, Some(team)) => {
                    let exclude =
                        transfer_rules::team_exclusions(&req.tried, &self.agents_in_call());
                    self.ctx.directory.reserve_for_team(&team, &exclude).await
                }
                (None, None) => None,
            };
            let Some((user, binding)) = candidate else {
                let (code, phrase, text) = match &last {
                    Some(m) => transfer_rules::failure_text(
                        req.team.as_deref(),
                        &self.agent_name(&m.user),
                        m.status,
                    ),
                    None => (
                        480,
                        "Temporarily Unavailable",
                        "Nobody answered".to_string(),
                    ),
                };
                self.finish_transfer(req, true, Outcome::Failed(code, phrase, text));
                return;
            };
            req.tried.push(user.clone());
            match self.offer_to_target(&req, &user, &binding) {
                Ok(ringing) => {
                    let name = self.agent_name(&user);
                    self.transfer = Some(Transfer {
                        req,
                        phase: TransferPhase::Ringing(Box::new(ringing)),
                    });
                    self.sipfrag("180 Ringing", false);
                    self.note(TimelineKind::TransferRinging, format!("Ringing {name}"));
                    self.apply_modes();
                    return;
                }
                Err(e) => {
                    tracing::warn!(%user, error = %e, "cannot ring a transfer target");
                    self.ctx.directory.release(&user);
                    let miss = LastMiss {
                        user,
                        status: (480, "Temporarily Unavailable", "cannot be reached"),
                    };
                    self.note_miss(&req, &miss);
                    last = Some(miss);
                }
            }
        }
    }

    /// A team goes on to its next member: the timeline says why this one did not take it.
    fn note_miss(&mut self, req: &TransferRequest, miss: &LastMiss) {
        if req.team.is_some() {
            let name = self.agent_name(&miss.user);
            self.note(
                TimelineKind::TransferRinging,
                format!("{name} {}", miss.status.2),
            );
        }
    }

    /// Start offering the call to `user`: RTP session, SDP offer, INVITE.
    fn offer_to_target(
        &mut self,
        req: &TransferRequest,
        user: &str,
        binding: &Binding,
    ) -> Result<RingingTarget, String> {
        let ip = self.ctx.config.media_ip;
        let session = RtpSession::bind(ip).map_err(|e| format!("RTP: {e}"))?;
        let sdp = Sdp::offer(
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        );
        let shown = self
            .legs
            .iter()
            .find(|l| l.role.is_customer())
            .map(|l| l.role.clone())
            .unwrap_or_else(|| Role::Agent(req.by.clone()));
        let what = OfferInvite {
            shown: &shown,
            team: req.team.as_deref(),
            referred_by: Some(&req.by),
            subject: req.reason.as_deref(),
            listen_only: req.listen_only,
        };
        let to = Candidate::Agent {
            user: user.to_string(),
            binding: binding.clone(),
        };
        let (request, _) = self.offer_invite(&to, &what, &sdp)?;
        let id = self.new_offer_id();
        let out = Outgoing::start(
            &self.ctx.endpoint,
            request,
            binding.peer,
            id,
            self.handle.clone(),
        );
        let offer = Offer::new(
            id,
            Offeree::Agent(user.to_string()),
            Instant::now(),
            self.ctx.config.ring_timeout,
        );
        Ok(RingingTarget {
            offer,
            out,
            session,
            sdp,
        })
    }

    /// Is this offer the transfer's current one?
    pub(super) fn is_transfer_offer(&self, offer: OfferId) -> bool {
        matches!(&self.transfer, Some(Transfer { phase: TransferPhase::Ringing(r), .. }) if r.offer.id == offer)
    }

    /// When the target being rung times out.
    pub(super) fn transfer_deadline(&self) -> Option<Instant> {
        match &self.transfer {
            Some(Transfer {
                phase: TransferPhase::Ringing(r),
                ..
            }) => Some(r.offer.deadline),
            _ => None,
        }
    }

    /// The clock reached the ring timeout of the current target.
    pub(super) async fn transfer_ring_timeout(&mut self) {
        self.transfer_input(OfferInput::Tick, None).await;
    }

    /// An event of the transfer's INVITE.
    pub(super) async fn transfer_offer(&mut self, event: OfferEvent) {
        let input = offer_input(&event);
        let response = match event {
            OfferEvent::Response(r) => Some(r),
            OfferEvent::Failed(_) => None,
        };
        self.transfer_input(input, response).await;
    }

    /// Feed the ringing target's offer machine and act on its step: the target joins, or the
    /// next member is rung, or the transfer fails.
    async fn transfer_input(&mut self, input: OfferInput, response: Option<rsip::Response>) {
        let step = match &mut self.transfer {
            Some(Transfer {
                phase: TransferPhase::Ringing(r),
                ..
            }) => r.offer.handle(input, Instant::now()),
            _ => return,
        };
        if matches!(step, Step::Wait | Step::Over) {
            return;
        }
        let Some(Transfer {
            req,
            phase: TransferPhase::Ringing(ringing),
        }) = self.transfer.take()
        else {
            return;
        };
        match (step, response) {
            (Step::Answered, Some(resp)) => self.target_answered(req, *ringing, &resp).await,
            (Step::Missed(miss), _) => {
                let user = ringing.user().to_string();
                self.drop_ringing(*ringing, miss.cancel_invite);
                if miss.rang_out() {
                    self.ctx.directory.ring_timed_out(&user);
                }
                self.target_missed(req, user, miss.transfer_status()).await;
            }
            // An answer without its response cannot happen; put things back as they were.
            (_, _) => {
                self.transfer = Some(Transfer {
                    req,
                    phase: TransferPhase::Ringing(ringing),
                })
            }
        }
    }

    /// The ringing target is out (refused, timed out, unreachable, answered unusably; already
    /// released): go on with the team, or fail.
    async fn target_missed(
        &mut self,
        req: TransferRequest,
        user: String,
        status: (u16, &'static str, &'static str),
    ) {
        let miss = LastMiss { user, status };
        self.note_miss(&req, &miss);
        self.ring_transfer(req, None, Some(miss)).await;
    }

    /// Stop ringing a target: the agent is free, a pending INVITE is CANCELled (and kept, so a
    /// late 2xx is ACKed and hung up).
    fn drop_ringing(&mut self, ringing: RingingTarget, cancel: bool) {
        let RingingTarget { offer, mut out, .. } = ringing;
        self.ctx.directory.release(offer.to.label());
        if cancel {
            out.cancel();
            self.abandoned.push(out);
        }
    }

    /// Withdraw the ringing target (cancel, the room ends).
    fn withdraw_ringing(&mut self, mut ringing: RingingTarget) {
        let cancel = match ringing.offer.handle(OfferInput::Withdraw, Instant::now()) {
            Step::Missed(m) => m.cancel_invite,
            _ => false,
        };
        self.drop_ringing(ringing, cancel);
    }

    /// The target answered: it joins (`join.rs`) and the consultation starts (or, listen-only,
    /// the transfer is done); an unusable answer counts as a miss.
    async fn target_answered(
        &mut self,
        req: TransferRequest,
        ringing: RingingTarget,
        resp: &rsip::Response,
    ) {
        let RingingTarget {
            mut offer,
            out,
            session,
            sdp,
        } = ringing;
        let user = offer.to.label().to_string();
        let name = self.agent_name(&user);
        let listen_only = req.listen_only;
        let role = Role::Agent(user.clone());
        let id = match self
            .join_answered(&out, resp, session, sdp, role, listen_only)
            .await
        {
            Ok(id) => id,
            Err(unusable) => {
                let no_audio = matches!(unusable, Unusable::NoAudio);
                let status = match offer.handle(OfferInput::BadAnswer { no_audio }, Instant::now())
                {
                    Step::Missed(m) => m.transfer_status(),
                    _ => (480, "Temporarily Unavailable", "answered badly"),
                };
                self.ctx.directory.release(&user);
                return self.target_missed(req, user, status).await;
            }
        };
        let room = self.handle.id();
        self.ctx.directory.answered(&user);
        self.send_sipfrag(req.by_leg, "200 OK", true);
        tracing::info!(%room, %user, listen_only, "transfer target joined");
        if listen_only {
            self.note(
                TimelineKind::TransferAnswered,
                format!("{name} joined to listen"),
            );
        } else {
            self.note(TimelineKind::TransferAnswered, format!("{name} answered"));
            let requester_left = !self.legs.iter().any(|l| l.id == req.by_leg);
            self.transfer = Some(Transfer {
                req,
                phase: TransferPhase::Consulting {
                    target: user,
                    leg: id,
                },
            });
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
        let target = self.agent_name(t.target_user());
        let text = format!(
            "{} transferred to {target}{}",
            self.agent_name(&t.req.by),
            reason_suffix(t.req.reason.as_deref())
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
        if t.is_ringing() {
            return Err((409, "The target has not answered yet".into()));
        }
        if t.req.by_leg != leg_id {
            return Err((
                403,
                format!(
                    "Only {} can complete this transfer",
                    self.agent_name(&t.req.by)
                ),
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
            .take()
            .ok_or((409, "No transfer is under way".to_string()))?;
        self.end_transfer(t, Outcome::Cancelled);
        Ok(())
    }

    /// End a transfer that did not complete: a ringing target is withdrawn, a consulted one
    /// leaves.
    pub(super) fn end_transfer(&mut self, t: Transfer, outcome: Outcome) {
        let Transfer { req, phase } = t;
        match phase {
            TransferPhase::Ringing(ringing) => {
                self.withdraw_ringing(*ringing);
                self.finish_transfer(req, true, outcome);
            }
            TransferPhase::Consulting { leg, .. } => {
                self.finish_transfer(req, false, outcome);
                self.leave(leg, "transfer cancelled", true);
            }
        }
    }

    /// The transfer ends without completing: timeline, sipfrag (while still ringing), the
    /// customer resumed if the transfer held them, modes back as before.
    pub(super) fn finish_transfer(
        &mut self,
        req: TransferRequest,
        ringing: bool,
        outcome: Outcome,
    ) {
        let target = req
            .tried
            .last()
            .map(|u| self.agent_name(u))
            .or(req.team.clone())
            .unwrap_or_default();
        match outcome {
            Outcome::Failed(code, phrase, why) => {
                if ringing {
                    self.send_sipfrag(req.by_leg, &format!("{code} {phrase}"), true);
                }
                self.note(
                    TimelineKind::TransferFailed,
                    format!("Transfer to {target} failed: {why}"),
                );
            }
            Outcome::Cancelled => {
                if ringing {
                    self.send_sipfrag(req.by_leg, "487 Request Terminated", true);
                }
                let by = self.agent_name(&req.by);
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
        let Some(by_leg) = self.transfer.as_ref().map(|t| t.req.by_leg) else {
            return;
        };
        self.send_sipfrag(by_leg, status, last);
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
