//! The address of a room actor and the messages it takes. Kept apart from `room/` so that the
//! dialog table and the server context can route to rooms without depending on the room logic.

use std::time::Duration;

use agentphone_sip::endpoint::ServerTransaction;
use tokio::sync::mpsc;

use crate::ids::{LegId, OfferId, RoomId};

/// What happened to an INVITE the room sent.
#[derive(Debug)]
pub enum OfferEvent {
    /// A response (provisional or final).
    Response(rsip::Response),
    /// No final response (Timer B) or the transport failed.
    Failed(String),
}

/// Messages a room actor receives.
pub enum RoomMsg {
    /// An in-dialog request (BYE, re-INVITE, ACK, INFO, …) on one of the room's legs.
    InDialog { leg: LegId, tx: ServerTransaction },
    /// Progress of an INVITE the room sent.
    Offer { offer: OfferId, event: OfferEvent },
    /// A BYE for the dialog of an INVITE the room sent, before that INVITE's 2xx arrived (a
    /// proxy let the BYE overtake it): held until the 2xx (or the INVITE's end).
    EarlyBye {
        offer: OfferId,
        tx: ServerTransaction,
    },
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
    /// A supervisor's INVITE to the room (their role checked): join as `mode`.
    Supervise {
        user: String,
        mode: agentphone_protocol::SuperviseMode,
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
    /// A new address and the receiving end its actor reads.
    pub fn new(id: RoomId) -> (RoomHandle, mpsc::UnboundedReceiver<RoomMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (RoomHandle { id, tx }, rx)
    }
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
    /// Forward a supervisor's INVITE; gives the transaction back when the room has ended.
    pub fn send_supervise(
        &self,
        user: String,
        mode: agentphone_protocol::SuperviseMode,
        tx: ServerTransaction,
    ) -> Result<(), Box<ServerTransaction>> {
        match self.tx.send(RoomMsg::Supervise { user, mode, tx }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(RoomMsg::Supervise { tx, .. })) => Err(Box::new(tx)),
            Err(_) => Ok(()),
        }
    }
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
    /// Forward a BYE that overtook the 2xx of INVITE `offer`; gives the transaction back when
    /// the room has ended.
    pub fn send_early_bye(
        &self,
        offer: OfferId,
        tx: ServerTransaction,
    ) -> Result<(), Box<ServerTransaction>> {
        match self.tx.send(RoomMsg::EarlyBye { offer, tx }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(RoomMsg::EarlyBye { tx, .. })) => Err(Box::new(tx)),
            Err(_) => Ok(()),
        }
    }
}
