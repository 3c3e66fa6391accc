//! Call rooms. Every call is a room: the call logic is a sans-IO machine (`machine/`,
//! `RoomMachine::handle(event, now) -> effects`: establishing → queued → connected → ending, with
//! transfers) and one tokio task drives it (`actor.rs`, `effects.rs`): it owns the legs' dialogs,
//! the transactions, the INVITEs and their RTP sessions, turns what happens into events and
//! carries out the effects (SIP answers and requests, media commands, directory, call records,
//! room state NOTIFYs). Parties subscribe to the room's state (`state.rs`).

mod actor;
mod call_rules;
mod dialog_guard;
mod early;
mod early_bye;
mod effects;
mod hold;
mod hunt;
mod in_dialog;
mod join;
mod leg;
pub mod machine;
mod offer;
mod offer_invite;
mod outgoing;
mod refer_to;
mod room_sub;
#[cfg(test)]
mod rule_table;
pub mod state;
mod supervise_io;
mod transfer_rules;
mod transfer_state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::sdp::Sdp;

use crate::context::Ctx;
pub use crate::ids::{LegId, RoomId};
use crate::room_handle::RoomHandle;
use crate::security::admission::CallSlot;
pub use leg::Role;

static NEXT_ROOM: AtomicU64 = AtomicU64::new(1);

/// Who is being called.
#[derive(Clone, Debug)]
pub enum Destination {
    /// A team: members are offered the call one at a time (SPEC T3).
    Team(String),
    /// One agent.
    Agent(String),
    /// Anything else: an outbound call to this URI at this address.
    External { uri: rsip::Uri, peer: Peer },
}

/// What starts a room: the caller's INVITE and where it goes.
pub struct RoomSetup {
    /// The caller's INVITE transaction (answered by the room).
    pub invite: ServerTransaction,
    /// Who the caller is.
    pub caller: Role,
    /// The caller's SDP offer.
    pub offer: Sdp,
    /// Who to ring.
    pub destination: Destination,
    /// The call's place in the overload gate, until the caller is answered early.
    pub setup: Option<crate::security::setup_gate::SetupPending>,
}

/// Start a room actor for a new call. The caller's Call-ID is bound to the room at once.
/// `slot`: the admission slot the call holds until the room ends (customer calls).
pub fn spawn(ctx: Arc<Ctx>, setup: RoomSetup, slot: Option<CallSlot>) {
    let id = RoomId(NEXT_ROOM.fetch_add(1, Ordering::Relaxed));
    let (handle, rx) = RoomHandle::new(id);
    ctx.dialogs.add_room(handle.clone());
    tokio::spawn(async move {
        actor::run(ctx, handle, rx, setup).await;
        drop(slot);
    });
}
