//! What TU handles, TCP readers and other shards tell a shard (through its bounded queue).

use super::{Peer, TxError};
use crate::core::{ClientId, ServerId};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// Where a client transaction's responses go (bounded; a final response always fits).
pub(crate) type ResultSender = mpsc::Sender<Result<rsip::Response, TxError>>;

/// Room in a client transaction's result queue.
pub(crate) const RESULTS_QUEUE: usize = 8;

pub(crate) enum Command {
    /// One framed message from a TCP connection.
    Received {
        peer: Peer,
        bytes: Vec<u8>,
    },
    /// A response another shard received for one of ours.
    Routed {
        peer: Peer,
        response: rsip::Response,
    },
    /// `done` is told once the bytes went to the transport, so that what the TU sends next
    /// (e.g. a NOTIFY after the 200 to a SUBSCRIBE) cannot overtake them on another shard.
    Respond {
        id: ServerId,
        code: u16,
        bytes: Bytes,
        done: Option<oneshot::Sender<()>>,
    },
    RespondStateless {
        id: ServerId,
        bytes: Bytes,
        done: Option<oneshot::Sender<()>>,
    },
    Request {
        id: ClientId,
        branch: String,
        method: rsip::Method,
        bytes: Bytes,
        peer: Peer,
        results: ResultSender,
    },
    Ack {
        call_id: String,
        seq: u32,
        bytes: Bytes,
        peer: Peer,
    },
    TransportError {
        id: ClientId,
        reason: String,
    },
}
