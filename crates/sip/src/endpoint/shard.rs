//! One shard of the driver: a `Core` and what the driver keeps next to it, behind one lock.
//!
//! Whoever has an input for the shard — a receive worker with a parsed datagram, a TCP reader, a
//! TU responding or starting a request, the shard's timer task — takes the lock, feeds the core,
//! carries out its outputs (non-blocking sends and queue pushes only) and lets go. The lock is
//! held for microseconds and never across an `.await`; no input waits in a queue for a shard task
//! to wake up, which is what lets one client socket use every core (see the module docs).

use super::results::Sinks;
use super::server_handle::{CancelSignal, Handle};
use super::{Endpoint, Peer, ServerTransaction, TransportKind};
use crate::core::{service_unavailable, sheddable, ClientId, Core, Event, Input, Output, ServerId};
use crate::message::lite_response::LiteResponse;
use crate::transport::udp::UdpOut;
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};

/// Datagrams a burst holds per shard at most (past it they are sent one by one).
const MAX_HELD: usize = 4096;

/// What a core's outputs ask of the world once the shard's lock is released (they lock another
/// shard, or this one again).
pub(crate) enum Deferred {
    /// A response for a client transaction of another shard.
    Route {
        shard: usize,
        peer: Peer,
        response: rsip::Response,
    },
    /// A request of client transaction `id` of `shard` could not be handed to TCP.
    TransportError {
        shard: usize,
        id: ClientId,
        reason: String,
    },
}

/// The state behind a shard's lock.
pub(crate) struct ShardState {
    pub core: Core,
    /// Where each live client transaction's responses go.
    pub sinks: Sinks,
    /// INVITE server transactions' CANCEL signals.
    cancels: HashMap<ServerId, Arc<CancelSignal>>,
    udp_out: UdpOut,
    /// Set by a burst's input (`Endpoint::tagged_burst`): its UDP datagrams are held in `held`
    /// and sent together when the burst ends (`Shard::flush_held`).
    pub hold: bool,
    held: Vec<(SocketAddr, Bytes)>,
    /// The client transaction of each held datagram.
    held_clients: Vec<Option<ClientId>>,
    /// The deadline the timer task sleeps until (None: no timer armed).
    armed: Option<Instant>,
}

pub(crate) struct Shard {
    pub index: usize,
    state: Mutex<ShardState>,
    /// Wakes the timer task: an earlier timer was armed, or datagrams wait for the socket.
    wake: Notify,
    /// The UDP socket this shard sends from (all sockets of the endpoint share its address).
    socket: Arc<UdpSocket>,
    incoming: mpsc::Sender<ServerTransaction>,
}

