//! Hot paths allocate nothing in steady state: a running RtpSession's 20 ms tick (send,
//! receive, playout, RTCP, DTMF), receiving packets longer than a frame with losses, and the
//! general resampler.

use agentphone_media::codec::CodecKind;
use agentphone_media::resample::Resampler;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME};
use agentphone_testkit::alloc::{assert_installed, set_counting, take_count};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
fn pair(codec: CodecKind) -> (RtpSession, RtpSession) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut a = RtpSession::bind(ip).unwrap();
    let mut b = RtpSession::bind(ip).unwrap();
    let cfg = |remote| SessionConfig {
        remote,
        codec,
        pt: codec.default_pt(),
        telephone_event_pt: Some(101),
        rtcp_mux: true,
        srtp: None,
    };
    a.configure(cfg(b.local_addr())).unwrap();
    b.configure(cfg(a.local_addr())).unwrap();
    a.set_rtcp_interval(Duration::from_millis(100));
    b.set_rtcp_interval(Duration::from_millis(100));
    (a, b)
}

fn tick_allocations(codec: CodecKind) -> (usize, u64) {
    let (mut a, mut b) = pair(codec);
    let mut gen = ToneGenerator::new(500.0, -10.0);
    let mut frame: Frame = [0; FRAME];
    let mut out: Frame = [0; FRAME];
    let mut digits = Vec::with_capacity(64);
    let start = Instant::now();
    let mut tick = |i: u64, a: &mut RtpSession, b: &mut RtpSession, digits: &mut Vec<char>| {
        let now = start + Duration::from_millis(20 * i);
        gen.fill(&mut frame);
        a.send_frame(&frame).unwrap();
        b.send_frame(&frame).unwrap();
        // Pacing of the simulated 20 ms tick (loopback delivery within it), not a settle.
        std::thread::sleep(Duration::from_millis(1));
        a.poll_receive(now, digits);
        b.poll_receive(now, digits);
        a.next_frame(&mut out);
        b.next_frame(&mut out);
        a.maybe_send_rtcp(now);
        b.maybe_send_rtcp(now);
    };
    // Warm up (first packets, first reports), then count.
    for i in 0..50 {
        tick(i, &mut a, &mut b, &mut digits);
    }
    assert_installed();
    set_counting(true);
    a.send_dtmf('5').unwrap();
    for i in 50..150 {
        tick(i, &mut a, &mut b, &mut digits);
    }
    set_counting(false);
    (take_count(), b.quality().packets_received)
}

#[test]
fn opus_session_tick_allocates_nothing() {
    let (allocs, received) = tick_allocations(CodecKind::Opus);
    assert_eq!(allocs, 0);
    assert!(received > 100);
}

#[test]
fn pcmu_session_tick_allocates_nothing() {
    let (allocs, received) = tick_allocations(CodecKind::Pcmu);
    assert_eq!(allocs, 0);
    assert!(received > 100);
}

/// Receiving packets longer than a frame, with losses: decoding into the PCM FIFO, FEC/PLC
/// for the gaps and draining one frame per tick allocate nothing. Returns (allocations,
/// frames of audio played).
fn long_packet_receive_allocations(codec: CodecKind, ptime_ms: u32) -> (usize, usize) {
    use agentphone_media::rtp::{self, RtpHeader};
    use agentphone_media::session::FrameStatus;
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut session = RtpSession::bind(ip).unwrap();
    let sender = std::net::UdpSocket::bind((ip, 0)).unwrap();
    session
        .configure(SessionConfig {
            remote: sender.local_addr().unwrap(),
            codec,
            pt: codec.default_pt(),
            telephone_event_pt: None,
            rtcp_mux: true,
            srtp: None,
        })
        .unwrap();
    // The payloads, made before counting.
    let samples = ptime_ms as usize * 48;
    let mut gen = ToneGenerator::new(500.0, -10.0);
    let mut pcm = vec![0i16; samples * 100];
    for f in pcm.chunks_mut(FRAME) {
        let mut frame: Frame = [0; FRAME];
        gen.fill(&mut frame);
        f.copy_from_slice(&frame[..f.len()]);
    }
    let payloads: Vec<Vec<u8>> = match codec {
        CodecKind::Opus => {
            let mut enc =
                opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
            enc.set_inband_fec(true).unwrap();
            enc.set_packet_loss_perc(10).unwrap();
            pcm.chunks(samples)
                .map(|c| {
                    let mut b = [0u8; 1500];
                    let n = enc.encode(c, &mut b).unwrap();
                    b[..n].to_vec()
                })
                .collect()
        }
        _ => pcm
            .chunks(samples)
            .map(|c| {
                let narrow: Vec<i16> = c.iter().step_by(6).copied().collect();
                let mut b = vec![0u8; narrow.len()];
                agentphone_media::g711::encode(agentphone_media::g711::Law::A, &narrow, &mut b);
                b
            })
            .collect(),
    };
    let step = ptime_ms * codec.clock() / 1000;
    let mut datagram = [0u8; 1600];
    let mut out: Frame = [0; FRAME];
    let mut digits = Vec::with_capacity(8);
    let mut audio = 0;
    let start = Instant::now();
    let mut sent = 0usize;
    for tick in 0..(100 * ptime_ms as usize / 20) {
        if tick == 40 {
            assert_installed();
            set_counting(true);
        }
        let t_ms = tick as u32 * 20;
        while sent < payloads.len() && (sent as u32 + 1) * ptime_ms <= t_ms {
            // Every 7th packet is lost.
            if sent % 7 != 3 {
                let h = RtpHeader {
                    marker: false,
                    pt: codec.default_pt(),
                    seq: sent as u16,
                    ts: sent as u32 * step,
                    ssrc: 9,
                };
                let n = rtp::write(&h, &payloads[sent], &mut datagram);
                sender
                    .send_to(&datagram[..n], session.local_addr())
                    .unwrap();
            }
            sent += 1;
        }
        // Pacing of the simulated 20 ms tick (loopback delivery within it), not a settle.
        std::thread::sleep(Duration::from_millis(1));
        session.poll_receive(start + Duration::from_millis(u64::from(t_ms)), &mut digits);
        if session.next_frame(&mut out) == FrameStatus::Audio {
            audio += 1;
        }
    }
    set_counting(false);
    (take_count(), audio)
}

#[test]
fn pcma_30ms_packets_with_loss_allocate_nothing() {
    let (allocs, audio) = long_packet_receive_allocations(CodecKind::Pcma, 30);
    assert_eq!(allocs, 0);
    assert!(audio > 100, "{audio}");
}

#[test]
fn opus_60ms_packets_with_loss_allocate_nothing() {
    let (allocs, audio) = long_packet_receive_allocations(CodecKind::Opus, 60);
    assert_eq!(allocs, 0);
    assert!(audio > 150, "{audio}");
}

#[test]
fn resampler_steady_state_allocates_nothing() {
    let mut r = Resampler::new(44_100, 48_000).unwrap();
    let input = [1000i16; 441];
    let mut out: Vec<i16> = Vec::with_capacity(2048);
    // Warm up: the internal buffer reaches its working size.
    for _ in 0..10 {
        r.process(&input, &mut out);
        out.clear();
    }
    assert_installed();
    set_counting(true);
    let mut produced = 0;
    for _ in 0..1000 {
        r.process(&input, &mut out);
        produced += out.len();
        out.clear();
    }
    set_counting(false);
    assert_eq!(take_count(), 0);
    assert!((produced as i64 - 480_000).abs() < 100, "{produced}");
}
