//! The room state event package (`agentphone-room`): one call as every agent in it sees it —
//! participants with role, state, mute and level, whether the customer is held, the transfer under
//! way and the timeline (docs/protocol.md "Room state").

use serde::{Deserialize, Serialize};

use crate::ids::{ParticipantId, RoomId, TransferId};
use crate::schema::{first, SCHEMA};

/// The event package (`Event:` of SUBSCRIBE and NOTIFY).
pub const EVENT: &str = "agentphone-room";
/// The NOTIFY body type (`Accept:` of the SUBSCRIBE).
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.room+json";

/// A room (one call on the server) as every agent in it sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomState {
    /// The document format ([`SCHEMA`]).
    #[serde(default = "first")]
    pub schema: u32,
    /// Which room.
    pub room: RoomId,
    /// Grows with every change (a reader drops a state older than one it has).
    #[serde(default)]
    pub version: u64,
    /// The server's `max_participants`.
    #[serde(default)]
    pub max_participants: u32,
    /// The customer is on hold.
    #[serde(default)]
    pub customer_held: bool,
    /// The customer, when there is one.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Everyone in the call, including a transfer target still ringing.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// The transfer under way, if any.
    #[serde(default)]
    pub transfer: Option<Transfer>,
    /// The conversation so far.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

impl RoomState {
    /// An empty room of this crate's schema (version 0).
    pub fn new(room: RoomId, max_participants: u32) -> Self {
        RoomState {
            schema: SCHEMA,
            room,
            version: 0,
            max_participants,
            customer_held: false,
            customer: None,
            participants: Vec::new(),
            transfer: None,
            timeline: Vec::new(),
        }
    }

    /// Fill in the elapsed figures (`held_ms`) as of `now_ms` (the writer's wall clock), just
    /// before the document is sent.
    pub fn stamp_elapsed(&mut self, now_ms: u64) {
        for p in &mut self.participants {
            p.held_ms = p.held_since_ms.map(|since| now_ms.saturating_sub(since));
        }
    }

    /// Same content, the version aside: nothing to tell subscribers.
    pub fn same_content(&self, other: &RoomState) -> bool {
        RoomState {
            version: other.version,
            ..self.clone()
        } == *other
    }
}

/// The customer of a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Display name, when the customer's phone sent one.
    #[serde(default)]
    pub display: Option<String>,
    /// SIP URI.
    #[serde(default)]
    pub uri: String,
}

/// Who a participant is to the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    Customer,
    /// An agent (with a `username`).
    Agent,
    /// A role this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// What a participant hears and is heard by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    /// A transfer target whose phone rings.
    Ringing,
    /// In the conversation.
    Connected,
    /// On hold (hears music, not heard).
    Held,
    /// Listen-only (hears the room, not heard).
    Listening,
    /// A supervisor whispering: hears the room, heard by the agents only (not the customer).
    Whispering,
    /// A state this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// One participant of a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Which one.
    pub id: ParticipantId,
    /// Customer or agent.
    pub role: Role,
    /// The agent's login (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name shown to people.
    #[serde(default)]
    pub name: String,
    /// Ringing, connected, held or listening.
    pub state: ParticipantState,
    /// Muted (C2).
    #[serde(default)]
    pub muted: bool,
    /// How loud the room hears the party, 0.0 to 1.0 in coarse steps (at most 5 updates/s); 0
    /// while muted, held or listening; absent from servers that do not measure it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f32>,
    /// On hold since then (ms since the Unix epoch, the server's clock); only while held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_since_ms: Option<u64>,
    /// How long the party had been on hold when this NOTIFY left the server (ms): a reader
    /// counts on from when it got the NOTIFY, whatever its own clock says. Stamped per NOTIFY
    /// ([`RoomState::stamp_elapsed`]); only while held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_ms: Option<u64>,
}

