//! Peers that send packets of another duration than our 20 ms: G.711 of 10, 30 and 60 ms, Opus
//! of 40 and 60 ms, a ptime that changes mid-stream, and loss. A raw sender puts the RTP on
//! loopback UDP at real-time pace; one RtpSession plays it, 20 ms per tick.

use crate::common::stream::{packetize, play_through_session, Played};
use agentphone_media::codec::CodecKind;
use agentphone_media::g711::{self, Law};
use agentphone_media::resample::{Downsampler48to8, FRAME_8K};
use agentphone_media::session::FrameStatus;
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{FRAME, SAMPLE_RATE};

const TONE: f32 = 1000.0;
const OTHER: f32 = 1500.0;
/// How long each stream lasts.
const STREAM_MS: u32 = 3000;
/// Played after the last packet: the dry tail, then silence.
const TAIL_MS: u64 = 300;

/// `total_ms` of the test tone at 48 kHz.
fn tone_48k(total_ms: u32) -> Vec<i16> {
    let mut gen = ToneGenerator::new(TONE, -12.0);
    let mut out = vec![0i16; total_ms as usize * 48];
    for f in out.chunks_mut(FRAME) {
        let mut frame = [0i16; FRAME];
        gen.fill(&mut frame);
        f.copy_from_slice(&frame[..f.len()]);
    }
    out
}

/// The tone as A-law payloads lasting `durations` ms each.
fn pcma_payloads(durations: &[u32]) -> Vec<(Vec<u8>, u32)> {
    let total: u32 = durations.iter().sum();
    let wide = tone_48k(total);
    let mut down = Downsampler48to8::new();
    let mut narrow = Vec::with_capacity(wide.len() / 6);
    for f in wide.chunks_exact(FRAME) {
        let mut n = [0i16; FRAME_8K];
        down.process(f.try_into().expect("frame"), &mut n);
        narrow.extend_from_slice(&n);
    }
    let mut at = 0;
    durations
        .iter()
        .map(|&ms| {
            let len = ms as usize * 8;
            let mut bytes = vec![0u8; len];
            g711::encode(Law::A, &narrow[at..at + len], &mut bytes);
            at += len;
            (bytes, ms)
        })
        .collect()
}

/// The tone as Opus packets of `ms` each (one frame per packet, in-band FEC on).
fn opus_payloads(ms: u32, count: usize) -> Vec<(Vec<u8>, u32)> {
    let mut enc = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
        .expect("encoder");
    enc.set_bitrate(opus::Bitrate::Bits(32_000))
        .expect("bitrate");
    enc.set_inband_fec(true).expect("fec");
    enc.set_packet_loss_perc(15).expect("loss hint");
    let wide = tone_48k(ms * count as u32);
    wide.chunks_exact(ms as usize * 48)
        .map(|pcm| {
            let mut buf = [0u8; 1500];
            let n = enc.encode(pcm, &mut buf).expect("encode");
            (buf[..n].to_vec(), ms)
        })
        .collect()
}

/// The whole stream was played at its own pace: from the first sound to the last decoded
/// frame is the sent duration (± 2 frames), with at most `max_concealed` concealed frames and
/// no silence inside, and the tone is in at least 90 % of the 100 ms windows.
fn assert_played_in_time(played: &Played, sent_ms: u32, max_concealed: usize, what: &str) {
    let sent_frames = sent_ms as usize / 20;
    let first = played.first_sound().expect("something was played");
    let last = played
        .statuses
        .iter()
        .rposition(|&s| s == FrameStatus::Audio)
        .expect("audio was decoded");
    let span = last + 1 - first;
    assert!(
        span.abs_diff(sent_frames) <= 2,
        "{what}: played {span} frames for {sent_frames} sent: {:?}",
        played.statuses
    );
    let silent_inside = played.statuses[first..=last]
        .iter()
        .filter(|&&s| s == FrameStatus::Silence)
        .count();
    assert_eq!(silent_inside, 0, "{what}: {:?}", played.statuses);
    let concealed = played.concealed_inside();
    assert!(
        concealed <= max_concealed,
        "{what}: {concealed} frames concealed: {:?}",
        played.statuses
    );
    let share = played.tone_share(sent_frames * FRAME, TONE, OTHER);
    assert!(
        share >= 0.9,
        "{what}: tone in {:.0}% of windows",
        share * 100.0
    );
}

fn pcma_at_ptime(ms: u32) {
    let count = (STREAM_MS / ms) as usize;
    let packets = packetize(8, 8000, &pcma_payloads(&vec![ms; count]));
    let played = play_through_session(CodecKind::Pcma, 8, &packets, &|_| false, TAIL_MS);
    assert_played_in_time(&played, STREAM_MS, 0, &format!("PCMA {ms} ms"));
    // Everything was decoded: as many 20 ms frames of audio as were sent.
    let audio = played.count(FrameStatus::Audio);
    assert!(audio.abs_diff(STREAM_MS as usize / 20) <= 2, "{audio}");
}

#[test]
fn pcma_30ms_packets_play_in_real_time() {
    pcma_at_ptime(30);
}

#[test]
fn pcma_10ms_packets_play_in_real_time() {
    pcma_at_ptime(10);
}

#[test]
fn pcma_60ms_packets_play_in_real_time() {
    pcma_at_ptime(60);
}

fn opus_at_ptime(ms: u32) {
    let count = (STREAM_MS / ms) as usize;
    let packets = packetize(111, 48_000, &opus_payloads(ms, count));
    let played = play_through_session(CodecKind::Opus, 111, &packets, &|_| false, TAIL_MS);
    assert_played_in_time(&played, STREAM_MS, 0, &format!("Opus {ms} ms"));
}

