//! Adaptive jitter buffer: reordering, playout by RTP timestamp, FEC/PLC-aware concealment.
//!
//! Packets are stored by sequence number in a fixed ring of [`CAPACITY`] slots (no allocation
//! after construction), each with its timestamp and its duration (which the caller reads from
//! the payload: Opus TOC, G.711 length). `pop` is called whenever the player needs more audio
//! and hands out the next piece of the stream at the playout timestamp: the packet that starts
//! there, or a "missing" span up to the next stored packet — carrying that packet's payload, so
//! an Opus decoder can use its in-band FEC. The playout timestamp advances by what was handed
//! out, so packets of any duration (10–120 ms, changing mid-stream) play at the pace their
//! timestamps say, and loss shows as a gap in sequence numbers and timestamps.
//!
//! The target delay follows the measured interarrival jitter (RFC 3550 §A.8 estimator),
//! `20 ms + 3 × jitter`, clamped to 20–200 ms, starting at 40 ms, plus whatever the packets are
//! longer than 20 ms (a 60 ms packet only arrives every 60 ms). When the buffer runs dry, 20 ms
//! are concealed at a time without advancing the playout timestamp (a late packet is still
//! played: the delay grows); that concealment also counts against a timestamp gap found when
//! the stream resumes. After 100 ms dry, playout stops and re-buffers. More than 60 ms above
//! target, a gap is shortened, or else due packets are skipped.

use crate::rtp::RtpHeader;
use std::time::Instant;

/// Slots in the ring: 640 ms of 20 ms packets, 320 ms of 10 ms ones.
pub const CAPACITY: usize = 32;
/// Largest payload stored (the largest Opus frame is 1275 bytes).
pub const MAX_PAYLOAD: usize = 1280;
/// Longest span one `Missing` piece covers, ms (the longest Opus packet).
pub const MAX_CONCEAL_MS: u32 = 120;
/// Duration of one dry concealment step, ms (one frame of the player).
const FRAME_MS: f32 = 20.0;
const MIN_TARGET_MS: f32 = 20.0;
const MAX_TARGET_MS: f32 = 200.0;
const START_TARGET_MS: f32 = 40.0;
/// Packets before the target starts following the jitter estimate.
const WARMUP_PACKETS: u32 = 50;
/// How fast the memory of a stall fades, per 20 ms pop: 2 ms a second, so after a 60 ms stall
/// the target stays above the jitter estimate for about half a minute.
const STALL_DECAY_MS_PER_POP: f32 = 0.04;
/// How far above target the buffer may grow before packets are skipped.
const SHRINK_MARGIN_MS: f32 = 60.0;
/// Packets played in a row with the buffer at least one packet above target before it shrinks
/// by one (1 s of 20 ms packets): a start at 40 ms, a stall or jitter that went away is given
/// back, so the delay settles at the target (mouth-to-ear, issue 9).
const SHRINK_AFTER_PACKETS: u32 = 50;
/// A packet at most this fraction of the average payload size is quiet (Opus spends few bytes on
/// silence): the buffer shrinks by skipping a quiet packet, not speech. The player also says
/// when what it last decoded was quiet ([`JitterBuffer::set_quiet`]): Opus at 48 kb/s spends
/// half the bytes of speech on a pause, so sizes alone rarely tell.
const QUIET_FRACTION: f32 = 0.5;
/// Consecutive dry pops (20 ms each) before playout stops and re-buffers.
const MAX_UNDERRUNS: u32 = 5;
/// How long a loss keeps the FEC lookahead (see [`JitterBuffer::set_fec_lookahead`]), in
/// 20 ms pops: 30 s (loss on a path comes and goes; the extra packet of delay is cheap).
const LOSS_MEMORY_POPS: u32 = 1_500;
/// A timestamp that disagrees with the sequence number by more than this restarts the buffer.
const TS_JUMP_SECONDS: u32 = 2;

/// What `pop` produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The packet that starts at the playout timestamp.
    Packet {
        /// Its payload.
        payload: &'a [u8],
        /// Its duration in RTP clock units (as given to `push`).
        duration: u32,
    },
    /// `duration` (RTP clock units) of the stream is missing here: conceal it. `next` is the
    /// payload of the packet that follows the gap when the gap ends right at it (decode its
    /// FEC), else None (use PLC).
    Missing {
        /// Span to conceal, in RTP clock units.
        duration: u32,
        /// The following packet's payload, when this piece ends at it.
        next: Option<&'a [u8]>,
    },
    /// Nothing is playing (not started, buffering, or the stream stopped): play silence.
    Empty,
}

/// A packet taken out of the buffer by [`JitterBuffer::take_stored`].
#[derive(Debug, PartialEq, Eq)]
pub struct StoredPacket<'a> {
    /// Its sequence number.
    pub seq: u16,
    /// Its timestamp.
    pub ts: u32,
    /// Its duration in RTP clock units (as given to `push`).
    pub duration: u32,
    /// Its payload.
    pub payload: &'a [u8],
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
    /// `Missing` pieces handed out (dry steps and gaps, for FEC/PLC).
    pub concealed: u64,
    /// Packets dropped for arriving after their playout time.
    pub late: u64,
    /// Packets dropped as duplicates.
    pub duplicate: u64,
    /// Packets (or stretches of a gap) skipped to bring the delay back down.
    pub skipped: u64,
    /// Resets for a new SSRC or a sequence/timestamp jump.
    pub restarts: u64,
}

