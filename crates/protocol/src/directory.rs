//! The directory event package (`agentphone-directory`): every agent with a derived status and
//! every team with counts. A subscriber gets the whole state first, then deltas (only the agents
//! and teams that changed, with the version they apply to); a document too big for one UDP
//! datagram goes in several parts (docs/protocol.md "Directory"; splitting and reassembly in
//! [`crate::directory_parts`]).

use serde::{Deserialize, Serialize};

use crate::schema::{first, DELTA_SCHEMA, SCHEMA};

/// The event package (`Event:` of SUBSCRIBE and NOTIFY).
pub const EVENT: &str = "agentphone-directory";
/// The NOTIFY body type (`Accept:` of the SUBSCRIBE).
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.directory+json";
/// The `Event` parameter of a subscription to one's own entry only
/// (`Event: agentphone-directory;scope=self`).
pub const SCOPE_SELF: &str = "scope=self";
/// The user part of the directory's URI (`sip:directory@HOST`).
pub const URI_USER: &str = "directory";

/// An agent's derived status (SPEC "Concepts").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Not registered.
    Offline,
    /// Registered, voice channel off.
    Inactive,
    /// Can take a call.
    Available,
    /// Being offered a call.
    Ringing,
    /// In a call.
    OnCall,
    /// Not taking calls, with a reason (`away_reason`): set by the agent, or `missed call` after
    /// letting an offered call ring out.
    Away,
    /// Wrapping up the last call until `wrap_up_until_ms` (or until they say they are ready).
    AfterCallWork,
    /// A status this reader does not know (a newer server's); never written.
    #[serde(other)]
    Unknown,
}

/// One agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAgent {
    /// Login name.
    pub username: String,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: String,
    /// Derived status.
    pub status: AgentStatus,
    /// Teams the agent belongs to, in configured order.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Idle since (ms since the Unix epoch), when known.
    #[serde(default)]
    pub idle_since_ms: Option<u64>,
    /// Why the agent is away (status `away`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_reason: Option<String>,
    /// When after-call work ends (ms since the Unix epoch; status `after_call_work`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_until_ms: Option<u64>,
    /// In this status since (ms since the Unix epoch): the time in state (V1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_since_ms: Option<u64>,
}

/// One team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryTeam {
    /// Team name (what a team transfer targets).
    pub name: String,
    /// Members in configured order. Left out of a delta's entries (members change only with the
    /// configuration): an entry without them keeps the members known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Members who can take a call now.
    #[serde(default)]
    pub available: u32,
    /// Voice-active members (the team is voice-active when > 0).
    #[serde(default)]
    pub active: u32,
    /// The user part of its inbound address, when it has one.
    #[serde(default)]
    pub inbound: Option<String>,
}

/// The whole directory, as one NOTIFY carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryState {
    /// The document format ([`SCHEMA`]).
    #[serde(default = "first")]
    pub schema: u32,
    /// Grows with every change (a reader drops a state older than one it has).
    #[serde(default)]
    pub version: u64,
    /// Every agent, in configured order.
    #[serde(default)]
    pub agents: Vec<DirectoryAgent>,
    /// Every team, in configured order.
    #[serde(default)]
    pub teams: Vec<DirectoryTeam>,
    /// The reasons an agent may give for being away (the server's configured list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub away_reasons: Vec<String>,
    /// How long an offered call rings before it is missed (the agent then goes away).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_timeout_s: Option<u32>,
    /// A delta: only the agents and teams that changed since version `base` (the subscriber's
    /// last), each replacing the entry of the same name. None: the whole state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// This NOTIFY is part `part` (from 1) of the `parts` that carry this version.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub part: u32,
    /// How many NOTIFYs carry this version (absent: 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub parts: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A delta that does not follow the state it should be applied to: the reader must fetch the
/// whole state again (a new subscription).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("directory delta from version {base} does not apply to version {have}")]
pub struct Gap {
    /// The version the reader has.
    pub have: u64,
    /// The version the delta applies to.
    pub base: u64,
}

