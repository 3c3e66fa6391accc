//! Room commands (protocol.md "Room commands"): INFO with Info-Package `agentphone-room` and a
//! JSON body in the call's dialog — hold/resume the customer, tell the room I am muted, cancel or
//! complete a transfer. Refusals come back as `CommandFailed` with the server's Warning text.

use agentphone_sip::endpoint::TxError;
use agentphone_sip::rsip;

use super::command::PhoneError;
use super::engine::Engine;
use super::event::{CallState, PhoneEvent, TransferState};
use super::room::INFO_PACKAGE;
use super::sip_util;
use super::transactions::Purpose;
use agentphone_protocol::command::CONTENT_TYPE;

pub use agentphone_protocol::RoomCommand;

impl Engine {
    /// Whether the call is a server room that takes room commands.
    pub(super) fn in_server_room(&self) -> bool {
        self.call.as_ref().is_some_and(|c| c.room.takes_commands)
    }

    /// Send `cmd` as INFO in the call's dialog.
    pub(super) fn send_room_command(&mut self, cmd: RoomCommand) -> Result<(), PhoneError> {
        let call = self.call.as_mut().ok_or(PhoneError::NoCall)?;
        let connected = matches!(
            call.state,
            CallState::Connected | CallState::Held | CallState::RemoteHeld
        );
        let dialog = match call.dialog.as_mut() {
            Some(d) if connected && call.invite_tx.is_none() => d,
            _ => return Err(PhoneError::NotConnected),
        };
        let mut req = dialog.request(rsip::Method::Info, Some((CONTENT_TYPE, cmd.to_body())));
        sip_util::push_header(&mut req.headers, "Info-Package", INFO_PACKAGE);
        let peer = dialog.peer;
        let transfer = match cmd {
            RoomCommand::CancelTransfer | RoomCommand::CompleteTransfer => call
                .room
                .transfer
                .as_ref()
                .map(|t| (t.id, t.target.clone())),
            _ => None,
        };
        let purpose = Purpose::RoomCommand {
            call: call.id.clone(),
            command: cmd,
            transfer,
        };
        self.send_request(req, peer, purpose);
        Ok(())
    }

    /// The answer to a room command.
    pub(super) fn on_room_command_response(
        &mut self,
        call: &str,
        cmd: RoomCommand,
        transfer: Option<(u64, String)>,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let (code, reason) = match result {
            Ok(resp) if resp.status_code.code() < 200 => return,
            Ok(resp) if resp.status_code.code() < 300 => {
                return self.room_command_done(call, cmd, transfer)
            }
            Ok(resp) => (resp.status_code.code(), sip_util::refusal_reason(&resp)),
            Err(e) => (408, format!("the server did not answer ({e})")),
        };
        self.emit(PhoneEvent::CommandFailed {
            command: cmd.name().to_string(),
            code,
            reason,
        });
    }

    fn room_command_done(&mut self, call: &str, cmd: RoomCommand, about: Option<(u64, String)>) {
        match cmd {
            RoomCommand::Hold | RoomCommand::Resume => {
                let Some(c) = self.call_mut(call) else {
                    return;
                };
                c.room.held_by_me = cmd == RoomCommand::Hold;
                let state = self.connected_state();
                self.set_call_state(state, None);
            }
            RoomCommand::Mute { .. } | RoomCommand::Supervise { .. } => {}
            RoomCommand::CancelTransfer | RoomCommand::CompleteTransfer => {
                // The call may already be over (completing makes the server hang up on me).
                let progress = self.call_mut(call).and_then(|c| c.room.transfer.as_mut());
                let about_id = about.as_ref().map(|(id, _)| *id);
                if let Some(p) = progress {
                    if Some(p.id) != about_id || p.finished {
                        // A newer transfer of mine runs now, or the sipfrag NOTIFY (487)
                        // already reported this one.
                        return;
                    }
                    p.finished = true;
                }
                let target = about.map(|(_, t)| t);
                let state = if cmd == RoomCommand::CancelTransfer {
                    TransferState::Cancelled
                } else {
                    TransferState::Completed
                };
                self.emit(PhoneEvent::Transfer {
                    state,
                    code: None,
                    reason: None,
                    target,
                });
            }
        }
    }
}
