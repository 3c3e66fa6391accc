//! Small value types of the endpoint API.

use std::net::SocketAddr;
use std::time::Duration;

/// Which transport a message travels over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP datagrams.
    Udp,
    /// TCP stream (Content-Length framing).
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2; same framing as TCP, its own port, 5061 by default).
    Tls,
}

impl TransportKind {
    /// A connection-oriented transport (TCP or TLS): reliable, no retransmissions, a new
    /// connection may come from a new source port.
    pub fn is_stream(self) -> bool {
        self != TransportKind::Udp
    }
}

/// The remote side of a message: address and transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Remote socket address.
    pub addr: SocketAddr,
    /// Transport used to reach it.
    pub transport: TransportKind,
}

/// RFC 3261 timer base values.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message remains in the network (default 5 s).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Why a client transaction ended without a final response.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// Timer B or F fired.
    #[error("transaction timed out")]
    Timeout,
    /// The request could not be sent.
    #[error("transport error: {0}")]
    Transport(String),
}
