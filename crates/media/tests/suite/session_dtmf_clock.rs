//! RFC 4733 §2.1: telephone-events use the audio stream's clock. A digit sent by an RtpSession
//! crosses a plain UDP socket in the middle (which reads every event packet, as a third-party
//! phone would) on its way to a second RtpSession: the event lasts 100 ms counted in the
//! codec's clock (4800 at 48 kHz for Opus, 800 at 8 kHz for G.711), sits on the audio
//! timeline, and the far session reports the digit once.

use crate::common::LOCALHOST;
use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{dtmf, rtp, Frame, FRAME};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

const TE_PT: u8 = 101;

struct Seen {
    /// (RTP timestamp, payload type) of every audio packet.
    audio: Vec<(u32, u8)>,
    /// (RTP timestamp, marker, event) of every telephone-event packet.
    events: Vec<(u32, bool, dtmf::DtmfEvent)>,
}

fn send_digit_through_the_middle(codec: CodecKind) -> (Seen, Vec<char>) {
    let mut a = RtpSession::bind(LOCALHOST).expect("bind a");
    let mut b = RtpSession::bind(LOCALHOST).expect("bind b");
    let middle = UdpSocket::bind((LOCALHOST, 0)).expect("bind middle");
    middle
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let cfg = |remote| SessionConfig {
        remote,
        codec,
        pt: codec.default_pt(),
        telephone_event_pt: Some(TE_PT),
        rtcp_mux: true,
        srtp: None,
    };
    a.configure(cfg(middle.local_addr().expect("addr")))
        .expect("configure a");
    b.configure(cfg(middle.local_addr().expect("addr")))
        .expect("configure b");
    let mut tone = ToneGenerator::new(440.0, -12.0);
    let mut frame: Frame = [0; FRAME];
    let mut seen = Seen {
        audio: Vec::new(),
        events: Vec::new(),
    };
    let mut digits = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    for tick in 0..30u64 {
        if tick == 5 {
            a.send_dtmf('7').expect("queue a digit");
        }
        tone.fill(&mut frame);
        a.send_frame(&frame).expect("send");
        let (n, _) = middle.recv_from(&mut buf).expect("a packet every tick");
        let datagram = &buf[..n];
        let (h, payload) = rtp::parse(datagram).expect("RTP from the session");
        if h.pt == TE_PT {
            let ev = dtmf::parse(payload).expect("telephone-event payload");
            seen.events.push((h.ts, h.marker, ev));
        } else {
            seen.audio.push((h.ts, h.pt));
        }
        middle.send_to(datagram, b.local_addr()).expect("forward");
        let now = start + Duration::from_millis(20 * tick);
        let deadline = Instant::now() + Duration::from_millis(200);
        while b.quality().packets_received <= tick && Instant::now() < deadline {
            b.poll_receive(now, &mut digits);
            // The poll interval of this bounded wait for delivery, not a settle.
            std::thread::sleep(Duration::from_micros(200));
        }
        b.next_frame(&mut frame);
    }
    (seen, digits)
}

fn event_lasts_100ms_in_the_codec_clock(codec: CodecKind) {
    let (seen, digits) = send_digit_through_the_middle(codec);
    let step = codec.clock() / 50;
    assert_eq!(digits, vec!['7'], "the far session hears the digit once");
    assert_eq!(seen.events.len(), 8, "5 event packets + 3 end packets");
    let (start_ts, first_marker, _) = seen.events[0];
    assert!(first_marker, "the first event packet has the marker bit");
    for (i, (ts, _, ev)) in seen.events.iter().enumerate() {
        assert_eq!(ev.event, 7);
        assert_eq!(
            *ts, start_ts,
            "every packet of an event has its start timestamp"
        );
        let elapsed = (i as u32 + 1).min(5) * step;
        assert_eq!(u32::from(ev.duration), elapsed, "packet {i}");
        assert_eq!(ev.end, i >= 5, "packet {i}");
    }
    let (_, _, last) = seen.events[7];
    // 100 ms at the codec's clock: 4800 for Opus, 800 for G.711.
    assert_eq!(u32::from(last.duration), codec.clock() / 10);
    // The event is on the audio timeline: it starts where the next audio frame would have,
    // and the audio resumes where the event's 8 frames end.
    let before = seen
        .audio
        .iter()
        .rfind(|(ts, _)| ts.wrapping_sub(start_ts) as i32 <= 0)
        .expect("audio before the event");
    assert_eq!(before.0.wrapping_add(step), start_ts);
    let after = seen
        .audio
        .iter()
        .find(|(ts, _)| ts.wrapping_sub(start_ts) as i32 > 0)
        .expect("audio after the event");
    assert_eq!(after.0, start_ts.wrapping_add(8 * step));
}

#[test]
fn opus_event_duration_counts_48khz() {
    event_lasts_100ms_in_the_codec_clock(CodecKind::Opus);
}

#[test]
fn pcma_event_duration_counts_8khz() {
    event_lasts_100ms_in_the_codec_clock(CodecKind::Pcma);
}
