//! The agentphone extension protocol (docs/protocol.md): the documents the server pushes in
//! NOTIFYs — the directory of agents and teams, one call's room — and the room commands an agent
//! sends in INFO, with their event-package and info-package names and content types. One
//! definition, used by the server to build and by the phone to parse.
//!
//! Compatibility: every document carries `schema` (the format, [`SCHEMA`]) and readers ignore
//! fields they do not know, so a server may add fields without a new schema. Unknown words in
//! enums read as `Unknown`. A document whose schema is newer than [`SCHEMA`] is refused by
//! [`decode`] with [`DecodeError::TooNew`] (an incompatible change), so a client can tell its user
//! to update instead of showing a wrong state.

pub mod agent_state;
pub mod command;
pub mod directory;
pub mod directory_parts;
pub mod history;
pub mod ids;
pub mod offer;
pub mod room;
mod schema;
pub mod supervisor;

pub use agent_state::AgentStateRequest;
pub use command::{CommandError, RoomCommand};
pub use directory::{AgentStatus, DirectoryAgent, DirectoryState, DirectoryTeam};
pub use ids::{ParticipantId, RoomId, TransferId};
pub use room::{
    Customer, Participant, ParticipantState, Role, RoomState, TimelineEntry, TimelineKind,
    Transfer, TransferKind, TransferPhase,
};
pub use schema::{decode, DecodeError, DELTA_SCHEMA, READS, SCHEMA};
pub use supervisor::{SuperviseMode, SupervisorState};

/// The docs/protocol.md section whose heading starts with `heading`.
#[cfg(test)]
pub(crate) fn doc_section(heading: &str) -> &'static str {
    const DOC: &str = include_str!("../../../docs/protocol.md");
    DOC.split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/protocol.md has no section {heading}"))
}

/// The first JSON sample under the docs/protocol.md heading that starts with `heading`.
#[cfg(test)]
pub(crate) fn doc_sample(heading: &str) -> String {
    let section = doc_section(heading);
    let start = section.find("```json\n").expect("a JSON sample") + "```json\n".len();
    let len = section[start..].find("```").expect("the sample's end");
    section[start..start + len].to_string()
}