struct Slot {
    filled: bool,
    seq: u16,
    ts: u32,
    duration: u32,
    len: usize,
    data: [u8; MAX_PAYLOAD],
}

/// The adaptive jitter buffer for one stream.
pub struct JitterBuffer {
    slots: Box<[Slot]>,
    /// RTP clock rate of the stream.
    clock: u32,
    /// SSRC being played; None before the first packet.
    ssrc: Option<u32>,
    /// Sequence number `pop` looks at next (earlier ones are played or given up).
    next_seq: u16,
    /// Timestamp up to which the stream has been handed out.
    play_ts: u32,
    /// Highest sequence number stored, its timestamp and duration.
    highest_seq: u16,
    highest_ts: u32,
    highest_dur: u32,
    /// Filled slots.
    count: usize,
    playing: bool,
    underruns: u32,
    /// Concealed while dry since the last packet was found (RTP clock units).
    dry_credit: u32,
    target_ms: f32,
    /// Longest recent stall (ms of consecutive dry pops before late packets resumed), fading
    /// slowly: the target never goes below it, so the delay a stall forced on playout is kept
    /// against the next one.
    stall_ms: f32,
    jitter_ms: f32,
    /// Keep one packet more while loss is recent, so the packet after a lost one is there in
    /// time to decode the lost one from its in-band FEC.
    fec_lookahead: bool,
    /// Pops left before a loss is forgotten.
    loss_memory: u32,
    /// Packets played in a row with at least one packet more than the target buffered.
    above_target_run: u32,
    /// The player's last decoded audio was quiet (a pause): the next packet may be skipped.
    quiet: bool,
    /// Running average payload size (bytes), to tell quiet packets.
    avg_payload: f32,
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
                ts: 0,
                duration: 0,
                len: 0,
                data: [0; MAX_PAYLOAD],
            })
            .collect();
        JitterBuffer {
            slots,
            clock: clock.max(1),
            ssrc: None,
            next_seq: 0,
            play_ts: 0,
            highest_seq: 0,
            highest_ts: 0,
            highest_dur: 0,
            count: 0,
            playing: false,
            underruns: 0,
            dry_credit: 0,
            target_ms: START_TARGET_MS,
            stall_ms: 0.0,
            jitter_ms: 0.0,
            fec_lookahead: false,
            loss_memory: 0,
            above_target_run: 0,
            quiet: false,
            avg_payload: 0.0,
            epoch: None,
            last_transit_ms: None,
            packets_seen: 0,
            stats: JitterStats::default(),
        }
    }

    /// The stream carries in-band FEC (Opus): once a packet is lost, the target holds one
    /// packet more, so a later loss is decoded from the next packet's FEC instead of PLC.
    pub fn set_fec_lookahead(&mut self, on: bool) {
        self.fec_lookahead = on;
    }

    /// Forget everything (e.g. the codec changed); keeps the counters.
    pub fn reset(&mut self) {
        self.clear_slots();
        self.ssrc = None;
        self.playing = false;
        self.underruns = 0;
        self.dry_credit = 0;
        self.target_ms = START_TARGET_MS;
        self.jitter_ms = 0.0;
        self.loss_memory = 0;
        self.above_target_run = 0;
        self.epoch = None;
        self.last_transit_ms = None;
        self.packets_seen = 0;
    }

    fn clear_slots(&mut self) {
        for s in self.slots.iter_mut() {
            s.filled = false;
        }
        self.count = 0;
    }

    /// Change the clock rate (codec change); resets the buffer.
    pub fn set_clock(&mut self, clock: u32) {
        self.clock = clock.max(1);
        self.reset();
    }

    fn restart_at(&mut self, h: &RtpHeader, duration: u32) {
        let keep_target = self.target_ms;
        let keep_jitter = self.jitter_ms;
        let keep_seen = self.packets_seen;
        let keep_loss = self.loss_memory;
        self.reset();
        // A restart is a new talkspurt/source, not new network conditions.
        self.target_ms = keep_target;
        self.jitter_ms = keep_jitter;
        self.packets_seen = keep_seen;
        self.loss_memory = keep_loss;
        self.ssrc = Some(h.ssrc);
        self.next_seq = h.seq;
        self.highest_seq = h.seq;
        self.highest_ts = h.ts;
        self.highest_dur = duration;
        self.stats.restarts += 1;
    }

    /// Store a received packet lasting `duration` RTP clock units (from its payload).
    pub fn push(
        &mut self,
        h: &RtpHeader,
        payload: &[u8],
        duration: u32,
        now: Instant,
    ) -> PushOutcome {
        if payload.len() > MAX_PAYLOAD {
            return PushOutcome::TooLarge;
        }
        let mut outcome = PushOutcome::Queued;
        if self.ssrc != Some(h.ssrc) {
            self.restart_at(h, duration);
            outcome = PushOutcome::Restarted;
        } else {
            let ahead = h.seq.wrapping_sub(self.next_seq) as i16;
            if ahead < 0 {
                self.stats.late += 1;
                return PushOutcome::Late;
            }
            // Where the timestamp should be, judging by the sequence number and the duration
            // of the newest packet (the ptime may change, but not by seconds).
            let seq_gap = i64::from(h.seq.wrapping_sub(self.highest_seq) as i16);
            let expected_ts = self
                .highest_ts
                .wrapping_add((seq_gap * i64::from(self.highest_dur)) as u32);
            let ts_error = h.ts.wrapping_sub(expected_ts) as i32;
            if ahead as usize >= CAPACITY || ts_error.unsigned_abs() > TS_JUMP_SECONDS * self.clock
            {
                self.restart_at(h, duration);
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
        slot.ts = h.ts;
        slot.duration = duration;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        self.count += 1;
        if newer(h.seq, self.highest_seq) {
            if outcome == PushOutcome::Queued && h.seq.wrapping_sub(self.highest_seq) > 1 {
                // Sequence numbers skipped: lost (or reordered, which is rare enough).
                self.loss_memory = LOSS_MEMORY_POPS;
            }
            self.highest_seq = h.seq;
            self.highest_ts = h.ts;
            self.highest_dur = duration;
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

    fn to_ms(&self, units: u32) -> f32 {
        units as f32 * 1000.0 / self.clock as f32
    }

    /// The target plus what the packets are longer than a frame: with 60 ms packets, one
    /// buffered packet is no margin at all.
    fn effective_target_ms(&self) -> f32 {
        let packet_ms = self.to_ms(self.highest_dur);
        let fec_ms = if self.fec_lookahead && self.loss_memory > 0 {
            packet_ms
        } else {
            0.0
        };
        self.target_ms.max(self.stall_ms).min(MAX_TARGET_MS)
            + (packet_ms - FRAME_MS).max(0.0)
            + fec_ms
    }

    /// Buffered span in ms, from the playout position (or the oldest stored packet when not
    /// playing) to the end of the newest stored packet.
    fn span_ms(&self) -> f32 {
        let from = if self.playing {
            self.play_ts
        } else {
            match self.first_stored() {
                Some(idx) => self.slots[idx].ts,
                None => return 0.0,
            }
        };
        if self.count == 0 {
            return 0.0;
        }
        let end = self.highest_ts.wrapping_add(self.highest_dur);
        self.to_ms((end.wrapping_sub(from) as i32).max(0) as u32)
    }

    /// The slot of the first stored packet at or after `next_seq`.
    fn first_stored(&self) -> Option<usize> {
        (0..CAPACITY as u16)
            .map(|i| self.next_seq.wrapping_add(i))
            .map(|seq| (seq, slot_index(seq)))
            .find(|&(seq, idx)| self.slots[idx].filled && self.slots[idx].seq == seq)
            .map(|(_, idx)| idx)
    }

    /// The buffer ran dry while playing: conceal 20 ms without moving the playout position
    /// (the late packet will still be played), for a while; then stop.
    fn dry(&mut self) -> Playout<'static> {
        self.underruns += 1;
        if self.underruns > MAX_UNDERRUNS {
            self.playing = false;
            return Playout::Empty;
        }
        let step = self.clock / 50;
        self.dry_credit = self.dry_credit.saturating_add(step);
        self.stats.concealed += 1;
        Playout::Missing {
            duration: step,
            next: None,
        }
    }

    /// The next piece of the stream (call whenever the player needs more audio).
    pub fn pop(&mut self) -> Playout<'_> {
        if self.ssrc.is_none() {
            return Playout::Empty;
        }
        self.stall_ms = (self.stall_ms - STALL_DECAY_MS_PER_POP).max(0.0);
        self.loss_memory = self.loss_memory.saturating_sub(1);
        if !self.playing {
            if self.count == 0 || self.span_ms() < self.effective_target_ms() {
                return Playout::Empty;
            }
            let Some(idx) = self.first_stored() else {
                return Playout::Empty;
            };
            self.next_seq = self.slots[idx].seq;
            self.play_ts = self.slots[idx].ts;
            self.playing = true;
            self.underruns = 0;
            self.dry_credit = 0;
        }
        // Each round either returns or skips (drops) one packet.
        for _ in 0..=CAPACITY {
            if self.count == 0 {
                return self.dry();
            }
            let Some(idx) = self.first_stored() else {
                // Stored packets out of reach (cannot happen: push restarts first); be safe.
                self.clear_slots();
                return self.dry();
            };
            if self.underruns > 0 {
                // The stream resumed after a stall (late packets, not a pause: a pause stops
                // playout): the target grows at once to what it would have needed.
                // The target counts the due packet: running dry for one pop needs one packet
                // more than the minimum to be covered next time.
                let needed = MIN_TARGET_MS + self.underruns as f32 * FRAME_MS;
                self.stall_ms = self.stall_ms.max(needed);
            }
            self.underruns = 0;
            let (seq, ts, duration) = {
                let s = &self.slots[idx];
                (s.seq, s.ts, s.duration)
            };
            // Sequence numbers before it are lost: given up, late arrivals are dropped.
            self.next_seq = seq;
            let mut gap = i64::from(ts.wrapping_sub(self.play_ts) as i32);
            if gap > 0 {
                // What was concealed while dry already filled part of the gap. With FEC only
                // as far as the buffer is above target: below it the gap is concealed again
                // (from the next packet's FEC) and the delay grows by what was concealed dry.
                let above_target = if self.fec_lookahead {
                    let ms = (self.span_ms() - self.effective_target_ms()).max(0.0);
                    (ms * self.clock as f32 / 1000.0) as i64
                } else {
                    i64::MAX
                };
                let credit = gap.min(i64::from(self.dry_credit)).min(above_target);
                self.play_ts = self.play_ts.wrapping_add(credit as u32);
                gap -= credit;
            }
            self.dry_credit = 0;
            if gap > i64::from(self.clock) {
                // Over a second missing with the stream still running: resynchronise.
                self.play_ts = ts;
                gap = 0;
            }
            let excess_ms = self.span_ms() - (self.effective_target_ms() + SHRINK_MARGIN_MS);
            if gap > 0 && excess_ms > 0.0 {
                // Too much delay: drop concealment before dropping audio.
                let excess = (excess_ms * self.clock as f32 / 1000.0) as i64;
                let cut = gap.min(excess);
                self.play_ts = self.play_ts.wrapping_add(cut as u32);
                gap -= cut;
                self.stats.skipped += 1;
            }
            if gap > 0 {
                let max_piece = self.clock / 1000 * MAX_CONCEAL_MS;
                let piece = (gap as u32).min(max_piece);
                self.play_ts = self.play_ts.wrapping_add(piece);
                self.stats.concealed += 1;
                let next = (i64::from(piece) == gap).then(|| {
                    let s = &self.slots[idx];
                    &s.data[..s.len]
                });
                return Playout::Missing {
                    duration: piece,
                    next,
                };
            }
            // The packet is due (or overlaps what was played: it is played anyway).
            let excess_ms = self.span_ms() - self.effective_target_ms();
            let over = excess_ms > SHRINK_MARGIN_MS;
            let shrink = self.settle(excess_ms, duration, self.slots[idx].len);
            self.slots[idx].filled = false;
            self.count -= 1;
            self.next_seq = seq.wrapping_add(1);
            self.play_ts = ts.wrapping_add(duration);
            if (over || shrink) && self.count > 0 {
                self.stats.skipped += 1;
                continue;
            }
            self.stats.played += 1;
            let s = &self.slots[idx];
            return Playout::Packet {
                payload: &s.data[..s.len],
                duration,
            };
        }
        self.dry()
    }

    /// Whether to skip the due packet to bring the delay down to target: after
    /// [`SHRINK_AFTER_PACKETS`] packets in a row at least one packet above target, at the next
    /// quiet packet. `excess_ms`: buffered span minus target, with the due packet.
    fn settle(&mut self, excess_ms: f32, duration: u32, len: usize) -> bool {
        let len = len as f32;
        self.avg_payload = if self.avg_payload == 0.0 {
            len
        } else {
            self.avg_payload + (len - self.avg_payload) / 64.0
        };
        if excess_ms < self.to_ms(duration) {
            self.above_target_run = 0;
            return false;
        }
        self.above_target_run = self.above_target_run.saturating_add(1);
        let quiet = self.quiet || len <= self.avg_payload * QUIET_FRACTION;
        if self.above_target_run < SHRINK_AFTER_PACKETS || !quiet {
            return false;
        }
        self.above_target_run = 0;
        true
    }

    /// The player says whether the audio it decoded last was quiet (a pause in speech): while
    /// the delay is above target, the next packet is then skipped like a small one.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Where playout stands: the next sequence number and the playout timestamp. None before
    /// playout started. A relay anchors its timestamp mapping here, so what was buffered is
    /// sent on exactly where the decoded stream stopped.
    pub fn position(&self) -> Option<(u16, u32)> {
        (self.ssrc.is_some() && self.playing).then_some((self.next_seq, self.play_ts))
    }

    /// Take the next stored packet out (sequence, timestamp, payload), in order, whatever its
    /// time: hands what is buffered to a relay when decoding stops.
    pub fn take_stored(&mut self) -> Option<StoredPacket<'_>> {
        let idx = self.first_stored()?;
        self.slots[idx].filled = false;
        self.count -= 1;
        let s = &self.slots[idx];
        self.next_seq = s.seq.wrapping_add(1);
        self.play_ts = s.ts.wrapping_add(s.duration);
        Some(StoredPacket {
            seq: s.seq,
            ts: s.ts,
            duration: s.duration,
            payload: &s.data[..s.len],
        })
    }

    /// Continue the stream right after a packet that was played elsewhere (relayed): playout
    /// is on, nothing is buffered, so the next pop conceals (PLC) until the following packet
    /// arrives — one frame at most when packets keep flowing — and plays it at its time.
    pub fn resume_after(&mut self, ssrc: u32, seq: u16, ts: u32, duration: u32) {
        self.reset();
        self.ssrc = Some(ssrc);
        self.next_seq = seq.wrapping_add(1);
        self.highest_seq = seq;
        self.highest_ts = ts;
        self.highest_dur = duration;
        self.play_ts = ts.wrapping_add(duration);
        self.playing = true;
    }

    /// Current target delay in ms (including the allowance for long packets).
    pub fn target_delay_ms(&self) -> f32 {
        self.effective_target_ms()
    }

    /// Measured interarrival jitter in ms.
    pub fn jitter_ms(&self) -> f32 {
        self.jitter_ms
    }

    /// Audio buffered ahead of the playout position, ms.
    pub fn buffered_ms(&self) -> f32 {
        self.span_ms()
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
            Playout::Packet { payload, .. } => Some(Ok(payload.to_vec())),
            Playout::Missing { next, .. } => Some(Err(next.map(|n| n.to_vec()))),
            Playout::Empty => None,
        }
    }

    #[test]
    fn buffers_to_target_then_plays_in_order() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        assert_eq!(jb.pop(), Playout::Empty);
        jb.push(&hdr(10, 0), &payload(10), 960, t);
        assert_eq!(jb.pop(), Playout::Empty); // 20 ms < 40 ms target
        jb.push(&hdr(11, 960), &payload(11), 960, t);
        assert_eq!(owned(jb.pop()), Some(Ok(payload(10).to_vec())));
        assert_eq!(owned(jb.pop()), Some(Ok(payload(11).to_vec())));
    }

    #[test]
    fn reorders() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        for seq in [5u16, 7, 6, 8] {
            jb.push(&hdr(seq, u32::from(seq) * 960), &payload(seq), 960, t);
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
            jb.push(&hdr(seq, u32::from(seq) * 960), &payload(seq), 960, t);
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
            jb.push(&hdr(1, 960), &payload(1), 960, t),
            PushOutcome::Restarted
        );
        assert_eq!(
            jb.push(&hdr(2, 1920), &payload(2), 960, t),
            PushOutcome::Queued
        );
        assert_eq!(
            jb.push(&hdr(2, 1920), &payload(2), 960, t),
            PushOutcome::Duplicate
        );
        jb.pop();
        assert_eq!(
            jb.push(&hdr(1, 960), &payload(1), 960, t),
            PushOutcome::Late
        );
        assert_eq!(
            jb.push(&hdr(3, 2880), &[0u8; MAX_PAYLOAD + 1], 960, t),
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
            jb.push(&hdr(seq, ts), &payload(seq), 960, t);
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
        jb.push(&hdr(1, 960), &payload(1), 960, t);
        jb.push(&hdr(2, 1920), &payload(2), 960, t);
        let mut other = hdr(500, 77);
        other.ssrc = 2;
        assert_eq!(
            jb.push(&other, &payload(500), 960, t),
            PushOutcome::Restarted
        );
        assert_eq!(jb.buffered(), 1);
        // Sequence far ahead.
        assert_eq!(
            jb.push(&hdr(9_000, 0), &payload(1), 960, t),
            PushOutcome::Restarted
        );
        // Timestamp jump of 10 s with a continuous sequence number.
        assert_eq!(
            jb.push(&hdr(9_001, 480_000), &payload(2), 960, t),
            PushOutcome::Restarted
        );
        assert_eq!(jb.stats().restarts, 4);
    }

    #[test]
    fn underrun_waits_then_stops() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        jb.push(&hdr(1, 960), &payload(1), 960, t);
        jb.push(&hdr(2, 1920), &payload(2), 960, t);
        jb.pop();
        jb.pop();
        for _ in 0..MAX_UNDERRUNS {
            assert_eq!(
                jb.pop(),
                Playout::Missing {
                    duration: 960,
                    next: None
                }
            );
        }
        assert_eq!(jb.pop(), Playout::Empty);
        // The late packet 3 arriving during the wait would have been played; now it restarts
        // buffering and plays from the oldest stored packet.
        jb.push(&hdr(9, 9 * 960), &payload(9), 960, t);
        jb.push(&hdr(10, 10 * 960), &payload(10), 960, t);
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
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), 960, at);
            jb.pop();
        }
        assert!(jb.jitter_ms() > 20.0, "{}", jb.jitter_ms());
        assert!(jb.target_delay_ms() > 80.0, "{}", jb.target_delay_ms());
        assert!(jb.target_delay_ms() <= MAX_TARGET_MS);

        // Steady arrivals: target settles at the minimum; then a burst backlog is trimmed.
        let mut jb = JitterBuffer::new(48_000);
        for i in 0..60u32 {
            let at = t0 + Duration::from_millis(u64::from(i) * 20);
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), 960, at);
            jb.pop();
        }
        assert_eq!(jb.target_delay_ms(), MIN_TARGET_MS);
        assert_eq!(jb.stats().skipped, 0);
        let burst_at = t0 + Duration::from_millis(60 * 20);
        for i in 60..80u32 {
            jb.push(&hdr(i as u16, i * 960), &payload(i as u16), 960, burst_at);
        }
        for _ in 0..20 {
            jb.pop();
        }
        assert!(jb.stats().skipped > 0);
    }

    /// `limit` pops; every non-Empty result, owned: Ok((seq, duration)) or Err((duration, next?)).
    fn drain(jb: &mut JitterBuffer, limit: usize) -> Vec<Result<(u16, u32), (u32, bool)>> {
        let mut out = Vec::new();
        for _ in 0..limit {
            match jb.pop() {
                Playout::Packet { payload, duration } => {
                    out.push(Ok((u16::from_be_bytes([payload[0], payload[1]]), duration)))
                }
                Playout::Missing { duration, next } => out.push(Err((duration, next.is_some()))),
                Playout::Empty => {}
            }
        }
        out
    }

    /// Packets (seq, ts, duration) arriving one by one, each followed by pops until the
    /// buffer holds at most one packet (a player in step with the sender).
    fn stream(
        jb: &mut JitterBuffer,
        packets: &[(u16, u32, u32)],
    ) -> Vec<Result<(u16, u32), (u32, bool)>> {
        let t = Instant::now();
        let mut out = Vec::new();
        for &(seq, ts, d) in packets {
            jb.push(&hdr(seq, ts), &payload(seq), d, t);
            while jb.buffered() > 1 {
                out.extend(drain(jb, 1));
            }
        }
        out.extend(drain(jb, 1));
        out
    }

    /// 30 ms G.711 packets (240 timestamp units at 8 kHz) play one after the other, each once.
    #[test]
    fn long_packets_play_by_timestamp() {
        let mut jb = JitterBuffer::new(8000);
        jb.push(&hdr(1, 0), &payload(1), 240, Instant::now());
        // One 30 ms packet is not enough margin: the target allows for the packet length.
        assert_eq!(jb.pop(), Playout::Empty);
        let mut jb = JitterBuffer::new(8000);
        let packets: Vec<_> = (1u16..=20).map(|s| (s, u32::from(s) * 240, 240)).collect();
        let want: Vec<_> = (1u16..=20).map(|s| Ok((s, 240))).collect();
        assert_eq!(stream(&mut jb, &packets), want);
        assert_eq!(jb.stats().concealed, 0);
        assert_eq!(jb.stats().skipped, 0);
    }

    /// The ptime may change mid-stream (20 ms, then 60 ms, then 10 ms): nothing is concealed.
    #[test]
    fn packet_duration_changes_mid_stream() {
        let mut jb = JitterBuffer::new(8000);
        let durations = [160u32, 160, 160, 480, 480, 480, 80, 80, 80, 80, 160];
        let mut ts = 1000u32;
        let mut packets = Vec::new();
        for (i, &d) in durations.iter().enumerate() {
            packets.push((i as u16, ts, d));
            ts += d;
        }
        let want: Vec<_> = packets.iter().map(|&(s, _, d)| Ok((s, d))).collect();
        assert_eq!(stream(&mut jb, &packets), want);
    }

    /// A lost 60 ms packet is a 60 ms gap, concealed in one piece with the next packet's FEC.
    #[test]
    fn lost_long_packet_is_a_gap_of_its_duration() {
        let mut jb = JitterBuffer::new(48_000);
        let t = Instant::now();
        let push = |jb: &mut JitterBuffer, seq: u16| {
            jb.push(&hdr(seq, u32::from(seq) * 2880), &payload(seq), 2880, t);
        };
        push(&mut jb, 1);
        push(&mut jb, 2);
        assert_eq!(drain(&mut jb, 2), vec![Ok((1, 2880)), Ok((2, 2880))]);
        push(&mut jb, 3);
        assert_eq!(drain(&mut jb, 1), vec![Ok((3, 2880))]);
        push(&mut jb, 5);
        assert_eq!(drain(&mut jb, 2), vec![Err((2880, true)), Ok((5, 2880))]);
        // A packet for the gap arriving now is too late.
        assert_eq!(
            jb.push(&hdr(4, 4 * 2880), &payload(4), 2880, t),
            PushOutcome::Late
        );
    }

    /// A timestamp gap without a sequence gap (the sender paused) is concealed too, in pieces
    /// of at most MAX_CONCEAL_MS; only the last piece carries the next packet. Beyond the
    /// delay allowed, the gap is shortened rather than audio skipped.
    #[test]
    fn timestamp_gap_is_concealed_in_bounded_pieces() {
        let mut jb = JitterBuffer::new(8000);
        let t = Instant::now();
        jb.push(&hdr(1, 0), &payload(1), 160, t);
        jb.push(&hdr(2, 160), &payload(2), 160, t);
        assert_eq!(drain(&mut jb, 2), vec![Ok((1, 160)), Ok((2, 160))]);
        // The jitter has grown: 200 ms target, 260 ms allowed.
        jb.target_ms = MAX_TARGET_MS;
        // 300 ms (2400 units) missing before packet 3, then 40 ms of audio: 340 ms buffered,
        // so 80 ms of the gap go and 220 ms are concealed.
        jb.push(&hdr(3, 320 + 2400), &payload(3), 160, t);
        jb.push(&hdr(4, 320 + 2400 + 160), &payload(4), 160, t);
        assert_eq!(
            drain(&mut jb, 4),
            vec![
                Err((960, false)),
                Err((800, true)),
                Ok((3, 160)),
                Ok((4, 160))
            ]
        );
        assert_eq!(jb.stats().skipped, 1);
    }

    /// Running dry conceals 20 ms at a time without moving on, so a late packet is still
    /// played; and a gap found afterwards is not concealed twice.
    #[test]
    fn dry_concealment_counts_against_a_later_gap() {
        let mut jb = JitterBuffer::new(8000);
        let t = Instant::now();
        jb.push(&hdr(1, 0), &payload(1), 160, t);
        jb.push(&hdr(2, 160), &payload(2), 160, t);
        assert_eq!(drain(&mut jb, 2), vec![Ok((1, 160)), Ok((2, 160))]);
        // Dry for 20 ms, then packet 3 arrives late: played, not dropped.
        assert_eq!(drain(&mut jb, 1), vec![Err((160, false))]);
        jb.push(&hdr(3, 320), &payload(3), 160, t);
        assert_eq!(drain(&mut jb, 1), vec![Ok((3, 160))]);
        // Dry for 60 ms, then packet 7 arrives: 4–6 are lost, but those 60 ms were concealed
        // already, so 7 plays at once.
        assert_eq!(drain(&mut jb, 3), vec![Err((160, false)); 3]);
        jb.push(&hdr(7, 960), &payload(7), 160, t);
        jb.push(&hdr(8, 1120), &payload(8), 160, t);
        assert_eq!(drain(&mut jb, 2), vec![Ok((7, 160)), Ok((8, 160))]);
    }

    /// After a loss an Opus stream's buffer keeps one packet more (FEC lookahead): concealment
    /// done while dry is not counted against the gap, so the delay grows by a packet and the
    /// next loss finds the following packet (its FEC) already there. G.711 (no FEC) keeps
    /// the old delay. 8 kHz clock, 20 ms packets, one pop per packet in step with the sender.
    #[test]
    fn loss_adds_a_packet_of_delay_for_fec_only_with_fec() {
        // (FEC lookahead, pops after packet 12 arrives)
        let cases = [
            (true, vec![Err((320, true)), Ok((12, 160))]),
            (false, vec![Err((160, true)), Ok((12, 160))]),
        ];
        for (fec, expected) in cases {
            let mut jb = JitterBuffer::new(8000);
            jb.set_fec_lookahead(fec);
            let t = Instant::now();
            let mut played = Vec::new();
            for seq in 1..=9u16 {
                jb.push(&hdr(seq, u32::from(seq) * 160), &payload(seq), 160, t);
                played.extend(drain(&mut jb, 1));
            }
            // 9 plays; 10 and 11 are lost: the next pop finds nothing (dry), then 12 arrives.
            // With the lookahead the 40 ms gap is concealed whole (from 12's FEC), without it
            // only what the dry pop did not cover.
            assert_eq!(drain(&mut jb, 1), vec![Ok((9, 160))], "fec {fec}");
            assert_eq!(drain(&mut jb, 1), vec![Err((160, false))], "fec {fec}");
            jb.push(&hdr(12, 12 * 160), &payload(12), 160, t);
            assert_eq!(drain(&mut jb, 2), expected, "fec {fec}");
            assert_eq!(played.len(), 8, "fec {fec}: 1–8 played before the loss");
        }
    }

    /// A delay above target is given back one packet at a time, only in a pause: the buffer
    /// starts at 40 ms, the target settles at 20 ms on a jitter-free stream; speech is never
    /// skipped, the first quiet packet after a second above target is — told by its small size,
    /// or by the player's word that what it decoded last was quiet (Opus spends nearly as many
    /// bytes on a pause as on speech).
    #[test]
    fn delay_above_target_shrinks_in_a_pause() {
        let speech = [7u8; 100];
        let small = [7u8; 3];
        // (pause: its payload, the player's quiet hint)
        for (pause, hint) in [(&small[..], false), (&speech[..], true)] {
            let mut jb = JitterBuffer::new(8000);
            let t = Instant::now();
            let mut seq = 1u16;
            let mut send = |jb: &mut JitterBuffer, body: &[u8], quiet: bool, n: usize| {
                let mut held = Vec::new();
                for _ in 0..n {
                    let at = t + Duration::from_millis(u64::from(seq) * 20);
                    jb.push(&hdr(seq, u32::from(seq) * 160), body, 160, at);
                    seq += 1;
                    jb.set_quiet(quiet);
                    let _ = jb.pop();
                    held.push(jb.buffered());
                }
                held
            };
            // Speech: two packets' delay (one held after each pop), nothing skipped.
            let held = send(&mut jb, &speech, false, 200);
            assert!(held[10..].iter().all(|&h| h == 1), "hint {hint}: {held:?}");
            assert_eq!(jb.stats().skipped, 0, "hint {hint}");
            assert_eq!(jb.target_delay_ms(), 20.0);
            // The pause: one packet skipped, then the delay is one packet.
            let held = send(&mut jb, pause, hint, 20);
            assert_eq!(jb.stats().skipped, 1, "hint {hint}");
            assert!(held[2..].iter().all(|&h| h == 0), "hint {hint}: {held:?}");
        }
    }

    /// One pop run dry (a packet a little late) leaves one packet more in the buffer for a
    /// while: the next late packet is covered instead of concealed again.
    #[test]
    fn one_late_packet_keeps_one_packet_of_margin() {
        let mut jb = JitterBuffer::new(8000);
        let t = Instant::now();
        let mut pushed = 0u16;
        let mut push = |jb: &mut JitterBuffer, n: u16| {
            for _ in 0..n {
                pushed += 1;
                let at = t + Duration::from_millis(u64::from(pushed) * 20);
                jb.push(
                    &hdr(pushed, u32::from(pushed) * 160),
                    &payload(pushed),
                    160,
                    at,
                );
            }
        };
        // Steady state with the target at its minimum: one packet at each pop.
        push(&mut jb, 2);
        for _ in 0..200 {
            push(&mut jb, 1);
            let _ = jb.pop();
        }
        while jb.buffered() > 0 {
            let _ = jb.pop();
            push(&mut jb, 0);
        }
        assert_eq!(jb.target_delay_ms(), 20.0);
        // The next packet is late: one dry pop, then it and the next arrive together.
        assert!(matches!(jb.pop(), Playout::Missing { next: None, .. }));
        push(&mut jb, 2);
        assert!(matches!(jb.pop(), Playout::Packet { .. }));
        assert_eq!(jb.target_delay_ms(), 40.0, "one packet of margin");
        // With packets on time again, one stays buffered at each pop (no skip, no dry pop).
        let concealed = jb.stats().concealed;
        for _ in 0..100 {
            push(&mut jb, 1);
            assert!(matches!(jb.pop(), Playout::Packet { .. }));
            assert_eq!(jb.buffered(), 1);
        }
        assert_eq!(jb.stats().concealed, concealed);
    }

    /// Random sequence numbers, timestamps, durations and pop timing never panic (overflow
    /// included) and never hand out more than a bounded piece.
    #[test]
    fn random_streams_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(4733);
        for clock in [8000u32, 48_000] {
            let mut jb = JitterBuffer::new(clock);
            let t0 = Instant::now();
            let (mut seq, mut ts) = (rng.gen::<u16>(), rng.gen::<u32>());
            for i in 0..20_000u64 {
                let h = RtpHeader {
                    marker: false,
                    pt: 0,
                    seq,
                    ts,
                    ssrc: if rng.gen_ratio(1, 500) { rng.gen() } else { 7 },
                };
                let duration = rng.gen_range(1..=clock / 1000 * 120);
                let at = t0 + Duration::from_millis(i * rng.gen_range(0..40));
                jb.push(&h, &payload(seq), duration, at);
                for _ in 0..rng.gen_range(0..3) {
                    match jb.pop() {
                        Playout::Missing { duration, .. } => {
                            assert!(duration <= clock / 1000 * MAX_CONCEAL_MS)
                        }
                        Playout::Packet { duration, .. } => assert!(duration > 0),
                        Playout::Empty => {}
                    }
                }
                // Mostly in order, sometimes reordered, lost, repeated or far off.
                seq = match rng.gen_range(0..100) {
                    0..=84 => seq.wrapping_add(1),
                    85..=89 => seq.wrapping_add(2),
                    90..=94 => seq.wrapping_sub(1),
                    95..=97 => seq,
                    _ => rng.gen(),
                };
                ts = match rng.gen_range(0..100) {
                    0..=89 => ts.wrapping_add(duration),
                    90..=97 => ts.wrapping_add(rng.gen_range(0..clock)),
                    _ => rng.gen(),
                };
                assert!(jb.buffered() <= CAPACITY);
            }
        }
    }

    /// Adaptive playout in virtual time: packets every 20 ms arrive 5 ms after they are sent,
    /// except during two 120 ms network stalls (at 2 s and 7 s) after which the held packets
    /// arrive together; the player pops one 20 ms frame per tick. The first stall is concealed
    /// and raises the target at once; the target then shrinks slowly (still ≥ 60 ms 5 s later,
    /// back near the jitter estimate after a minute), so the second stall is absorbed by the
    /// delay kept — nothing concealed.
    #[test]
    fn a_stall_raises_the_target_at_once_and_it_shrinks_slowly() {
        let mut jb = JitterBuffer::new(48_000);
        let t0 = Instant::now();
        let ms = |v: u64| t0 + Duration::from_millis(v);
        let arrival = |sent: u64| {
            if (2000..2120).contains(&sent) {
                2125
            } else if (7000..7120).contains(&sent) {
                7125
            } else {
                sent + 5
            }
        };
        let mut pending: Vec<(u64, u16)> = Vec::new(); // (arrival ms, seq)
        let mut concealed_at = Vec::new();
        let mut target_at = std::collections::BTreeMap::new();
        for tick in 0..(70_000 / 20) {
            let now = tick * 20 + 10;
            // The sender's packet of this tick.
            let sent = tick * 20;
            let seq = tick as u16;
            pending.push((arrival(sent), seq));
            pending.retain(|&(at, seq)| {
                if at <= now {
                    let ts = u32::from(seq) * 960;
                    jb.push(&hdr(seq, ts), &payload(seq), 960, ms(at));
                    false
                } else {
                    true
                }
            });
            if let Playout::Missing { .. } = jb.pop() {
                concealed_at.push(now);
            }
            target_at.insert(now, jb.target_delay_ms());
        }
        let concealed_in =
            |a: u64, b: u64| concealed_at.iter().filter(|&&t| t >= a && t < b).count();
        let target_near = |t: u64| target_at.range(t..).next().map_or(0.0, |(_, &v)| v);
        let first = concealed_in(2000, 2300);
        assert!(first >= 3, "the first stall is concealed: {concealed_at:?}");
        // The 120 ms stall less the 40 ms buffered when it began: at least 80 ms ran dry.
        let grown = target_near(2300);
        assert!(grown >= 80.0, "grows at once: {grown} ({first} concealed)");
        let later = target_near(7000);
        assert!(later >= 68.0 && later < grown, "shrinks slowly: {later}");
        assert_eq!(concealed_in(6900, 7400), 0, "the second stall is absorbed");
        assert!(
            target_near(69_000) < 45.0,
            "back down after a minute: {}",
            target_near(69_000)
        );
    }
}
