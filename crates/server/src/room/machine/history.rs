//! Each agent's part of the call, for their history (issue 10, `call_history.rs`): when an agent
//! joins the conversation (answers, is the caller of a call that connects, takes a transfer) and
//! when they leave it — written before anything tells them the call is over, so a history fetched
//! after that lists it.

use super::super::LegId;
use super::{Effect, RoomMachine};
use crate::records::RecordOp;

impl RoomMachine {
    /// Agent leg `leg` is in the conversation now.
    pub(super) fn record_joined(&mut self, leg: LegId) {
        let Some(agent) = self
            .leg(leg)
            .and_then(|l| l.role.agent())
            .map(str::to_string)
        else {
            return;
        };
        let party = self.party_of(leg);
        self.emit(Effect::Record(RecordOp::AgentJoined {
            call: self.record_id.clone(),
            agent,
            party,
        }));
    }

    /// Agent `agent` (leg `leg`) leaves the call.
    pub(super) fn record_left(&mut self, leg: LegId, agent: &str) {
        self.emit(Effect::Record(RecordOp::AgentLeft {
            call: self.record_id.clone(),
            agent: agent.to_string(),
            transferred: self.transferred_out == Some(leg),
        }));
    }

    /// Whom the agent on `leg` talks with: the customer, else the first other party.
    fn party_of(&self, leg: LegId) -> String {
        let other = self
            .legs
            .iter()
            .find(|l| l.role.is_customer())
            .or_else(|| self.legs.iter().find(|l| l.id != leg));
        other.map(|l| self.name_of(&l.role)).unwrap_or_default()
    }
}
