//! The conversation timeline (what every agent in the call reads: answered by, held, transfer
//! requested / ringing / answered / completed / failed with reason, who left), kept in the room for
//! the room state package and written to the call record (`call_events`) at each step.

use std::time::{SystemTime, UNIX_EPOCH};

use agentphone_protocol::{TimelineEntry, TimelineKind};

use super::actor::Room;
use super::leg::Role;
use crate::records::RecordOp;

impl Room {
    /// Add a timeline entry and write it to the call record.
    pub fn note(&mut self, kind: TimelineKind, text: String) {
        self.ctx.records.write(RecordOp::State {
            call: self.record_id.clone(),
            state: kind.as_str(),
            detail: Some(text.clone()),
        });
        self.note_in_memory(kind, text);
    }

    /// Add a timeline entry the call record already has in another form (answered, ended).
    pub fn note_in_memory(&mut self, kind: TimelineKind, text: String) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.timeline.push(TimelineEntry { at_ms, kind, text });
    }

    /// How a party is named in the timeline: an agent's display name, the customer's display
    /// name or address.
    pub fn name_of(&self, role: &Role) -> String {
        match role {
            Role::Agent(user) => self.agent_name(user),
            Role::Customer { display, uri } => display.clone().unwrap_or_else(|| uri.clone()),
        }
    }

    /// An agent's display name (the user name for an unknown one).
    pub fn agent_name(&self, user: &str) -> String {
        self.ctx
            .config
            .agent(user)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| user.to_string())
    }
}
