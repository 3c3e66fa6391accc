//! How an endpoint is sized: shards, caps and queue lengths.

use super::Timers;
use crate::core::DEFAULT_MAX_TRANSACTIONS;

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
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: Timers::default(),
            shards: 0,
            max_transactions: DEFAULT_MAX_TRANSACTIONS,
            retry_after_secs: 5,
            incoming_queue: 4096,
            tu_backlog: 512,
            receive_workers: 0,
            max_pending_sends: 4096,
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
