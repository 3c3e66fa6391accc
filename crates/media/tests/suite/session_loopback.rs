//! Real RTP over loopback UDP between two RtpSessions.

use crate::common::{config, lossless, run_ticks, Relay, Side};
use agentphone_media::codec::CodecKind;
use agentphone_media::session::FrameStatus;
use agentphone_media::tone::detect_tones;
use agentphone_media::{FRAME, SAMPLE_RATE};
use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const A_FREQ: f32 = 440.0;
const B_FREQ: f32 = 1000.0;

fn no_jitter(_: usize) -> Duration {
    Duration::ZERO
}

fn connected_pair(codec: CodecKind) -> (Side, Side) {
    let mut a = Side::new(A_FREQ);
    let mut b = Side::new(B_FREQ);
    let (aa, ba) = (a.session.local_addr(), b.session.local_addr());
    a.session.configure(config(ba, codec)).unwrap();
    b.session.configure(config(aa, codec)).unwrap();
    (a, b)
}

/// Both sides hear the other's tone and not their own.
fn assert_tones_crossed(a: &Side, b: &Side, skip_frames: usize) {
    let a_heard = &a.heard[FRAME * skip_frames..];
    let b_heard = &b.heard[FRAME * skip_frames..];
    assert_eq!(
        detect_tones(b_heard, SAMPLE_RATE, &[A_FREQ, B_FREQ]),
        vec![true, false],
        "B should hear A's tone only"
    );
    assert_eq!(
        detect_tones(a_heard, SAMPLE_RATE, &[A_FREQ, B_FREQ]),
        vec![false, true],
        "A should hear B's tone only"
    );
}

fn tone_round_trip(codec: CodecKind) {
    let (mut a, mut b) = connected_pair(codec);
    let start = Instant::now();
    run_ticks(&mut a, &mut b, 100, start, &lossless, &no_jitter);
    assert_tones_crossed(&a, &b, 10);
    for side in [&a, &b] {
        assert!(side.count(FrameStatus::Audio) > 85, "{:?}", side.statuses);
        let q = side.session.quality();
        assert_eq!(q.packets_sent, 100);
        assert!(q.packets_received >= 95, "{q:?}");
        assert!(q.loss_pct < 5.0, "{q:?}");
    }
}

#[test]
fn opus_tones_cross_over_loopback() {
    tone_round_trip(CodecKind::Opus);
}

#[test]
fn pcmu_tones_cross_over_loopback() {
    tone_round_trip(CodecKind::Pcmu);
}

#[test]
fn pcma_tones_cross_over_loopback() {
    tone_round_trip(CodecKind::Pcma);
}

fn tone_survives_ten_percent_loss(codec: CodecKind) {
    let mut a = Side::new(A_FREQ);
    let mut b = Side::new(B_FREQ);
    let relay = Relay::start(a.session.local_addr(), b.session.local_addr(), 10);
    a.session.configure(config(relay.a_remote, codec)).unwrap();
    b.session.configure(config(relay.b_remote, codec)).unwrap();
    // Wait for what the relay will deliver (every 10th packet dropped), not for what it has
    // forwarded so far: a relay thread that starts late must not let the ticks run ahead.
    let delivered = |a_sent: u64, b_sent: u64| (b_sent - b_sent / 10, a_sent - a_sent / 10);
    run_ticks(&mut a, &mut b, 150, Instant::now(), &delivered, &no_jitter);
    assert!(relay.forwarded_to_a.load(Ordering::SeqCst) >= 130);
    assert_tones_crossed(&a, &b, 10);
    for side in [&a, &b] {
        // Every 10th packet was dropped: concealed frames, and ~10 % loss reported.
        assert!(
            side.count(FrameStatus::Concealed) >= 10,
            "{:?}",
            side.statuses
        );
        let q = side.session.quality();
        assert!((7.0..13.0).contains(&q.loss_pct), "{q:?}");
    }
}

#[test]
fn opus_fec_plc_keep_tone_with_ten_percent_loss() {
    tone_survives_ten_percent_loss(CodecKind::Opus);
}

#[test]
fn pcmu_plc_keeps_tone_with_ten_percent_loss() {
    tone_survives_ten_percent_loss(CodecKind::Pcmu);
}

