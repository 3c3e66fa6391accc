//! The SIP endpoint: the thin tokio driver around the sans-IO [`crate::core`]. UDP and TCP on one
//! port. The transactions are split over N shards (one per core), each a `Core` behind its own
//! lock; a call belongs to the shard its Call-ID hashes to ([`call_id_shard`]), so its requests,
//! retransmissions, ACK, CANCEL and the responses to what we sent there all meet on one core.
//!
//! Who feeds a shard: the UDP receive workers (several per socket, so that a single client socket
//! still uses every core; the sockets share the port through `SO_REUSEPORT`), the TCP readers,
//! the TU when it responds or starts a request (a direct call, no queue and no task hop: the
//! response is on the wire when `respond` returns), and one timer task per shard. A worker parses
//! a datagram before taking the lock; under the lock only the core's table work and non-blocking
//! sends happen. New requests go to the TU through one bounded queue (past it: 503).

mod bind;
mod client_handle;
mod config;
mod fast_path;
mod receive;
pub(crate) mod results;
mod server_handle;
mod shard;
mod tagged;
mod types;

pub use client_handle::ClientTransaction;
pub use config::{EndpointConfig, TcpLimits};
pub use fast_path::FastPath;
pub use results::Outcome;
pub use server_handle::ServerTransaction;
pub use tagged::{TaggedBurst, TaggedRefused};
pub use types::{Peer, Timers, TransportKind, TxError};

