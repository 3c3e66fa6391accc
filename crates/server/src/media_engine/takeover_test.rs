//! The switch from another encoder's Opus stream to ours, as the phone's decoder sees it (real
//! libopus both sides): a phone's encoder sends a steady tone (it settles in CELT-only mode),
//! relayed to the listener's decoder; then the server's encoder — with little or no history of
//! its own, as after a relayed call's start — takes over with the tone continuing or
//! crossfading into music on hold. With the takeover (`Encoder::note_foreign_packet` +
//! `Encoder::prime`, as `agentphone_media::session` does on a relay → mix switch) the energy
//! above 9 kHz at the switch stays near its neighbours; priming alone (the code before) let a
//! fresh encoder choose hybrid mode and the decoder's unannounced mode switch clicked
//! (`bench/voice-quality`: 13.9 and 18.5 dB at hold, limit 10).

use agentphone_media::codec::{CodecKind, Decoder, Encoder};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME};

use super::click_test::{click_db, hf_energy_db};
use super::moh::{fallback_music, fallback_ringback, LoopedAudio};
use super::transition::{crossfade, CROSSFADE};

/// Frames the phone's stream plays before the switch (its encoder settles on the tone well
/// before) and after it.
const BEFORE: usize = 100;
const AFTER: usize = 60;

/// What the server's encoder encoded before the call was relayed.
#[derive(Clone, Copy, Debug)]
enum History {
    /// Nothing: the room relayed from its first tick.
    Fresh,
    /// Two frames of silence (a leg that joined silent, then relay).
    Silence2,
    /// Two frames of ringback.
    Ringback2,
}

/// What the server sends from the switch on.
#[derive(Clone, Copy, Debug)]
enum After {
    /// The relayed audio, now decoded and re-encoded (e.g. a third party joined, silent).
    Continues,
    /// A crossfade into music on hold (hold).
    Music,
}

fn new_encoder() -> Encoder {
    Encoder::new(CodecKind::Opus).unwrap_or_else(|e| panic!("encoder: {e}"))
}

fn new_decoder() -> Decoder {
    Decoder::new(CodecKind::Opus).unwrap_or_else(|e| panic!("decoder: {e}"))
}

/// What the listener hears (48 kHz), the switch at frame [`BEFORE`]. `offset`: frames of tone
/// the phone sends before the table's timeline starts (its phase at the switch).
fn heard(history: History, after: After, takeover: bool, offset: usize) -> Vec<i16> {
    let (mut phone, mut server) = (new_encoder(), new_encoder());
    let (mut server_decoder, mut listener) = (new_decoder(), new_decoder());
    let mut packet = [0u8; 1500];
    let mut frame: Frame = [0; FRAME];
    let ringback = LoopedAudio::new(fallback_ringback());
    let mut ringback_pos = 0;
    let frames = match history {
        History::Fresh => 0,
        History::Silence2 | History::Ringback2 => 2,
    };
    for _ in 0..frames {
        match history {
            History::Ringback2 => ringback.fill(&mut ringback_pos, &mut frame),
            _ => frame.fill(0),
        }
        let _ = server.encode(&frame, &mut packet);
    }
    let music = LoopedAudio::new(fallback_music());
    let mut music_pos = 0;
    let mut tone = ToneGenerator::new(1500.0, -12.0);
    for _ in 0..offset {
        tone.fill(&mut frame);
    }
    let (mut decoded, mut last_decoded, mut music_frame): (Frame, Frame, Frame) =
        ([0; FRAME], [0; FRAME], [0; FRAME]);
    let mut out = Vec::with_capacity((BEFORE + AFTER) * FRAME);
    for k in 0..BEFORE + AFTER {
        tone.fill(&mut frame);
        let n = phone
            .encode(&frame, &mut packet)
            .unwrap_or_else(|e| panic!("encode: {e}"));
        let phone_packet = &packet[..n];
        // The server decodes the phone's stream throughout (warm at the switch).
        server_decoder
            .decode(phone_packet, &mut decoded)
            .unwrap_or_else(|e| panic!("decode: {e}"));
        let to_listener: Vec<u8> = if k < BEFORE {
            // Relayed: the phone's packet as it is.
            if takeover {
                server.note_foreign_packet(phone_packet);
            }
            phone_packet.to_vec()
        } else {
            if k == BEFORE {
                server.prime(&last_decoded, &mut [0u8; 1500]);
            }
            let mut pcm = decoded;
            if let After::Music = after {
                music.fill(&mut music_pos, &mut music_frame);
                if k == BEFORE {
                    crossfade(&decoded, &mut music_frame, CROSSFADE);
                }
                pcm = music_frame;
            }
            let mut ours = [0u8; 1500];
            let n = server
                .encode(&pcm, &mut ours)
                .unwrap_or_else(|e| panic!("encode: {e}"));
            ours[..n].to_vec()
        };
        last_decoded = decoded;
        let mut played: Frame = [0; FRAME];
        listener
            .decode(&to_listener, &mut played)
            .unwrap_or_else(|e| panic!("decode: {e}"));
        out.extend_from_slice(&played);
    }
    out
}

/// Worst click (dB above the louder side) over the table's rows for one history and ending.
fn worst(history: History, after: After, takeover: bool) -> f64 {
    [0, 7, 13]
        .into_iter()
        .map(|offset| {
            click_db(
                &hf_energy_db(&heard(history, after, takeover, offset)),
                BEFORE,
            )
        })
        .fold(f64::MIN, f64::max)
}

#[test]
fn a_server_encoder_taking_over_a_relayed_opus_stream_does_not_click() {
    let mut before = f64::MIN;
    for history in [History::Fresh, History::Silence2, History::Ringback2] {
        for after in [After::Continues, After::Music] {
            let (primed, taken_over) = (worst(history, after, false), worst(history, after, true));
            println!(
                "{history:?}, {after:?}: energy > 9 kHz at the switch above its neighbours: \
                 {primed:.1} dB primed only, {taken_over:.1} dB with the mode taken over"
            );
            before = before.max(primed);
            assert!(
                taken_over < 10.0,
                "{history:?}, {after:?}: the takeover clicks: {taken_over:.1} dB"
            );
        }
    }
    assert!(
        before > 10.0,
        "the measurement must see priming alone click somewhere: worst {before:.1} dB"
    );
}
