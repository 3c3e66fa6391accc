//! The Phone engine: a UI-agnostic SIP user agent. Commands go in through a [`PhoneHandle`],
//! [`PhoneEvent`]s come out of a channel. The TUI and headless mode drive the same engine; it
//! prints nothing and knows nothing of either.
//!
//! Inside: one tokio task (the actor, `engine`) owns all SIP state — registration, presence, the
//! directory subscription and the call's dialog (with its room subscription and transfer) — and a
//! std thread (`media`) owns the call's audio.
//!
//! A call with our server is a *room* (protocol.md): the engine recognises it by the remote
//! Contact (`;isfocus`, or a `room-…` user with `Recv-Info: agentphone-room`), subscribes to its
//! state once connected, and sends hold/resume/mute there as INFO room commands; a direct call
//! keeps the re-INVITE hold of RFC 3264.

mod call;
mod command;
mod config;
mod digest;
mod directory;
mod engine;
mod event;
mod handle;
mod in_dialog;
mod incoming;
mod media;
mod outgoing;
mod presence;
mod registration;
mod room;
mod room_commands;
mod sip_util;
mod status;
mod subscribing;
mod subscription;
mod transactions;
mod transfer;

/// The documents the server pushes and the room commands (docs/protocol.md), typed.
pub use agentphone_protocol as protocol;
pub use agentphone_protocol::{
    AgentStatus, DirectoryAgent, DirectoryState, DirectoryTeam, RoomState, TimelineEntry,
    TimelineKind,
};
pub use command::{PhoneCommand, PhoneError, TransferTarget};
pub use config::{PhoneConfig, Transport};
pub use event::{CallState, PhoneEvent, TransferState};
pub use handle::{Phone, PhoneHandle};
pub use status::PhoneStatus;