impl Shard {
    pub(crate) fn new(
        index: usize,
        core: Core,
        socket: Arc<UdpSocket>,
        incoming: mpsc::Sender<ServerTransaction>,
        max_pending_sends: usize,
    ) -> Self {
        Shard {
            index,
            state: Mutex::new(ShardState {
                core,
                sinks: Sinks::default(),
                cancels: HashMap::new(),
                udp_out: UdpOut::new(max_pending_sends),
                hold: false,
                held: Vec::new(),
                held_clients: Vec::new(),
                armed: None,
            }),
            wake: Notify::new(),
            socket,
            incoming,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ShardState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Feed one input (with `prepare` run first under the same lock) and carry out the outputs.
    /// Returns what must happen after the lock is released.
    pub(crate) fn handle(
        &self,
        endpoint: &Endpoint,
        prepare: impl FnOnce(&mut ShardState),
        input: Input<'_>,
    ) -> Vec<Deferred> {
        let mut deferred = Vec::new();
        let mut state = self.lock();
        prepare(&mut state);
        state.core.handle_input(input, Instant::now());
        self.drain(endpoint, &mut state, &mut deferred);
        state.hold = false;
        self.rearm(&mut state);
        deferred
    }

    /// Send the datagrams a burst held, in as few system calls as the kernel takes; one the
    /// socket refused fails its client transaction, as a single send would.
    pub(crate) fn flush_held(&self, endpoint: &Endpoint) -> Vec<Deferred> {
        let mut deferred = Vec::new();
        let mut state = self.lock();
        let datagrams = std::mem::take(&mut state.held);
        let clients = std::mem::take(&mut state.held_clients);
        let refused = state.udp_out.send_many(&self.socket, datagrams);
        for (index, e) in refused {
            tracing::debug!(error = %e, "sip udp send failed");
            if let Some(Some(id)) = clients.get(index) {
                let input = Input::TransportError {
                    id: *id,
                    reason: e.to_string(),
                };
                state.core.handle_input(input, Instant::now());
            }
        }
        self.drain(endpoint, &mut state, &mut deferred);
        self.rearm(&mut state);
        deferred
    }

    /// A response read by [`LiteResponse`] for a tagged client transaction of this shard: fed to
    /// the core by its status code alone. None (nothing done) when it matches no tagged
    /// transaction here: it then takes the full parser.
    pub(crate) fn tagged_response(
        &self,
        endpoint: &Endpoint,
        head: &LiteResponse<'_>,
    ) -> Option<Vec<Deferred>> {
        let mut state = self.lock();
        let id = state.core.client_id(head.branch, head.method)?;
        if !state.sinks.is_tagged(id) {
            return None;
        }
        let mut deferred = Vec::new();
        let input = Input::Status {
            id,
            code: head.code,
        };
        state.core.handle_input(input, Instant::now());
        self.drain(endpoint, &mut state, &mut deferred);
        self.rearm(&mut state);
        Some(deferred)
    }

    /// The timer task: sleeps until the core's next deadline (or until woken because an earlier
    /// one was armed), fires the due timers, and flushes datagrams a full socket held back.
    pub(crate) async fn run_timers(self: Arc<Self>, endpoint: Endpoint) {
        loop {
            let (deadline, pending) = {
                let mut state = self.lock();
                state.armed = state.core.poll_timeout();
                (state.armed, state.udp_out.has_pending())
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {
                    let deferred = self.handle(&endpoint, |_| {}, Input::Timeout);
                    endpoint.after(deferred);
                }
                () = self.wake.notified() => {}
                writable = self.socket.writable(), if pending => {
                    if writable.is_ok() {
                        self.lock().udp_out.flush(&self.socket);
                    }
                }
            }
        }
    }

    /// Wake the timer task when the core now wants to be called earlier than it sleeps, or when
    /// datagrams wait for the socket.
    fn rearm(&self, state: &mut ShardState) {
        let next = state.core.poll_timeout();
        let earlier = match (next, state.armed) {
            (Some(next), Some(armed)) => next < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if earlier || state.udp_out.has_pending() {
            state.armed = next;
            self.wake.notify_one();
        }
    }

    /// Carry out everything the core asked for (which may feed it again, e.g. a send error).
    fn drain(&self, endpoint: &Endpoint, state: &mut ShardState, deferred: &mut Vec<Deferred>) {
        while let Some(output) = state.core.poll_output() {
            match output {
                Output::Transmit {
                    peer,
                    bytes,
                    client,
                } => self.transmit(endpoint, state, peer, bytes, client, deferred),
                Output::Route {
                    shard,
                    peer,
                    response,
                } => deferred.push(Deferred::Route {
                    shard: usize::from(shard),
                    peer,
                    response,
                }),
                Output::Event(event) => self.deliver(endpoint, state, event),
            }
        }
    }

    fn transmit(
        &self,
        endpoint: &Endpoint,
        state: &mut ShardState,
        peer: Peer,
        bytes: Bytes,
        client: Option<ClientId>,
        deferred: &mut Vec<Deferred>,
    ) {
        match peer.transport {
            TransportKind::Udp if state.hold && state.held.len() < MAX_HELD => {
                state.held.push((peer.addr, bytes));
                state.held_clients.push(client);
            }
            TransportKind::Udp => {
                if let Err(e) = state.udp_out.send(&self.socket, peer.addr, bytes) {
                    tracing::debug!(error = %e, ?peer, "sip udp send failed");
                    if let Some(id) = client {
                        let input = Input::TransportError {
                            id,
                            reason: e.to_string(),
                        };
                        state.core.handle_input(input, Instant::now());
                    }
                }
            }
            TransportKind::Tcp | TransportKind::Tls => {
                let origin = client.map(|id| (self.index, id));
                if let Err((shard, id, reason)) =
                    crate::transport::tcp::send(endpoint, peer, bytes, origin)
                {
                    deferred.push(Deferred::TransportError { shard, id, reason });
                }
            }
        }
    }

    fn deliver(&self, endpoint: &Endpoint, state: &mut ShardState, event: Event) {
        match event {
            Event::Request { id, request, peer } => {
                self.new_request(endpoint, state, id, request, peer)
            }
            Event::Ack { request, peer } => {
                let tx = ServerTransaction::new(request, peer, endpoint.clone(), None);
                let _ = self.incoming.try_send(tx);
            }
            Event::Cancelled { id } => {
                if let Some(signal) = state.cancels.remove(&id) {
                    signal.fire();
                }
            }
            Event::InviteEnded { id } => {
                state.cancels.remove(&id);
            }
            Event::Response { id, response } => state.sinks.response(id, response),
            Event::Failed { id, error } => state.sinks.failed(id, error),
        }
    }

    /// Hand a new request to the TU without ever blocking: when the TU is that far behind (or
    /// gone), the request is answered 503 statelessly. Sheddable requests (REGISTER, OPTIONS) get
    /// only the first half of the TU's queue, so that calls still get through a REGISTER flood.
    fn new_request(
        &self,
        endpoint: &Endpoint,
        state: &mut ShardState,
        id: ServerId,
        request: rsip::Request,
        peer: Peer,
    ) {
        let cancel = (request.method == rsip::Method::Invite).then(|| {
            let signal = Arc::new(CancelSignal::default());
            state.cancels.insert(id, signal.clone());
            signal
        });
        let handle = Handle {
            shard: self.index,
            id,
            answered: AtomicBool::new(false),
            cancel,
        };
        let shed =
            sheddable(&request) && self.incoming.capacity() <= self.incoming.max_capacity() / 2;
        let tx = ServerTransaction::new(request, peer, endpoint.clone(), Some(handle));
        let tx = if shed {
            tx
        } else {
            match self.incoming.try_send(tx) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(tx)) => tx,
                Err(mpsc::error::TrySendError::Closed(tx)) => tx,
            }
        };
        let why = if shed {
            "queue half full"
        } else {
            "queue full"
        };
        state.core.count_rejected(why, &tx.request.method);
        tx.disarm();
        let bytes = service_unavailable(&tx.request, state.core.config().retry_after_secs);
        let input = Input::RespondStateless { id, bytes };
        state.core.handle_input(input, Instant::now());
        state.cancels.remove(&id);
    }
}

/// Where a datagram goes: UDP peers are told apart by address only.
pub(crate) fn udp_peer(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: TransportKind::Udp,
    }
}
