//! Security checks kept apart from the call logic (issue 11): agents' secrets as HA1 in the
//! database (`secrets`), nonce counts (`nonce_counts`), throttling of failed logins
//! (`throttle`), the `[security]` config (`config`). Which in-dialog requests belong to a dialog
//! is the room's `room/dialog_guard.rs` (it reads the server context, which reads this module).

pub mod config;
pub mod nonce_counts;
pub mod secrets;
pub mod srtp;
pub mod throttle;

pub use config::SecurityConfig;
pub mod admission;
pub mod events;
pub mod queue_order;
pub mod setup_gate;
