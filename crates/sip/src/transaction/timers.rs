//! RFC 3261 §17 timer values derived from T1/T2/T4.

use crate::endpoint::{Timers, TransportKind};
use std::time::Duration;

impl Timers {
    /// Timer B / F / H / J (and the 2xx retransmission limit): 64·T1.
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
            TransportKind::Tcp => Duration::ZERO,
        }
    }

    /// Timer K / I: T4 over UDP, zero over TCP.
    pub(crate) fn timer_k(&self, kind: TransportKind) -> Duration {
        match kind {
            TransportKind::Udp => self.t4,
            TransportKind::Tcp => Duration::ZERO,
        }
    }

    /// Timer J: 64·T1 over UDP, zero over TCP.
    pub(crate) fn timer_j(&self, kind: TransportKind) -> Duration {
        match kind {
            TransportKind::Udp => self.timeout(),
            TransportKind::Tcp => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let t = Timers::default();
        assert_eq!(
            t.backoff(Duration::from_millis(500), true),
            Duration::from_secs(1)
        );
        assert_eq!(
            t.backoff(Duration::from_secs(4), true),
            Duration::from_secs(4)
        );
        assert_eq!(
            t.backoff(Duration::from_secs(4), false),
            Duration::from_secs(8)
        );
        assert_eq!(t.timeout(), Duration::from_secs(32));
        assert_eq!(t.timer_k(TransportKind::Tcp), Duration::ZERO);
    }
}