fn dtmf_round_trip(codec: CodecKind) {
    let (mut a, mut b) = connected_pair(codec);
    for d in ['1', '#', '9', 'A'] {
        a.session.send_dtmf(d).unwrap();
    }
    assert!(a.session.send_dtmf('x').is_err());
    run_ticks(&mut a, &mut b, 60, Instant::now(), &lossless, &no_jitter);
    assert_eq!(b.digits, vec!['1', '#', '9', 'A']);
    assert!(a.digits.is_empty());
    // Audio resumes after the events: the tone is there at the end.
    let tail = &b.heard[b.heard.len() - FRAME * 20..];
    assert_eq!(detect_tones(tail, SAMPLE_RATE, &[A_FREQ]), vec![true]);
}

#[test]
fn dtmf_round_trip_opus() {
    dtmf_round_trip(CodecKind::Opus);
}

#[test]
fn dtmf_round_trip_pcma() {
    dtmf_round_trip(CodecKind::Pcma);
}

#[test]
fn rtcp_gives_rtt_and_jitter() {
    let (mut a, mut b) = connected_pair(CodecKind::Opus);
    for side in [&mut a, &mut b] {
        side.session.set_rtcp_interval(Duration::from_millis(200));
    }
    assert_eq!(a.session.quality().rtt_ms, None);
    // Odd ticks are received 8 ms late: transit alternates, jitter ≈ 8 ms.
    let wobble = |tick: usize| Duration::from_millis(if tick % 2 == 1 { 8 } else { 0 });
    run_ticks(&mut a, &mut b, 150, Instant::now(), &lossless, &wobble);
    for side in [&a, &b] {
        let q = side.session.quality();
        let rtt = q.rtt_ms.expect("rtt after several reports");
        // Synthetic clock: the report is answered within the same or the next tick.
        assert!((0.0..100.0).contains(&rtt), "{q:?}");
        assert!((4.0..12.0).contains(&q.jitter_ms), "{q:?}");
    }
}

#[test]
fn symmetric_rtp_latches_to_the_source() {
    let mut a = Side::new(A_FREQ);
    let mut b = Side::new(B_FREQ);
    // B is told a wrong address (a socket that never answers); A's packets correct it.
    let decoy = UdpSocket::bind((crate::common::LOCALHOST, 0)).unwrap();
    a.session
        .configure(config(b.session.local_addr(), CodecKind::Opus))
        .unwrap();
    b.session
        .configure(config(decoy.local_addr().unwrap(), CodecKind::Opus))
        .unwrap();
    // B's very first packet went to the decoy.
    let latched = |a_sent: u64, b_sent: u64| (b_sent.saturating_sub(1), a_sent);
    run_ticks(&mut a, &mut b, 60, Instant::now(), &latched, &no_jitter);
    assert_eq!(b.session.remote_addr(), Some(a.session.local_addr()));
    let tail = &a.heard[a.heard.len() - FRAME * 30..];
    assert_eq!(detect_tones(tail, SAMPLE_RATE, &[B_FREQ]), vec![true]);
}

#[test]
fn garbage_and_foreign_payload_types_are_ignored() {
    let (mut a, mut b) = connected_pair(CodecKind::Opus);
    let junk = UdpSocket::bind((crate::common::LOCALHOST, 0)).unwrap();
    let target = b.session.local_addr();
    let mut datagrams: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x80],
        vec![0xFF; 11],
        vec![0x80, 200, 0xFF, 0xFF],       // RTCP with a silly length
        vec![0x80, 201, 0, 1, 0, 0, 0, 1], // RR claiming nothing, 8 bytes
        vec![0x9F, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // CSRCs missing
    ];
    // Well-formed RTP with PT 8 (a codec we did not pick) and a telephone-event too short.
    let mut pkt = [0u8; 64];
    let h = agentphone_media::rtp::RtpHeader {
        marker: false,
        pt: 8,
        seq: 1,
        ts: 1,
        ssrc: 99,
    };
    let n = agentphone_media::rtp::write(&h, &[0xD5; 40], &mut pkt);
    datagrams.push(pkt[..n].to_vec());
    let te = agentphone_media::rtp::RtpHeader { pt: 101, ..h };
    let n = agentphone_media::rtp::write(&te, &[1, 2], &mut pkt);
    datagrams.push(pkt[..n].to_vec());
    for d in &datagrams {
        junk.send_to(d, target).unwrap();
    }
    // Loopback delivery of the junk; nothing may come of it, so there is no event to wait for.
    std::thread::sleep(Duration::from_millis(20));
    let mut digits = Vec::new();
    b.session.poll_receive(Instant::now(), &mut digits);
    assert!(digits.is_empty());
    assert_eq!(b.session.quality().packets_received, 0);
    assert_eq!(b.session.last_received(), None);
    assert_eq!(b.session.remote_addr(), Some(a.session.local_addr()));
    // The session still works afterwards.
    run_ticks(&mut a, &mut b, 60, Instant::now(), &lossless, &no_jitter);
    assert_tones_crossed(&a, &b, 10);
}

