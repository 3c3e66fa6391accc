//! Time in the core: the RFC 3261 §17 timer values derived from T1/T2/T4, and the one sorted
//! structure that holds every armed timer of a shard.

use crate::endpoint::{Timers, TransportKind};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl Timers {
    /// Timer B / F / H / J / L (and the 2xx retransmission limit): 64·T1.
    pub(crate) fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Next retransmission interval after `current` (doubling, capped at T2 when `capped`).
    pub(crate) fn backoff(&self, current: Duration, capped: bool) -> Duration {
        let next = current.saturating_mul(2);
        if capped {
            next.min(self.t2)
        } else {
            next
        }
    }

    /// Timer D: how long an INVITE client transaction absorbs retransmitted final responses
    /// (64·T1 = the RFC's 32 s with the default T1; it scales with a test's small T1).
    pub(crate) fn timer_d(&self, kind: TransportKind) -> Duration {
        match kind {
            TransportKind::Udp => self.timeout(),
            TransportKind::Tcp | TransportKind::Tls => Duration::ZERO,
        }
    }

    /// Timer K / I: T4 over UDP, zero over TCP.
    pub(crate) fn timer_k(&self, kind: TransportKind) -> Duration {
        match kind {
            TransportKind::Udp => self.t4,
            TransportKind::Tcp | TransportKind::Tls => Duration::ZERO,
        }
    }

    /// Timer J: 64·T1 over UDP, zero over TCP.
    pub(crate) fn timer_j(&self, kind: TransportKind) -> Duration {
        match kind {
            TransportKind::Udp => self.timeout(),
            TransportKind::Tcp | TransportKind::Tls => Duration::ZERO,
        }
    }
}

/// Identifies one armed timer: its deadline, then an insertion number so keys are unique.
pub(crate) type TimerKey = (Instant, u64);

/// Which of a transaction's two timer slots a timer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Retransmission (A, E, G, 2xx) or the INVITE's 100 Trying delay.
    Resend,
    /// End of a state (B, D, F, H, I, J, K, L, the wait for the TU).
    Expire,
}

/// What a timer is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Server(u64, Slot),
    Client(u64, Slot),
    /// Forget a remembered ACK (Call-ID, CSeq number).
    SentAck(Box<str>, u32),
}

/// Every armed timer of a shard, ordered by deadline: no task and no sleep per transaction.
/// A transaction keeps the keys of its armed timers and removes them when it re-arms or ends,
/// so the map never holds stale entries.
#[derive(Default)]
pub(crate) struct TimerQueue {
    map: BTreeMap<TimerKey, Target>,
    seq: u64,
}

impl TimerQueue {
    /// Arm a timer; returns its key (keep it to cancel).
    pub(crate) fn arm(&mut self, at: Instant, target: Target) -> TimerKey {
        self.seq = self.seq.wrapping_add(1);
        let key = (at, self.seq);
        self.map.insert(key, target);
        key
    }

    /// Cancel a timer (no-op when it already fired).
    pub(crate) fn cancel(&mut self, key: Option<TimerKey>) {
        if let Some(key) = key {
            self.map.remove(&key);
        }
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.map.first_key_value().map(|((at, _), _)| *at)
    }

    /// Remove and return the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, Target)> {
        let (key, _) = self.map.first_key_value()?;
        if key.0 > now {
            return None;
        }
        self.map.pop_first()
    }

    /// Number of armed timers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let t = Timers::default();
        let cases = [
            (500, true, 1000),
            (2000, true, 4000),
            (4000, true, 4000),
            (4000, false, 8000),
        ];
        for (from, capped, to) in cases {
            assert_eq!(
                t.backoff(Duration::from_millis(from), capped),
                Duration::from_millis(to),
                "{from} capped={capped}"
            );
        }
        assert_eq!(t.timeout(), Duration::from_secs(32));
        assert_eq!(t.timer_k(TransportKind::Tcp), Duration::ZERO);
        assert_eq!(t.timer_j(TransportKind::Tcp), Duration::ZERO);
        assert_eq!(t.timer_d(TransportKind::Tcp), Duration::ZERO);
    }

    #[test]
    fn queue_pops_in_deadline_order_and_cancels() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        let late = q.arm(t0 + Duration::from_secs(2), Target::Server(1, Slot::Expire));
        q.arm(t0 + Duration::from_secs(1), Target::Client(2, Slot::Resend));
        let same = q.arm(t0 + Duration::from_secs(1), Target::Server(3, Slot::Resend));
        assert_eq!(q.next(), Some(t0 + Duration::from_secs(1)));
        assert!(q.pop_due(t0).is_none(), "nothing due yet");
        q.cancel(Some(same));
        let (_, first) = q.pop_due(t0 + Duration::from_secs(1)).expect("due");
        assert_eq!(first, Target::Client(2, Slot::Resend));
        assert!(q.pop_due(t0 + Duration::from_secs(1)).is_none());
        q.cancel(Some(late));
        assert_eq!(q.len(), 0);
    }
}