impl DirectoryState {
    /// A state of this crate's schema.
    pub fn new(version: u64, agents: Vec<DirectoryAgent>, teams: Vec<DirectoryTeam>) -> Self {
        DirectoryState {
            schema: SCHEMA,
            version,
            agents,
            teams,
            away_reasons: Vec::new(),
            ring_timeout_s: None,
            base: None,
            part: 1,
            parts: 1,
        }
    }

    /// Same agents and teams (the version aside): nothing to tell subscribers.
    pub fn same_content(&self, other: &DirectoryState) -> bool {
        self.agents == other.agents && self.teams == other.teams
    }

    /// A delta from `base` to `version` with these changed entries (schema 2: an older reader
    /// refuses it rather than take it for the whole state).
    pub fn delta(
        base: u64,
        version: u64,
        agents: Vec<DirectoryAgent>,
        teams: Vec<DirectoryTeam>,
    ) -> Self {
        let mut d = DirectoryState::new(version, agents, teams);
        d.schema = DELTA_SCHEMA;
        d.base = Some(base);
        d
    }

    /// Take in a whole state (replaces this one) or a delta that follows this version.
    pub fn apply(&mut self, next: DirectoryState) -> Result<(), Gap> {
        let Some(base) = next.base else {
            *self = next;
            self.schema = SCHEMA;
            (self.part, self.parts) = (1, 1);
            return Ok(());
        };
        if base != self.version {
            return Err(Gap {
                have: self.version,
                base,
            });
        }
        for (i, agent) in positions(&self.agents, &next.agents, |a| &a.username) {
            match i {
                Some(i) => self.agents[i] = agent,
                None => self.agents.push(agent),
            }
        }
        for (i, mut team) in positions(&self.teams, &next.teams, |t| &t.name) {
            match i {
                Some(i) => {
                    if team.members.is_empty() {
                        // A delta's entry leaves the members out: keep those known.
                        team.members = std::mem::take(&mut self.teams[i].members);
                    }
                    self.teams[i] = team;
                }
                None => self.teams.push(team),
            }
        }
        if !next.away_reasons.is_empty() {
            self.away_reasons = next.away_reasons;
        }
        if next.ring_timeout_s.is_some() {
            self.ring_timeout_s = next.ring_timeout_s;
        }
        self.version = next.version;
        Ok(())
    }
}

