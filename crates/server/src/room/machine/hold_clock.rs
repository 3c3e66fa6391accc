//! Since when each party is on hold, by the server's clock (issue 10): the room state carries it
//! (`held_since_ms`), so every agent's hold timer — a transfer target's too — counts from the
//! same moment instead of from when its own phone noticed.

use super::super::LegId;
use super::RoomMachine;
use crate::media_engine::LegMode;

impl RoomMachine {
    /// Note when parties went on hold and forget those no longer held: run before every state
    /// is built, so a hold starts at the event that caused it.
    pub(super) fn track_holds(&mut self) {
        let held: Vec<LegId> = self
            .current_modes()
            .into_iter()
            .filter(|(_, mode)| *mode == LegMode::Held)
            .map(|(leg, _)| leg)
            .collect();
        self.held_since.retain(|(leg, _)| held.contains(leg));
        let now = self.wall_ms();
        for leg in held {
            if !self.held_since.iter().any(|(l, _)| *l == leg) {
                self.held_since.push((leg, now));
            }
        }
    }

    /// Since when `leg` is on hold (wall ms), if it is.
    pub(super) fn held_since_ms(&self, leg: LegId) -> Option<u64> {
        self.held_since
            .iter()
            .find(|(l, _)| *l == leg)
            .map(|(_, at)| *at)
    }
}
