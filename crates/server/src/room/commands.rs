//! Room commands over INFO (RFC 6086, Info-Package `agentphone-room`, JSON): hold / resume the
//! customer (any agent, C3), mute (room state only, C2), cancel / complete a transfer (T6, T7).
//! Customers may send none of them (T11).

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_protocol::{RoomCommand, TimelineKind};
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;

use super::actor::Room;
use super::LegId;
use crate::sip_reply;

impl Room {
    /// An INFO in one of the room's dialogs.
    pub(super) async fn info(&mut self, leg_id: LegId, tx: ServerTransaction) {
        let Some(leg) = self.legs.iter().find(|l| l.id == leg_id) else {
            return;
        };
        if leg.role.is_customer() {
            sip_reply::refuse(
                &tx,
                403,
                "Forbidden",
                "A customer cannot send room commands",
            )
            .await;
            return;
        }
        let msg = sip_reply::as_message(&tx.request);
        let package = message::header_value(&msg, "Info-Package").unwrap_or_default();
        if !package.trim().eq_ignore_ascii_case(INFO_PACKAGE) {
            // Not ours (e.g. an empty keep-alive INFO): accepted, nothing to do.
            sip_reply::reply(&tx, 200, "OK").await;
            return;
        }
        let outcome = match RoomCommand::parse(&tx.request.body) {
            Err(why) => Err((488, why.to_string())),
            Ok(cmd) => self.command(leg_id, cmd),
        };
        match outcome {
            Ok(()) => sip_reply::reply(&tx, 200, "OK").await,
            Err((code, warning)) => {
                let phrase = match code {
                    403 => "Forbidden",
                    409 => "Conflict",
                    _ => "Not Acceptable Here",
                };
                sip_reply::refuse(&tx, code, phrase, &warning).await;
            }
        }
    }

    fn command(&mut self, leg_id: LegId, cmd: RoomCommand) -> Result<(), (u16, String)> {
        let leg = self.legs.iter().find(|l| l.id == leg_id);
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
        let has_customer = self.legs.iter().any(|l| l.role.is_customer());
        let what = if has_customer {
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
        }
    }
}
