//! The state of the establishing phase shared by its steps (`establish.rs` hunts, `queue.rs`
//! queues, `ring.rs` rings, `connect.rs` connects): what stays the same over all attempts, who
//! is tried, the offer ringing now, and the hunt's next decision to carry out.

use std::time::Instant;

use agentphone_sip::endpoint::Peer;

use super::hunt::{Decision, Hunt};
use super::leg::Role;
use super::transfer_state::RingingTarget;
use super::{Destination, LegId};
use crate::directory::Binding;

/// Where the room is. Every wake-up of the room's one loop (`actor.rs`) is handled by the phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The caller has 183 with ringback; candidates are rung one at a time.
    Establishing,
    /// A customer waits with music for a team member to free up (R1), until `until`.
    Queued { until: Instant },
    /// Answered: in-dialog requests, room commands, transfers, media events.
    Connected,
    /// The room is ending (BYE to whoever is left, records closed).
    Ending,
}

/// One party we try to reach.
pub(super) enum Candidate {
    /// An agent, reserved in the directory (ringing).
    Agent { user: String, binding: Binding },
    /// An outside URI.
    External { uri: rsip::Uri, peer: Peer },
}

/// What stays the same over all attempts (the caller's INVITE is `Room::caller_invite`).
pub(super) struct Call {
    pub caller: Role,
    pub caller_leg: LegId,
    pub caller_tag: String,
    pub team: Option<String>,
    pub destination: Destination,
}

/// The establishing phase: the call, the hunt for who answers it, and the offer ringing now.
pub(super) struct Establishing {
    pub call: Call,
    pub hunt: Hunt,
    /// The hunt's decision the room carries out next (None: waiting for an event).
    pub next: Option<Decision>,
    /// Agents offered the call so far (and the calling agent).
    pub tried: Vec<String>,
    /// The candidate the directory reserved for the next `Decision::Ring`.
    pub reserved: Option<Candidate>,
    /// The offer ringing now.
    pub ringing: Option<RingingTarget>,
}
