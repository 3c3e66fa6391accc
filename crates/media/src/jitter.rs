//! Adaptive jitter buffer with reordering and FEC/PLC-aware playout.
//!
//! Packets are stored by sequence number in a fixed ring of [`CAPACITY`] slots (no allocation
//! after construction). `pop` is called once per 20 ms and plays the next sequence number: the
//! packet when it is there, else a "missing" marker carrying the following packet's payload when
//! that one has arrived (so an Opus decoder can use in-band FEC), else a plain PLC marker.
//!
//! The target delay follows the measured interarrival jitter (RFC 3550 §A.8 estimator),
//! `20 ms + 3 × jitter`, clamped to 20–200 ms, starting at 40 ms. The delay grows when the
//! buffer runs dry (playout waits for the late packet) and shrinks by skipping a frame when
//! more than 60 ms above target.

use crate::rtp::RtpHeader;
use std::time::Instant;

/// Slots in the ring: 32 × 20 ms = 640 ms of audio.
pub const CAPACITY: usize = 32;
/// Largest payload stored (the largest Opus frame is 1275 bytes).
pub const MAX_PAYLOAD: usize = 1280;
/// Frame duration in ms.
const FRAME_MS: f32 = 20.0;
const MIN_TARGET_MS: f32 = 20.0;
const MAX_TARGET_MS: f32 = 200.0;
const START_TARGET_MS: f32 = 40.0;
/// Packets before the target starts following the jitter estimate.
const WARMUP_PACKETS: u32 = 50;
/// How far above target the buffer may grow before frames are skipped.
const SHRINK_MARGIN_MS: f32 = 60.0;
/// Consecutive empty pops (concealed) before playout stops and re-buffers.
const MAX_UNDERRUNS: u32 = 5;
/// A timestamp that disagrees with the sequence number by more than this restarts the buffer.
const TS_JUMP_SECONDS: u32 = 2;

/// What `pop` produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The packet for this 20 ms.
    Packet(&'a [u8]),
    /// This 20 ms is missing; `next` is the following packet's payload when it has arrived
    /// (decode its FEC), else None (use PLC).
    Missing {
        /// The following packet's payload, when it has arrived.
        next: Option<&'a [u8]>,
    },
    /// Nothing is playing (not started, buffering, or the stream stopped): play silence.
    Empty,
}

/// What `push` did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Queued,
    /// Stored, after a reset (new SSRC, sequence or timestamp jump).
    Restarted,
    /// Its time has passed; dropped.
    Late,
    /// Already stored; dropped.
    Duplicate,
    /// Larger than [`MAX_PAYLOAD`]; dropped.
    TooLarge,
}

/// Counters for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets handed out for decoding.
    pub played: u64,
    /// Frames handed out as missing (FEC/PLC).
    pub concealed: u64,
    /// Packets dropped for arriving after their playout time.
    pub late: u64,
    /// Packets dropped as duplicates.
    pub duplicate: u64,
    /// Frames skipped to bring the delay back down.
    pub skipped: u64,
    /// Resets for a new SSRC or a sequence/timestamp jump.
    pub restarts: u64,
}

struct Slot {
    filled: bool,
    seq: u16,
    len: usize,
    data: [u8; MAX_PAYLOAD],
}

/// The adaptive jitter buffer for one stream.
pub struct JitterBuffer {
    slots: Box<[Slot]>,
    /// RTP clock rate of the stream (for the jitter estimate).
    clock: u32,
    /// SSRC being played; None before the first packet.
    ssrc: Option<u32>,
    /// Sequence number `pop` plays next.
    next_seq: u16,
    /// Highest sequence number stored, and its timestamp.
    highest_seq: u16,
    highest_ts: u32,
    /// Filled slots.
    count: usize,
    playing: bool,
    underruns: u32,
    target_ms: f32,
    jitter_ms: f32,
    /// Arrival-time reference and base timestamp for the transit computation.
    epoch: Option<(Instant, u32)>,
    last_transit_ms: Option<f64>,
    packets_seen: u32,
    stats: JitterStats,
}

fn newer(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) > 0
}

fn slot_index(seq: u16) -> usize {
    usize::from(seq) % CAPACITY
}

