//! How an endpoint is sized: shards, caps and queue lengths.

use super::Timers;
use crate::core::DEFAULT_MAX_TRANSACTIONS;

/// Everything `Endpoint::bind_with` can be told. `Default` = RFC timers, one shard per core.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// RFC 3261 T1/T2/T4.
    pub timers: Timers,
    /// Receive shards (UDP sockets on `SO_REUSEPORT`, each with its own transactions); 0 = one
    /// per available core.
    pub shards: usize,
    /// Hard cap on live transactions per shard; past it, new requests get a stateless 503.
    pub max_transactions: usize,
    /// Retry-After (seconds) of those 503s.
    pub retry_after_secs: u32,
    /// New requests waiting for the TU (all shards together); past it, 503.
    pub incoming_queue: usize,
    /// Commands (responses, new requests, TCP frames) waiting for one shard.
    pub command_queue: usize,
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
            incoming_queue: 1024,
            command_queue: 4096,
            max_pending_sends: 4096,
        }
    }
}

impl EndpointConfig {
    /// Shards actually used (at least 1, at most u16::MAX).
    pub fn shard_count(&self) -> usize {
        let n = if self.shards == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.shards
        };
        n.clamp(1, usize::from(u16::MAX))
    }
}
