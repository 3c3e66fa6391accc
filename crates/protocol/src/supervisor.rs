//! The supervisor event package (`agentphone-supervisor`, SPEC V1–V3): the whole floor as a
//! supervisor watches it — per team the customers waiting, the longest wait, calls and abandoned
//! calls today; every agent's state and since when; every call under way with its parties — and
//! how a supervisor joins a call (an INVITE to the room with a [`SUPERVISE_HEADER`]) and switches
//! between listen, whisper and barge (the room command `supervise`). docs/protocol.md
//! "Supervisor".

use serde::{Deserialize, Serialize};

use crate::directory::AgentStatus;
use crate::ids::RoomId;
use crate::room::{ParticipantState, Role};
use crate::schema::{first, SCHEMA};

/// The event package (`Event:` of SUBSCRIBE and NOTIFY).
pub const EVENT: &str = "agentphone-supervisor";
/// The NOTIFY body type (`Accept:` of the SUBSCRIBE).
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.supervisor+json";
/// The user part of the supervisor view's URI (`sip:supervisor@HOST`).
pub const URI_USER: &str = "supervisor";
/// The header of a supervisor's INVITE to a room (`sip:room-ID@HOST`) saying how they join.
pub const SUPERVISE_HEADER: &str = "Supervise";
/// At most this many calls in one document (the oldest first); `more_calls` counts the rest.
pub const MAX_CALLS: usize = 200;

/// How a supervisor is in a call (V2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuperviseMode {
    /// Hears everyone, heard by no one.
    Listen,
    /// Hears everyone, heard by the agents only (not the customer).
    Whisper,
    /// A full party: hears and is heard by everyone.
    Barge,
}

impl SuperviseMode {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            SuperviseMode::Listen => "listen",
            SuperviseMode::Whisper => "whisper",
            SuperviseMode::Barge => "barge",
        }
    }

    /// A wire word (any case, surrounding blanks ignored) as a mode.
    pub fn parse(word: &str) -> Option<SuperviseMode> {
        match word.trim().to_ascii_lowercase().as_str() {
            "listen" => Some(SuperviseMode::Listen),
            "whisper" => Some(SuperviseMode::Whisper),
            "barge" => Some(SuperviseMode::Barge),
            _ => None,
        }
    }
}

/// One team's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorTeam {
    /// Team name.
    pub name: String,
    /// Customers calling the team not answered yet (ringing a member or queued).
    #[serde(default)]
    pub waiting: u32,
    /// Since when the longest-waiting of them waits (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_wait_since_ms: Option<u64>,
    /// Customer calls to the team since midnight (UTC).
    #[serde(default)]
    pub calls_today: u32,
    /// Of those, calls that ended before an agent answered.
    #[serde(default)]
    pub abandoned_today: u32,
}

/// One agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorAgent {
    /// Login name.
    pub username: String,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: String,
    /// Derived status (as in the directory).
    pub status: AgentStatus,
    /// In this status since (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// Why the agent is away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_reason: Option<String>,
    /// Teams, in configured order.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// Where a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// Not answered yet: ringing a member, or queued.
    Waiting,
    /// Answered.
    Connected,
    /// A phase this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// One party of a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallParty {
    /// Customer or agent.
    pub role: Role,
    /// The agent's login (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name shown to people.
    #[serde(default)]
    pub name: String,
    /// As in the room state (`whispering`: a supervisor heard by the agents only).
    pub state: ParticipantState,
}

/// One call under way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorCall {
    /// The room (join it with an INVITE to `sip:room-ID@HOST`).
    pub room: RoomId,
    /// The team called, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Waiting or connected.
    pub phase: CallPhase,
    /// The customer's name (or URI), when there is a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The parties in the call (a waiting call: the caller alone).
    #[serde(default)]
    pub parties: Vec<CallParty>,
    /// When the call started (ms since the Unix epoch).
    pub since_ms: u64,
    /// When it was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_ms: Option<u64>,
}

