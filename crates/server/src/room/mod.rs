//! Call rooms. Every call is a room: one tokio task (the actor) that owns the dialogs of all its
//! legs, talks to the media engine by commands, and moves through a small state machine:
//! establishing (caller waits with ringback while candidates are rung one at a time) →
//! connected (in-dialog requests, hold, room commands, transfers, media events) → ended (BYE to
//! whoever is left, records). Parties subscribe to the room's state (`state.rs`).

mod actor;
mod commands;
mod connect;
mod establish;
mod hold;
mod in_dialog;
mod leg;
mod outgoing;
mod queue;
mod refer_to;
mod ring;
pub mod state;
mod timeline;
mod transfer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::sdp::Sdp;
use tokio::sync::mpsc;

use crate::context::Ctx;
pub use leg::Role;
pub use outgoing::OfferEvent;

/// A room's id (process-wide unique).
pub type RoomId = u64;
/// A leg's id (unique within its room).
pub type LegId = u32;

static NEXT_ROOM: AtomicU64 = AtomicU64::new(1);

/// Messages a room actor receives.
pub enum RoomMsg {
    /// An in-dialog request (BYE, re-INVITE, ACK, INFO, …) on one of the room's legs.
    InDialog { leg: LegId, tx: ServerTransaction },
    /// Progress of an INVITE the room sent (attempt number, event).
    Offer { attempt: u64, event: OfferEvent },
    /// An agent subscribes to the room state (the room checks they are a party).
    Subscribe {
        user: String,
        expires: Duration,
        tx: ServerTransaction,
    },
    /// A refresh or end of a room state subscription.
    Resubscribe {
        call_id: String,
        expires: Duration,
        tx: ServerTransaction,
    },
    /// The server stops: say BYE to everyone.
    Shutdown,
}

/// Address of a room actor. Cheap to clone.
#[derive(Clone)]
pub struct RoomHandle {
    id: RoomId,
    tx: mpsc::UnboundedSender<RoomMsg>,
}

impl RoomHandle {
    /// The room's id.
    pub fn id(&self) -> RoomId {
        self.id
    }
    /// Send a message; false when the room has ended.
    pub fn send(&self, msg: RoomMsg) -> bool {
        self.tx.send(msg).is_ok()
    }
    /// Forward an in-dialog request; gives the transaction back when the room has ended.
    pub fn send_in_dialog(
        &self,
        leg: LegId,
        tx: ServerTransaction,
    ) -> Result<(), Box<ServerTransaction>> {
        match self.tx.send(RoomMsg::InDialog { leg, tx }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(RoomMsg::InDialog { tx, .. })) => Err(Box::new(tx)),
            Err(_) => Ok(()),
        }
    }
}

impl RoomHandle {
    /// Forward a room state SUBSCRIBE; gives the transaction back when the room has ended.
    pub fn send_subscribe(
        &self,
        user: String,
        expires: Duration,
        tx: ServerTransaction,
    ) -> Result<(), Box<ServerTransaction>> {
        match self.tx.send(RoomMsg::Subscribe { user, expires, tx }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(RoomMsg::Subscribe { tx, .. })) => Err(Box::new(tx)),
            Err(_) => Ok(()),
        }
    }
}

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
}

/// Start a room actor for a new call. The caller's Call-ID is bound to the room at once.
pub fn spawn(ctx: Arc<Ctx>, setup: RoomSetup) {
    let id = NEXT_ROOM.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = RoomHandle { id, tx };
    ctx.dialogs.add_room(handle.clone());
    tokio::spawn(actor::run(ctx, handle, rx, setup));
}