#[test]
fn rtcp_goes_to_a_separate_port_when_asked() {
    let (mut a, mut b) = connected_pair(CodecKind::Pcmu);
    let rtcp_sink = UdpSocket::bind((crate::common::LOCALHOST, 0)).unwrap();
    rtcp_sink
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    a.session
        .set_rtcp_remote(Some(rtcp_sink.local_addr().unwrap()));
    a.session.set_rtcp_interval(Duration::from_millis(100));
    run_ticks(&mut a, &mut b, 20, Instant::now(), &lossless, &no_jitter);
    let mut buf = [0u8; 512];
    let (n, from) = rtcp_sink.recv_from(&mut buf).expect("an RTCP report");
    assert_eq!(from, a.session.local_addr());
    let first = agentphone_media::rtcp::packets(&buf[..n]).next();
    assert!(
        matches!(
            first,
            Some(Ok(agentphone_media::rtcp::RtcpPacket::SenderReport { .. }))
        ),
        "{first:?}"
    );
}

/// The encoder's loss hint follows the fraction lost in the peer's RTCP reports: 0 on a clean
/// path, about the real loss when every 5th packet is dropped.
#[test]
fn encoder_loss_hint_follows_the_peers_reports() {
    let (mut a, mut b) = connected_pair(CodecKind::Opus);
    for side in [&mut a, &mut b] {
        side.session.set_rtcp_interval(Duration::from_millis(200));
    }
    run_ticks(&mut a, &mut b, 60, Instant::now(), &lossless, &no_jitter);
    assert!(
        a.session.quality().rtt_ms.is_some(),
        "reports were exchanged"
    );
    assert_eq!(
        (a.session.encoder_loss_hint(), b.session.encoder_loss_hint()),
        (0, 0)
    );

    let mut a = Side::new(A_FREQ);
    let mut b = Side::new(B_FREQ);
    let relay = Relay::start(a.session.local_addr(), b.session.local_addr(), 5);
    a.session
        .configure(config(relay.a_remote, CodecKind::Opus))
        .unwrap();
    b.session
        .configure(config(relay.b_remote, CodecKind::Opus))
        .unwrap();
    for side in [&mut a, &mut b] {
        side.session.set_rtcp_interval(Duration::from_millis(200));
    }
    let delivered = |a_sent: u64, b_sent: u64| (b_sent - b_sent / 5, a_sent - a_sent / 5);
    run_ticks(&mut a, &mut b, 60, Instant::now(), &delivered, &no_jitter);
    for side in [&a, &b] {
        let hint = side.session.encoder_loss_hint();
        assert!((15..=25).contains(&hint), "20 % loss, hint {hint}");
    }
}

