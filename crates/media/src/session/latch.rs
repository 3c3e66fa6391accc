//! Symmetric RTP latching that cannot be hijacked (issue 11 §5). A stream latches to one source
//! address and SSRC; RTP from any other address is dropped (it never reaches the jitter buffer, the
//! mixer or the relay), and RTCP is only taken from the latched host. A new offer/answer
//! (`reset`) latches afresh.
//!
//! How a source is learned:
//! - a packet from the address the offer/answer named latches at once;
//! - any other source (a phone behind NAT) must first send two packets in sequence with one SSRC
//!   (RFC 3550 A.1's probation): a stray or forged datagram never latches;
//! - from the latched address, a new SSRC (a phone restarting its stream, or sending DTMF with
//!   its own SSRC as sipp's pcaps do) takes over after the same probation; single packets with
//!   another SSRC are dropped.

use std::net::SocketAddr;

/// The learned source of one stream.
#[derive(Debug, Default)]
pub(crate) struct Latch {
    source: Option<(SocketAddr, u32)>,
    /// A source on probation: its address, SSRC and last sequence number.
    candidate: Option<(SocketAddr, u32, u16)>,
}

impl Latch {
    /// A new offer/answer: the next source is learned again.
    pub(crate) fn reset(&mut self) {
        self.source = None;
        self.candidate = None;
    }

    /// The latched source address.
    pub(crate) fn source(&self) -> Option<SocketAddr> {
        self.source.map(|(addr, _)| addr)
    }

    /// Whether RTP from `from` with `ssrc` and `seq` belongs to the stream (latching as above);
    /// `negotiated` is the address the offer/answer named.
    pub(crate) fn admits_rtp(
        &mut self,
        from: SocketAddr,
        ssrc: u32,
        seq: u16,
        negotiated: Option<SocketAddr>,
    ) -> bool {
        match self.source {
            Some(latched) if latched == (from, ssrc) => true,
            // Another SSRC from the latched address, or a first packet from elsewhere.
            Some((addr, _)) if addr == from => self.probation(from, ssrc, seq),
            Some(_) => false,
            None if negotiated == Some(from) => {
                self.source = Some((from, ssrc));
                self.candidate = None;
                true
            }
            None => self.probation(from, ssrc, seq),
        }
    }

    /// Two packets in sequence from one source and SSRC latch it.
    fn probation(&mut self, from: SocketAddr, ssrc: u32, seq: u16) -> bool {
        let follows = matches!(
            self.candidate,
            Some((a, s, last)) if a == from && s == ssrc && seq == last.wrapping_add(1)
        );
        if follows {
            self.source = Some((from, ssrc));
            self.candidate = None;
        } else {
            self.candidate = Some((from, ssrc, seq));
        }
        follows
    }

    /// Whether RTCP from `from` is the party's: from the latched host (its RTP port, or another
    /// port without rtcp-mux), or before latching from the host the offer/answer named.
    pub(crate) fn admits_rtcp(&self, from: SocketAddr, negotiated: Option<SocketAddr>) -> bool {
        match self.source {
            Some((a, _)) => a.ip() == from.ip(),
            None => negotiated.is_some_and(|n| n.ip() == from.ip()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_negotiated_source_latches_at_once_and_is_kept_until_the_next_offer_answer() {
        let (a, b, a2) = (
            addr("127.0.0.1:4000"),
            addr("127.0.0.2:4000"),
            addr("127.0.0.1:4002"),
        );
        let mut l = Latch::default();
        assert!(
            l.admits_rtcp(a2, Some(a)),
            "before RTP: from the negotiated host"
        );
        assert!(!l.admits_rtcp(b, Some(a)) && !l.admits_rtcp(a, None));
        // (source, ssrc, seq, admitted)
        let table = [
            (a, 7, 1, true),
            (a, 7, 2, true),
            (b, 7, 3, false),  // another host
            (b, 7, 4, false),  // ... even in sequence
            (a2, 7, 5, false), // another port
            (a, 8, 9, false),  // another SSRC, one packet
            (a, 7, 3, true),
            (a, 8, 11, false), // another SSRC, not in sequence with its last
            (a, 7, 4, true),
        ];
        for (i, (from, ssrc, seq, want)) in table.into_iter().enumerate() {
            assert_eq!(l.admits_rtp(from, ssrc, seq, Some(a)), want, "row {i}");
        }
        assert!(
            l.admits_rtcp(a2, Some(b)) && !l.admits_rtcp(b, Some(b)),
            "latched host only"
        );
        l.reset();
        assert!(
            l.admits_rtp(b, 9, 1, Some(b)),
            "a new offer/answer latches afresh"
        );
        assert!(!l.admits_rtp(a, 7, 5, Some(b)));
    }

    #[test]
    fn another_source_or_ssrc_needs_two_packets_in_sequence() {
        let (a, nat, x) = (
            addr("127.0.0.1:4000"),
            addr("127.0.0.1:5000"),
            addr("127.0.0.3:6000"),
        );
        let mut l = Latch::default();
        // (source, ssrc, seq, admitted)
        let table = [
            (x, 1, 10, false),    // a stray packet never latches
            (nat, 5, 100, false), // the phone behind NAT: first packet on probation
            (x, 1, 11, false),    // interleaved: x's run is broken by nat's packet
            (nat, 5, 101, false), // not in sequence with the last candidate (x)
            (nat, 5, 102, true),  // in sequence: latched
            (x, 1, 12, false),
            (nat, 6, 1, false),   // new SSRC from the latched address: probation
            (nat, 6, 2, true),    // ... taken over (DTMF with its own SSRC, a restarted stream)
            (nat, 5, 103, false), // the old SSRC is dropped now
            (a, 5, 1, false),     // the negotiated address no longer wins once latched
        ];
        for (i, (from, ssrc, seq, want)) in table.into_iter().enumerate() {
            assert_eq!(l.admits_rtp(from, ssrc, seq, Some(a)), want, "row {i}");
        }
        // Sequence numbers wrap.
        let mut l = Latch::default();
        assert!(!l.admits_rtp(nat, 1, u16::MAX, Some(a)));
        assert!(l.admits_rtp(nat, 1, 0, Some(a)));
    }
}
