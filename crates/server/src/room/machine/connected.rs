//! The connected phase: requests in the legs' dialogs (BYE, re-INVITE, INFO room commands, REFER,
//! the harmless rest), media events (a leg silent for `rtp_timeout` is gone, B3; speaking
//! levels), room subscriptions, parties leaving (T6, T8, C5) and the end of the room.

use agentphone_protocol::{RoomCommand, TimelineKind};
use agentphone_sip::sdp::Direction;

use super::super::call_rules::{self, OnLeave};
use super::super::LegId;
use super::io::{DirOp, Effect, Ends, Event, Reply, Request, TxId};
use super::{Phase, RoomMachine};
use crate::media_engine::MediaEventKind;
use crate::records::RecordOp;

impl RoomMachine {
    /// One event of the connected call.
    pub(super) fn connected_event(&mut self, event: Event) {
        match event {
            Event::Shutdown(why) => self.end(why.into()),
            Event::Request { tx, leg, req } => self.request(tx, leg, req),
            Event::Reinvited { tx, leg, direction } => self.reinvited(tx, leg, direction),
            Event::Offer { offer, input } => self.transfer_offer_input(offer, input),
            Event::OfferNotSent { offer, .. } => self.transfer_offer_not_sent(offer),
            Event::Joined { offer, result } => self.transfer_joined(offer, result),
            Event::Directory(reply) => self.transfer_directory_reply(reply),
            Event::Subscribe {
                tx,
                user,
                expires_zero,
            } => self.subscribe(tx, user, expires_zero),
            Event::Tick => self.transfer_tick(),
            Event::Supervise { tx, user, mode } => self.supervise_request(tx, user, mode),
            Event::SupervisorJoined { leg, result } => self.supervisor_joined(leg, result),
            Event::Media { leg, kind } => match kind {
                MediaEventKind::RtpTimeout => {
                    self.last_departure = Some(call_rules::MEDIA_TIMEOUT);
                    self.party_left(leg, true);
                }
                MediaEventKind::Level(level) => {
                    if let Some(l) = self.legs.iter_mut().find(|l| l.id == leg) {
                        l.level = level;
                    }
                }
                MediaEventKind::Dtmf(_) => {}
            },
            Event::NoAck { leg } => {
                self.last_departure = Some(call_rules::NO_ACK);
                self.party_left(leg, true);
            }
            // Only while establishing.
            Event::Start { .. }
            | Event::EarlyAnswered(_)
            | Event::CallerCancelled
            | Event::DirectoryChanged
            | Event::QueueShed => {}
        }
    }

    fn request(&mut self, tx: TxId, leg_id: LegId, req: Request) {
        let Some(leg) = self.leg(leg_id) else {
            self.respond(tx, Reply::Status(481, "Call/Transaction Does Not Exist"));
            return;
        };
        let is_customer = leg.role.is_customer();
        match req {
            Request::Bye => {
                // Left (and its history written) before the 200 tells the party so.
                self.party_left(leg_id, false);
                self.respond(tx, Reply::Ok);
            }
            Request::Reinvite => self.emit(Effect::AnswerReinvite { tx, leg: leg_id }),
            Request::Info(_) if is_customer => self.respond(
                tx,
                Reply::Refuse(
                    403,
                    "Forbidden",
                    "A customer cannot send room commands".into(),
                ),
            ),
            // Not ours (e.g. an empty keep-alive INFO): accepted, nothing to do.
            Request::Info(Ok(None)) => self.respond(tx, Reply::Ok),
            Request::Info(Err(why)) => {
                self.respond(tx, Reply::Refuse(488, "Not Acceptable Here", why))
            }
            Request::Info(Ok(Some(cmd))) => match self.command(leg_id, cmd) {
                Ok(()) => self.respond(tx, Reply::Ok),
                Err((code, warning)) => {
                    let phrase = match code {
                        403 => "Forbidden",
                        409 => "Conflict",
                        _ => "Not Acceptable Here",
                    };
                    self.respond(tx, Reply::Refuse(code, phrase, warning));
                }
            },
            Request::Refer(refer_to) => self.refer(tx, leg_id, refer_to),
            Request::Harmless => self.respond(tx, Reply::Ok),
            Request::Other => self.respond(tx, Reply::NotAllowed),
        }
    }

