//! The types of the establishing phase shared by its steps (`establish.rs` hunts, `queue.rs`
//! waits, `ring.rs` rings, `connect.rs` connects): what stays the same over all attempts, who is
//! tried, and how one step ended.

use agentphone_sip::endpoint::{Peer, ServerTransaction};

use super::leg::Role;
use super::LegId;
use crate::directory::Binding;

/// One party we try to reach.
pub(super) enum Candidate {
    /// An agent, reserved in the directory (ringing).
    Agent { user: String, binding: Binding },
    /// An outside URI.
    External { uri: rsip::Uri, peer: Peer },
}

/// How ringing one candidate ended.
pub(super) enum Ring {
    /// Connected: the room has both legs.
    Answered,
    /// Not reached: the status to give the caller if this was the last candidate.
    Failed(u16, String),
    /// The caller gave up (CANCEL or BYE): answered 487 already.
    CallerLeft,
    /// The server is stopping.
    Shutdown,
}

/// What stays the same over all attempts.
pub(super) struct Call<'a> {
    pub invite: &'a ServerTransaction,
    pub caller: Role,
    pub caller_leg: LegId,
    pub caller_tag: String,
    pub team: Option<String>,
}

/// How a wait in the queue ended.
pub(super) enum QueueWait {
    /// The directory changed: try the team again.
    Changed,
    /// `queue_timeout` passed.
    TimedOut,
    /// The caller gave up (CANCEL or BYE): answered 487 already.
    CallerLeft,
    /// The server is stopping.
    Shutdown,
}
