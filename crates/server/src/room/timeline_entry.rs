//! One entry of the conversation timeline (kept in the room, sent in its state, written to the
//! call record by `timeline.rs`).

use serde::Serialize;

/// One timeline entry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// `answered`, `held`, `resumed`, `transfer_requested`, … (protocol.md "Room state").
    pub kind: &'static str,
    /// What an agent reads.
    pub text: String,
}
