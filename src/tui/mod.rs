//! The terminal face of the softphone (ratatui + crossterm), decoupled from the `Phone` engine by
//! a view model: the engine adapter sends [`model::Model`]s in, the TUI sends [`action::Action`]s
//! out. Laid out like gitui: `components/` (pieces of the main screen), `popups/` (one file per
//! modal), `keys.rs` (every binding), `strings.rs` (every user-facing string).
//!
//! Wiring to the engine is a small adapter that owns a `Model` and sends a clone to [`run`] after
//! each change: `Registered` → `Connection::Online`, `Offline { retry_in_s }` →
//! `Connection::Offline { retry_at: now + retry_in_s }`, `Voice` → `voice_active`, `IncomingCall` → `incoming`, `CallState` /
//! room state → `call` (participants, transfer, timeline), `Mute` → my participant's `muted`,
//! `Quality` → `call.quality`, `Error` → `notice`. Back the other way: `Mute(b)` → `Mute(b)`,
//! `Hold(true/false)` → `Hold` / `Resume`, `Dtmf(c)` → `Dtmf(c.to_string())`, `Dial`, `Answer`,
//! `Decline`, `Hangup`, `SetVoice`; `Transfer`, `CancelTransfer`, `CompleteTransfer` need the
//! engine's transfer commands; `Quit` → hang up and unregister.

pub mod action;
pub mod adapter;
pub mod app;
pub mod components;
pub mod demo;
pub mod devices;
pub mod keys;
pub mod model;
pub mod popups;
pub mod runner;
pub mod strings;
pub mod terminal;
pub mod theme;
pub mod wiring;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod input_tests;
#[cfg(test)]
mod snapshot_tests;

pub use action::{Action, TransferTarget};
pub use app::App;
pub use model::Model;
pub use runner::run;
pub use wiring::{run_tui, TuiOptions};
