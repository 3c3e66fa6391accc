//! The Phone engine: a UI-agnostic SIP user agent. Commands go in through a [`PhoneHandle`],
//! [`PhoneEvent`]s come out of a channel. The TUI and headless mode drive the same engine; it
//! prints nothing and knows nothing of either.
//!
//! Inside: one tokio task (the actor, `engine`) owns all SIP state — registration, presence and
//! the call's dialog — and a std thread (`media`) owns the call's audio.

mod call;
mod command;
mod config;
mod digest;
mod engine;
mod event;
mod handle;
mod in_dialog;
mod incoming;
mod media;
mod outgoing;
mod presence;
mod registration;
mod sip_util;
mod status;
mod transactions;

pub use command::{PhoneCommand, PhoneError};
pub use config::{PhoneConfig, Transport};
pub use event::{CallState, PhoneEvent};
pub use handle::{Phone, PhoneHandle};
pub use status::PhoneStatus;
