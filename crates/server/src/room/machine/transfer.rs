//! Transfer (SPEC T1–T10, M4, M5): a REFER from an agent in the call asks the room to ring
//! another agent or a team. Refusals come at once with a Warning (T1, `transfer_rules.rs`);
//! accepted (202, sipfrag 100), the customer is held (unless listen-only or switched off), the
//! requester hears ringback and the target is offered the call by the offer machine — a team's
//! members one at a time (T3). A transfer is ringing someone or consulting someone who joined
//! ([`TransferPhase`]); complete, cancel, failure and parties leaving move it on from there.

use agentphone_protocol::TimelineKind;
use agentphone_sip::sdp::Direction;

use super::super::call_rules::TransferView;
use super::super::leg::Role;
use super::super::offer::{Offer, OfferInput, Offeree, Step};
use super::super::transfer_rules::{self, reason_suffix, Accepted, TransferAsk};
use super::super::transfer_state::{Outcome, Transfer, TransferPhase, TransferRequest};
use super::super::LegId;
use super::io::{Ask, DirOp, DirReply, Effect, InviteInfo, Reply, TxId, Unusable};
use super::{LegState, RoomMachine};
use crate::ids::OfferId;
use crate::media_engine::LegMode;

/// What the machine waits for the directory's answer for.
#[derive(Debug)]
pub(super) enum Pending {
    /// The hunt of the establishing phase.
    Hunt,
    /// A REFER, accepted so far (`tx` gets 202 or the refusal).
    Refer {
        tx: TxId,
        leg: LegId,
        accepted: Accepted,
    },
    /// The next member of a team transfer.
    NextMember {
        req: TransferRequest,
        last: Option<LastMiss>,
    },
}

/// The last attempt that reached nobody: who, and the status the offer machine gave.
#[derive(Debug)]
pub(super) struct LastMiss {
    user: String,
    status: (u16, &'static str, &'static str),
}

impl RoomMachine {
    /// A REFER in one of the room's dialogs: refused at once (T1), or the directory is asked.
    pub(super) fn refer(&mut self, tx: TxId, leg_id: LegId, refer_to: Option<String>) {
        let in_call = self.agents_in_call();
        let checked = transfer_rules::check_request(
            &self.config,
            &TransferAsk {
                requester: self.leg(leg_id).map(|l| &l.role),
                refer_to: refer_to.as_deref(),
                under_way: self.transfer.is_some() || self.pending.is_some(),
                parties: self.legs.len(),
                agents_in_call: &in_call,
            },
        );
        let accepted = match checked {
            Ok(a) => a,
            Err((code, phrase, warning)) => {
                self.respond(tx, Reply::Refuse(code, phrase, warning));
                return;
            }
        };
        let ask = match &accepted.team {
            Some(team) => Ask::Team {
                team: team.clone(),
                exclude: in_call,
            },
            None => Ask::Agent(accepted.target.user.clone()),
        };
        self.pending = Some(Pending::Refer {
            tx,
            leg: leg_id,
            accepted,
        });
        self.emit(Effect::Ask(ask));
    }

    /// The directory answered a REFER's or a team transfer's question.
    pub(super) fn transfer_directory_reply(&mut self, reply: DirReply) {
        match (self.pending.take(), reply) {
            (Some(Pending::Refer { tx, leg, accepted }), DirReply::Reserved(user)) => {
                self.accept_refer(tx, leg, accepted, user)
            }
            (Some(Pending::Refer { tx, accepted, .. }), refusal) => {
                let (code, phrase, warning) = match (&accepted.team, refusal) {
                    (None, DirReply::Unavailable(status)) => {
                        transfer_rules::agent_refusal(&self.config, &accepted.target.user, status)
                    }
                    (None, _) => transfer_rules::agent_refusal(
                        &self.config,
                        &accepted.target.user,
                        agentphone_protocol::AgentStatus::Offline,
                    ),
                    (Some(team), _) => transfer_rules::team_refusal(team),
                };
                self.respond(tx, Reply::Refuse(code, phrase, warning));
            }
            (Some(Pending::NextMember { req, .. }), DirReply::Reserved(user)) => {
                self.ring_target(req, user)
            }
            (Some(Pending::NextMember { req, last }), _) => self.transfer_exhausted(req, last),
            (other, reply) => {
                self.pending = other;
                if let DirReply::Reserved(user) = reply {
                    self.directory(DirOp::Release(user));
                }
            }
        }
    }

