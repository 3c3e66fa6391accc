//! The terminal face of the softphone (ratatui + crossterm), decoupled from the `Phone` engine by
//! a view model: the engine adapter sends [`model::Model`]s in, the TUI sends [`action::Action`]s
//! out. Laid out like gitui: `components/` (pieces of the main screen), `popups/` (one file per
//! modal), `keys.rs` (every binding), `strings.rs` (every user-facing string).
//!
//! Wiring to the engine ([`wiring::run_tui`]): the engine folds its own events into a
//! `PhoneView` and publishes it; the [`adapter::Adapter`] (a task on the tokio runtime) presents
//! each new view as a `Model` — names, words, the local level meters — and sends it into the UI
//! loop's one channel ([`run`]), and turns each [`Action`] into `PhoneCommand`s (`Quit` → hang
//! up or decline, then unregister). No SIP and no wire words here. The audio devices
//! ([`devices`]) feed the level meters and the ring tone. `agentphone demo` is [`demo`].

pub mod action;
pub mod adapter;
pub mod app;
pub mod components;
pub mod demo;
pub mod devices;
mod history_rows;
pub mod keys;
pub mod model;
pub mod popups;
mod quiet_stderr;
pub mod runner;
pub mod strings;
pub mod supervisor;
mod supervisor_adapter;
pub mod terminal;
pub mod theme;
pub mod wiring;

#[cfg(test)]
mod contrast_tests;
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