/// The whole floor, as one NOTIFY carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorState {
    /// The document format ([`SCHEMA`]).
    #[serde(default = "first")]
    pub schema: u32,
    /// Grows with every change.
    #[serde(default)]
    pub version: u64,
    /// Every team, in configured order.
    #[serde(default)]
    pub teams: Vec<SupervisorTeam>,
    /// Every agent, in configured order.
    #[serde(default)]
    pub agents: Vec<SupervisorAgent>,
    /// Calls under way, oldest first, at most [`MAX_CALLS`].
    #[serde(default)]
    pub calls: Vec<SupervisorCall>,
    /// Calls under way beyond [`MAX_CALLS`], not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_calls: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SupervisorState {
    /// A state of this crate's schema (version 0).
    pub fn new(
        teams: Vec<SupervisorTeam>,
        agents: Vec<SupervisorAgent>,
        calls: Vec<SupervisorCall>,
    ) -> Self {
        SupervisorState {
            schema: SCHEMA,
            version: 0,
            teams,
            agents,
            calls,
            more_calls: 0,
        }
    }

    /// Same content, the version aside: nothing to tell subscribers.
    pub fn same_content(&self, other: &SupervisorState) -> bool {
        SupervisorState {
            version: other.version,
            ..self.clone()
        } == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use serde_json::Value;

    pub(crate) fn sample() -> SupervisorState {
        SupervisorState {
            schema: 1,
            version: 4,
            teams: vec![SupervisorTeam {
                name: "support".into(),
                waiting: 1,
                longest_wait_since_ms: Some(1795613390000),
                calls_today: 12,
                abandoned_today: 2,
            }],
            agents: vec![
                SupervisorAgent {
                    username: "bob".into(),
                    display_name: "Bob Stone".into(),
                    status: AgentStatus::OnCall,
                    since_ms: Some(1795613338622),
                    away_reason: None,
                    teams: vec!["support".into()],
                },
                SupervisorAgent {
                    username: "carol".into(),
                    display_name: "Carol Diaz".into(),
                    status: AgentStatus::Away,
                    since_ms: Some(1795613301000),
                    away_reason: Some("lunch".into()),
                    teams: vec!["support".into()],
                },
            ],
            calls: vec![
                SupervisorCall {
                    room: RoomId(7),
                    team: Some("support".into()),
                    phase: CallPhase::Connected,
                    customer: Some("Sam Carter".into()),
                    parties: vec![
                        CallParty {
                            role: Role::Customer,
                            username: None,
                            name: "Sam Carter".into(),
                            state: ParticipantState::Connected,
                        },
                        CallParty {
                            role: Role::Agent,
                            username: Some("bob".into()),
                            name: "Bob Stone".into(),
                            state: ParticipantState::Connected,
                        },
                        CallParty {
                            role: Role::Agent,
                            username: Some("sue".into()),
                            name: "Sue Park".into(),
                            state: ParticipantState::Whispering,
                        },
                    ],
                    since_ms: 1795613330000,
                    answered_ms: Some(1795613338622),
                },
                SupervisorCall {
                    room: RoomId(8),
                    team: Some("support".into()),
                    phase: CallPhase::Waiting,
                    customer: Some("sip:pat@127.0.0.1".into()),
                    parties: vec![CallParty {
                        role: Role::Customer,
                        username: None,
                        name: "sip:pat@127.0.0.1".into(),
                        state: ParticipantState::Held,
                    }],
                    since_ms: 1795613390000,
                    answered_ms: None,
                },
            ],
            more_calls: 0,
        }
    }

    #[test]
    fn the_documented_sample_is_what_is_written_and_read() {
        let written: Value = serde_json::to_value(sample()).unwrap();
        let sample_text = crate::doc_sample("Supervisor");
        let doc: Value = serde_json::from_str(&sample_text).unwrap();
        assert_eq!(written, doc);
        assert_eq!(
            decode::<SupervisorState>(sample_text.as_bytes()).unwrap(),
            sample()
        );
        let again = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(decode::<SupervisorState>(&again).unwrap(), sample());
    }

    #[test]
    fn modes_round_trip_by_their_words() {
        for mode in [
            SuperviseMode::Listen,
            SuperviseMode::Whisper,
            SuperviseMode::Barge,
        ] {
            assert_eq!(SuperviseMode::parse(mode.as_str()), Some(mode));
            let json = serde_json::to_value(mode).unwrap();
            assert_eq!(json, Value::String(mode.as_str().into()));
            assert_eq!(serde_json::from_value::<SuperviseMode>(json).unwrap(), mode);
        }
        assert_eq!(
            SuperviseMode::parse(" Whisper "),
            Some(SuperviseMode::Whisper)
        );
        assert_eq!(SuperviseMode::parse("spy"), None);
    }

    #[test]
    fn unknown_fields_and_words_are_tolerated_and_the_version_is_not_content() {
        let text = r#"{"version": 3, "floor": 2, "calls": [{"room": "9", "phase": "parked",
            "since_ms": 5, "parties": [{"role": "bot", "state": "dancing"}]}]}"#;
        let s: SupervisorState = decode(text.as_bytes()).unwrap();
        assert_eq!(s.schema, 1);
        assert_eq!(s.calls[0].phase, CallPhase::Unknown);
        assert_eq!(s.calls[0].parties[0].role, Role::Unknown);
        assert_eq!(s.calls[0].parties[0].state, ParticipantState::Unknown);
        let mut newer = sample();
        newer.version = 99;
        assert!(newer.same_content(&sample()));
        newer.teams[0].waiting = 0;
        assert!(!newer.same_content(&sample()));
    }
}