    /// The target is reserved: 202, the request is noted and the target rung.
    fn accept_refer(&mut self, tx: TxId, leg_id: LegId, accepted: Accepted, user: String) {
        self.respond(tx, Reply::Ok);
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
                self.config.hold_customer_on_transfer,
                has_customer,
                customer_already_held,
            ),
            tried: Vec::new(),
        };
        self.sipfrag(leg_id, "100 Trying", false);
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
        self.ring_target(req, user);
    }

    /// The agents in the call now.
    fn agents_in_call(&self) -> Vec<String> {
        self.legs
            .iter()
            .filter_map(|l| l.role.agent().map(str::to_string))
            .collect()
    }

    /// Ring `user` (reserved) for the transfer.
    fn ring_target(&mut self, mut req: TransferRequest, user: String) {
        req.tried.push(user.clone());
        let shown = self
            .legs
            .iter()
            .find(|l| l.role.is_customer())
            .map(|l| l.role.clone())
            .unwrap_or_else(|| Role::Agent(req.by.clone()));
        let invite = InviteInfo {
            shown,
            team: req.team.clone(),
            referred_by: Some(req.by.clone()),
            subject: req.reason.clone(),
            listen_only: req.listen_only,
            // In a call already: the target's screen counts the call's time instead.
            waited_ms: None,
        };
        let id = self.new_offer_id();
        let to = Offeree::Agent(user.clone());
        let offer = Offer::new(id, to.clone(), self.now, self.config.ring_timeout);
        let by_leg = req.by_leg;
        self.transfer = Some(Transfer {
            req,
            phase: TransferPhase::Ringing(offer),
        });
        self.emit(Effect::StartOffer {
            offer: id,
            to,
            invite,
        });
        let name = self.agent_name(&user);
        self.sipfrag(by_leg, "180 Ringing", false);
        self.note(TimelineKind::TransferRinging, format!("Ringing {name}"));
        self.apply_modes();
    }

    /// The one rung is out: a team goes on to its next member (T3); else the transfer fails.
    fn target_missed(
        &mut self,
        req: TransferRequest,
        user: String,
        status: (u16, &'static str, &'static str),
    ) {
        let miss = LastMiss { user, status };
        if let Some(team) = req.team.clone() {
            let name = self.agent_name(&miss.user);
            self.note(
                TimelineKind::TransferRinging,
                format!("{name} {}", miss.status.2),
            );
            let exclude = transfer_rules::team_exclusions(&req.tried, &self.agents_in_call());
            self.pending = Some(Pending::NextMember {
                req,
                last: Some(miss),
            });
            self.emit(Effect::Ask(Ask::Team { team, exclude }));
        } else {
            self.transfer_exhausted(req, Some(miss));
        }
    }

    /// Nobody (else) to ring: the transfer fails with the last miss (T7).
    fn transfer_exhausted(&mut self, req: TransferRequest, last: Option<LastMiss>) {
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
    }

    /// The ringing transfer offer, if `id` is it.
    fn transfer_offer(&mut self, id: OfferId) -> Option<&mut Offer> {
        match &mut self.transfer {
            Some(Transfer {
                phase: TransferPhase::Ringing(o),
                ..
            }) if o.id == id => Some(o),
            _ => None,
        }
    }

    /// Take the ringing transfer out (for a step that ends its ringing).
    fn take_ringing(&mut self) -> Option<(TransferRequest, Offer)> {
        match self.transfer.take() {
            Some(Transfer {
                req,
                phase: TransferPhase::Ringing(o),
            }) => Some((req, o)),
            other => {
                self.transfer = other;
                None
            }
        }
    }

    /// The clock reached the ring timeout of the target.
    pub(super) fn transfer_tick(&mut self) {
        let id = match &self.transfer {
            Some(Transfer {
                phase: TransferPhase::Ringing(o),
                ..
            }) => o.id,
            _ => return,
        };
        self.transfer_offer_input(id, OfferInput::Tick);
    }

    /// An event of an offer while connected: the transfer's, or an abandoned one.
    pub(super) fn transfer_offer_input(&mut self, id: OfferId, input: OfferInput) {
        let now = self.now;
        let Some(offer) = self.transfer_offer(id) else {
            self.stale_offer(id, &input);
            return;
        };
        match offer.handle(input, now) {
            Step::Wait | Step::Over => {}
            Step::Answered => {
                let listen_only = self.transfer.as_ref().is_some_and(|t| t.req.listen_only);
                let leg = self.new_leg_id();
                self.joining = Some((id, leg));
                self.emit(Effect::Join {
                    offer: id,
                    leg,
                    listen_only,
                });
            }
            Step::Missed(miss) => {
                let Some((req, offer)) = self.take_ringing() else {
                    return;
                };
                self.offer_over(&offer, miss.cancel_invite);
                self.rang_out(&offer.to, &miss);
                let user = offer.to.label().to_string();
                self.target_missed(req, user, miss.transfer_status());
            }
        }
    }

    /// The driver could not send the transfer's INVITE.
    pub(super) fn transfer_offer_not_sent(&mut self, id: OfferId) {
        if self.transfer_offer(id).is_none() {
            return;
        }
        let Some((req, offer)) = self.take_ringing() else {
            return;
        };
        self.release(&offer.to);
        let user = offer.to.label().to_string();
        self.target_missed(
            req,
            user,
            (480, "Temporarily Unavailable", "cannot be reached"),
        );
    }

    /// The answered target joined (consultation, or listen-only done) or answered unusably.
    pub(super) fn transfer_joined(&mut self, id: OfferId, result: Result<Direction, Unusable>) {
        let Some((_, leg_id)) = self.joining.take().filter(|(o, _)| *o == id) else {
            return;
        };
        if self.transfer_offer(id).is_none() {
            self.orphan_join(leg_id, &result);
            return;
        }
        let Some((req, mut offer)) = self.take_ringing() else {
            return;
        };
        let user = offer.to.label().to_string();
        let direction = match result {
            Ok(d) => d,
            Err(unusable) => {
                let no_audio = unusable == Unusable::NoAudio;
                let status = match offer.handle(OfferInput::BadAnswer { no_audio }, self.now) {
                    Step::Missed(m) => m.transfer_status(),
                    _ => (480, "Temporarily Unavailable", "answered badly"),
                };
                self.release(&offer.to);
                self.target_missed(req, user, status);
                return;
            }
        };
        self.legs.push(LegState {
            id: leg_id,
            role: Role::Agent(user.clone()),
            direction,
            listen_only: req.listen_only,
            muted: false,
            level: 0,
            confirmed: true,
        });
        self.directory(DirOp::Answered(user.clone()));
        self.record_joined(leg_id);
        self.sipfrag(req.by_leg, "200 OK", true);
        let name = self.agent_name(&user);
        if req.listen_only {
            self.note(
                TimelineKind::TransferAnswered,
                format!("{name} joined to listen"),
            );
        } else {
            self.note(TimelineKind::TransferAnswered, format!("{name} answered"));
            let requester_left = self.leg(req.by_leg).is_none();
            self.transfer = Some(Transfer {
                req,
                phase: TransferPhase::Consulting {
                    target: user,
                    leg: leg_id,
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
        self.transferred_out = Some(t.req.by_leg);
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
        self.leave(leg_id, true);
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

    /// The consulted target left (T8): back to A and the customer.
    pub(super) fn target_left(&mut self, name: &str) {
        if let Some(t) = self.transfer.take() {
            self.finish_transfer(
                t.req,
                false,
                Outcome::Failed(
                    487,
                    "Request Terminated",
                    format!("{name} hung up during the consultation"),
                ),
            );
        }
    }

    /// The room ends with a transfer under way: it fails.
    pub(super) fn end_transfer_with_room(&mut self, reason: &str) {
        let failed = Outcome::Failed(
            480,
            "Temporarily Unavailable",
            format!("the call ended ({reason})"),
        );
        if let Some(Pending::NextMember { req, .. }) = self.pending.take() {
            self.finish_transfer(req, true, failed);
            return;
        }
        let Some(t) = self.transfer.take() else {
            return;
        };
        match t.phase {
            // Everyone leaves below: the consulted target too.
            TransferPhase::Consulting { .. } => self.finish_transfer(t.req, false, failed),
            TransferPhase::Ringing(_) => self.end_transfer(t, failed),
        }
    }

    /// End a transfer that did not complete: a ringing target is withdrawn, a consulted one
    /// leaves.
    fn end_transfer(&mut self, t: Transfer, outcome: Outcome) {
        let Transfer { req, phase } = t;
        match phase {
            TransferPhase::Ringing(mut offer) => {
                let cancel = match offer.handle(OfferInput::Withdraw, self.now) {
                    Step::Missed(m) => m.cancel_invite,
                    _ => false,
                };
                self.offer_over(&offer, cancel);
                self.finish_transfer(req, true, outcome);
            }
            TransferPhase::Consulting { leg, .. } => {
                self.finish_transfer(req, false, outcome);
                self.leave(leg, true);
            }
        }
    }

    /// The transfer ends without completing: timeline, sipfrag (while still ringing), the
    /// customer resumed if the transfer held them, modes back as before.
    fn finish_transfer(&mut self, req: TransferRequest, ringing: bool, outcome: Outcome) {
        let target = req
            .tried
            .last()
            .map(|u| self.agent_name(u))
            .or(req.team.clone())
            .unwrap_or_default();
        match outcome {
            Outcome::Failed(code, phrase, why) => {
                if ringing {
                    self.sipfrag(req.by_leg, &format!("{code} {phrase}"), true);
                }
                self.note(
                    TimelineKind::TransferFailed,
                    format!("Transfer to {target} failed: {why}"),
                );
            }
            Outcome::Cancelled => {
                if ringing {
                    self.sipfrag(req.by_leg, "487 Request Terminated", true);
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

    /// A sipfrag NOTIFY to the requester (if still in the call).
    fn sipfrag(&mut self, leg: LegId, status: &str, last: bool) {
        if self.leg(leg).is_some() {
            self.emit(Effect::Sipfrag {
                leg,
                status: status.to_string(),
                last,
            });
        }
    }

    /// The transfer as the call rules see it.
    pub(super) fn transfer_view(&self) -> TransferView {
        self.transfer
            .as_ref()
            .map_or(TransferView::None, Transfer::view)
    }
}
