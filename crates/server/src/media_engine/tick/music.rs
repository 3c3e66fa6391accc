//! Legs on music on hold sending the worker's shared encode of it (`music_broadcast.rs`): when
//! a leg may follow it, and how it leaves it.

use super::{Hearing, MediaLeg, Sources};
use agentphone_media::codec::CodecKind;

/// Ticks a leg settled on music encodes the broadcast's frames with its own encoder before it
/// sends the shared encode: the switch between two Opus encoders' streams is inaudible once both
/// have encoded the same audio for a few frames (CELT predicts band energies from the frame
/// before).
const FOLLOW_MUSIC_AFTER: u8 = 3;

/// A leg settled on music (not switching, not sending a DTMF event) sends the broadcast's
/// encode for its encoder settings (after [`FOLLOW_MUSIC_AFTER`] ticks); true when it did. A leg that sent it last tick and does not
/// now first primes its own encoder with the frame it heard then.
pub(super) fn send_shared(leg: &mut MediaLeg, hearing: Hearing, sources: &mut Sources) -> bool {
    let settled_on_music = sources.share_music
        && hearing == Hearing::Music
        && leg.hearing == Hearing::Music
        && !leg.session.sending_dtmf();
    // G.711 only: its encode is stateless past the resampler's few taps, so the shared bytes are
    // the leg's own. Two Opus encoders' streams differ in state the decoder carries over (SILK's
    // prediction and pitch history, not only CELT's band energies): switching an Opus leg to the
    // shared stream after its first ticks clicked at hold in `bench/voice-quality` (13.2 dB above
    // 8 kHz against −0.1 dB with each leg encoding alone, limit 10) while the unit click test
    // passed. Opus legs on music encode the broadcast's frame themselves.
    let key = settled_on_music
        .then(|| leg.session.encoder_key())
        .flatten()
        .filter(|k| k.codec() != CodecKind::Opus);
    if key.is_none() || key != leg.music_key {
        // Not on music, or its encoder settings changed (the peer's loss reports): start over
        // with its own encoder.
        leg.music_ticks = 0;
        leg.music_key = key;
    }
    if let Some(key) = key {
        if leg.music_ticks < FOLLOW_MUSIC_AFTER {
            // Its own encoder and the shared one take in the same frames first, so that the
            // phone's decoder, fed by the one, is in step with the other when it switches.
            leg.music_ticks += 1;
            let _ = sources.music.payload(key);
        } else if let Some(payload) = sources.music.payload(key) {
            if let Err(e) = leg.session.send_encoded(payload) {
                tracing::trace!(error = %e, "RTP send failed");
            }
            leg.following_music = true;
            return true;
        }
    }
    if std::mem::replace(&mut leg.following_music, false) {
        leg.session.prime_encoder(sources.music.previous());
    }
    false
}
