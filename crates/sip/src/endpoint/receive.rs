//! UDP receive workers: several tasks per socket (like Kamailio's children share one), so that
//! the datagrams of a single client socket — which `SO_REUSEPORT` hashes to one of our sockets —
//! are parsed and handled on every core under load. Each datagram is parsed here, outside any
//! lock, and handed to the shard its Call-ID hashes to.
//!
//! One worker per socket reads at a time (it holds the socket's `turn`): a datagram then wakes
//! one task, not every worker waiting on the socket, all but one of which would find nothing
//! (issue 12: each 200 to a NOTIFY woke both workers of its socket). The reader drains the socket
//! with one `recvmmsg` per wake-up; when that read finds a queue building
//! ([`HAND_OVER_AT`] datagrams or more), it hands the turn on before handling them, so the next
//! worker reads while it works — under load every worker is busy, as before.

use super::shard::udp_peer;
use super::Endpoint;
use crate::transport::udp_recv::{RecvBatch, RECV_BATCH};
use std::io::ErrorKind;
use std::sync::Arc;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Datagrams in one read from which the reader lets another worker read on meanwhile: a full
/// read, so a queue is building (a trickle stays with one worker, which costs the fewest
/// wake-ups).
const HAND_OVER_AT: usize = RECV_BATCH;

/// Read `socket` whenever it is this worker's `turn` (a semaphore of one permit per socket).
pub(crate) async fn receive_loop(endpoint: Endpoint, socket: Arc<UdpSocket>, turn: Arc<Semaphore>) {
    let mut batch = RecvBatch::new();
    let mut reading: Option<OwnedSemaphorePermit> = None;
    loop {
        if reading.is_none() {
            match turn.clone().acquire_owned().await {
                Ok(permit) => reading = Some(permit),
                Err(_) => return,
            }
        }
        endpoint.wait_for_tu().await;
        if let Err(e) = socket.readable().await {
            tracing::warn!(error = %e, "sip udp receive failed");
            return;
        }
        match socket.try_io(Interest::READABLE, || batch.recv(&*socket)) {
            Ok(n) => {
                if n >= HAND_OVER_AT {
                    reading = None;
                }
                for (bytes, from) in batch.received() {
                    if let Some(from) = from {
                        endpoint.receive(udp_peer(from), bytes);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // ICMP port unreachable from an earlier send shows up here on some systems.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => {
                tracing::warn!(error = %e, "sip udp receive failed");
                return;
            }
        }
    }
}
