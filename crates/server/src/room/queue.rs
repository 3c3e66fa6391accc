//! Queueing (SPEC R1): a customer calling a team with nobody available waits with music on hold
//! (early media) until a member frees up — any change in the directory wakes the room (phase
//! `Queued`, `actor.rs`) and the hunt tries the team again — or until `queue_timeout`.

use super::actor::Room;
use super::LegId;
use crate::media_engine::{LegMode, MediaCmd};

impl Room {
    /// Set what the caller hears while establishing (ringback, or music while queued).
    pub(super) fn caller_hears(&self, caller_leg: LegId, mode: LegMode) {
        self.media(MediaCmd::SetMode {
            room: self.handle.id(),
            leg: caller_leg,
            mode,
        });
    }
}
