//! The thin tokio driver of one shard: one task owns the shard's UDP socket, its `Core`, its
//! timer sleep and its queue of commands, feeds the core and carries out what it outputs.

use super::command::{Command, ResultSender};
use super::server_handle::{CancelSignal, Handle};
use super::{Endpoint, Peer, ServerTransaction, TransportKind};
use crate::core::{service_unavailable, ClientId, Core, Event, Input, Output, ServerId};
use crate::transport::udp::UdpOut;
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Inputs handled in one go before the shard looks at its other sources again.
const BATCH: usize = 64;

pub(crate) struct Shard {
    pub index: usize,
    pub core: Core,
    pub endpoint: Endpoint,
    pub socket: UdpSocket,
    pub commands: mpsc::Receiver<Command>,
    pub incoming: mpsc::Sender<ServerTransaction>,
    pub udp_out: UdpOut,
    /// Where each live client transaction's responses go.
    pub results: HashMap<ClientId, ResultSender>,
    /// INVITE server transactions' CANCEL signals.
    pub cancels: HashMap<ServerId, Arc<CancelSignal>>,
}

impl Shard {
    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 65_536];
        let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            let next = self.core.poll_timeout();
            if next != armed {
                if let Some(at) = next {
                    sleep.as_mut().reset(at.into());
                }
                armed = next;
            }
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, addr)) => {
                        self.datagram(buf.get(..len).unwrap_or_default(), addr);
                        for _ in 0..BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((len, addr)) => self.datagram(buf.get(..len).unwrap_or_default(), addr),
                                Err(_) => break,
                            }
                        }
                    }
                    // ICMP port unreachable from an earlier send shows up here on some systems.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "sip udp receive failed");
                        return;
                    }
                },
                command = self.commands.recv() => {
                    let Some(command) = command else { return };
                    self.command(command);
                    for _ in 0..BATCH {
                        match self.commands.try_recv() {
                            Ok(command) => self.command(command),
                            Err(_) => break,
                        }
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.input(Input::Timeout);
                }
                writable = self.socket.writable(), if self.udp_out.has_pending() => {
                    if writable.is_ok() {
                        self.udp_out.flush(&self.socket);
                    }
                }
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.core.handle_input(input, Instant::now());
        self.drain();
    }

    fn datagram(&mut self, bytes: &[u8], addr: SocketAddr) {
        let peer = Peer {
            addr,
            transport: TransportKind::Udp,
        };
        self.input(Input::Received { peer, bytes });
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Received { peer, bytes } => self.input(Input::Received {
                peer,
                bytes: &bytes,
            }),
            Command::Routed { peer, response } => self.input(Input::Routed { peer, response }),
            Command::Respond {
                id,
                code,
                bytes,
                done,
            } => {
                self.input(Input::Respond { id, code, bytes });
                done.map(|d| d.send(()));
            }
            Command::RespondStateless { id, bytes, done } => {
                self.input(Input::RespondStateless { id, bytes });
                done.map(|d| d.send(()));
            }
            Command::Request {
                id,
                branch,
                method,
                bytes,
                peer,
                results,
            } => {
                self.results.insert(id, results);
                self.input(Input::Request {
                    id,
                    branch,
                    method,
                    bytes,
                    peer,
                });
            }
            Command::Ack {
                call_id,
                seq,
                bytes,
                peer,
            } => self.input(Input::Ack {
                call_id,
                seq,
                bytes,
                peer,
            }),
            Command::TransportError { id, reason } => {
                self.input(Input::TransportError { id, reason })
            }
        }
    }

    /// Carry out everything the core asked for (which may feed it again, e.g. a send error).
    fn drain(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::Transmit {
                    peer,
                    bytes,
                    client,
                } => self.transmit(peer, bytes, client),
                Output::Route {
                    shard,
                    peer,
                    response,
                } => {
                    // Never wait on another shard (it may be waiting on us): drop if it is full.
                    let command = Command::Routed { peer, response };
                    self.endpoint.try_command(usize::from(shard), command);
                }
                Output::Event(event) => self.deliver(event),
            }
        }
    }

    fn transmit(&mut self, peer: Peer, bytes: Bytes, client: Option<ClientId>) {
        match peer.transport {
            TransportKind::Udp => {
                if let Err(e) = self.udp_out.send(&self.socket, peer.addr, bytes) {
                    tracing::debug!(error = %e, ?peer, "sip udp send failed");
                    if let Some(id) = client {
                        let reason = e.to_string();
                        let now = Instant::now();
                        self.core
                            .handle_input(Input::TransportError { id, reason }, now);
                    }
                }
            }
            TransportKind::Tcp => {
                let origin = client.map(|id| (self.index, id));
                crate::transport::tcp::send(&self.endpoint, peer.addr, bytes, origin);
            }
        }
    }

    fn deliver(&mut self, event: Event) {
        match event {
            Event::Request { id, request, peer } => self.new_request(id, request, peer),
            Event::Ack { request, peer } => {
                let tx = ServerTransaction::new(request, peer, self.endpoint.clone(), None);
                let _ = self.incoming.try_send(tx);
            }
            Event::Cancelled { id } => {
                if let Some(signal) = self.cancels.remove(&id) {
                    signal.fire();
                }
            }
            Event::InviteEnded { id } => {
                self.cancels.remove(&id);
            }
            Event::Response { id, response } => {
                if response.status_code.code() >= 200 {
                    if let Some(results) = self.results.remove(&id) {
                        let _ = results.try_send(Ok(response));
                    }
                } else if let Some(results) = self.results.get(&id) {
                    // Keep one place free so that the final response always fits.
                    if results.capacity() > 1 {
                        let _ = results.try_send(Ok(response));
                    }
                }
            }
            Event::Failed { id, error } => {
                if let Some(results) = self.results.remove(&id) {
                    let _ = results.try_send(Err(error));
                }
            }
        }
    }

    /// Hand a new request to the TU without ever blocking the shard: when the TU is that far
    /// behind (or gone), the request is answered 503 statelessly.
    fn new_request(&mut self, id: ServerId, request: rsip::Request, peer: Peer) {
        let cancel = (request.method == rsip::Method::Invite).then(|| {
            let signal = Arc::new(CancelSignal::default());
            self.cancels.insert(id, signal.clone());
            signal
        });
        let handle = Handle {
            shard: self.index,
            id,
            answered: AtomicBool::new(false),
            cancel,
        };
        let tx = ServerTransaction::new(request, peer, self.endpoint.clone(), Some(handle));
        let tx = match self.incoming.try_send(tx) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(tx)) => {
                tracing::warn!("sip: TU queue full, answering 503");
                tx
            }
            Err(mpsc::error::TrySendError::Closed(tx)) => tx,
        };
        tx.disarm();
        let bytes = service_unavailable(&tx.request, self.core.config().retry_after_secs);
        self.core
            .handle_input(Input::RespondStateless { id, bytes }, Instant::now());
    }
}
