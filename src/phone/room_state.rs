//! The state documents the server pushes: the directory of agents and teams
//! (`agentphone-directory`) and one call's room (`agentphone-room`), as typed values. Fields the
//! server may leave out or send as null are optional, so a newer server never breaks parsing.

use serde::{Deserialize, Serialize};

/// An agent's derived status in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Not registered.
    Offline,
    /// Registered, voice channel off.
    Inactive,
    /// Can take a call.
    Available,
    /// A call rings for them.
    Ringing,
    /// In a call.
    OnCall,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// One agent in the directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryAgent {
    /// Login name.
    pub username: String,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: String,
    /// Derived status.
    pub status: AgentStatus,
    /// Teams the agent belongs to.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Idle since (ms since the Unix epoch), when known.
    #[serde(default)]
    pub idle_since_ms: Option<u64>,
}

/// One team in the directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryTeam {
    /// Team name (what `transfer team NAME` takes).
    pub name: String,
    /// Members in configured order.
    #[serde(default)]
    pub members: Vec<String>,
    /// Members who can take a call now.
    #[serde(default)]
    pub available: u32,
    /// Voice-active members (the team is voice-active when > 0).
    #[serde(default)]
    pub active: u32,
    /// Its inbound address user part, when it has one.
    #[serde(default)]
    pub inbound: Option<String>,
}

/// The whole directory, as one NOTIFY carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryState {
    /// Increases with every change.
    #[serde(default)]
    pub version: u64,
    /// Every agent.
    #[serde(default)]
    pub agents: Vec<DirectoryAgent>,
    /// Every team.
    #[serde(default)]
    pub teams: Vec<DirectoryTeam>,
}

/// The customer of a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomCustomer {
    /// Display name, when the customer's phone sent one.
    #[serde(default)]
    pub display: Option<String>,
    /// SIP URI.
    #[serde(default)]
    pub uri: String,
}

/// One participant of a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomParticipant {
    /// Leg id within the room (`L1`, or `T1` for a transfer target still ringing).
    pub id: String,
    /// `customer` or `agent`.
    pub role: String,
    /// The agent's login (agents only).
    #[serde(default)]
    pub username: Option<String>,
    /// Name shown to people.
    #[serde(default)]
    pub name: String,
    /// `ringing` · `connected` · `held` · `listening`.
    pub state: String,
    /// Muted (C2).
    #[serde(default)]
    pub muted: bool,
    /// How loud the room hears the party, 0.0 to 1.0 in coarse steps (at most 5 updates/s);
    /// absent from servers that do not measure it.
    #[serde(default)]
    pub level: Option<f32>,
}

/// A transfer under way in a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomTransfer {
    /// Transfer number within the room.
    pub id: u64,
    /// `ringing` · `consulting`.
    pub state: String,
    /// `agent` or `team`.
    pub kind: String,
    /// The agent rung now (null while a team has none ringing).
    #[serde(default)]
    pub target: Option<String>,
    /// The target's display name.
    #[serde(default)]
    pub target_name: Option<String>,
    /// The team, for a team transfer.
    #[serde(default)]
    pub team: Option<String>,
    /// Who asked for it.
    #[serde(default)]
    pub by: String,
    /// The reason given (M4).
    #[serde(default)]
    pub reason: Option<String>,
    /// Listen only (M5).
    #[serde(default)]
    pub listen_only: bool,
}

/// One entry of the conversation timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// `answered`, `held`, `resumed`, `transfer_requested`, … (protocol.md "Room state").
    pub kind: String,
    /// What an agent reads.
    #[serde(default)]
    pub text: String,
}

/// A room (one call on the server) as every agent in it sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomState {
    /// Room id.
    pub room: String,
    /// Increases with every change.
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
    pub customer: Option<RoomCustomer>,
    /// Everyone in the call, including a transfer target still ringing.
    #[serde(default)]
    pub participants: Vec<RoomParticipant>,
    /// The transfer under way, if any.
    #[serde(default)]
    pub transfer: Option<RoomTransfer>,
    /// The conversation so far.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_json_of_the_protocol_parses() {
        let text = r#"{"room": "7", "version": 7, "max_participants": 3, "customer_held": true,
 "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
 "participants": [
   {"id": "L1", "role": "customer", "name": "Sam Carter", "state": "held", "muted": false},
   {"id": "T1", "role": "agent", "username": "bob", "name": "Bob Stone", "state": "ringing", "muted": false}],
 "transfer": {"id": 1, "state": "ringing", "kind": "team", "target": null, "target_name": null,
              "team": "sales", "by": "alice", "reason": null, "listen_only": false},
 "timeline": [{"at_ms": 1795613338622, "kind": "answered", "text": "Answered by Alice Martin"}]}"#;
        let room: RoomState = serde_json::from_str(text).unwrap();
        assert!(room.customer_held);
        assert_eq!(room.participants[1].username.as_deref(), Some("bob"));
        assert_eq!(
            room.transfer.as_ref().unwrap().team.as_deref(),
            Some("sales")
        );
        assert_eq!(room.timeline[0].kind, "answered");
    }

    #[test]
    fn directory_with_an_unknown_status_parses() {
        let text = r#"{"version": 3, "agents": [{"username": "bob", "display_name": "Bob",
            "status": "on_break", "teams": []}], "teams": [{"name": "support", "members": ["bob"],
            "available": 0, "active": 1, "inbound": null}]}"#;
        let dir: DirectoryState = serde_json::from_str(text).unwrap();
        assert_eq!(dir.agents[0].status, AgentStatus::Unknown);
        assert_eq!(dir.teams[0].active, 1);
    }
}
