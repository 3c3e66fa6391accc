//! The room actor: owns the legs and runs one loop until the call ends. Each turn waits in one
//! `select!` for the first of: a room message, the caller cancelling, a directory change (queued
//! only), the one timer (the next deadline of whatever rings, or of the queue), a media event.
//! The [`Phase`] says who handles it: establishing and queued (`establish.rs`), connected
//! (in-dialog requests, transfers, media events), then ending (BYE to whoever is left).

use std::sync::Arc;
use std::time::Instant;

use agentphone_protocol::{RoomState, TimelineEntry, TimelineKind};
use agentphone_sip::endpoint::ServerTransaction;
use tokio::sync::{mpsc, watch};

use super::call_rules::{self, OnLeave, TransferView};
use super::call_setup::{Establishing, Phase};
use super::hold::LegView;
use super::leg::Leg;
use super::outgoing::Outgoing;
use super::room_sub::RoomSub;
use super::transfer_state::{Outcome, Transfer, TransferPhase};
use super::{LegId, RoomSetup};
use crate::context::Ctx;
use crate::ids::OfferId;
use crate::media_engine::{LegMode, MediaCmd, MediaEvent, MediaEventKind};
use crate::records::RecordOp;
use crate::room_handle::{OfferEvent, RoomHandle, RoomMsg};

/// What woke the room's loop. One lives for one turn on the stack, so its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Wake {
    /// A room message (None: every handle is gone).
    Msg(Option<RoomMsg>),
    /// The caller CANCELled its INVITE (establishing only).
    CallerCancelled,
    /// The directory changed (queued only; false: the directory stopped).
    DirectoryChanged(bool),
    /// The deadline of [`Room::next_deadline`] passed.
    Timer,
    /// A media event (None: the media engine stopped).
    Media(Option<MediaEvent>),
}