impl JitterBuffer {
    /// A jitter buffer for a stream with RTP clock `clock` Hz.
    pub fn new(clock: u32) -> Self {
        let slots = (0..CAPACITY)
            .map(|_| Slot {
                filled: false,
                seq: 0,
                len: 0,
                data: [0; MAX_PAYLOAD],
            })
            .collect();
        JitterBuffer {
            slots,
            clock: clock.max(1),
            ssrc: None,
            next_seq: 0,
            highest_seq: 0,
            highest_ts: 0,
            count: 0,
            playing: false,
            underruns: 0,
            target_ms: START_TARGET_MS,
            jitter_ms: 0.0,
            epoch: None,
            last_transit_ms: None,
            packets_seen: 0,
            stats: JitterStats::default(),
        }
    }

    /// Forget everything (e.g. the codec changed); keeps the counters.
    pub fn reset(&mut self) {
        for s in self.slots.iter_mut() {
            s.filled = false;
        }
        self.ssrc = None;
        self.count = 0;
        self.playing = false;
        self.underruns = 0;
        self.target_ms = START_TARGET_MS;
        self.jitter_ms = 0.0;
        self.epoch = None;
        self.last_transit_ms = None;
        self.packets_seen = 0;
    }

    /// Change the clock rate (codec change); resets the buffer.
    pub fn set_clock(&mut self, clock: u32) {
        self.clock = clock.max(1);
        self.reset();
    }

    fn restart_at(&mut self, h: &RtpHeader) {
        let keep_target = self.target_ms;
        let keep_jitter = self.jitter_ms;
        let keep_seen = self.packets_seen;
        self.reset();
        // A restart is a new talkspurt/source, not new network conditions.
        self.target_ms = keep_target;
        self.jitter_ms = keep_jitter;
        self.packets_seen = keep_seen;
        self.ssrc = Some(h.ssrc);
        self.next_seq = h.seq;
        self.highest_seq = h.seq;
        self.highest_ts = h.ts;
        self.stats.restarts += 1;
    }

    /// Store a received packet.
    pub fn push(&mut self, h: &RtpHeader, payload: &[u8], now: Instant) -> PushOutcome {
        if payload.len() > MAX_PAYLOAD {
            return PushOutcome::TooLarge;
        }
        let mut outcome = PushOutcome::Queued;
        if self.ssrc != Some(h.ssrc) {
            self.restart_at(h);
            outcome = PushOutcome::Restarted;
        } else {
            let ahead = h.seq.wrapping_sub(self.next_seq) as i16;
            if ahead < 0 {
                self.stats.late += 1;
                return PushOutcome::Late;
            }
            let step = self.clock / 50;
            let seq_gap = h.seq.wrapping_sub(self.highest_seq) as i16;
            let expected_ts = self
                .highest_ts
                .wrapping_add((i32::from(seq_gap) * step as i32) as u32);
            let ts_error = h.ts.wrapping_sub(expected_ts) as i32;
            if ahead as usize >= CAPACITY || ts_error.unsigned_abs() > TS_JUMP_SECONDS * self.clock
            {
                self.restart_at(h);
                outcome = PushOutcome::Restarted;
            }
        }
        let idx = slot_index(h.seq);
        let slot = &mut self.slots[idx];
        if slot.filled {
            if slot.seq == h.seq {
                self.stats.duplicate += 1;
                return PushOutcome::Duplicate;
            }
            // Cannot happen while every stored seq is within CAPACITY of next_seq; be safe.
            self.count -= 1;
        }
        slot.filled = true;
        slot.seq = h.seq;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        self.count += 1;
        if newer(h.seq, self.highest_seq) {
            self.highest_seq = h.seq;
            self.highest_ts = h.ts;
        }
        self.track_jitter(h.ts, now);
        outcome
    }

    /// RFC 3550 §A.8 interarrival jitter in ms, and the target delay derived from it.
    fn track_jitter(&mut self, ts: u32, now: Instant) {
        let (t0, ts0) = *self.epoch.get_or_insert((now, ts));
        let arrival_ms = now.saturating_duration_since(t0).as_secs_f64() * 1000.0;
        let media_ms = f64::from(ts.wrapping_sub(ts0) as i32) * 1000.0 / f64::from(self.clock);
        let transit = arrival_ms - media_ms;
        if let Some(last) = self.last_transit_ms {
            let d = (transit - last).abs() as f32;
            self.jitter_ms += (d - self.jitter_ms) / 16.0;
        }
        self.last_transit_ms = Some(transit);
        self.packets_seen = self.packets_seen.saturating_add(1);
        if self.packets_seen >= WARMUP_PACKETS {
            self.target_ms =
                (MIN_TARGET_MS + 3.0 * self.jitter_ms).clamp(MIN_TARGET_MS, MAX_TARGET_MS);
        }
    }

