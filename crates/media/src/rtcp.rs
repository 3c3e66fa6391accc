//! RTCP (RFC 3550 §6): SR/RR/BYE parsing and building, reception statistics (§A.1, §A.3,
//! interarrival jitter §A.8) and round-trip time from LSR/DLSR (§6.4.1).

use crate::MediaError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RTCP packet type: sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type: receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type: source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type: goodbye.
pub const PT_BYE: u8 = 203;
/// RTCP packet type: application-defined.
pub const PT_APP: u8 = 204;

const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;
/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The sender-info section of an SR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (32.32 fixed point seconds since 1900).
    pub ntp: u64,
    /// RTP timestamp corresponding to `ntp`.
    pub rtp_ts: u32,
    /// Packets sent so far.
    pub packet_count: u32,
    /// Payload octets sent so far.
    pub octet_count: u32,
}

/// One reception report block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from that source (0 = none).
    pub lsr: u32,
    /// Delay since that SR, 1/65536 s.
    pub dlsr: u32,
}

impl ReportBlock {
    /// A block about `ssrc` that reports only a fraction lost (/256): what a relay or a test
    /// needs to move the sender's encoder.
    pub fn loss_only(ssrc: u32, fraction_lost: u8) -> Self {
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: 0,
            highest_seq: 0,
            jitter: 0,
            lsr: 0,
            dlsr: 0,
        }
    }
}

/// Report blocks of an SR/RR, read lazily (no allocation).
#[derive(Clone, Debug)]
pub struct ReportBlocks<'a> {
    raw: &'a [u8],
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;
    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.raw.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.raw = rest;
        let w = |i: usize| u32::from_be_bytes([block[i], block[i + 1], block[i + 2], block[i + 3]]);
        let lost_raw = w(4) & 0x00FF_FFFF;
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost_raw << 8) as i32) >> 8;
        Some(ReportBlock {
            ssrc: w(0),
            fraction_lost: block[4],
            cumulative_lost,
            highest_seq: w(8),
            jitter: w(12),
            lsr: w(16),
            dlsr: w(20),
        })
    }
}

/// One packet of a compound RTCP datagram.
#[derive(Clone, Debug)]
pub enum RtcpPacket<'a> {
    /// SR: sender info and report blocks.
    SenderReport {
        /// The sender.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// Its reports on the sources it receives.
        blocks: ReportBlocks<'a>,
    },
    /// RR: report blocks only.
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// Its reports on the sources it receives.
        blocks: ReportBlocks<'a>,
    },
    /// BYE; the first SSRC when present.
    Bye {
        /// The source leaving.
        ssrc: Option<u32>,
    },
    /// SDES, APP or anything else we do not interpret.
    Other {
        /// Its packet type.
        pt: u8,
    },
}

/// Iterator over the packets of a compound RTCP datagram. Yields an error (once, then stops)
/// on a malformed packet.
pub struct Compound<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Read the packets of a compound RTCP datagram.
pub fn packets(buf: &[u8]) -> Compound<'_> {
    Compound {
        rest: buf,
        failed: false,
    }
}

