//! The SIP endpoint: the thin tokio driver around the sans-IO [`crate::core`]. UDP and TCP on one
//! port; N shards (one task each) own a UDP socket on `SO_REUSEPORT`, a `Core` and its timers;
//! TU handles talk to them through bounded queues.
//!
//! Responses to our client transactions must reach the shard that owns the transaction, but the
//! kernel picks the receiving socket by the 4-tuple hash. Our branches carry the shard number
//! (`z9hG4bK.<shard>.<random>`), so whichever shard receives a response hands it to the owner
//! through the owner's queue: one hop for the responses that land on the wrong shard, no shared
//! table and no lock. The shard of a request we send is chosen from its destination address, like
//! the shard that reads a TCP connection: requests to one peer leave in the order the TU made
//! them, TCP responses arrive on the owner directly, and the ACK for a 2xx (sent to the same peer)
//! is remembered on the shard a retransmitted 2xx is routed to.

mod bind;
mod client_handle;
pub(crate) mod command;
mod config;
mod server_handle;
mod shard;
mod types;

pub use client_handle::ClientTransaction;
pub use config::EndpointConfig;
pub use server_handle::ServerTransaction;
pub use types::{Peer, Timers, TransportKind, TxError};

use crate::core::via::push_own_via;
use crate::core::{
    branch_shard, same_transaction_request, shard_branch, ClientId, Core, CoreConfig,
};
use crate::message::{fields, new_branch, request_bytes};
use crate::transport::tcp::TcpConnections;
use crate::transport::udp::UdpOut;
use bytes::Bytes;
use command::{Command, RESULTS_QUEUE};
use rsip::prelude::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// What all clones of an endpoint share (read-only after bind, except the TCP table).
pub(crate) struct Shared {
    local_addr: SocketAddr,
    timers: Timers,
    shards: Vec<mpsc::Sender<Command>>,
    pub(crate) tcp: TcpConnections,
    tasks: Mutex<Vec<AbortHandle>>,
    next_client: AtomicU64,
}

/// UDP and TCP on one port; the RFC 3261 transaction layer (client + server, INVITE + non-INVITE,
/// timers A–K, retransmission over UDP), 2xx-to-INVITE retransmission until ACK (UAS core), ACK
/// re-sending on retransmitted 2xx (UAC core), CANCEL matching. Malformed input: 400 where a reply
/// is possible (501 for an unknown method), dropped otherwise; never panics. Past the transaction
/// cap or a full TU queue: 503 with Retry-After. Clone = same endpoint.
#[derive(Clone)]
pub struct Endpoint {
    shared: Arc<Shared>,
}

impl Endpoint {
    /// Bind UDP and TCP on `addr` (port 0 = pick one port free for both), one shard per core.
    /// Returns the endpoint and the stream of new incoming requests (each in its server
    /// transaction; ACKs for 2xx arrive here too, as a ServerTransaction whose respond() is a
    /// no-op).
    pub async fn bind(
        addr: SocketAddr,
        timers: Timers,
    ) -> std::io::Result<(Endpoint, mpsc::Receiver<ServerTransaction>)> {
        Self::bind_with(
            addr,
            EndpointConfig {
                timers,
                ..EndpointConfig::default()
            },
        )
        .await
    }

    /// Like [`Endpoint::bind`], sized by `config` (shards, caps, queues).
    pub async fn bind_with(
        addr: SocketAddr,
        config: EndpointConfig,
    ) -> std::io::Result<(Endpoint, mpsc::Receiver<ServerTransaction>)> {
        let count = config.shard_count();
        let (udp, tcp) = bind::bind_sockets(addr, count)?;
        let local_addr = tcp.local_addr()?;
        let (incoming, incoming_rx) = mpsc::channel(config.incoming_queue.max(1));
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..count)
            .map(|_| mpsc::channel(config.command_queue.max(1)))
            .unzip();
        let endpoint = Endpoint {
            shared: Arc::new(Shared {
                local_addr,
                timers: config.timers,
                shards: senders,
                tcp: TcpConnections::default(),
                tasks: Mutex::new(Vec::new()),
                next_client: AtomicU64::new(1),
            }),
        };
        let mut tasks = Vec::with_capacity(count + 1);
        for (index, (socket, commands)) in udp.into_iter().zip(receivers).enumerate() {
            let core = Core::new(CoreConfig {
                timers: config.timers,
                shard: u16::try_from(index).unwrap_or(u16::MAX),
                shards: u16::try_from(count).unwrap_or(u16::MAX),
                max_transactions: config.max_transactions,
                retry_after_secs: config.retry_after_secs,
            });
            let shard = shard::Shard {
                index,
                core,
                endpoint: endpoint.clone(),
                socket: tokio::net::UdpSocket::from_std(socket)?,
                commands,
                incoming: incoming.clone(),
                udp_out: UdpOut::new(config.max_pending_sends),
                results: HashMap::new(),
                cancels: HashMap::new(),
            };
            tasks.push(tokio::spawn(shard.run()).abort_handle());
        }
        let listener = tokio::net::TcpListener::from_std(tcp)?;
        let accept = crate::transport::tcp::accept_loop(endpoint.clone(), listener);
        tasks.push(tokio::spawn(accept).abort_handle());
        *lock(&endpoint.shared.tasks) = tasks;
        Ok((endpoint, incoming_rx))
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The address both transports are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The timer values in use.
    pub fn timers(&self) -> Timers {
        self.shared.timers
    }