/// The phase of a transfer under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferPhase {
    /// The target rings.
    Ringing,
    /// The target joined (consultation).
    Consulting,
    /// A phase this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// What a transfer targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// One agent.
    Agent,
    /// A team (its members rung in turn).
    Team,
    /// A kind this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// A transfer under way in a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Its number within the room.
    pub id: TransferId,
    /// Ringing or consulting.
    pub state: TransferPhase,
    /// Agent or team.
    pub kind: TransferKind,
    /// The agent rung now (null while a team has none ringing).
    #[serde(default)]
    pub target: Option<String>,
    /// The target's display name.
    #[serde(default)]
    pub target_name: Option<String>,
    /// The team, for a team transfer.
    #[serde(default)]
    pub team: Option<String>,
    /// Who asked for it (username).
    #[serde(default)]
    pub by: String,
    /// The reason given (M4).
    #[serde(default)]
    pub reason: Option<String>,
    /// Listen only (M5).
    #[serde(default)]
    pub listen_only: bool,
}

/// What happened, in a timeline entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// An agent answered.
    Answered,
    /// Someone held the customer (or the call).
    Held,
    /// Resumed.
    Resumed,
    /// A transfer was asked for.
    TransferRequested,
    /// A transfer target rings (or was skipped, with why).
    TransferRinging,
    /// The target answered.
    TransferAnswered,
    /// The transferring agent left the target with the customer.
    TransferCompleted,
    /// The transfer failed (with why).
    TransferFailed,
    /// The transfer was cancelled.
    TransferCancelled,
    /// An agent left.
    Left,
    /// The customer left.
    CustomerLeft,
    /// The call ended.
    Ended,
    /// A supervisor joined (listen, whisper, barge), switched or left (SPEC V2).
    Supervisor,
    /// A kind this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

impl TimelineKind {
    /// The wire word (also the call record's event name).
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Answered => "answered",
            TimelineKind::Held => "held",
            TimelineKind::Resumed => "resumed",
            TimelineKind::TransferRequested => "transfer_requested",
            TimelineKind::TransferRinging => "transfer_ringing",
            TimelineKind::TransferAnswered => "transfer_answered",
            TimelineKind::TransferCompleted => "transfer_completed",
            TimelineKind::TransferFailed => "transfer_failed",
            TimelineKind::TransferCancelled => "transfer_cancelled",
            TimelineKind::Left => "left",
            TimelineKind::CustomerLeft => "customer_left",
            TimelineKind::Ended => "ended",
            TimelineKind::Supervisor => "supervisor",
            TimelineKind::Unknown => "unknown",
        }
    }
}

