//! One subscriber to the room's state (served by `state.rs`).

use std::time::Instant;

use agentphone_sip::dialog::Dialog;

/// One subscriber to the room's state.
pub struct RoomSub {
    /// The agent.
    pub user: String,
    /// The subscription dialog.
    pub dialog: Dialog,
    /// When it lapses without a refresh.
    pub expires_at: Instant,
}