#[test]
fn opus_40ms_packets_play_in_real_time() {
    opus_at_ptime(40);
}

#[test]
fn opus_60ms_packets_play_in_real_time() {
    opus_at_ptime(60);
}

#[test]
fn ptime_changing_mid_stream_keeps_pace() {
    let mut durations = Vec::new();
    for (ms, n) in [(20u32, 25usize), (30, 20), (60, 10), (10, 50), (40, 20)] {
        durations.extend(std::iter::repeat_n(ms, n));
    }
    let total: u32 = durations.iter().sum();
    assert_eq!(total, STREAM_MS);
    let packets = packetize(8, 8000, &pcma_payloads(&durations));
    let played = play_through_session(CodecKind::Pcma, 8, &packets, &|_| false, TAIL_MS);
    // Longer packets need more delay (a 60 ms packet arrives 60 ms after its first sample):
    // each switch to a longer ptime (20→30, 30→60) may cost one concealed frame while the
    // delay grows; nothing else may be lost.
    assert_played_in_time(&played, STREAM_MS, 2, "PCMA 20/30/60/10/40 ms");
    let audio = played.count(FrameStatus::Audio);
    assert!(audio.abs_diff(STREAM_MS as usize / 20) <= 2, "{audio}");
}

/// Every 10th 30 ms packet is lost: the gaps (seen in sequence numbers and timestamps) are
/// concealed for their whole 30 ms and the stream keeps its pace.
#[test]
fn lost_30ms_pcma_packets_are_concealed_for_their_duration() {
    let count = (STREAM_MS / 30) as usize;
    let packets = packetize(8, 8000, &pcma_payloads(&vec![30; count]));
    let played = play_through_session(CodecKind::Pcma, 8, &packets, &|i| i % 10 == 5, TAIL_MS);
    // 10 losses of 30 ms touch at most 2 frames each.
    assert_played_in_time(&played, STREAM_MS, 20, "PCMA 30 ms, 10 % loss");
    assert!(played.concealed_inside() >= 10, "{:?}", played.statuses);
}

/// Every 8th 60 ms Opus packet is lost: FEC/PLC fill 60 ms each time.
#[test]
fn lost_60ms_opus_packets_are_concealed_for_their_duration() {
    let count = (STREAM_MS / 60) as usize;
    let packets = packetize(111, 48_000, &opus_payloads(60, count));
    let played = play_through_session(CodecKind::Opus, 111, &packets, &|i| i % 8 == 4, TAIL_MS);
    // 6 losses of 60 ms touch at most 4 frames each.
    assert_played_in_time(&played, STREAM_MS, 24, "Opus 60 ms, 12 % loss");
    assert!(played.concealed_inside() >= 6 * 3, "{:?}", played.statuses);
}

/// Garbage with the right payload type (random lengths, sequence numbers and timestamps) is
/// survived: no panic, frames keep coming, and a good stream afterwards plays.
#[test]
fn garbage_with_our_payload_type_is_survived() {
    use agentphone_media::rtp::{self, RtpHeader};
    use agentphone_media::session::RtpSession;
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    for (codec, pt) in [(CodecKind::Opus, 111u8), (CodecKind::Pcma, 8)] {
        let mut session = RtpSession::bind(crate::common::LOCALHOST).expect("bind");
        let junk = std::net::UdpSocket::bind((crate::common::LOCALHOST, 0)).expect("bind junk");
        session
            .configure(agentphone_media::session::SessionConfig {
                remote: junk.local_addr().expect("addr"),
                codec,
                pt,
                telephone_event_pt: None,
                rtcp_mux: true,
                srtp: None,
            })
            .expect("configure");
        let mut frame = [0i16; FRAME];
        let mut digits = Vec::new();
        let now = std::time::Instant::now();
        let mut buf = [0u8; 1600];
        for round in 0..300u64 {
            for _ in 0..4 {
                let h = RtpHeader {
                    marker: rng.gen(),
                    pt,
                    seq: rng.gen_range(0..40),
                    ts: rng.gen_range(0..100_000),
                    ssrc: rng.gen_range(0..3),
                };
                let mut payload = vec![0u8; rng.gen_range(0..1400)];
                rng.fill(&mut payload[..]);
                let n = rtp::write(&h, &payload, &mut buf);
                junk.send_to(&buf[..n], session.local_addr()).expect("send");
            }
            // Pacing of the simulated 20 ms rounds (loopback delivery within one), not a settle.
            std::thread::sleep(std::time::Duration::from_millis(1));
            session.poll_receive(
                now + std::time::Duration::from_millis(20 * round),
                &mut digits,
            );
            session.next_frame(&mut frame);
        }
        assert!(session.quality().packets_received > 0, "{codec:?}");
        // A good stream (another SSRC) plays afterwards.
        let good = match codec {
            CodecKind::Opus => packetize(pt, 48_000, &opus_payloads(20, 50)),
            _ => packetize(pt, 8000, &pcma_payloads(&[20; 50])),
        };
        let mut statuses = Vec::new();
        for (i, p) in good.iter().enumerate() {
            junk.send_to(&p.datagram, session.local_addr())
                .expect("send");
            // Pacing of the simulated 20 ms rounds (loopback delivery within one), not a settle.
            std::thread::sleep(std::time::Duration::from_millis(1));
            let at = now + std::time::Duration::from_millis(20 * (300 + i as u64));
            session.poll_receive(at, &mut digits);
            statuses.push(session.next_frame(&mut frame));
        }
        // Its first packet is on probation (a new SSRC takes over after two in sequence, see
        // session/latch.rs), so it plays one frame later than a stream that latched at once.
        assert!(
            statuses[11..].iter().all(|&s| s == FrameStatus::Audio),
            "{codec:?}: {statuses:?}"
        );
    }
}
