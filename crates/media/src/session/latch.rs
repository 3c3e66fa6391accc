//! Symmetric RTP latching that cannot be hijacked (issue 11 §5): the first valid RTP packet after
//! an offer/answer fixes the stream's source address and SSRC; from then on RTP from any other
//! address or with another SSRC is dropped (it never reaches the jitter buffer, the mixer or the
//! relay), and RTCP is only taken from the latched host. A new offer/answer (`configure`) latches
//! afresh. The first packet wins — an attacker would have to beat the real party's first packet
//! to the port, within the call's first 20 ms.

use std::net::SocketAddr;

/// The learned source of one stream.
#[derive(Debug, Default)]
pub(crate) struct Latch {
    source: Option<(SocketAddr, u32)>,
}

impl Latch {
    /// A new offer/answer: the next valid packet latches.
    pub(crate) fn reset(&mut self) {
        self.source = None;
    }

    /// Whether RTP from `from` with `ssrc` belongs to the stream (latching on the first).
    pub(crate) fn admits_rtp(&mut self, from: SocketAddr, ssrc: u32) -> bool {
        match self.source {
            None => {
                self.source = Some((from, ssrc));
                true
            }
            Some(latched) => latched == (from, ssrc),
        }
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

    #[test]
    fn the_first_source_and_ssrc_are_kept_until_the_next_offer_answer() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap_or_else(|e| panic!("{e}"));
        let b: SocketAddr = "127.0.0.2:4000".parse().unwrap_or_else(|e| panic!("{e}"));
        let a2: SocketAddr = "127.0.0.1:4002".parse().unwrap_or_else(|e| panic!("{e}"));
        let mut l = Latch::default();
        assert!(
            l.admits_rtcp(a2, Some(a)),
            "before RTP: from the negotiated host"
        );
        assert!(!l.admits_rtcp(b, Some(a)) && !l.admits_rtcp(a, None));
        // (source, ssrc, admitted)
        let table = [
            (a, 7, true),
            (a, 7, true),
            (b, 7, false),  // another host
            (a2, 7, false), // another port
            (a, 8, false),  // another SSRC
            (a, 7, true),
        ];
        for (i, (from, ssrc, want)) in table.into_iter().enumerate() {
            assert_eq!(l.admits_rtp(from, ssrc), want, "row {i}");
        }
        assert!(
            l.admits_rtcp(a2, Some(b)) && !l.admits_rtcp(b, Some(b)),
            "latched host only"
        );
        l.reset();
        assert!(l.admits_rtp(b, 9), "a new offer/answer latches afresh");
        assert!(!l.admits_rtp(a, 7));
    }
}