/// One entry of the conversation timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub kind: TimelineKind,
    /// What an agent reads ("Alice Martin transferred to Bob Stone (billing question)").
    #[serde(default)]
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use serde_json::{json, Value};

    fn participant(id: ParticipantId, user: Option<&str>, name: &str) -> Participant {
        Participant {
            id,
            role: if user.is_some() {
                Role::Agent
            } else {
                Role::Customer
            },
            username: user.map(str::to_string),
            name: name.into(),
            state: ParticipantState::Connected,
            muted: false,
            level: Some(0.0),
            held_since_ms: None,
            held_ms: None,
        }
    }

    fn sample() -> RoomState {
        let mut room = RoomState::new(RoomId(7), 3);
        room.version = 7;
        room.customer_held = true;
        room.customer = Some(Customer {
            display: Some("Sam Carter".into()),
            uri: "sip:customer@127.0.0.1".into(),
        });
        let mut customer = participant(ParticipantId::Leg(1), None, "Sam Carter");
        customer.state = ParticipantState::Held;
        customer.held_since_ms = Some(1795613340000);
        customer.held_ms = Some(12000);
        let mut alice = participant(ParticipantId::Leg(2), Some("alice"), "Alice Martin");
        alice.level = Some(0.75);
        let mut bob = participant(
            ParticipantId::Ringing(TransferId(1)),
            Some("bob"),
            "Bob Stone",
        );
        bob.state = ParticipantState::Ringing;
        room.participants = vec![customer, alice, bob];
        room.transfer = Some(Transfer {
            id: TransferId(1),
            state: TransferPhase::Ringing,
            kind: TransferKind::Agent,
            target: Some("bob".into()),
            target_name: Some("Bob Stone".into()),
            team: None,
            by: "alice".into(),
            reason: Some("billing question".into()),
            listen_only: false,
        });
        room.timeline = vec![TimelineEntry {
            at_ms: 1795613338622,
            kind: TimelineKind::Answered,
            text: "Answered by Alice Martin".into(),
        }];
        room
    }

    #[test]
    fn the_documented_sample_is_what_is_written_and_read() {
        let written: Value = serde_json::to_value(sample()).unwrap();
        let sample_text = crate::doc_sample("Room state");
        let doc: Value = serde_json::from_str(&sample_text).unwrap();
        assert_eq!(written, doc);
        assert_eq!(
            decode::<RoomState>(sample_text.as_bytes()).unwrap(),
            sample()
        );
        let again = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(decode::<RoomState>(&again).unwrap(), sample());
    }

    #[test]
    fn every_timeline_kind_round_trips_by_its_wire_word() {
        use TimelineKind::*;
        for kind in [
            Answered,
            Held,
            Resumed,
            TransferRequested,
            TransferRinging,
            TransferAnswered,
            TransferCompleted,
            TransferFailed,
            TransferCancelled,
            Left,
            CustomerLeft,
            Ended,
            Supervisor,
        ] {
            let word = serde_json::to_value(kind).unwrap();
            assert_eq!(word, json!(kind.as_str()));
            assert_eq!(serde_json::from_value::<TimelineKind>(word).unwrap(), kind);
        }
    }

    #[test]
    fn an_older_server_and_unknown_words_still_parse() {
        // No schema, no level, a role, state, kind and timeline word from the future, extra fields.
        let text = r#"{"room": "9", "dial_plan": "x",
            "participants": [{"id": "L1", "role": "supervisor", "name": "Zed", "state": "levitating",
                              "muted": false, "badge": 3}],
            "transfer": {"id": 2, "state": "parked", "kind": "queue"},
            "timeline": [{"at_ms": 5, "kind": "recorded"}]}"#;
        let room: RoomState = decode(text.as_bytes()).unwrap();
        assert_eq!((room.schema, room.room, room.version), (1, RoomId(9), 0));
        let p = &room.participants[0];
        assert_eq!(
            (p.role, p.state, p.level),
            (Role::Unknown, ParticipantState::Unknown, None)
        );
        let t = room.transfer.as_ref().unwrap();
        assert_eq!(
            (t.state, t.kind),
            (TransferPhase::Unknown, TransferKind::Unknown)
        );
        assert_eq!(room.timeline[0].kind, TimelineKind::Unknown);
        assert!(room.customer.is_none());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let text = r#"{"schema": 3, "room": "9"}"#;
        assert!(matches!(
            decode::<RoomState>(text.as_bytes()),
            Err(crate::DecodeError::TooNew { found: 3 })
        ));
    }

    #[test]
    fn the_hold_figure_is_stamped_as_of_sending() {
        let mut room = sample();
        room.stamp_elapsed(1795613340000 + 65_000);
        let held: Vec<Option<u64>> = room.participants.iter().map(|p| p.held_ms).collect();
        assert_eq!(held, [Some(65_000), None, None]);
        // A clock behind the hold's start says 0, not a wrap-around.
        room.stamp_elapsed(5);
        assert_eq!(room.participants[0].held_ms, Some(0));
    }

    #[test]
    fn same_content_ignores_only_the_version() {
        let a = sample();
        let mut b = sample();
        b.version = 99;
        assert!(a.same_content(&b));
        b.customer_held = false;
        assert!(!a.same_content(&b));
    }
}
