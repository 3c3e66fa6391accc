//! Room commands: INFO in an agent's call dialog with Info-Package `agentphone-room` and a JSON
//! body (docs/protocol.md "Room commands", RFC 6086). A command a server does not know is refused
//! (488, "Unknown command"), which is how commands evolve: no schema field needed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::supervisor::SuperviseMode;

/// The Info-Package name (`Info-Package:` of the INFO, `Recv-Info:` of INVITEs and 2xx).
pub const INFO_PACKAGE: &str = "agentphone-room";
/// The INFO body type.
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.command+json";

/// One room command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum RoomCommand {
    /// Hold the customer (or, with no customer, every other party) — C3.
    Hold,
    /// Resume.
    Resume,
    /// Tell the others I am muted (`on`) or not; the audio is gated locally — C2.
    Mute {
        /// Muted.
        on: bool,
    },
    /// Cancel the transfer under way (T7).
    CancelTransfer,
    /// Complete it: I leave, the customer is taken off hold (T6).
    CompleteTransfer,
    /// A supervisor in the call switches between listen, whisper and barge (V2).
    Supervise {
        /// How to be in the call from now on.
        mode: SuperviseMode,
    },
}

/// Why an INFO body is not a command (the text goes into the refusal's `Warning`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not JSON at all.
    #[error("The command is not JSON")]
    NotJson,
    /// JSON without a `command` word.
    #[error("No command")]
    NoCommand,
    /// A command this side does not know.
    #[error("Unknown command {0}")]
    Unknown(String),
    /// A known command with missing or wrong arguments.
    #[error("{0}")]
    BadArguments(String),
}

impl RoomCommand {
    /// The `command` word.
    pub fn name(self) -> &'static str {
        match self {
            RoomCommand::Hold => "hold",
            RoomCommand::Resume => "resume",
            RoomCommand::Mute { .. } => "mute",
            RoomCommand::CancelTransfer => "cancel_transfer",
            RoomCommand::CompleteTransfer => "complete_transfer",
            RoomCommand::Supervise { .. } => "supervise",
        }
    }

    /// The INFO body.
    pub fn to_body(self) -> Vec<u8> {
        // A tagged enum of plain fields always serialises.
        serde_json::to_vec(&self).unwrap_or_default()
    }

    /// Read an INFO body; unknown extra fields are ignored.
    pub fn parse(body: &[u8]) -> Result<RoomCommand, CommandError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| CommandError::NotJson)?;
        let name = value
            .get("command")
            .and_then(Value::as_str)
            .ok_or(CommandError::NoCommand)?
            .to_string();
        const KNOWN: [&str; 6] = [
            "hold",
            "resume",
            "mute",
            "cancel_transfer",
            "complete_transfer",
            "supervise",
        ];
        if !KNOWN.contains(&name.as_str()) {
            return Err(CommandError::Unknown(name));
        }
        serde_json::from_value(value).map_err(|_| {
            CommandError::BadArguments(match name.as_str() {
                "mute" => "mute needs \"on\": true or false".to_string(),
                "supervise" => "supervise needs \"mode\": listen, whisper or barge".to_string(),
                _ => format!("Bad arguments for {name}"),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bodies of docs/protocol.md "Room commands".
    #[test]
    fn the_documented_bodies_are_what_is_written_and_read() {
        for (cmd, doc) in [
            (RoomCommand::Hold, r#"{"command": "hold"}"#),
            (RoomCommand::Resume, r#"{"command": "resume"}"#),
            (
                RoomCommand::Mute { on: true },
                r#"{"command": "mute", "on": true}"#,
            ),
            (
                RoomCommand::Mute { on: false },
                r#"{"command": "mute", "on": false}"#,
            ),
            (
                RoomCommand::CancelTransfer,
                r#"{"command": "cancel_transfer"}"#,
            ),
            (
                RoomCommand::CompleteTransfer,
                r#"{"command": "complete_transfer"}"#,
            ),
            (
                RoomCommand::Supervise {
                    mode: SuperviseMode::Whisper,
                },
                r#"{"command": "supervise", "mode": "whisper"}"#,
            ),
        ] {
            let written: Value = serde_json::from_slice(&cmd.to_body()).unwrap();
            assert_eq!(written, serde_json::from_str::<Value>(doc).unwrap());
            assert_eq!(RoomCommand::parse(doc.as_bytes()), Ok(cmd));
            assert_eq!(written["command"], json!(cmd.name()));
        }
    }

    #[test]
    fn bad_bodies_say_why() {
        for (body, why) in [
            (&b"hold"[..], CommandError::NotJson),
            (br#"{"on": true}"#, CommandError::NoCommand),
            (br#"{"command": 3}"#, CommandError::NoCommand),
            (
                br#"{"command": "park"}"#,
                CommandError::Unknown("park".into()),
            ),
            (
                br#"{"command": "mute"}"#,
                CommandError::BadArguments("mute needs \"on\": true or false".into()),
            ),
            (
                br#"{"command": "supervise", "mode": "spy"}"#,
                CommandError::BadArguments(
                    "supervise needs \"mode\": listen, whisper or barge".into(),
                ),
            ),
            (
                br#"{"command": "mute", "on": "yes"}"#,
                CommandError::BadArguments("mute needs \"on\": true or false".into()),
            ),
        ] {
            assert_eq!(RoomCommand::parse(body), Err(why));
        }
        assert_eq!(
            CommandError::Unknown("park".into()).to_string(),
            "Unknown command park"
        );
    }

    #[test]
    fn extra_fields_are_ignored() {
        let body = br#"{"command": "hold", "reason": "coffee", "schema": 2}"#;
        assert_eq!(RoomCommand::parse(body), Ok(RoomCommand::Hold));
    }
}
