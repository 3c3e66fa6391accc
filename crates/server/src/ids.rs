//! The ids that name rooms, their legs and the offers a room makes. A leaf module (it depends
//! only on the protocol crate): the media engine, the dialog table and the rooms all use these
//! without importing each other.

use std::fmt;

/// A room's id (process-wide unique): the wire's own type, so the room URI and the room state
/// name it the way the phone reads it.
pub use agentphone_protocol::ids::RoomId;

/// A leg's id (unique within its room; also the media engine's key for the leg).
pub type LegId = u32;

/// One INVITE a room sends to offer the call to somebody (unique within its room). Its events
/// come back tagged with it, so a stale answer of an abandoned offer is never taken for the
/// current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferId(pub u64);

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offer-{}", self.0)
    }
}
