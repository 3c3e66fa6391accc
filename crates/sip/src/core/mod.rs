//! The SIP transaction core as a sans-IO state machine (RFC 3261 §17 with the RFC 6026 Accepted
//! state): client and server transactions, INVITE and non-INVITE, timers A–K (and L), automatic
//! 100 Trying after 200 ms, 2xx retransmission until ACK (UAS core), ACK re-sending for a
//! retransmitted 2xx (UAC core), CANCEL matching, 400/501 for garbage, 503 past a hard cap.
//!
//! Nothing here does I/O, spawns, locks or reads a clock. A driver feeds [`Input`]s with the
//! current time ([`Core::handle_input`]), then drains [`Output`]s ([`Core::poll_output`]: bytes
//! to transmit, events for the transaction user, responses that belong to another shard) and
//! sleeps until [`Core::poll_timeout`]. Every armed timer of the core lives in one ordered map;
//! a retransmission re-sends the same `Bytes` (one allocation per message, shared by its copies).
//!
//! One `Core` is one shard: it owns the transactions of the calls whose Call-ID hashes to it
//! ([`call_id_shard`]): requests received, requests sent (their branch also carries its shard
//! number, see [`shard_branch`]), their responses, retransmissions, ACKs and CANCELs.

mod client_tx;
mod keys;
mod per_source;
mod server_tx;
mod table;
mod timers;
pub(crate) mod via;

#[cfg(test)]
mod tests;

pub(crate) use client_tx::same_transaction_request;
pub use keys::{branch_shard, call_id_shard, shard_branch};
pub(crate) use table::service_unavailable;
pub use table::sheddable;
pub use table::Core;

use crate::endpoint::{Peer, Timers, TxError};
use bytes::Bytes;

/// A server transaction, as numbered by its shard's core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServerId(pub u64);

/// A client transaction, as numbered by whoever starts it (unique per endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(pub u64);

/// What a core needs to know about itself.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// RFC 3261 T1/T2/T4.
    pub timers: Timers,
    /// This core's shard number (encoded in the branches it generates).
    pub shard: u16,
    /// Number of shards of the endpoint (responses for another shard are routed there).
    pub shards: u16,
    /// Hard cap on live transactions (client + server); new requests beyond it get a stateless
    /// 503 with Retry-After, new client requests fail.
    pub max_transactions: usize,
    /// Seconds in the Retry-After of those 503s.
    pub retry_after_secs: u32,
    /// Cap on live non-INVITE server transactions from one source IP (0: none); past it, the
    /// same stateless 503.
    pub max_per_source: usize,
    /// `Allow` of the 501 answered to an unknown method (RFC 3261 §21.5.2); None: no Allow.
    pub allow: Option<&'static str>,
}

impl CoreConfig {
    /// One shard, the given timers, the default cap.
    pub fn single(timers: Timers) -> Self {
        CoreConfig {
            timers,
            shard: 0,
            shards: 1,
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
            retry_after_secs: 5,
            max_per_source: 0,
            allow: None,
        }
    }
}

/// Default cap on live transactions per shard (see docs/architecture.md for bytes per
/// transaction).
pub const DEFAULT_MAX_TRANSACTIONS: usize = 65_536;

/// Something happened that the core must handle.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram or one framed stream message from `peer`.
    Received { peer: Peer, bytes: &'a [u8] },
    /// A message the driver already parsed (to pick the shard by Call-ID, see
    /// [`call_id_shard`], and to parse outside the shard's lock).
    Parsed {
        peer: Peer,
        message: rsip::SipMessage,
    },
    /// A response another shard received for one of this shard's client transactions.
    Routed {
        peer: Peer,
        response: rsip::Response,
    },
    /// Time passed: every timer due at `now` fires.
    Timeout,
    /// The TU sends a response (1xx any number of times, then one final) in transaction `id`.
    Respond {
        id: ServerId,
        code: u16,
        bytes: Bytes,
    },
    /// The TU answers without transaction state (RFC 3261 §8.2.7): the bytes go out once and the
    /// transaction is forgotten, so a retransmitted request reaches the TU again.
    RespondStateless { id: ServerId, bytes: Bytes },
    /// A response to a request that never became a transaction (the driver's stateless fast
    /// path answered it straight from its bytes): sent once, nothing kept.
    Send { peer: Peer, bytes: Bytes },
    /// The TU starts a client transaction; `bytes` is the request with our Via (branch `branch`).
    /// A CANCEL also tells the INVITE with the same branch that it was cancelled (§9.1).
    Request {
        id: ClientId,
        branch: String,
        method: rsip::Method,
        bytes: Bytes,
        peer: Peer,
    },
    /// The TU sent an ACK for a 2xx (outside any transaction): remembered for 64·T1 so that a
    /// retransmitted 2xx gets it again.
    Ack {
        call_id: String,
        seq: u32,
        bytes: Bytes,
        peer: Peer,
    },
    /// The transport could not deliver client transaction `id`'s request.
    TransportError { id: ClientId, reason: String },
    /// A response of client transaction `id` that the driver matched itself
    /// ([`Core::client_id`]) without parsing it in full: only its status code is known, and the
    /// response reported for it carries nothing else (for a TU that needs only the code).
    Status { id: ClientId, code: u16 },
}

/// What the driver must do.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes (`client`: the client transaction to tell if this fails).
    Transmit {
        peer: Peer,
        bytes: Bytes,
        client: Option<ClientId>,
    },
    /// This response belongs to a client transaction of shard `shard`: give it to that core.
    Route {
        shard: u16,
        peer: Peer,
        response: rsip::Response,
    },
    /// Tell the transaction user.
    Event(Event),
}

/// What the transaction user hears.
#[derive(Debug)]
pub enum Event {
    /// A new request in server transaction `id` (never a CANCEL: the core answers those).
    Request {
        id: ServerId,
        request: rsip::Request,
        peer: Peer,
    },
    /// An ACK for a 2xx, or one that matches nothing: no transaction, nothing to answer.
    Ack { request: rsip::Request, peer: Peer },
    /// A CANCEL matched INVITE `id` before its final response (the core answered the CANCEL 200;
    /// the TU should answer the INVITE 487).
    Cancelled { id: ServerId },
    /// INVITE server transaction `id` ended (a driver can forget what it kept for it).
    InviteEnded { id: ServerId },
    /// A response in client transaction `id` (1xx…, then the final one).
    Response {
        id: ClientId,
        response: rsip::Response,
    },
    /// Client transaction `id` ended without a final response (Timer B/F, transport).
    Failed { id: ClientId, error: TxError },
}