/// Where each of `changed` is in `list` (by name), paired with it. A delta names a few entries:
/// they are looked for one by one; many are looked up in an index of borrowed names.
fn positions<T: Clone>(
    list: &[T],
    changed: &[T],
    name: impl Fn(&T) -> &String,
) -> Vec<(Option<usize>, T)> {
    let found: Vec<Option<usize>> = if changed.len() <= 8 {
        changed
            .iter()
            .map(|c| list.iter().position(|x| name(x) == name(c)))
            .collect()
    } else {
        let index: std::collections::HashMap<&str, usize> = list
            .iter()
            .enumerate()
            .map(|(i, x)| (name(x).as_str(), i))
            .collect();
        changed
            .iter()
            .map(|c| index.get(name(c).as_str()).copied())
            .collect()
    };
    found.into_iter().zip(changed.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use serde_json::{json, Value};

    fn sample() -> DirectoryState {
        let mut state = DirectoryState::new(
            12,
            vec![
                DirectoryAgent {
                    username: "bob".into(),
                    display_name: "Bob Stone".into(),
                    status: AgentStatus::Available,
                    teams: vec!["support".into()],
                    idle_since_ms: Some(1795613338622),
                    away_reason: None,
                    wrap_up_until_ms: None,
                    status_since_ms: Some(1795613338622),
                },
                DirectoryAgent {
                    username: "carol".into(),
                    display_name: "Carol Diaz".into(),
                    status: AgentStatus::Away,
                    teams: vec!["support".into()],
                    idle_since_ms: Some(1795613301000),
                    away_reason: Some("lunch".into()),
                    wrap_up_until_ms: None,
                    status_since_ms: Some(1795613302000),
                },
                DirectoryAgent {
                    username: "dave".into(),
                    display_name: "Dave Lee".into(),
                    status: AgentStatus::AfterCallWork,
                    teams: vec!["support".into()],
                    idle_since_ms: Some(1795613330000),
                    away_reason: None,
                    wrap_up_until_ms: Some(1795613360000),
                    status_since_ms: Some(1795613330000),
                },
            ],
            vec![DirectoryTeam {
                name: "support".into(),
                members: vec!["bob".into(), "carol".into(), "dave".into()],
                available: 1,
                active: 3,
                inbound: Some("support".into()),
            }],
        );
        state.away_reasons = vec!["break".into(), "lunch".into(), "training".into()];
        state.ring_timeout_s = Some(15);
        state
    }

    #[test]
    fn the_documented_sample_is_what_is_written_and_read() {
        let written: Value = serde_json::to_value(sample()).unwrap();
        let sample_text = crate::doc_sample("Directory");
        let doc: Value = serde_json::from_str(&sample_text).unwrap();
        assert_eq!(written, doc);
        assert_eq!(
            decode::<DirectoryState>(sample_text.as_bytes()).unwrap(),
            sample()
        );
        let again = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(decode::<DirectoryState>(&again).unwrap(), sample());
    }

    /// The documented delta applies to the documented whole state.
    #[test]
    fn the_documented_delta_applies_to_the_documented_state() {
        let section = crate::doc_section("Directory");
        let second = section.split("```json\n").nth(2).expect("a delta sample");
        let text = &second[..second.find("```").expect("the sample's end")];
        let delta: DirectoryState = decode(text.as_bytes()).unwrap();
        assert_eq!((delta.schema, delta.base, delta.version), (2, Some(12), 14));
        let written: Value = serde_json::to_value(&delta).unwrap();
        assert_eq!(written, serde_json::from_str::<Value>(text).unwrap());
        let mut state = sample();
        state.apply(delta).unwrap();
        assert_eq!(state.version, 14);
        assert_eq!(state.agents[0].status, AgentStatus::OnCall);
        assert_eq!(state.agents[1], sample().agents[1]);
        assert_eq!(state.teams[0].available, 0);
        assert_eq!(state.teams[0].members, sample().teams[0].members);
    }

    #[test]
    fn every_status_round_trips_by_its_wire_word() {
        for (status, word) in [
            (AgentStatus::Offline, "offline"),
            (AgentStatus::Inactive, "inactive"),
            (AgentStatus::Available, "available"),
            (AgentStatus::Ringing, "ringing"),
            (AgentStatus::OnCall, "on_call"),
            (AgentStatus::Away, "away"),
            (AgentStatus::AfterCallWork, "after_call_work"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(word));
            assert_eq!(
                serde_json::from_value::<AgentStatus>(json!(word)).unwrap(),
                status
            );
        }
    }

    #[test]
    fn unknown_fields_and_words_are_tolerated_and_missing_ones_defaulted() {
        let text = r#"{"version": 3, "cluster": "eu-1",
            "agents": [{"username": "bob", "status": "on_break", "mood": "calm"}],
            "teams": [{"name": "support", "queue": 4}]}"#;
        let dir: DirectoryState = decode(text.as_bytes()).unwrap();
        assert_eq!(dir.schema, 1, "no schema = the first");
        assert_eq!(dir.agents[0].status, AgentStatus::Unknown);
        assert_eq!(dir.agents[0].display_name, "");
        assert_eq!(dir.agents[0].away_reason, None, "an older server's agent");
        assert_eq!(dir.agents[0].wrap_up_until_ms, None);
        assert_eq!(dir.teams[0].available, 0);
        assert_eq!(dir.teams[0].inbound, None);
    }

    #[test]
    fn a_newer_schema_is_refused_whatever_its_fields() {
        let text = r#"{"schema": 3, "version": 3, "agents": {"bob": "available"}}"#;
        match decode::<DirectoryState>(text.as_bytes()) {
            Err(crate::DecodeError::TooNew { found: 3 }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode::<DirectoryState>(b"[1, 2]"),
            Err(crate::DecodeError::Json(_))
        ));
    }
}
