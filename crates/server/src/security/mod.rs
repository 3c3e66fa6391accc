//! Security checks kept apart from the call logic (issue 11): which in-dialog requests belong to
//! a dialog (`dialog_guard`), agents' secrets as HA1 in the database (`secrets`), nonce counts
//! (`nonce_counts`), throttling of failed logins (`throttle`), the `[security]` config (`config`).

pub mod config;
pub mod dialog_guard;
pub mod nonce_counts;
pub mod secrets;
pub mod srtp;
pub mod throttle;

pub use config::SecurityConfig;
pub mod admission;
pub mod events;
pub mod queue_order;
pub mod setup_gate;