/// Resolves when the caller CANCELs `invite`; never without one.
async fn caller_cancelled(invite: Option<&ServerTransaction>) {
    match invite {
        Some(tx) => tx.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `deadline`; never without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// The state a room actor owns.
pub(super) struct Room {
    pub ctx: Arc<Ctx>,
    pub handle: RoomHandle,
    pub rx: mpsc::UnboundedReceiver<RoomMsg>,
    pub media_rx: mpsc::UnboundedReceiver<MediaEvent>,
    /// Call record id.
    pub record_id: String,
    pub legs: Vec<Leg>,
    /// Legs that have a confirmed dialog (so leaving means a BYE).
    pub confirmed: Vec<LegId>,
    /// INVITEs we gave up on (no answer in time, caller left): a late 2xx gets ACK + BYE.
    pub abandoned: Vec<Outgoing>,
    /// SDP session id for all our SDP in this room.
    pub session_id: u64,
    /// The caller's INVITE transaction, kept while the room lives (2xx retransmission, ACK).
    pub caller_invite: Option<ServerTransaction>,
    /// The room's URI (`sip:room-ID@IP:PORT`): our Contact towards agents, the target of room
    /// subscriptions, INFO and REFER.
    pub room_uri: rsip::Uri,
    /// The conversation timeline.
    pub timeline: Vec<TimelineEntry>,
    /// Room state subscribers.
    pub subs: Vec<RoomSub>,
    /// The state last NOTIFYed (numbered with `state_version`).
    pub last_state: Option<RoomState>,
    /// Version of the room state.
    pub state_version: u64,
    /// The transfer under way.
    pub transfer: Option<Transfer>,
    /// Held by a `hold` command (C3): the customer, or (no customer) everyone but this leg.
    pub command_hold: Option<LegId>,
    /// Transfers started so far.
    pub next_transfer: u64,
    /// INVITEs sent so far (offer ids).
    next_offer: u64,
    /// Room subscriptions that arrived before the call was connected (served once it is).
    pub early_subs: Vec<(String, std::time::Duration, ServerTransaction)>,
    /// Where the call is.
    pub phase: Phase,
    /// The establishing phase's state (until the call is connected or fails).
    pub establishing: Option<Establishing>,
    /// Directory changes (wake a queued call).
    pub changes: watch::Receiver<u64>,
    next_leg: LegId,
}

/// Run a room from the caller's INVITE to the end.
pub(super) async fn run(
    ctx: Arc<Ctx>,
    handle: RoomHandle,
    rx: mpsc::UnboundedReceiver<RoomMsg>,
    setup: RoomSetup,
) {
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    ctx.media.send(MediaCmd::AddRoom {
        room: handle.id(),
        events: media_tx,
    });
    let room_uri = rsip::Uri::try_from(ctx.local_contact.to_string().replacen(
        "agentphone@",
        &format!("room-{}@", handle.id()),
        1,
    ))
    .unwrap_or_else(|_| ctx.local_contact.clone());
    let mut room = Room {
        room_uri,
        timeline: Vec::new(),
        subs: Vec::new(),
        last_state: None,
        state_version: 0,
        transfer: None,
        command_hold: None,
        next_transfer: 0,
        next_offer: 0,
        early_subs: Vec::new(),
        phase: Phase::Establishing,
        establishing: None,
        changes: ctx.directory.changes(),
        ctx,
        handle,
        rx,
        media_rx,
        record_id: format!("{:016x}", rand::random::<u64>()),
        legs: Vec::new(),
        confirmed: Vec::new(),
        abandoned: Vec::new(),
        session_id: rand::random::<u32>() as u64,
        caller_invite: None,
        next_leg: 1,
    };
    let reason = match room.begin(setup).await {
        Ok(()) => room.serve().await,
        Err(reason) => reason,
    };
    for (_, _, tx) in std::mem::take(&mut room.early_subs) {
        crate::sip_reply::refuse(&tx, 404, "Not Found", "The call has ended").await;
    }
    room.end(&reason);
}

impl Room {
    pub fn new_leg_id(&mut self) -> LegId {
        let id = self.next_leg;
        self.next_leg += 1;
        id
    }

    /// A fresh id for an INVITE the room is about to send.
    pub fn new_offer_id(&mut self) -> OfferId {
        self.next_offer += 1;
        OfferId(self.next_offer)
    }

    pub fn media(&self, cmd: MediaCmd) {
        self.ctx.media.send(cmd);
    }

    pub fn record(&self, state: &'static str, detail: Option<String>) {
        self.ctx.records.write(RecordOp::State {
            call: self.record_id.clone(),
            state,
            detail,
        });
    }

    /// The room's one loop: wait for the next wake-up, let the phase handle it; returns why the
    /// call ended.
    async fn serve(&mut self) -> String {
        loop {
            if let Some(reason) = self.advance_hunt().await {
                return reason;
            }
            let establishing = matches!(self.phase, Phase::Establishing | Phase::Queued { .. });
            let queued = matches!(self.phase, Phase::Queued { .. });
            let deadline = self.next_deadline();
            let invite = self.caller_invite.as_ref().filter(|_| establishing);
            let wake = tokio::select! {
                msg = self.rx.recv() => Wake::Msg(msg),
                _ = caller_cancelled(invite) => Wake::CallerCancelled,
                changed = self.changes.changed(), if queued => Wake::DirectoryChanged(changed.is_ok()),
                _ = sleep_until(deadline) => Wake::Timer,
                ev = self.media_rx.recv() => Wake::Media(ev),
            };
            let ended = if establishing {
                self.establishing_wake(wake).await
            } else {
                self.connected_wake(wake).await
            };
            if let Some(reason) = ended {
                return reason;
            }
            if self.phase == Phase::Connected {
                self.publish_state();
                if let Some(reason) = self.end_reason() {
                    return reason;
                }
            }
        }
    }

    /// When the room must wake even if nothing arrives: the ring timeout of the offer ringing
    /// (establishing, or a transfer's target), or the end of the queue wait.
    fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Establishing => self
                .establishing
                .as_ref()
                .and_then(|e| e.ringing.as_ref())
                .map(|r| r.offer.deadline),
            Phase::Queued { until } => Some(until),
            Phase::Connected => self.transfer_deadline(),
            Phase::Ending => None,
        }
    }

    /// One wake-up of the connected call; Some(reason) when it ends.
    async fn connected_wake(&mut self, wake: Wake) -> Option<String> {
        match wake {
            Wake::Msg(None | Some(RoomMsg::Shutdown)) => {
                return Some("server shutting down".into())
            }
            Wake::Msg(Some(RoomMsg::InDialog { leg, tx })) => self.in_dialog(leg, tx).await,
            Wake::Msg(Some(RoomMsg::Offer { offer, event })) => {
                if self.is_transfer_offer(offer) {
                    self.transfer_offer(event).await;
                } else {
                    self.abandoned_offer(offer, event).await;
                }
            }
            Wake::Msg(Some(RoomMsg::Subscribe { user, expires, tx })) => {
                self.subscribe(user, expires, tx).await
            }
            Wake::Msg(Some(RoomMsg::Resubscribe {
                call_id,
                expires,
                tx,
            })) => self.resubscribe(&call_id, expires, tx).await,
            Wake::Timer => self.transfer_ring_timeout().await,
            Wake::Media(Some(MediaEvent {
                leg,
                kind: MediaEventKind::RtpTimeout,
            })) => {
                let secs = self.ctx.config.rtp_timeout.as_secs();
                tracing::info!(room = %self.handle.id(), leg, "no RTP for {secs} s: leg gone");
                self.party_left(leg, &format!("no RTP for {secs} s"), true);
            }
            Wake::Media(Some(MediaEvent {
                leg,
                kind: MediaEventKind::Dtmf(digit),
            })) => {
                tracing::debug!(room = %self.handle.id(), leg, %digit, "DTMF relayed");
            }
            Wake::Media(Some(MediaEvent {
                leg,
                kind: MediaEventKind::Level(level),
            })) => {
                if let Some(l) = self.legs.iter_mut().find(|l| l.id == leg) {
                    l.level = level;
                }
            }
            Wake::Media(None) => return Some("media engine stopped".into()),
            // Only while establishing.
            Wake::CallerCancelled | Wake::DirectoryChanged(_) => {}
        }
        None
    }

    /// Why the room ends now, if it does (`call_rules::end_reason`).
    fn end_reason(&self) -> Option<String> {
        let ringing = self.transfer.as_ref().is_some_and(Transfer::is_ringing);
        call_rules::end_reason(&self.leg_views(), ringing).map(str::to_string)
    }

    /// The legs as the rules see them.
    fn leg_views(&self) -> Vec<LegView<'_>> {
        self.legs
            .iter()
            .map(|l| LegView {
                id: l.id,
                role: &l.role,
                holding: l.is_holding(),
                listen_only: l.listen_only,
            })
            .collect()
    }

    /// What every leg hears now (`call_rules::modes`).
    pub fn current_modes(&self) -> Vec<(LegId, LegMode)> {
        let transfer = self
            .transfer
            .as_ref()
            .map_or(TransferView::None, Transfer::view);
        call_rules::modes(
            &self.leg_views(),
            self.command_hold,
            transfer,
            self.ctx.config.hold_customer_on_transfer,
        )
    }

    /// Tell the media engine what every leg hears, from who holds.
    pub fn apply_modes(&self) {
        for (leg, mode) in self.current_modes() {
            self.media(MediaCmd::SetMode {
                room: self.handle.id(),
                leg,
                mode,
            });
        }
    }

    /// A party hung up or vanished: with a transfer in consultation, the requester leaving
    /// completes it (T6) and the target leaving ends it (T8).
    pub fn party_left(&mut self, leg_id: LegId, reason: &str, send_bye: bool) {
        let transfer = self
            .transfer
            .as_ref()
            .map_or(TransferView::None, Transfer::view);
        match call_rules::on_leave(transfer, leg_id) {
            OnLeave::Complete => {
                self.complete_now();
                self.leave(leg_id, reason, send_bye);
            }
            OnLeave::TargetLeft => {
                let name = self
                    .legs
                    .iter()
                    .find(|l| l.id == leg_id)
                    .map(|l| self.name_of(&l.role))
                    .unwrap_or_default();
                self.leave(leg_id, reason, send_bye);
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
            OnLeave::Leave => self.leave(leg_id, reason, send_bye),
        }
    }

    /// A leg leaves the room (hung up, timed out, or the room ends); `send_bye` when it did not
    /// hang up itself and its dialog is confirmed.
    pub fn leave(&mut self, leg_id: LegId, reason: &str, send_bye: bool) {
        let Some(pos) = self.legs.iter().position(|l| l.id == leg_id) else {
            return;
        };
        let mut leg = self.legs.remove(pos);
        self.ctx.dialogs.unbind(&leg.dialog.call_id);
        self.media(MediaCmd::RemoveLeg {
            room: self.handle.id(),
            leg: leg_id,
        });
        if send_bye && self.confirmed.contains(&leg_id) {
            let bye = leg.dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, leg.dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
        }
        if let Some(agent) = leg.role.agent() {
            self.ctx.directory.call_ended(agent);
        }
        self.command_hold = call_rules::hold_after_leave(
            self.command_hold,
            leg_id,
            leg.role.is_customer(),
            self.legs.iter().any(|l| l.role.is_customer()),
        );
        tracing::debug!(room = %self.handle.id(), leg = leg_id, %reason, "leg left");
        if self.phase != Phase::Ending {
            let name = self.name_of(&leg.role);
            if leg.role.is_customer() {
                self.note(
                    TimelineKind::CustomerLeft,
                    format!("{name} left (the customer)"),
                );
            } else {
                self.note(TimelineKind::Left, format!("{name} left"));
            }
        }
        if let Some(agent) = leg.role.agent() {
            let agent = agent.to_string();
            self.end_subscriptions_of(Some(&agent));
        }
        if !self.legs.is_empty() {
            self.apply_modes();
        }
    }

    /// The room ends: BYE to whoever is left, forget the dialogs and the media, close the record.
    fn end(&mut self, reason: &str) {
        if let Some(t) = self.transfer.take() {
            let failed = Outcome::Failed(
                480,
                "Temporarily Unavailable",
                format!("the call ended ({reason})"),
            );
            match t.phase {
                // Everyone leaves below: the consulted target too.
                TransferPhase::Consulting { .. } => self.finish_transfer(t.req, false, failed),
                TransferPhase::Ringing(_) => self.end_transfer(t, failed),
            }
        }
        self.note_in_memory(TimelineKind::Ended, format!("Call ended: {reason}"));
        self.end_subscriptions_of(None);
        self.phase = Phase::Ending;
        let ids: Vec<LegId> = self.legs.iter().map(|l| l.id).collect();
        for id in ids {
            self.leave(id, reason, true);
        }
        for out in &mut self.abandoned {
            out.cancel();
        }
        self.media(MediaCmd::RemoveRoom {
            room: self.handle.id(),
        });
        self.ctx.dialogs.remove_room(self.handle.id());
        self.ctx.records.write(RecordOp::Ended {
            call: self.record_id.clone(),
            reason: reason.to_string(),
        });
        tracing::info!(room = %self.handle.id(), call = %self.record_id, %reason, "room ended");
    }

    /// An event for an INVITE we gave up on: a late 2xx is ACKed and hung up at once.
    pub async fn abandoned_offer(&mut self, offer: OfferId, event: OfferEvent) {
        let Some(pos) = self.abandoned.iter().position(|o| o.id == offer) else {
            return;
        };
        let code = match &event {
            OfferEvent::Response(r) => u16::from(r.status_code.clone()),
            OfferEvent::Failed(_) => 999,
        };
        if code < 200 {
            return;
        }
        let out = self.abandoned.remove(pos);
        if let (OfferEvent::Response(resp), true) = (&event, (200..300).contains(&code)) {
            if let Some(mut dialog) =
                agentphone_sip::dialog::Dialog::from_uac(&out.request, resp, out.peer)
            {
                let _ = self
                    .ctx
                    .endpoint
                    .ack(dialog.ack(1, None), dialog.peer)
                    .await;
                let bye = dialog.request(rsip::Method::Bye, None);
                let tx = self.ctx.endpoint.request(bye, dialog.peer);
                tokio::spawn(async move {
                    let _ = tx.final_response().await;
                });
            }
        }
    }
}
