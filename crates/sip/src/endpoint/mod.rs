//! The SIP endpoint: UDP and TCP transport on one port plus the RFC 3261 transaction layer.

pub(crate) mod inner;
pub(crate) mod receive;
mod types;
mod via;

pub use crate::transaction::client::ClientTransaction;
pub use crate::transaction::server::ServerTransaction;
pub use types::{Peer, Timers, TransportKind, TxError};

use crate::message::{self, to_bytes};
use crate::transaction::client;
use crate::transport::tcp::TcpConnections;
use inner::{lock, Inner};
use rsip::prelude::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, UdpSocket};

/// Queue of new incoming requests handed to the TU.
const INCOMING_QUEUE: usize = 1024;

/// UDP and TCP on one port; the RFC 3261 transaction layer (client + server, INVITE + non-INVITE,
/// timers A–K, retransmission over UDP), 2xx-to-INVITE retransmission until ACK (UAS core), ACK
/// re-sending on retransmitted 2xx (UAC core), CANCEL matching. Malformed input: 400 where a reply is
/// possible (via message::bad_request_reply), dropped otherwise; never panics. Clone = same endpoint.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

/// Bind UDP and TCP to the same port (`addr`'s port, or a free one when it is 0).
async fn bind_both(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    if addr.port() != 0 {
        return Ok((UdpSocket::bind(addr).await?, TcpListener::bind(addr).await?));
    }
    let mut last_err = None;
    for _ in 0..32 {
        let udp = UdpSocket::bind(addr).await?;
        let port_addr = udp.local_addr()?;
        match TcpListener::bind(port_addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free port for UDP and TCP")))
}

impl Endpoint {
    /// Bind UDP and TCP on `addr` (port 0 = pick one port free for both). Returns the endpoint and
    /// the stream of new incoming requests (each in its server transaction; ACKs for 2xx arrive here
    /// too, as a ServerTransaction whose respond() is a no-op).
    pub async fn bind(
        addr: SocketAddr,
        timers: Timers,
    ) -> std::io::Result<(Endpoint, tokio::sync::mpsc::Receiver<ServerTransaction>)> {
        let (udp, tcp) = bind_both(addr).await?;
        let local_addr = udp.local_addr()?;
        let (incoming, incoming_rx) = tokio::sync::mpsc::channel(INCOMING_QUEUE);
        let inner = Arc::new(Inner {
            local_addr,
            timers,
            udp: Arc::new(udp),
            tcp: TcpConnections::default(),
            incoming,
            clients: Mutex::new(HashMap::new()),
            servers: Mutex::new(HashMap::new()),
            pending_2xx: Mutex::new(HashMap::new()),
            sent_acks: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        inner.track(tokio::spawn(crate::transport::udp::receive_loop(
            inner.clone(),
        )));
        inner.track(tokio::spawn(crate::transport::tcp::accept_loop(
            inner.clone(),
            tcp,
        )));
        Ok((Endpoint { inner }, incoming_rx))
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Endpoint { inner }
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// The address both transports are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The timer values in use.
    pub fn timers(&self) -> Timers {
        self.inner.timers
    }

    /// Start a client transaction. The endpoint puts its own Via on top (sent-by = local_addr, new
    /// branch, rport) and sets Content-Length.
    pub fn request(&self, mut req: rsip::Request, peer: Peer) -> ClientTransaction {
        let branch = via::push_own_via(&mut req, self.inner.local_addr, peer.transport);
        let key = (branch, req.method.to_string());
        client::start(&self.inner, req, peer, key)
    }

    /// ACK to a 2xx (outside any transaction); remembered so a retransmitted 2xx gets it again.
    pub async fn ack(&self, mut ack: rsip::Request, peer: Peer) -> std::io::Result<()> {
        via::push_own_via(&mut ack, self.inner.local_addr, peer.transport);
        let msg: rsip::SipMessage = ack.into();
        let key = (
            message::call_id(&msg).unwrap_or_default(),
            message::cseq(&msg).map_or(0, |(n, _)| n),
        );
        let bytes = to_bytes(&msg);
        lock(&self.inner.sent_acks).insert(key.clone(), (bytes.clone(), peer));
        // Forget it once no 2xx retransmission can come any more.
        let inner = self.inner.clone();
        let forget_after = self.inner.timers.timeout();
        let remembered = bytes.clone();
        self.inner.track(tokio::spawn(async move {
            tokio::time::sleep(forget_after).await;
            let mut acks = lock(&inner.sent_acks);
            if acks.get(&key).is_some_and(|(b, _)| *b == remembered) {
                acks.remove(&key);
            }
        }));
        self.inner.send(peer, &bytes).await
    }

    /// CANCEL for a pending INVITE client transaction (built from the INVITE per RFC 3261 §9.1).
    pub fn cancel(&self, invite_tx: &ClientTransaction) -> ClientTransaction {
        let cancel = cancel_for(invite_tx.request());
        let branch = via::top_branch(&cancel.clone().into()).unwrap_or_default();
        let invite_key = (branch.clone(), rsip::Method::Invite.to_string());
        if let Some(entry) = lock(&self.inner.clients).get(&invite_key) {
            let _ = entry.cancel_sent.send(());
        }
        client::start(
            &self.inner,
            cancel,
            invite_tx.peer(),
            (branch, rsip::Method::Cancel.to_string()),
        )
    }

    /// Stop the transports and all timers. Pending transactions end; sends fail afterwards.
    pub fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        for task in lock(&self.inner.tasks).drain(..) {
            task.abort();
        }
        self.inner.tcp.clear();
        lock(&self.inner.clients).clear();
        lock(&self.inner.servers).clear();
        lock(&self.inner.pending_2xx).clear();
        lock(&self.inner.sent_acks).clear();
    }
}

/// RFC 3261 §9.1: same Request-URI, top Via (branch), From, To, Call-ID, CSeq number and Route.
fn cancel_for(invite: &rsip::Request) -> rsip::Request {
    let mut headers = rsip::Headers::default();
    if let Ok(via) = invite.via_header() {
        headers.push(via.clone().into());
    }
    headers.push(rsip::headers::MaxForwards::new("70").into());
    for h in invite.headers.iter() {
        match h {
            rsip::Header::From(_)
            | rsip::Header::To(_)
            | rsip::Header::CallId(_)
            | rsip::Header::Route(_) => headers.push(h.clone()),
            _ => {}
        }
    }
    let seq = invite
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(1, |c| c.seq);
    headers.push(rsip::headers::CSeq::new(format!("{seq} CANCEL")).into());
    rsip::Request {
        method: rsip::Method::Cancel,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}