use crate::core::via::push_own_via;
use crate::core::{
    call_id_shard, same_transaction_request, shard_branch, ClientId, Core, CoreConfig, Input,
};
use crate::message::lite_response::LiteResponse;
use crate::message::{fields, new_branch, request_bytes};
use crate::transport::tcp::TcpConnections;
use bytes::Bytes;
use results::{Sink, RESULTS_QUEUE};
use rsip::prelude::*;
use shard::{Deferred, Shard, ShardState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Longest a reader waits for the TU before it reads on (see `Endpoint::wait_for_tu`).
const MAX_PAUSE_MS: u32 = 20;

/// What all clones of an endpoint share (read-only after bind, except the TCP table).
pub(crate) struct Shared {
    local_addr: SocketAddr,
    timers: Timers,
    pub(crate) shards: Vec<Arc<Shard>>,
    pub(crate) tcp: TcpConnections,
    /// Where SIP over TLS is accepted, if it is.
    tls_local_addr: Option<SocketAddr>,
    /// How TLS connections are opened (None: only accepted ones are used).
    pub(crate) tls_client: Option<crate::tls::TlsClient>,
    tasks: Mutex<Vec<AbortHandle>>,
    next_client: AtomicU64,
    /// Set by `shutdown`: responses and requests fail from then on.
    closed: AtomicBool,
    /// Requests the TU holds (queued or being handled, i.e. live `ServerTransaction` handles).
    pub(crate) backlog: AtomicUsize,
    /// Above that backlog the readers pause.
    max_backlog: usize,
    /// Requests answered where they are read (see [`FastPath`]).
    fast_path: OnceLock<Arc<dyn FastPath>>,
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
        let tls_listener = match &config.tls.listen {
            Some((tls_addr, server)) => {
                let listener = bind::tcp_listener(*tls_addr)?;
                Some((listener.local_addr()?, listener, server.clone()))
            }
            None => None,
        };
        let (incoming, incoming_rx) = mpsc::channel(config.incoming_queue.max(1));
        let sockets = udp
            .into_iter()
            .map(|s| tokio::net::UdpSocket::from_std(s).map(Arc::new))
            .collect::<std::io::Result<Vec<_>>>()?;
        let shards = sockets
            .iter()
            .enumerate()
            .map(|(index, socket)| {
                let core = Core::new(CoreConfig {
                    timers: config.timers,
                    shard: u16::try_from(index).unwrap_or(u16::MAX),
                    shards: u16::try_from(count).unwrap_or(u16::MAX),
                    max_transactions: config.max_transactions,
                    retry_after_secs: config.retry_after_secs,
                    // Requests go to shards by Call-ID: each shard holds a share of the cap.
                    max_per_source: config.max_transactions_per_source.div_ceil(count),
                    allow: config.allow,
                });
                let (socket, queue) = (socket.clone(), incoming.clone());
                Arc::new(Shard::new(
                    index,
                    core,
                    socket,
                    queue,
                    config.max_pending_sends,
                ))
            })
            .collect();
        let endpoint = Endpoint {
            shared: Arc::new(Shared {
                local_addr,
                timers: config.timers,
                shards,
                tcp: TcpConnections::new(config.tcp),
                tls_local_addr: tls_listener.as_ref().map(|(addr, _, _)| *addr),
                tls_client: config.tls.client.clone(),
                tasks: Mutex::new(Vec::new()),
                next_client: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                backlog: AtomicUsize::new(0),
                max_backlog: config.tu_backlog.max(1),
                fast_path: OnceLock::new(),
            }),
        };
        let mut tasks = Vec::new();
        for shard in &endpoint.shared.shards {
            let timers = shard.clone().run_timers(endpoint.clone());
            tasks.push(tokio::spawn(timers).abort_handle());
        }
        for socket in &sockets {
            for _ in 0..config.receive_worker_count() {
                let worker = receive::receive_loop(endpoint.clone(), socket.clone());
                tasks.push(tokio::spawn(worker).abort_handle());
            }
        }
        let listener = tokio::net::TcpListener::from_std(tcp)?;
        let accept = crate::transport::tcp::accept_loop(endpoint.clone(), listener);
        tasks.push(tokio::spawn(accept).abort_handle());
        if let Some((_, listener, server)) = tls_listener {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let accept =
                crate::transport::tls_stream::accept_loop(endpoint.clone(), listener, server);
            tasks.push(tokio::spawn(accept).abort_handle());
        }
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

    /// Where SIP over TLS is accepted (None: no TLS listener).
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.shared.tls_local_addr
    }

    /// The sent-by of our Via over `transport`: the TLS port over TLS, else the UDP/TCP one.
    fn via_addr(&self, transport: TransportKind) -> SocketAddr {
        match (transport, self.shared.tls_local_addr) {
            (TransportKind::Tls, Some(tls)) => tls,
            _ => self.shared.local_addr,
        }
    }

    /// The timer values in use.
    pub fn timers(&self) -> Timers {
        self.shared.timers
    }

    /// Answer the requests `fast` wants right where they are read, before any full parse or
    /// transaction (only the first call counts).
    pub fn set_fast_path(&self, fast: Arc<dyn FastPath>) {
        let _ = self.shared.fast_path.set(fast);
    }

    /// Number of receive shards.
    pub fn shards(&self) -> usize {
        self.shared.shards.len()
    }

    /// Feed `input` to shard `shard` (after `prepare` under the same lock), then do what had to
    /// wait for the lock's release. False when the endpoint is shut down.
    pub(crate) fn input(
        &self,
        shard: usize,
        prepare: impl FnOnce(&mut ShardState),
        input: Input<'_>,
    ) -> bool {
        if self.shared.closed.load(Ordering::Relaxed) {
            return false;
        }
        let Some(owner) = self.shared.shards.get(shard) else {
            return false;
        };
        let deferred = owner.handle(self, prepare, input);
        self.after(deferred);
        true
    }

    pub(crate) fn after(&self, deferred: Vec<Deferred>) {
        for d in deferred {
            match d {
                Deferred::Route {
                    shard,
                    peer,
                    response,
                } => {
                    self.input(shard, |_| {}, Input::Routed { peer, response });
                }
                Deferred::TransportError { shard, id, reason } => {
                    self.transport_error(shard, id, reason);
                }
            }
        }
    }

    /// Readers call this before reading more: while the TU holds more than `tu_backlog` requests,
    /// wait (1 ms steps) and leave new datagrams in the kernel's socket buffer — finishing the
    /// requests we have comes first, as in a server whose workers handle one request to the end.
    /// A sustained overload then fills that buffer and the kernel drops datagrams (retransmission
    /// recovers them) instead of our queues growing.
    /// The pause is bounded (`MAX_PAUSE_MS`): a TU that is stuck rather than busy still gets its
    /// queue filled, and the requests past it are answered 503.
    pub(crate) async fn wait_for_tu(&self) {
        for _ in 0..MAX_PAUSE_MS {
            if self.shared.backlog.load(Ordering::Relaxed) <= self.shared.max_backlog {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Client transaction `id` of `shard` could not be sent.
    pub(crate) fn transport_error(&self, shard: usize, id: ClientId, reason: String) {
        self.input(shard, |_| {}, Input::TransportError { id, reason });
    }

    /// A datagram or TCP frame from `peer`: parsed here, outside any lock, then handled by the
    /// shard of its Call-ID. Unparseable input goes to shard 0, which answers 400/501 if it can.
    pub(crate) fn receive(&self, peer: Peer, bytes: &[u8]) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return; // keep-alive
        }
        if self.tagged_response(bytes) {
            return;
        }
        if let Some(fast) = self.shared.fast_path.get() {
            if let Some((call_id, answer)) = fast_path::try_answer(fast.as_ref(), bytes, peer) {
                let bytes = Bytes::from(answer);
                self.input(self.shard_of(call_id), |_| {}, Input::Send { peer, bytes });
                return;
            }
        }
        match crate::message::parse(bytes) {
            Ok(message) => {
                let shard = self.shard_of(message_call_id(&message));
                self.input(shard, |_| {}, Input::Parsed { peer, message });
            }
            Err(_) => {
                self.input(0, |_| {}, Input::Received { peer, bytes });
            }
        }
    }

    /// A plain response to a tagged client transaction, handled without a full parse (the TU
    /// learns only its status code); false: not one, it takes the full parser.
    fn tagged_response(&self, bytes: &[u8]) -> bool {
        let Some(head) = LiteResponse::parse(bytes) else {
            return false;
        };
        if self.shared.closed.load(Ordering::Relaxed) {
            return false;
        }
        let shard = self.shard_of(head.call_id);
        let Some(owner) = self.shared.shards.get(shard) else {
            return false;
        };
        match owner.tagged_response(self, &head) {
            Some(deferred) => {
                self.after(deferred);
                true
            }
            None => false,
        }
    }

    /// The shard owning the call `call_id`.
    fn shard_of(&self, call_id: &str) -> usize {
        call_id_shard(call_id, self.shared.shards.len())
    }

    /// Start a client transaction. The endpoint puts its own Via on top (sent-by = local_addr, new
    /// branch, rport) and sets Content-Length.
    pub fn request(&self, mut req: rsip::Request, peer: Peer) -> ClientTransaction {
        let shard = self.shard_of(&fields::call_id(&req).unwrap_or_default());
        let branch = shard_branch(u16::try_from(shard).unwrap_or(0));
        push_own_via(
            &mut req,
            self.via_addr(peer.transport),
            peer.transport,
            &branch,
        );
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
        let input = Input::Request {
            id,
            branch,
            method: req.method,
            bytes,
            peer,
        };
        let keep = Sink::Channel(results.clone());
        if !self.input(shard, |state| state.sinks.insert(id, keep), input) {
            let reason = "endpoint shut down".to_string();
            let _ = results.try_send(Err(TxError::Transport(reason)));
        }
        ClientTransaction::new(req, peer, results_rx)
    }

    /// ACK to a 2xx (outside any transaction); remembered so a retransmitted 2xx gets it again.
    pub async fn ack(&self, mut ack: rsip::Request, peer: Peer) -> std::io::Result<()> {
        push_own_via(
            &mut ack,
            self.via_addr(peer.transport),
            peer.transport,
            &new_branch(),
        );
        let call_id = fields::call_id(&ack).unwrap_or_default();
        let shard = self.shard_of(&call_id);
        let seq = fields::cseq(&ack).map_or(0, |(n, _)| n);
        let bytes = Bytes::from(request_bytes(&ack));
        let input = Input::Ack {
            call_id,
            seq,
            bytes,
            peer,
        };
        if self.input(shard, |_| {}, input) {
            Ok(())
        } else {
            Err(closed())
        }
    }

    /// CANCEL for a pending INVITE client transaction (built from the INVITE per RFC 3261 §9.1);
    /// it goes to the shard that owns the INVITE (same Call-ID, same branch).
    pub fn cancel(&self, invite_tx: &ClientTransaction) -> ClientTransaction {
        let cancel = cancel_for(invite_tx.request());
        let branch = fields::top_branch(&cancel).unwrap_or_default();
        let shard = self.shard_of(&fields::call_id(&cancel).unwrap_or_default());
        self.start(shard, branch, cancel, invite_tx.peer())
    }

    /// Stop the transports and all timers. Pending transactions end; sends fail afterwards.
    pub fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        for task in lock(&self.shared.tasks).drain(..) {
            task.abort();
        }
        self.shared.tcp.clear();
    }
}

pub(crate) fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "endpoint shut down")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The Call-ID of a parsed message, borrowed ("" when it has none: such a request gets a 400).
fn message_call_id(message: &rsip::SipMessage) -> &str {
    let headers = match message {
        rsip::SipMessage::Request(r) => &r.headers,
        rsip::SipMessage::Response(r) => &r.headers,
    };
    headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::CallId(id) => Some(id.value()),
            _ => None,
        })
        .unwrap_or_default()
}

/// RFC 3261 §9.1: same Request-URI, top Via (branch), From, To, Call-ID, CSeq number and Route.
fn cancel_for(invite: &rsip::Request) -> rsip::Request {
    let to = invite
        .to_header()
        .cloned()
        .unwrap_or_else(|_| rsip::headers::To::new(""));
    same_transaction_request(invite, rsip::Method::Cancel, to)
}
