//! A supervisor joins a call (SPEC V2): an INVITE to the room's URI (`sip:room-ID@HOST`) with
//! `Supervise: listen|whisper|barge`; once in that call, the room command `supervise` switches
//! the mode. The room answers like any server room (a focus), so the call is then an ordinary
//! server-room call: hang up to leave.

use agentphone_protocol::supervisor::SUPERVISE_HEADER;
use agentphone_protocol::{RoomCommand, RoomId, SuperviseMode};

use super::command::PhoneError;
use super::engine::Engine;

impl Engine {
    /// Join room `room` as `mode`, or switch mode when my call is that room already (`room`
    /// empty: my call's room).
    pub(super) fn supervise(&mut self, room: &str, mode: SuperviseMode) -> Result<(), PhoneError> {
        if room.trim().is_empty() {
            if !self.in_server_room() {
                return Err(PhoneError::NoCall);
            }
            return self.send_room_command(RoomCommand::Supervise { mode });
        }
        let id = room
            .trim()
            .trim_start_matches("room-")
            .parse::<u64>()
            .map(RoomId)
            .map_err(|_| PhoneError::Invalid(format!("{room}: not a call number")))?;
        let user = id.uri_user();
        let in_that_room = self
            .call
            .as_ref()
            .and_then(|c| c.dialog.as_ref())
            .is_some_and(|d| d.remote_target.user() == Some(user.as_str()));
        if in_that_room {
            self.send_room_command(RoomCommand::Supervise { mode })?;
            return Ok(());
        }
        let uri = format!("sip:{user}@{}", self.cfg.domain());
        // Before dialling: the INVITE (and its re-send with credentials) carries the header.
        let before = self.supervise.replace((uri.clone(), mode));
        let dialled = self.dial(&uri);
        if dialled.is_err() {
            self.supervise = before;
        }
        dialled
    }

    /// The `Supervise` header of an INVITE to `uri`, when it joins a room as a supervisor.
    pub(super) fn supervise_header(&self, uri: &str) -> Option<(&'static str, &'static str)> {
        self.supervise
            .as_ref()
            .filter(|(to, _)| to == uri)
            .map(|(_, mode)| (SUPERVISE_HEADER, mode.as_str()))
    }
}
