//! Shared state of an endpoint: sockets, transaction tables, remembered ACKs.

use super::{Peer, Timers, TransportKind};
use crate::transaction::client::ClientEntry;
use crate::transaction::server::{ServerEntry, ServerEvent, ServerTransaction};
use crate::transport::tcp::TcpConnections;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Client transactions are matched by top-Via branch + CSeq method (RFC 3261 §17.1.3).
pub(crate) type ClientKey = (String, String);
/// Server transactions are matched by top-Via branch + method, ACK counting as INVITE (§17.2.3).
pub(crate) type ServerKey = (String, String);
/// Dialog-level matching of 2xx/ACK: Call-ID + CSeq number.
pub(crate) type CallSeq = (String, u32);

/// Everything an endpoint shares between its clones and tasks.
pub(crate) struct Inner {
    pub local_addr: SocketAddr,
    pub timers: Timers,
    pub udp: Arc<UdpSocket>,
    pub tcp: TcpConnections,
    pub incoming: mpsc::Sender<ServerTransaction>,
    pub clients: Mutex<HashMap<ClientKey, ClientEntry>>,
    pub servers: Mutex<HashMap<ServerKey, ServerEntry>>,
    /// UAS core: 2xx responses to INVITE being retransmitted until their ACK arrives.
    pub pending_2xx: Mutex<HashMap<CallSeq, mpsc::UnboundedSender<ServerEvent>>>,
    /// UAC core: ACKs we sent for 2xx, re-sent when the 2xx is retransmitted.
    pub sent_acks: Mutex<HashMap<CallSeq, (Vec<u8>, Peer)>>,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    pub closed: AtomicBool,
}

/// Lock a table; a poisoned lock (a panicking task) must not take the endpoint down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    /// Send bytes to a peer: a datagram, or over the TCP connection to that address (connecting
    /// if there is none).
    pub async fn send(self: &Arc<Self>, peer: Peer, bytes: &[u8]) -> std::io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "endpoint shut down",
            ));
        }
        tracing::trace!(?peer, len = bytes.len(), "sip send");
        match peer.transport {
            TransportKind::Udp => self.udp.send_to(bytes, peer.addr).await.map(|_| ()),
            TransportKind::Tcp => {
                crate::transport::tcp::send(self, peer.addr, bytes.to_vec()).await
            }
        }
    }

    /// Keep a background task so that `shutdown` can stop it.
    pub fn track(&self, handle: JoinHandle<()>) {
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }
}
