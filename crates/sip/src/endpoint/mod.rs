//! The SIP endpoint: UDP and TCP transport on one port plus the RFC 3261 transaction layer.

mod types;

pub use types::{Peer, Timers, TransportKind, TxError};

use std::net::SocketAddr;
use std::sync::Arc;

/// UDP and TCP on one port; the RFC 3261 transaction layer (client + server, INVITE + non-INVITE,
/// timers A–K, retransmission over UDP), 2xx-to-INVITE retransmission until ACK (UAS core), ACK
/// re-sending on retransmitted 2xx (UAC core), CANCEL matching. Malformed input: 400 where a reply is
/// possible (via message::bad_request_reply), dropped otherwise; never panics. Clone = same endpoint.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    local_addr: SocketAddr,
}

impl Endpoint {
    /// Bind UDP and TCP on `addr` (port 0 = pick one port free for both). Returns the endpoint and
    /// the stream of new incoming requests (each in its server transaction; ACKs for 2xx arrive here
    /// too, as a ServerTransaction whose respond() is a no-op).
    pub async fn bind(
        addr: SocketAddr,
        timers: Timers,
    ) -> std::io::Result<(Endpoint, tokio::sync::mpsc::Receiver<ServerTransaction>)> {
        let _ = (addr, timers);
        todo!()
    }

    /// The address both transports are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Start a client transaction. The endpoint puts its own Via on top (sent-by = local_addr, new
    /// branch, rport) and sets Content-Length.
    pub fn request(&self, req: rsip::Request, peer: Peer) -> ClientTransaction {
        let _ = (req, peer);
        todo!()
    }

    /// ACK to a 2xx (outside any transaction); remembered so a retransmitted 2xx gets it again.
    pub async fn ack(&self, ack: rsip::Request, peer: Peer) -> std::io::Result<()> {
        let _ = (ack, peer);
        todo!()
    }

    /// CANCEL for a pending INVITE client transaction (built from the INVITE per RFC 3261 §9.1).
    pub fn cancel(&self, invite_tx: &ClientTransaction) -> ClientTransaction {
        let _ = invite_tx;
        todo!()
    }

    /// Stop the transports and all timers.
    pub fn shutdown(&self) {
        todo!()
    }
}

/// A request we sent and the responses that come back for it.
pub struct ClientTransaction {
    request: rsip::Request,
    peer: Peer,
}

impl ClientTransaction {
    /// The request as sent (with the endpoint's Via).
    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    /// Where the request went.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Next response (1xx… then the final one); Err(Timeout) on Timer B/F; None after the final.
    pub async fn next(&mut self) -> Option<Result<rsip::Response, TxError>> {
        todo!()
    }

    /// Skip provisionals; the final response.
    pub async fn final_response(mut self) -> Result<rsip::Response, TxError> {
        let _ = self.next().await;
        todo!()
    }
}

/// A request we received, waiting for the TU's responses.
pub struct ServerTransaction {
    /// The request as received.
    pub request: rsip::Request,
    /// Where it came from (responses go back there).
    pub peer: Peer,
    endpoint: Endpoint,
}

impl ServerTransaction {
    /// Send a response (1xx any number of times, then one final). Retransmission is the layer's job.
    pub async fn respond(&self, resp: rsip::Response) -> std::io::Result<()> {
        let _ = resp;
        todo!()
    }

    /// Resolves when a matching CANCEL arrived (the endpoint has already answered the CANCEL 200;
    /// the TU should answer the INVITE 487). Never resolves for non-INVITE.
    pub async fn cancelled(&self) {
        todo!()
    }

    /// The endpoint this transaction belongs to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