    /// A room command over INFO (C2, C3, T6, T7); Err: status and Warning.
    fn command(&mut self, leg_id: LegId, cmd: RoomCommand) -> Result<(), (u16, String)> {
        let leg = self.leg(leg_id);
        let name = leg.map(|l| self.name_of(&l.role)).unwrap_or_default();
        if leg.is_some_and(|l| l.listen_only)
            && matches!(cmd, RoomCommand::Hold | RoomCommand::Resume)
        {
            // A listener is not in the conversation: holding is not theirs (issue 10 #1).
            return Err((
                403,
                format!("{name} is only listening and cannot put the call on hold or resume it"),
            ));
        }
        let what = if self.legs.iter().any(|l| l.role.is_customer()) {
            "the customer"
        } else {
            "the call"
        };
        match cmd {
            RoomCommand::Hold => {
                if self.command_hold.is_none() {
                    self.command_hold = Some(leg_id);
                    self.note(TimelineKind::Held, format!("{name} put {what} on hold"));
                    self.apply_modes();
                }
                Ok(())
            }
            RoomCommand::Resume => {
                let transfer_hold = self.transfer.as_ref().is_some_and(|t| t.req.held_customer);
                if self.command_hold.is_some() || transfer_hold {
                    self.command_hold = None;
                    if let Some(t) = &mut self.transfer {
                        t.req.held_customer = false;
                    }
                    self.note(TimelineKind::Resumed, format!("{name} resumed {what}"));
                    self.apply_modes();
                }
                Ok(())
            }
            RoomCommand::Mute { on } => {
                if let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) {
                    leg.muted = on;
                }
                Ok(())
            }
            RoomCommand::CancelTransfer => self.cancel_transfer(),
            RoomCommand::CompleteTransfer => self.complete_transfer(leg_id),
            RoomCommand::Supervise { mode } => self.supervise_switch(leg_id, mode),
        }
    }

    /// A re-INVITE was answered (hold / resume / media change, RFC 6337): who hears what, the
    /// 200, the timeline.
    fn reinvited(&mut self, tx: TxId, leg_id: LegId, direction: Direction) {
        let has_customer = self.legs.iter().any(|l| l.role.is_customer());
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            self.respond(tx, Reply::Status(481, "Call/Transaction Does Not Exist"));
            return;
        };
        let was_holding = leg.is_holding();
        leg.direction = direction;
        let (holding, sends, role) = (leg.is_holding(), leg.sends_media(), leg.role.clone());
        // Switch the media first, so that when the party sees 200 the room already sounds held.
        self.emit(Effect::WatchTimeout {
            leg: leg_id,
            on: sends,
        });
        self.apply_modes();
        self.respond(tx, Reply::Ok);
        if holding != was_holding {
            let name = self.name_of(&role);
            let what = if role.is_customer() {
                "put the agents on hold"
            } else if has_customer {
                "put the customer on hold"
            } else {
                "put the call on hold"
            };
            if holding {
                self.note(TimelineKind::Held, format!("{name} {what}"));
            } else {
                self.note(TimelineKind::Resumed, format!("{name} resumed"));
            }
        }
    }

    /// A party subscribes to the room (403 for anyone else, T11).
    pub(super) fn subscribe(&mut self, tx: TxId, user: String, expires_zero: bool) {
        if !self
            .legs
            .iter()
            .any(|l| l.role.agent() == Some(user.as_str()))
        {
            self.respond(
                tx,
                Reply::Refuse(403, "Forbidden", "You are not in this call".into()),
            );
            return;
        }
        let state = if !expires_zero && self.last_state.is_none() {
            self.track_holds();
            let state = self.room_state();
            self.remember_state(state)
        } else {
            None
        };
        self.emit(Effect::AcceptSubscription { tx, user, state });
    }

    /// A party hung up or vanished: with a transfer in consultation, the requester leaving
    /// completes it (T6) and the target leaving ends it (T8).
    pub(super) fn party_left(&mut self, leg_id: LegId, send_bye: bool) {
        match call_rules::on_leave(self.transfer_view(), leg_id) {
            OnLeave::Complete => {
                self.complete_now();
                self.leave(leg_id, send_bye);
            }
            OnLeave::TargetLeft => {
                let name = self
                    .leg(leg_id)
                    .map(|l| self.name_of(&l.role))
                    .unwrap_or_default();
                self.leave(leg_id, send_bye);
                self.target_left(&name);
            }
            OnLeave::Leave => self.leave(leg_id, send_bye),
        }
    }

    /// A leg leaves the room (hung up, timed out, or the room ends); `send_bye` when it did not
    /// hang up itself (the driver sends BYE only in a confirmed dialog).
    pub(super) fn leave(&mut self, leg_id: LegId, send_bye: bool) {
        let Some(pos) = self.legs.iter().position(|l| l.id == leg_id) else {
            return;
        };
        let leg = self.legs.remove(pos);
        if let Some(agent) = leg.role.agent() {
            self.record_left(leg_id, agent);
        }
        let supervising = self.supervisor_left(leg_id);
        // The directory first, the BYE after: whatever the agent does once their phone shows
        // the call ended (or whatever a call ended after it does) reaches the directory after
        // this end, so the order of idle times is the order the calls really ended (R1, T3).
        if let Some(agent) = leg.role.agent() {
            let op = if supervising {
                DirOp::MonitorEnded(agent.to_string())
            } else {
                DirOp::CallEnded(agent.to_string())
            };
            self.directory(op);
        }
        self.emit(Effect::DropLeg {
            leg: leg_id,
            bye: send_bye && leg.confirmed,
        });
        self.command_hold = call_rules::hold_after_leave(
            self.command_hold,
            leg_id,
            leg.role.is_customer(),
            self.legs.iter().any(|l| l.role.is_customer()),
        );
        if self.phase == Phase::Ending {
            return;
        }
        let name = self.name_of(&leg.role);
        if leg.role.is_customer() {
            self.note(
                TimelineKind::CustomerLeft,
                format!("{name} left (the customer)"),
            );
        } else {
            self.note(TimelineKind::Left, format!("{name} left"));
        }
        if let Some(agent) = leg.role.agent() {
            self.end_subscriptions(Ends::User(agent.to_string()));
        }
        if !self.legs.is_empty() {
            self.apply_modes();
        }
    }

    /// Why the room ends now, if it does (`call_rules::end_reason`; a party lost to the media
    /// timeout rather than a BYE says so).
    pub(super) fn end_reason(&self) -> Option<String> {
        let ringing = self.transfer.as_ref().is_some_and(|t| t.is_ringing());
        call_rules::end_reason(&self.leg_views(), ringing).map(|r| {
            match self.last_departure {
                Some(why) if r == call_rules::REMOTE_HANGUP => why,
                _ => r,
            }
            .to_string()
        })
    }

    /// The room ends: a transfer under way fails, BYE to whoever is left, the record closes.
    pub(super) fn end(&mut self, reason: String) {
        if self.phase == Phase::Ending {
            return;
        }
        self.setup = None;
        self.pending = None;
        self.end_transfer_with_room(&reason);
        self.note_in_memory(TimelineKind::Ended, format!("Call ended: {reason}"));
        self.end_subscriptions(Ends::All);
        self.phase = Phase::Ending;
        let ids: Vec<LegId> = self.legs.iter().map(|l| l.id).collect();
        for id in ids {
            self.leave(id, true);
        }
        for (tx, _, _) in std::mem::take(&mut self.early_subs) {
            self.respond(
                tx,
                Reply::Refuse(404, "Not Found", "The call has ended".into()),
            );
        }
        self.emit(Effect::Record(RecordOp::Ended {
            call: self.record_id.clone(),
            reason: reason.clone(),
        }));
        self.emit(Effect::Ended(reason));
    }
}