    /// Number of receive shards.
    pub fn shards(&self) -> usize {
        self.shared.shards.len()
    }

    /// Queue a command for a shard, waiting while its queue is full.
    pub(crate) async fn command(&self, shard: usize, command: Command) -> Result<(), ()> {
        let sender = self.shared.shards.get(shard).ok_or(())?;
        sender.send(command).await.map_err(|_| ())
    }

    /// Queue a command for a shard if there is room (never waits).
    pub(crate) fn try_command(&self, shard: usize, command: Command) {
        if let Some(sender) = self.shared.shards.get(shard) {
            let _ = sender.try_send(command);
        }
    }

    /// The shard that sends requests to `addr` (and remembers ACKs sent there), and that reads a
    /// TCP connection with `addr`.
    pub(crate) fn shard_for_addr(&self, addr: SocketAddr) -> usize {
        let ip = match addr.ip() {
            std::net::IpAddr::V4(ip) => ip.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(ip) => ip.octets(),
        };
        let key = ip.into_iter().chain(addr.port().to_be_bytes());
        spread(key, self.shared.shards.len())
    }

    /// Start a client transaction. The endpoint puts its own Via on top (sent-by = local_addr, new
    /// branch, rport) and sets Content-Length.
    pub fn request(&self, mut req: rsip::Request, peer: Peer) -> ClientTransaction {
        let shard = self.shard_for_addr(peer.addr);
        let branch = shard_branch(u16::try_from(shard).unwrap_or(0));
        push_own_via(&mut req, self.shared.local_addr, peer.transport, &branch);
        self.start(shard, branch, req, peer)
    }

    fn start(
        &self,
        shard: usize,
        branch: String,
        req: rsip::Request,
        peer: Peer,
    ) -> ClientTransaction {
        let bytes = Bytes::from(request_bytes(&req));
        let (results, results_rx) = mpsc::channel(RESULTS_QUEUE);
        let id = ClientId(self.shared.next_client.fetch_add(1, Ordering::Relaxed));
        let command = Command::Request {
            id,
            branch,
            method: req.method,
            bytes,
            peer,
            results,
        };
        let refused = match self.shared.shards.get(shard) {
            Some(sender) => sender.try_send(command).err().map(|e| {
                let reason = match e {
                    mpsc::error::TrySendError::Full(_) => "endpoint overloaded",
                    mpsc::error::TrySendError::Closed(_) => "endpoint shut down",
                };
                (reason, e.into_inner())
            }),
            None => Some(("no such shard", command)),
        };
        if let Some((reason, Command::Request { results, .. })) = refused {
            let _ = results.try_send(Err(TxError::Transport(reason.into())));
        }
        ClientTransaction::new(req, peer, results_rx)
    }

    /// ACK to a 2xx (outside any transaction); remembered so a retransmitted 2xx gets it again.
    pub async fn ack(&self, mut ack: rsip::Request, peer: Peer) -> std::io::Result<()> {
        let shard = self.shard_for_addr(peer.addr);
        push_own_via(
            &mut ack,
            self.shared.local_addr,
            peer.transport,
            &new_branch(),
        );
        let call_id = fields::call_id(&ack).unwrap_or_default();
        let seq = fields::cseq(&ack).map_or(0, |(n, _)| n);
        let bytes = Bytes::from(request_bytes(&ack));
        let command = Command::Ack {
            call_id,
            seq,
            bytes,
            peer,
        };
        self.command(shard, command).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::NotConnected, "endpoint shut down")
        })
    }

    /// CANCEL for a pending INVITE client transaction (built from the INVITE per RFC 3261 §9.1);
    /// it goes to the shard that owns the INVITE (same branch).
    pub fn cancel(&self, invite_tx: &ClientTransaction) -> ClientTransaction {
        let cancel = cancel_for(invite_tx.request());
        let branch = fields::top_branch(&cancel).unwrap_or_default();
        let shard = branch_shard(&branch)
            .map(usize::from)
            .filter(|s| *s < self.shared.shards.len())
            .unwrap_or(0);
        self.start(shard, branch, cancel, invite_tx.peer())
    }

    /// Stop the transports and all timers. Pending transactions end; sends fail afterwards.
    pub fn shutdown(&self) {
        for task in lock(&self.shared.tasks).drain(..) {
            task.abort();
        }
        self.shared.tcp.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// FNV-1a of `key`, reduced to `0..n`: a stable spread of peer addresses over shards.
fn spread(key: impl Iterator<Item = u8>, n: usize) -> usize {
    let hash = key.fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % (n.max(1) as u64)).unwrap_or(0)
}

/// RFC 3261 §9.1: same Request-URI, top Via (branch), From, To, Call-ID, CSeq number and Route.
fn cancel_for(invite: &rsip::Request) -> rsip::Request {
    let to = invite
        .to_header()
        .cloned()
        .unwrap_or_else(|_| rsip::headers::To::new(""));
    same_transaction_request(invite, rsip::Method::Cancel, to)
}
