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

/// The next 20 ms of the stream: decode from `jitter` into `fifo` until it holds a frame (or
/// the jitter buffer has nothing to give), then take one frame out.
pub(super) fn next_frame(
    jitter: &mut JitterBuffer,
    decoder: &mut Decoder,
    clock: u32,
    fifo: &mut PcmFifo,
    out: &mut Frame,
) -> FrameStatus {
    for _ in 0..MAX_PIECES_PER_FRAME {
        if fifo.len() >= FRAME {
            break;
        }
        match jitter.pop() {
            Playout::Packet { payload, duration } => {
                match decoder.decode_into(payload, fifo.room()) {
                    Ok(n) => fifo.commit(n, false),
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