    /// Buffered span in ms from the next frame to the newest stored one.
    fn span_ms(&self) -> f32 {
        if self.count == 0 {
            return 0.0;
        }
        f32::from(self.highest_seq.wrapping_sub(self.next_seq).wrapping_add(1)) * FRAME_MS
    }

    fn filled_at(&self, seq: u16) -> Option<usize> {
        let idx = slot_index(seq);
        let s = &self.slots[idx];
        (s.filled && s.seq == seq).then_some(idx)
    }

    /// Advance `next_seq` to the oldest stored packet (used when playout (re)starts).
    fn skip_to_oldest(&mut self) {
        for _ in 0..CAPACITY {
            if self.filled_at(self.next_seq).is_some() {
                return;
            }
            self.next_seq = self.next_seq.wrapping_add(1);
        }
    }

    /// The next 20 ms of the stream (call once per 20 ms).
    pub fn pop(&mut self) -> Playout<'_> {
        if self.ssrc.is_none() {
            return Playout::Empty;
        }
        if !self.playing {
            if self.count > 0 && self.span_ms() >= self.target_ms {
                self.skip_to_oldest();
                self.playing = true;
                self.underruns = 0;
            } else {
                return Playout::Empty;
            }
        }
        if self.count == 0 {
            // Dry: wait for the late packet (this grows the delay), for a while.
            self.underruns += 1;
            if self.underruns > MAX_UNDERRUNS {
                self.playing = false;
                return Playout::Empty;
            }
            self.stats.concealed += 1;
            return Playout::Missing { next: None };
        }
        self.underruns = 0;
        if self.span_ms() > self.target_ms + SHRINK_MARGIN_MS {
            if let Some(idx) = self.filled_at(self.next_seq) {
                self.slots[idx].filled = false;
                self.count -= 1;
                self.stats.skipped += 1;
            }
            self.next_seq = self.next_seq.wrapping_add(1);
        }
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        if let Some(idx) = self.filled_at(seq) {
            self.slots[idx].filled = false;
            self.count -= 1;
            self.stats.played += 1;
            let s = &self.slots[idx];
            return Playout::Packet(&s.data[..s.len]);
        }
        self.stats.concealed += 1;
        let next = self.filled_at(self.next_seq).map(|idx| {
            let s = &self.slots[idx];
            &s.data[..s.len]
        });
        Playout::Missing { next }
    }

    /// Current target delay in ms.
    pub fn target_delay_ms(&self) -> f32 {
        self.target_ms
    }

    /// Measured interarrival jitter in ms.
    pub fn jitter_ms(&self) -> f32 {
        self.jitter_ms
    }

    /// Packets currently stored.
    pub fn buffered(&self) -> usize {
        self.count
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hdr(seq: u16, ts: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            pt: 111,
            seq,
            ts,
            ssrc: 1,
        }
    }

    fn payload(seq: u16) -> [u8; 2] {
        seq.to_be_bytes()
    }

    /// Pops until playout starts; returns what the first non-Empty pop gave, as an owned value.
    fn owned(p: Playout<'_>) -> Option<Result<Vec<u8>, Option<Vec<u8>>>> {
        match p {
            Playout::Packet(d) => Some(Ok(d.to_vec())),
            Playout::Missing { next } => Some(Err(next.map(|n| n.to_vec()))),
            Playout::Empty => None,
        }
    }

    #[test]
    fn buffers_to_target_then_plays_in_order() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        assert_eq!(jb.pop(), Playout::Empty);
        jb.push(&hdr(10, 0), &payload(10), t);
        assert_eq!(jb.pop(), Playout::Empty); // 20 ms < 40 ms target
        jb.push(&hdr(11, 960), &payload(11), t);
        assert_eq!(owned(jb.pop()), Some(Ok(payload(10).to_vec())));
        assert_eq!(owned(jb.pop()), Some(Ok(payload(11).to_vec())));
    }

    #[test]
    fn reorders() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        for seq in [5u16, 7, 6, 8] {
            jb.push(&hdr(seq, u32::from(seq) * 960), &payload(seq), t);
        }
        for seq in 5u16..=8 {
            assert_eq!(owned(jb.pop()), Some(Ok(payload(seq).to_vec())));
        }
    }

    #[test]
    fn missing_packet_offers_next_for_fec() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        for seq in [1u16, 2, 4, 5] {
            jb.push(&hdr(seq, u32::from(seq) * 960), &payload(seq), t);
        }
        assert_eq!(owned(jb.pop()), Some(Ok(payload(1).to_vec())));
        assert_eq!(owned(jb.pop()), Some(Ok(payload(2).to_vec())));
        assert_eq!(owned(jb.pop()), Some(Err(Some(payload(4).to_vec()))));
        assert_eq!(owned(jb.pop()), Some(Ok(payload(4).to_vec())));
        assert_eq!(jb.stats().concealed, 1);
    }

    #[test]
    fn drops_late_and_duplicate() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        assert_eq!(
            jb.push(&hdr(1, 960), &payload(1), t),
            PushOutcome::Restarted
        );
        assert_eq!(jb.push(&hdr(2, 1920), &payload(2), t), PushOutcome::Queued);
        assert_eq!(
            jb.push(&hdr(2, 1920), &payload(2), t),
            PushOutcome::Duplicate
        );
        jb.pop();
        assert_eq!(jb.push(&hdr(1, 960), &payload(1), t), PushOutcome::Late);
        assert_eq!(
            jb.push(&hdr(3, 2880), &[0u8; MAX_PAYLOAD + 1], t),
            PushOutcome::TooLarge
        );
        let s = jb.stats();
        assert_eq!((s.late, s.duplicate), (1, 1));
    }

    #[test]
    fn sequence_wraps_around() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        let mut seq = 65_534u16;
        let mut ts = 0u32;
        let mut played = Vec::new();
        for _ in 0..6 {
            jb.push(&hdr(seq, ts), &payload(seq), t);
            if let Some(Ok(p)) = owned(jb.pop()) {
                played.push(u16::from_be_bytes([p[0], p[1]]));
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(960);
        }
        assert_eq!(played, vec![65_534, 65_535, 0, 1, 2]);
    }

    #[test]
    fn ssrc_change_and_jumps_restart() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        jb.push(&hdr(1, 960), &payload(1), t);
        jb.push(&hdr(2, 1920), &payload(2), t);
        let mut other = hdr(500, 77);
        other.ssrc = 2;
        assert_eq!(jb.push(&other, &payload(500), t), PushOutcome::Restarted);
        assert_eq!(jb.buffered(), 1);
        // Sequence far ahead.
        assert_eq!(
            jb.push(&hdr(9_000, 0), &payload(1), t),
            PushOutcome::Restarted
        );
        // Timestamp jump of 10 s with a continuous sequence number.
        assert_eq!(
            jb.push(&hdr(9_001, 480_000), &payload(2), t),
            PushOutcome::Restarted
        );
        assert_eq!(jb.stats().restarts, 4);
    }

    #[test]
    fn underrun_waits_then_stops() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        jb.push(&hdr(1, 960), &payload(1), t);
        jb.push(&hdr(2, 1920), &payload(2), t);
        jb.pop();
        jb.pop();
        for _ in 0..MAX_UNDERRUNS {
            assert_eq!(jb.pop(), Playout::Missing { next: None });
        }
        assert_eq!(jb.pop(), Playout::Empty);
        // The late packet 3 arriving during the wait would have been played; now it restarts
        // buffering and plays from the oldest stored packet.
        jb.push(&hdr(9, 9 * 960), &payload(9), t);
        jb.push(&hdr(10, 10 * 960), &payload(10), t);
        assert_eq!(owned(jb.pop()), Some(Ok(payload(9).to_vec())));
    }

    #[test]
    fn target_follows_jitter_and_excess_is_skipped() {
        let mut jb = JitterBuffer::new(48_000);
        let t0 = Instant::now();
        // Arrival alternates ±15 ms around the schedule: jitter ≈ 30 ms.
        for i in 0..200u32 {
            let wobble = if i % 2 == 0 { 0 } else { 30 };
            let at = t0 + Duration::from_millis(u64::from(i) * 20 + wobble);
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), at);
            jb.pop();
        }
        assert!(jb.jitter_ms() > 20.0, "{}", jb.jitter_ms());
        assert!(jb.target_delay_ms() > 80.0, "{}", jb.target_delay_ms());
        assert!(jb.target_delay_ms() <= MAX_TARGET_MS);

        // Steady arrivals: target settles at the minimum; then a burst backlog is trimmed.
        let mut jb = JitterBuffer::new(48_000);
        for i in 0..60u32 {
            let at = t0 + Duration::from_millis(u64::from(i) * 20);
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), at);
            jb.pop();
        }
        assert_eq!(jb.target_delay_ms(), MIN_TARGET_MS);
        assert_eq!(jb.stats().skipped, 0);
        let burst_at = t0 + Duration::from_millis(60 * 20);
        for i in 60..80u32 {
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), burst_at);
        }
        for _ in 0..20 {
            jb.pop();
        }
        assert!(jb.stats().skipped > 0);
    }
}
