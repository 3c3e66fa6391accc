//! Playout: fill the PCM FIFO from the jitter buffer until a whole frame is there, decoding
//! packets of whatever duration they have and concealing what is missing.

use super::pcm_fifo::PcmFifo;
use super::FrameStatus;
use crate::codec::Decoder;
use crate::jitter::{JitterBuffer, Playout};
use crate::{Frame, FRAME, SAMPLE_RATE};

/// Jitter-buffer pieces taken per frame at most: enough for a frame of the shortest packets
/// (2.5 ms Opus, 10 ms G.711) even with packets skipped, bounded against garbage streams.
const MAX_PIECES_PER_FRAME: usize = 16;

/// RTP clock units → 48 kHz samples.
fn to_samples(units: u32, clock: u32) -> usize {
    (u64::from(units) * u64::from(SAMPLE_RATE) / u64::from(clock.max(1))) as usize
}

/// Tells a pause from speech in what was decoded, so the jitter buffer gives back surplus delay
/// in a pause (see `JitterBuffer::set_quiet`): the speech level rises at once with louder audio
/// and falls slowly (≈ 0.4 dB/s); audio [`QUIET_BELOW_LEVEL`] below it, or nearly digital
/// silence, is quiet.
#[derive(Default)]
pub(super) struct Quietness {
    /// Mean square of recent speech (fast attack, slow decay).
    level: f32,
    /// Quiet packets decoded in a row.
    quiet_run: u32,
}

/// Quiet packets in a row before it counts as a pause (≈ 200 ms of 20 ms packets): the gap
/// between two words is not one — a skip there warps the utterance (WB-PESQ drops).
const PAUSE_PACKETS: u32 = 10;

/// Mean square this far below the speech level is a pause: −25 dB.
const QUIET_BELOW_LEVEL: f32 = 0.003;
/// Mean square below which audio is quiet whatever the level (RMS ≈ 3 of 32 767: −80 dBFS).
const SILENCE_MEAN_SQUARE: f32 = 10.0;
/// Decay of the speech level per decoded packet (≈ 0.4 dB/s at 50 packets/s).
const LEVEL_DECAY: f32 = 0.998;

impl Quietness {
    /// Observe decoded audio; is this a pause?
    fn observe(&mut self, pcm: &[i16]) -> bool {
        if pcm.is_empty() {
            return false;
        }
        let mean_square = crate::energy::sum_squares(pcm) as f32 / pcm.len() as f32;
        self.level = (self.level * LEVEL_DECAY).max(mean_square);
        let quiet =
            mean_square < SILENCE_MEAN_SQUARE || mean_square < self.level * QUIET_BELOW_LEVEL;
        self.quiet_run = if quiet {
            self.quiet_run.saturating_add(1)
        } else {
            0
        };
        self.quiet_run >= PAUSE_PACKETS
    }
}

/// The next 20 ms of the stream: decode from `jitter` into `fifo` until it holds a frame (or
/// the jitter buffer has nothing to give), then take one frame out.
pub(super) fn next_frame(
    jitter: &mut JitterBuffer,
    decoder: &mut Decoder,
    clock: u32,
    fifo: &mut PcmFifo,
    quietness: &mut Quietness,
    out: &mut Frame,
) -> FrameStatus {
    for _ in 0..MAX_PIECES_PER_FRAME {
        if fifo.len() >= FRAME {
            break;
        }
        match jitter.pop() {
            // The usual case, one 20 ms packet and nothing buffered: decode straight into `out`
            // (no FIFO round trip: two frame copies and the concealment flags per leg and tick).
            Playout::Packet { payload, duration }
                if fifo.len() == 0 && to_samples(duration, clock) == FRAME =>
            {
                match decoder.decode_into(payload, out) {
                    Ok(FRAME) => {
                        jitter.set_quiet(quietness.observe(out));
                        return FrameStatus::Audio;
                    }
                    // Fewer samples than the packet said (not seen from libopus): keep them.
                    Ok(n) => {
                        let n = n.min(FRAME);
                        let quiet = quietness.observe(out.get(..n).unwrap_or(&[]));
                        if let Some(room) = fifo.room().get_mut(..n) {
                            room.copy_from_slice(out.get(..n).unwrap_or(&[]));
                            fifo.commit(n, false);
                        }
                        jitter.set_quiet(quiet);
                    }
                    Err(_) => conceal(decoder, None, FRAME, fifo),
                }
            }
            Playout::Packet { payload, duration } => {
                match decoder.decode_into(payload, fifo.room()) {
                    Ok(n) => {
                        let quiet = quietness.observe(fifo.room().get(..n).unwrap_or(&[]));
                        fifo.commit(n, false);
                        jitter.set_quiet(quiet);
                    }
                    // It looked like a packet (its duration was readable) but is not one:
                    // conceal its span.
                    Err(_) => conceal(decoder, None, to_samples(duration, clock), fifo),
                }
            }
            Playout::Missing { duration, next } => {
                conceal(decoder, next, to_samples(duration, clock), fifo)
            }
            Playout::Empty => break,
        }
    }
    fifo.take_frame(out)
}