/// A peer that did not negotiate `a=rtcp-mux` gets RTP on its RTP port and RTCP on the next
/// port up (issue 10 bug 6: baresip logged "drop incoming RTCP packet on RTP port"); with
/// rtcp-mux both go to the one port. Real UDP sockets on consecutive ports.
#[test]
fn rtcp_goes_to_rtp_port_plus_one_unless_rtcp_mux_was_negotiated() {
    // Two sockets on consecutive ports (retry: the next port may be taken).
    let (rtp, rtcp) = (0..50)
        .find_map(|_| {
            let rtp = UdpSocket::bind((crate::common::LOCALHOST, 0)).ok()?;
            let port = rtp.local_addr().ok()?.port().checked_add(1)?;
            let rtcp = UdpSocket::bind((crate::common::LOCALHOST, port)).ok()?;
            Some((rtp, rtcp))
        })
        .expect("two consecutive ports");
    for s in [&rtp, &rtcp] {
        s.set_nonblocking(true).unwrap();
    }
    let kinds = |s: &UdpSocket| {
        let mut buf = [0u8; 2048];
        let (mut rtp_n, mut rtcp_n) = (0, 0);
        while let Ok(n) = s.recv(&mut buf) {
            if agentphone_media::rtp::is_rtcp(&buf[..n]) {
                rtcp_n += 1;
            } else {
                rtp_n += 1;
            }
        }
        (rtp_n, rtcp_n)
    };
    for mux in [false, true] {
        let mut side = Side::new(A_FREQ);
        let mut cfg = config(rtp.local_addr().unwrap(), CodecKind::Pcmu);
        cfg.rtcp_mux = mux;
        side.session.configure(cfg).unwrap();
        side.session.set_rtcp_interval(Duration::from_millis(20));
        let start = Instant::now();
        let mut frame = [0i16; FRAME];
        for t in 0..10u64 {
            side.session.send_frame(&frame).unwrap();
            side.session
                .maybe_send_rtcp(start + Duration::from_millis(25 * t));
            frame[0] = frame[0].wrapping_add(1);
        }
        // Loopback delivery before counting exactly what reached each port (a count, not an event).
        std::thread::sleep(Duration::from_millis(20));
        let (on_rtp, on_rtcp) = (kinds(&rtp), kinds(&rtcp));
        if mux {
            assert_eq!(on_rtp.0, 10, "RTP on the RTP port");
            assert!(on_rtp.1 > 0, "rtcp-mux: RTCP with the RTP {on_rtp:?}");
            assert_eq!(on_rtcp, (0, 0), "rtcp-mux: nothing on port + 1");
        } else {
            assert_eq!(on_rtp, (10, 0), "no rtcp-mux: only RTP on the RTP port");
            assert!(
                on_rtcp.1 > 0 && on_rtcp.0 == 0,
                "RTCP on port + 1: {on_rtcp:?}"
            );
        }
    }
}

/// Two sessions with SDES keys; with `b_has_wrong_key` B decrypts with a key A does not use.
fn srtp_pair(b_has_wrong_key: bool) -> (Side, Side) {
    use agentphone_media::srtp::{SrtpKey, SrtpKeys};
    let (ka, kb) = (SrtpKey::generate(), SrtpKey::generate());
    let mut a = Side::new(A_FREQ);
    let mut b = Side::new(B_FREQ);
    let (aa, ba) = (a.session.local_addr(), b.session.local_addr());
    let mut ca = config(ba, CodecKind::Pcmu);
    ca.srtp = Some(SrtpKeys {
        local: ka,
        remote: kb,
    });
    let mut cb = config(aa, CodecKind::Pcmu);
    cb.srtp = Some(SrtpKeys {
        local: kb,
        remote: if b_has_wrong_key {
            SrtpKey::generate()
        } else {
            ka
        },
    });
    a.session.configure(ca).unwrap();
    b.session.configure(cb).unwrap();
    assert!(a.session.is_srtp() && b.session.is_srtp());
    (a, b)
}

#[test]
fn srtp_tones_cross_and_a_wrong_key_hears_nothing() {
    let (mut a, mut b) = srtp_pair(false);
    run_ticks(&mut a, &mut b, 100, Instant::now(), &lossless, &no_jitter);
    assert_tones_crossed(&a, &b, 10);

    let (mut a, mut b) = srtp_pair(true);
    // Few ticks: each waits (up to 200 ms) for B's packets that never authenticate.
    run_ticks(&mut a, &mut b, 15, Instant::now(), &lossless, &no_jitter);
    assert_eq!(
        b.session.quality().packets_received,
        0,
        "nothing authenticates"
    );
    assert_eq!(b.count(FrameStatus::Audio), 0);
    assert!(
        a.session.quality().packets_received > 10,
        "B's own stream still reaches A"
    );
}