fn malformed(what: &str) -> MediaError {
    MediaError::Malformed(format!("RTCP: {what}"))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_one(pkt: &[u8], count: usize, pt: u8) -> Result<RtcpPacket<'_>, MediaError> {
    let ssrc = be_u32(pkt, 4);
    match pt {
        PT_SR => {
            let ssrc = ssrc.ok_or_else(|| malformed("SR too short"))?;
            let info_end = 8 + SENDER_INFO_LEN;
            let blocks_end = info_end + count * REPORT_BLOCK_LEN;
            let blocks = pkt
                .get(info_end..blocks_end)
                .ok_or_else(|| malformed("SR shorter than its report count"))?;
            let w = |i| be_u32(pkt, i).unwrap_or(0);
            Ok(RtcpPacket::SenderReport {
                ssrc,
                info: SenderInfo {
                    ntp: (u64::from(w(8)) << 32) | u64::from(w(12)),
                    rtp_ts: w(16),
                    packet_count: w(20),
                    octet_count: w(24),
                },
                blocks: ReportBlocks { raw: blocks },
            })
        }
        PT_RR => {
            let ssrc = ssrc.ok_or_else(|| malformed("RR too short"))?;
            let blocks = pkt
                .get(8..8 + count * REPORT_BLOCK_LEN)
                .ok_or_else(|| malformed("RR shorter than its report count"))?;
            Ok(RtcpPacket::ReceiverReport {
                ssrc,
                blocks: ReportBlocks { raw: blocks },
            })
        }
        PT_BYE => Ok(RtcpPacket::Bye {
            ssrc: if count > 0 { ssrc } else { None },
        }),
        _ => Ok(RtcpPacket::Other { pt }),
    }
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<RtcpPacket<'a>, MediaError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let result = (|| {
            let head = self
                .rest
                .get(..4)
                .ok_or_else(|| malformed("header shorter than 4 bytes"))?;
            if head[0] >> 6 != 2 {
                return Err(malformed("version is not 2"));
            }
            let count = usize::from(head[0] & 0x1F);
            let pt = head[1];
            let len = (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1) * 4;
            let pkt = self
                .rest
                .get(..len)
                .ok_or_else(|| malformed("length field beyond datagram"))?;
            let rest = &self.rest[len..];
            let parsed = parse_one(pkt, count, pt)?;
            Ok((parsed, rest))
        })();
        match result {
            Ok((pkt, rest)) => {
                self.rest = rest;
                Some(Ok(pkt))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn write_header(out: &mut [u8], count: usize, pt: u8, len: usize) {
    out[0] = 0x80 | (count as u8 & 0x1F);
    out[1] = pt;
    out[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
}

fn write_blocks(out: &mut [u8], at: usize, blocks: &[ReportBlock]) {
    for (i, b) in blocks.iter().enumerate() {
        let o = at + i * REPORT_BLOCK_LEN;
        put_u32(out, o, b.ssrc);
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
        put_u32(out, o + 4, (u32::from(b.fraction_lost) << 24) | lost);
        put_u32(out, o + 8, b.highest_seq);
        put_u32(out, o + 12, b.jitter);
        put_u32(out, o + 16, b.lsr);
        put_u32(out, o + 20, b.dlsr);
    }
}

/// Write an SR (at most 31 blocks are written); returns bytes written (0 if `out` is too small).
pub fn write_sr(ssrc: u32, info: &SenderInfo, blocks: &[ReportBlock], out: &mut [u8]) -> usize {
    let blocks = &blocks[..blocks.len().min(31)];
    let len = 8 + SENDER_INFO_LEN + blocks.len() * REPORT_BLOCK_LEN;
    if out.len() < len {
        return 0;
    }
    write_header(out, blocks.len(), PT_SR, len);
    put_u32(out, 4, ssrc);
    put_u32(out, 8, (info.ntp >> 32) as u32);
    put_u32(out, 12, info.ntp as u32);
    put_u32(out, 16, info.rtp_ts);
    put_u32(out, 20, info.packet_count);
    put_u32(out, 24, info.octet_count);
    write_blocks(out, 28, blocks);
    len
}

/// Write an RR (at most 31 blocks); returns bytes written (0 if `out` is too small).
pub fn write_rr(ssrc: u32, blocks: &[ReportBlock], out: &mut [u8]) -> usize {
    let blocks = &blocks[..blocks.len().min(31)];
    let len = 8 + blocks.len() * REPORT_BLOCK_LEN;
    if out.len() < len {
        return 0;
    }
    write_header(out, blocks.len(), PT_RR, len);
    put_u32(out, 4, ssrc);
    write_blocks(out, 8, blocks);
    len
}

/// Write a BYE for one SSRC; returns bytes written (0 if `out` is too small).
pub fn write_bye(ssrc: u32, out: &mut [u8]) -> usize {
    if out.len() < 8 {
        return 0;
    }
    write_header(out, 1, PT_BYE, 8);
    put_u32(out, 4, ssrc);
    8
}

/// NTP time (32.32) of a wall-clock instant.
pub fn ntp_from_system(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Add a duration to an NTP time.
pub fn ntp_add(ntp: u64, d: Duration) -> u64 {
    let frac = (u128::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    ntp.wrapping_add(d.as_secs() << 32)
        .wrapping_add(frac as u64)
}

/// The middle 32 bits of an NTP time (the LSR/DLSR unit: 1/65536 s).
pub fn ntp_middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round-trip time from a report block about our stream, received at `now_ntp` (RFC 3550 §6.4.1).
/// None when the peer has not seen an SR from us yet or the figures are inconsistent.
pub fn rtt(block: &ReportBlock, now_ntp: u64) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let a = ntp_middle32(now_ntp);
    let rtt = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    // A "negative" result (clock glitch, bogus DLSR) shows up as a huge value.
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(Duration::from_nanos(
        u64::from(rtt) * 1_000_000_000 / 65_536,
    ))
}

/// Sequence gap beyond which a packet is treated as a restart rather than loss (RFC 3550 §A.1).
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// Receive statistics for one source (RFC 3550 §A.1, §A.3, §A.8).
#[derive(Clone, Debug, Default)]
pub struct ReceptionStats {
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    /// Seq that would confirm a restart after a big jump.
    bad_seq: Option<u16>,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    last_transit: Option<i64>,
    /// Interarrival jitter ×16 in timestamp units (the RFC's integer form).
    jitter_q4: i64,
}

impl ReceptionStats {
    /// Fresh statistics.
    pub fn new() -> Self {
        Self::default()
    }

    fn init(&mut self, seq: u16) {
        *self = ReceptionStats {
            started: true,
            max_seq: seq,
            base_seq: u32::from(seq),
            ..Default::default()
        };
    }

    /// Record a packet: `arrival` is the arrival time in the same clock units as `rtp_ts`.
    pub fn update(&mut self, seq: u16, rtp_ts: u32, arrival: u32) {
        if !self.count_sequence(seq) {
            return;
        }
        let transit = i64::from(arrival.wrapping_sub(rtp_ts) as i32);
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter_q4 += d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Record a packet for loss bookkeeping only (its timestamp says nothing about timing, e.g.
    /// an RFC 4733 event packet, whose timestamp is the event start). Returns false when the
    /// packet was not counted (an unconfirmed sequence jump).
    pub fn count_sequence(&mut self, seq: u16) -> bool {
        if !self.started {
            self.init(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(1 << 16);
                }
                self.max_seq = seq;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // A big jump: accept it only when the next packet follows it (a restart).
                if self.bad_seq == Some(seq) {
                    self.init(seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return false;
                }
            }
            // else: duplicate or reordered packet, counted below.
        }
        self.bad_seq = None;
        self.received = self.received.wrapping_add(1);
        true
    }

    /// Forget the transit baseline (timestamp discontinuity such as a new SSRC).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Packets received.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected so far.
    pub fn expected(&self) -> u32 {
        if !self.started {
            return 0;
        }
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative packets lost (negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Cumulative loss in percent (0 when nothing was expected).
    pub fn loss_pct(&self) -> f32 {
        let expected = self.expected();
        if expected == 0 {
            return 0.0;
        }
        (self.cumulative_lost().max(0) as f32 * 100.0 / expected as f32).min(100.0)
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4) as u32
    }

    /// A report block about this source; also starts a new "fraction lost" interval.
    pub fn report_block(&mut self, ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 70_000,
            jitter: 123,
            lsr: 0x1234_5678,
            dlsr: 65_536,
        }
    }

    #[test]
    fn sr_round_trip_in_compound_with_bye() {
        let info = SenderInfo {
            ntp: 0x0102_0304_0506_0708,
            rtp_ts: 9,
            packet_count: 10,
            octet_count: 11,
        };
        let mut buf = [0u8; 200];
        let n = write_sr(42, &info, &[block(7), block(8)], &mut buf);
        assert_eq!(n, 28 + 48);
        let m = write_bye(42, &mut buf[n..]);
        let mut it = packets(&buf[..n + m]);
        match it.next() {
            Some(Ok(RtcpPacket::SenderReport {
                ssrc,
                info: i,
                blocks,
            })) => {
                assert_eq!(ssrc, 42);
                assert_eq!(i, info);
                let b: Vec<_> = blocks.collect();
                assert_eq!(b, vec![block(7), block(8)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            it.next(),
            Some(Ok(RtcpPacket::Bye { ssrc: Some(42) }))
        ));
        assert!(it.next().is_none());
    }

    #[test]
    fn rr_round_trip() {
        let mut buf = [0u8; 64];
        let n = write_rr(5, &[block(1)], &mut buf);
        assert_eq!(n, 32);
        match packets(&buf[..n]).next() {
            Some(Ok(RtcpPacket::ReceiverReport { ssrc: 5, blocks })) => {
                assert_eq!(blocks.collect::<Vec<_>>(), vec![block(1)])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(write_rr(5, &[block(1)], &mut [0u8; 31]), 0);
    }

    #[test]
    fn malformed_compound_yields_error_then_stops() {
        // Length says 100 words.
        let bad = [0x80, 200, 0, 100, 0, 0, 0, 1];
        let mut it = packets(&bad);
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
        // SR claiming 3 report blocks but carrying none.
        let mut sr = [0u8; 28];
        write_sr(1, &SenderInfo::default(), &[], &mut sr);
        sr[0] |= 3;
        assert!(matches!(packets(&sr).next(), Some(Err(_))));
        assert!(matches!(packets(&[0x40, 200, 0, 0]).next(), Some(Err(_))));
        assert!(matches!(packets(&[0x80]).next(), Some(Err(_))));
    }

    #[test]
    fn rtt_from_lsr_dlsr() {
        let sent = ntp_from_system(SystemTime::now());
        let now = ntp_add(sent, Duration::from_millis(150));
        let b = ReportBlock {
            lsr: ntp_middle32(sent),
            dlsr: 65_536 / 10, // peer held it 100 ms
            ..Default::default()
        };
        let rtt = rtt(&b, now).unwrap();
        assert!((rtt.as_secs_f64() - 0.050).abs() < 0.001, "{rtt:?}");
        assert!(super::rtt(&ReportBlock::default(), now).is_none());
        // DLSR larger than the elapsed time: inconsistent.
        let bogus = ReportBlock { dlsr: 65_536, ..b };
        assert!(super::rtt(&bogus, now).is_none());
    }

    #[test]
    fn loss_and_wraparound() {
        let mut s = ReceptionStats::new();
        let mut seq = 65_500u16;
        for i in 0..100u32 {
            if i % 10 != 9 {
                s.update(seq, i * 960, i * 960);
            }
            seq = seq.wrapping_add(1);
        }
        // Last packet (i = 99) was dropped, so 99 expected up to the highest received.
        assert_eq!(s.expected(), 99);
        assert_eq!(s.received(), 90);
        assert_eq!(s.cumulative_lost(), 9);
        assert_eq!(s.extended_max(), 65_536 + u32::from(seq.wrapping_sub(2)));
        let rb = s.report_block(1, 0, 0);
        assert_eq!(rb.fraction_lost, (9 * 256 / 99) as u8);
        assert_eq!(rb.cumulative_lost, 9);
        // Next interval: only the packet dropped at the end of the last one is missing.
        for i in 100..110u32 {
            s.update(seq, i * 960, i * 960);
            seq = seq.wrapping_add(1);
        }
        assert_eq!(s.report_block(1, 0, 0).fraction_lost, (256 / 11) as u8);
        for i in 110..120u32 {
            s.update(seq, i * 960, i * 960);
            seq = seq.wrapping_add(1);
        }
        assert_eq!(s.report_block(1, 0, 0).fraction_lost, 0);
    }

    #[test]
    fn jitter_follows_arrival_variation() {
        let mut steady = ReceptionStats::new();
        let mut jittery = ReceptionStats::new();
        for i in 0..500u32 {
            steady.update(i as u16, i * 960, 5000 + i * 960);
            let wobble = if i % 2 == 0 { 0 } else { 480 }; // ±10 ms at 48 kHz
            jittery.update(i as u16, i * 960, 5000 + i * 960 + wobble);
        }
        assert_eq!(steady.jitter(), 0);
        assert!(
            (400..=500).contains(&jittery.jitter()),
            "{}",
            jittery.jitter()
        );
    }

    #[test]
    fn big_jump_needs_confirmation() {
        let mut s = ReceptionStats::new();
        for i in 0..10u16 {
            s.update(i, 0, 0);
        }
        s.update(30_000, 0, 0);
        assert_eq!(s.received(), 10);
        s.update(30_001, 0, 0);
        assert_eq!(s.received(), 1);
        assert_eq!(s.expected(), 1);
    }
}
