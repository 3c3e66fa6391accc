//! How an endpoint is sized: shards, caps and queue lengths.

use super::Timers;
use crate::core::DEFAULT_MAX_TRANSACTIONS;
use std::time::Duration;

/// Everything `Endpoint::bind_with` can be told. `Default` = RFC timers, one shard per core.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// RFC 3261 T1/T2/T4.
    pub timers: Timers,
    /// Transaction shards (each with its UDP socket on `SO_REUSEPORT` and its timer task); 0 = one
    /// per available core.
    pub shards: usize,
    /// Hard cap on live transactions per shard; past it, new requests get a stateless 503.
    pub max_transactions: usize,
    /// Retry-After (seconds) of those 503s.
    pub retry_after_secs: u32,
    /// Cap on live non-INVITE server transactions from one source IP, for the endpoint (each
    /// shard takes its share, rounded up); past it, the same 503. 0: no cap.
    pub max_transactions_per_source: usize,
    /// New requests waiting for the TU (all shards together); past it, 503 (past half of it for
    /// REGISTER and OPTIONS, so that calls get through a REGISTER flood).
    pub incoming_queue: usize,
    /// Requests the TU may hold (queued or being handled) before the readers stop reading the
    /// sockets for a moment: the TU's backlog stays short and the kernel's socket buffer holds
    /// the rest (dropping past it, as for any UDP server).
    pub tu_backlog: usize,
    /// Tasks reading each UDP socket; 0 = one per available core (so that the datagrams of one
    /// client socket, which all reach one of our sockets, are still handled on every core).
    pub receive_workers: usize,
    /// Datagrams waiting for a full socket send buffer, per shard; past it they are dropped
    /// (retransmission recovers them).
    pub max_pending_sends: usize,
    /// Limits on TCP connections (slowloris, connection floods).
    pub tcp: TcpLimits,
    /// `Allow` of the 501 answered to a request with an unknown method (the TU's methods); None:
    /// the 501 has no Allow.
    pub allow: Option<&'static str>,
}

/// Limits on TCP connections, against slowloris and connection floods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// Connections open at once from one IP address (accepted and opened); more are closed at
    /// once.
    pub per_source: usize,
    /// How long a message may take to arrive once its first byte came (a slow sender is
    /// closed).
    pub header_timeout: Duration,
    /// How long a connection may stay without receiving anything (CRLF keepalives count).
    pub idle_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            per_source: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: Timers::default(),
            shards: 0,
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
            retry_after_secs: 5,
            max_transactions_per_source: 0,
            incoming_queue: 4096,
            tu_backlog: 512,
            receive_workers: 0,
            max_pending_sends: 4096,
            tcp: TcpLimits::default(),
            allow: None,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl EndpointConfig {
    /// Receive tasks per UDP socket actually used (at least 1).
    pub fn receive_worker_count(&self) -> usize {
        if self.receive_workers == 0 {
            cores()
        } else {
            self.receive_workers
        }
    }

    /// Shards actually used (at least 1, at most u16::MAX).
    pub fn shard_count(&self) -> usize {
        let n = if self.shards == 0 {
            cores()
        } else {
            self.shards
        };
        n.clamp(1, usize::from(u16::MAX))
    }
}
