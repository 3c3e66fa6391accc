//! Music on hold as a broadcast, encoded once per codec (issue 9 point 2).
//!
//! Queued and held callers all hear the same loop. Played from each leg's own position, every
//! leg resampled (48 → 8 kHz FIR for G.711) and encoded it alone: ≈ 1.6 ms of CPU per second per
//! queued call, the FIR alone 59 % of the server's CPU in the overload profile of issue 7. Here a
//! worker plays the loop once, like a radio: every leg on music hears the same frame each tick
//! (joining wherever the loop is, crossfaded in), and one encoder per [`EncoderKey`] (codec and
//! Opus loss hint) encodes it; every settled leg with that key sends the payload under its own
//! SSRC, sequence and timestamp (`RtpSession::send_encoded`, as the shared encodes of a mixing
//! room). A leg in its switching tick (crossfade) or sending a DTMF event encodes alone.
//!
//! The frame advances once per tick: on the first call with a new `now` (a worker ticks all its
//! rooms with one `now`). The encoders are made with the broadcast ([`SLOTS`]: one per G.711 law,
//! a few for Opus) and given to an encoder setting on its first use — or taken over from a setting
//! no leg used for [`IDLE_TICKS`] — so nothing allocates after start; a leg whose setting finds
//! no free encoder encodes alone.

use std::time::Instant;

use agentphone_media::codec::{CodecKind, Encoder};
use agentphone_media::jitter::MAX_PAYLOAD;
use agentphone_media::session::EncoderKey;
use agentphone_media::{Frame, FRAME};

use super::moh::LoopedAudio;

/// The shared encoders of one worker: Opus legs differ by loss hint (from their RTCP reports),
/// so Opus has several.
pub const SLOTS: [CodecKind; 8] = [
    CodecKind::Pcmu,
    CodecKind::Pcma,
    CodecKind::Opus,
    CodecKind::Opus,
    CodecKind::Opus,
    CodecKind::Opus,
    CodecKind::Opus,
    CodecKind::Opus,
];

/// An encoder unused for this many ticks (1 s) may serve another setting.
const IDLE_TICKS: u64 = 50;

/// One shared encoder, the setting it serves, and its payload of the current tick.
struct Slot {
    codec: CodecKind,
    key: Option<EncoderKey>,
    encoder: Encoder,
    payload: Box<[u8; MAX_PAYLOAD]>,
    /// Length of `payload` when it holds the encode of tick `encoded_at`.
    len: Option<usize>,
    encoded_at: u64,
}

/// The music loop played once per worker, and its encodes.
pub struct MusicBroadcast {
    audio: LoopedAudio,
    pos: usize,
    /// Counts ticks (new `now`s); 0 before the first.
    tick: u64,
    last_now: Option<Instant>,
    frame: Box<Frame>,
    /// Last tick's frame: primes an encoder that did not encode it.
    previous: Box<Frame>,
    slots: Vec<Slot>,
}

impl MusicBroadcast {
    /// A broadcast of `audio` from its start, with its encoders.
    pub fn new(audio: LoopedAudio) -> Self {
        let slots = SLOTS
            .iter()
            .filter_map(|&codec| {
                let encoder = Encoder::new(codec)
                    .map_err(|e| tracing::warn!(error = %e, "no shared music encoder"))
                    .ok()?;
                Some(Slot {
                    codec,
                    key: None,
                    encoder,
                    payload: Box::new([0; MAX_PAYLOAD]),
                    len: None,
                    encoded_at: 0,
                })
            })
            .collect();
        MusicBroadcast {
            audio,
            pos: 0,
            tick: 0,
            last_now: None,
            frame: Box::new([0; FRAME]),
            previous: Box::new([0; FRAME]),
            slots,
        }
    }

    /// Move to the next frame when `now` is a new tick.
    pub fn advance(&mut self, now: Instant) {
        if self.last_now == Some(now) {
            return;
        }
        self.last_now = Some(now);
        self.tick += 1;
        std::mem::swap(&mut self.frame, &mut self.previous);
        self.audio.fill(&mut self.pos, &mut self.frame);
    }

    /// This tick's frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Last tick's frame (what a leg that sent a shared payload then heard).
    pub fn previous(&self) -> &Frame {
        &self.previous
    }

    /// This tick's frame encoded with `key`'s settings (encoded on the first ask of the tick);
    /// None when no encoder is free for it or the encode failed.
    pub fn payload(&mut self, key: EncoderKey) -> Option<&[u8]> {
        let i = match self.slots.iter().position(|s| s.key == Some(key)) {
            Some(i) => i,
            None => self.assign(key)?,
        };
        let tick = self.tick;
        let slot = self.slots.get_mut(i)?;
        if slot.encoded_at != tick {
            if slot.encoded_at.wrapping_add(1) != tick {
                // Idle last tick: continue from the frame before, not from stale audio.
                let _ = slot.encoder.encode(&self.previous, &mut slot.payload[..]);
            }
            slot.len = slot.encoder.encode(&self.frame, &mut slot.payload[..]).ok();
            slot.encoded_at = tick;
        }
        let len = slot.len?;
        slot.payload.get(..len)
    }

    /// How many encoders serve a setting (one per setting used lately).
    pub fn encoders_in_use(&self) -> usize {
        self.slots.iter().filter(|s| s.key.is_some()).count()
    }

    /// Give `key` a free encoder of its codec (or one idle for [`IDLE_TICKS`]); its index.
    fn assign(&mut self, key: EncoderKey) -> Option<usize> {
        let tick = self.tick;
        let i = self.slots.iter().position(|s| {
            s.codec == key.codec()
                && (s.key.is_none() || s.encoded_at.saturating_add(IDLE_TICKS) < tick)
        })?;
        let slot = self.slots.get_mut(i)?;
        slot.encoder.set_loss_hint(key.loss_hint()).ok()?;
        slot.key = Some(key);
        slot.encoded_at = 0;
        Some(i)
    }
}

impl Clone for MusicBroadcast {
    /// The same loop from its start, with encoders of its own (each worker has its own).
    fn clone(&self) -> Self {
        MusicBroadcast::new(self.audio.clone())
    }
}
