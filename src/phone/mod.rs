//! The Phone engine: a UI-agnostic SIP user agent. Commands go in through a [`PhoneHandle`],
//! [`PhoneEvent`]s come out of a channel (the JSON lines of headless mode) and the folded state,
//! a [`PhoneView`], is published on [`PhoneHandle::view`] (what the TUI renders). The TUI and
//! headless mode drive the same engine; it prints nothing and knows nothing of either.
//!
//! Inside: the engine is a sans-IO machine (`machine`, `engine` and the files by concern:
//! registration, presence, directory, outgoing, incoming, in_dialog, room, transfer, …):
//! `Engine::handle(input, now) -> Vec<Effect>` decides everything — registration refresh and
//! backoff, presence, the call's dialog, the directory and room subscriptions, REFER/INFO for
//! transfer and room commands — and is tested as tables in virtual time (`machine_tests`). A thin
//! tokio task (`driver`) owns the SIP endpoint, the server transactions and the RTP sockets,
//! sleeps until the machine's next deadline and carries out the effects; a std thread (`media`)
//! owns the call's audio.
//!
//! A call with our server is a *room* (protocol.md): the engine recognises it by the remote
//! Contact (`;isfocus`, or a `room-…` user with `Recv-Info: agentphone-room`), subscribes to its
//! state once connected, and sends hold/resume/mute there as INFO room commands; a direct call
//! keeps the re-INVITE hold of RFC 3264.

mod agent_state;
mod call;
mod command;
mod config;
mod digest;
mod directory;
mod driver;
mod engine;
mod event;
mod handle;
mod history;
mod in_dialog;
mod incoming;
mod machine;
mod media;
mod outgoing;
mod presence;
mod registration;
mod room;
mod room_commands;
mod sip_util;
mod srtp;
mod subscribing;
mod subscription;
mod supervise;
mod transactions;
mod transfer;
mod view;

/// The documents the server pushes and the room commands (docs/protocol.md), typed.
pub use agentphone_protocol as protocol;
pub use agentphone_protocol::{
    AgentStatus, DirectoryAgent, DirectoryState, DirectoryTeam, RoomState, TimelineEntry,
    TimelineKind,
};
pub use command::{PhoneCommand, PhoneError, TransferTarget};
pub use config::{PhoneConfig, SrtpPolicy, Transport};
pub use event::{CallState, PhoneEvent, TransferState};
pub use handle::{Phone, PhoneHandle};
pub use sip_util::{dial_uri, DialError};
pub use view::{
    CallView, Directory, History, IncomingOffer, Notice, Party, PartyState, PhoneView, Quality,
    Registration, Role, TransferView,
};

#[cfg(test)]
mod machine_tests;