fn conceal(decoder: &mut Decoder, next: Option<&[u8]>, samples: usize, fifo: &mut PcmFifo) {
    let room = fifo.room();
    let n = samples.min(room.len());
    match decoder.conceal_into(next, &mut room[..n]) {
        Ok(written) => fifo.commit(written, true),
        Err(_) => fifo.push_silence(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CodecKind;
    use crate::rtp::RtpHeader;
    use std::time::{Duration, Instant};

    /// 20 ms packets take the direct path (decoded straight into the frame), 40 ms ones the
    /// FIFO; played through both, in any order, the frames are exactly the decoder's output.
    #[test]
    fn frames_are_the_decoded_stream_whatever_the_packet_durations() {
        let durations = [20, 20, 40, 20, 40, 40, 20, 20, 20, 40, 20];
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio).unwrap();
        let mut packets = Vec::new();
        let mut t = 0usize;
        for ms in durations {
            let pcm: Vec<i16> = (0..ms * 48)
                .map(|i| ((t + i) as f32 * 0.0921).sin() * 9000.0)
                .map(|v| v as i16)
                .collect();
            t += pcm.len();
            packets.push((enc.encode_vec(&pcm, 1500).unwrap(), ms));
        }
        let mut reference = Vec::new();
        let mut dec = Decoder::new(CodecKind::Opus).unwrap();
        for (p, _) in &packets {
            let mut buf = [0i16; 5760];
            let n = dec.decode_into(p, &mut buf).unwrap();
            reference.extend_from_slice(&buf[..n]);
        }

        let mut jitter = JitterBuffer::new(48_000);
        let (mut dec, mut fifo, mut quiet) = (
            Decoder::new(CodecKind::Opus).unwrap(),
            PcmFifo::new(),
            Quietness::default(),
        );
        let start = Instant::now();
        let (mut played, mut ts, mut frame) = (Vec::new(), 0u32, [0i16; FRAME]);
        let mut queue = packets.iter().enumerate();
        // One tick per 20 ms; a packet is sent when the sender's clock reaches it.
        for tick in 0..(t / FRAME + 10) {
            let now = start + Duration::from_millis(20 * tick as u64);
            while ts as usize <= tick * FRAME {
                let Some((seq, (p, ms))) = queue.next() else {
                    break;
                };
                let h = RtpHeader {
                    marker: false,
                    pt: 111,
                    seq: seq as u16,
                    ts,
                    ssrc: 9,
                };
                jitter.push(&h, p, *ms as u32 * 48, now);
                ts += *ms as u32 * 48;
            }
            match next_frame(
                &mut jitter,
                &mut dec,
                48_000,
                &mut fifo,
                &mut quiet,
                &mut frame,
            ) {
                FrameStatus::Audio => played.extend_from_slice(&frame),
                FrameStatus::Silence => {}
                FrameStatus::Concealed => panic!("concealed at tick {tick}"),
            }
            if played.len() >= reference.len() {
                break; // All played (after it the buffer runs dry and conceals).
            }
        }
        assert_eq!(played.len(), reference.len());
        assert!(
            played == reference,
            "played audio differs from the decoded stream"
        );
    }

    /// Speech, a gap between two words (quiet, but short), then a pause: only the pause counts,
    /// from its 10th packet; background 30 dB under the speech is quiet too.
    #[test]
    fn only_a_lasting_quiet_is_a_pause() {
        let mut q = Quietness::default();
        let tone = |amp: f32| -> Vec<i16> {
            (0..FRAME)
                .map(|i| (amp * (i as f32 * 0.1).sin()) as i16)
                .collect()
        };
        let (speech, background) = (tone(8000.0), tone(250.0));
        let silence = vec![0i16; FRAME];
        let mut seen = Vec::new();
        for (frame, n) in [
            (&speech, 20),
            (&silence, 5),
            (&speech, 5),
            (&background, 12),
        ] {
            for _ in 0..n {
                seen.push(q.observe(frame));
            }
        }
        let pause_from = seen.iter().position(|&p| p);
        assert_eq!(pause_from, Some(20 + 5 + 5 + 9), "{seen:?}");
        assert!(seen[39..].iter().all(|&p| p));
    }
}
