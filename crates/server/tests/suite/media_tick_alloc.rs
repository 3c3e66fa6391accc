//! The media engine's per-room tick allocates nothing in steady state: three legs (Opus, PCMU,
//! PCMA) fed by peer sessions, mixing, then — switch tick (crossfades) included — one leg on hold
//! (music), one listen-only, one hearing ringback.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME};
use agentphone_server::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use agentphone_server::media_engine::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use agentphone_server::media_engine::{LegMode, MediaEventKind};
use agentphone_testkit::alloc::{assert_installed, set_counting, take_count};
/// One 20 ms step: every phone sends a frame of its tone, the room ticks, every phone receives
/// and plays a frame and maybe reports (RTCP).
fn phones_and_tick(
    room: &mut MediaRoom,
    sources: &mut Sources,
    phones: &mut [(RtpSession, ToneGenerator)],
    digits: &mut Vec<char>,
) {
    let (mut frame, mut heard): (Frame, Frame) = ([0; FRAME], [0; FRAME]);
    let now = Instant::now();
    for (phone, tone) in phones.iter_mut() {
        tone.fill(&mut frame);
        let _ = phone.send_frame(&frame);
    }
    tick_room(room, sources, now);
    for (phone, _) in phones.iter_mut() {
        digits.clear();
        phone.poll_receive(now, digits);
        phone.next_frame(&mut heard);
        phone.maybe_send_rtcp(now);
    }
}

#[test]
fn room_tick_allocates_nothing_in_steady_state() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(3, Duration::from_secs(3600), events);
    let mut phones = Vec::new();
    for (i, codec) in [CodecKind::Opus, CodecKind::Pcmu, CodecKind::Pcma]
        .into_iter()
        .enumerate()
    {
        let mut leg = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let mut phone = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let cfg = |remote| SessionConfig {
            remote,
            codec,
            pt: codec.default_pt(),
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        };
        leg.configure(cfg(phone.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        phone
            .configure(cfg(leg.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(room.add_leg(MediaLeg::new(
            i as u32,
            leg,
            LegMode::Mixed,
            true,
            Instant::now()
        )));
        phones.push((phone, ToneGenerator::new(300.0 + 400.0 * i as f32, -12.0)));
    }
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut digits = Vec::with_capacity(16);
    let mut run = |room: &mut MediaRoom, ticks: usize, count: bool| {
        let mut next = Instant::now();
        for _ in 0..ticks {
            set_counting(count);
            phones_and_tick(room, &mut sources, &mut phones, &mut digits);
            set_counting(false);
            next += Duration::from_millis(20);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                // Real-time pacing of the 20 ms media tick, not a settle.
                std::thread::sleep(wait);
            }
        }
    };
    run(&mut room, 60, false); // warm-up: jitter buffers fill, sockets latch
    assert_installed();
    run(&mut room, 100, true);
    let mixing = take_count();
    for leg in room.legs.iter_mut() {
        leg.mode = match leg.id {
            0 => LegMode::Held,
            1 => LegMode::ListenOnly,
            _ => LegMode::Ringback,
        };
    }
    // Counted from the switch on: the crossfade tick allocates nothing either.
    run(&mut room, 100, true);
    let holding = take_count();
    assert_eq!(
        (mixing, holding),
        (0, 0),
        "allocations while mixing / holding"
    );
    // All legs send: no RTP timeout, no DTMF; only level reports (each tone is loud).
    let mut levels = 0;
    while let Ok(ev) = events_rx.try_recv() {
        match ev.kind {
            MediaEventKind::Level(_) => levels += 1,
            other => panic!("unexpected media event {other:?}"),
        }
    }
    assert!(levels >= 3, "every sending leg reports its level");
}

/// A two-party Opus room relays (no transcoding) and allocates nothing doing it, nor when a
/// hold switches it to mixing and the resume back to relaying.
#[test]
fn relayed_room_allocates_nothing_in_steady_state_or_switching() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _events_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(2, Duration::from_secs(3600), events);
    let mut phones = Vec::new();
    for i in 0..2u32 {
        let mut leg = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let mut phone = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let cfg = |remote| SessionConfig {
            remote,
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        };
        leg.configure(cfg(phone.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        phone
            .configure(cfg(leg.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(room.add_leg(MediaLeg::new(i, leg, LegMode::Mixed, true, Instant::now())));
        phones.push((phone, ToneGenerator::new(400.0 + 300.0 * i as f32, -12.0)));
    }
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut digits = Vec::with_capacity(16);
    let mut run = |room: &mut MediaRoom, ticks: usize, hold_at: Option<usize>| {
        let mut next = Instant::now();
        for t in 0..ticks {
            if Some(t) == hold_at {
                room.legs[0].mode = LegMode::Held;
            }
            if hold_at.is_some_and(|h| t == h + 20) {
                room.legs[0].mode = LegMode::Mixed;
            }
            set_counting(true);
            phones_and_tick(room, &mut sources, &mut phones, &mut digits);
            set_counting(false);
            next += Duration::from_millis(20);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                // Real-time pacing of the 20 ms media tick, not a settle.
                std::thread::sleep(wait);
            }
        }
    };
    run(&mut room, 30, None); // warm-up
    assert!(room.is_relaying(), "two Opus parties relay");
    take_count();
    assert_installed();
    run(&mut room, 100, None);
    let relaying = take_count();
    run(&mut room, 100, Some(20)); // hold at 20, resume at 40
    let switching = take_count();
    assert!(room.is_relaying(), "relaying again after the resume");
    assert_eq!(
        (relaying, switching),
        (0, 0),
        "allocations while relaying / switching"
    );
}

/// Two talking Opus parties and two listen-only legs (a supervisor and a trainee) that share
/// one encode: nothing allocates while they share, nor when the trainee starts talking (it
/// leaves the shared encode, its own encoder primed) and stops again.
#[test]
fn shared_encode_allocates_nothing() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _events_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(4, Duration::from_secs(3600), events);
    let mut phones = Vec::new();
    for i in 0..4u32 {
        let mut leg = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let mut phone = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
        let cfg = |remote| SessionConfig {
            remote,
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        };
        leg.configure(cfg(phone.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        phone
            .configure(cfg(leg.local_addr()))
            .unwrap_or_else(|e| panic!("{e}"));
        let mode = if i < 2 {
            LegMode::Mixed
        } else {
            LegMode::ListenOnly
        };
        assert!(room.add_leg(MediaLeg::new(i, leg, mode, false, Instant::now())));
        phones.push((phone, ToneGenerator::new(400.0 + 300.0 * i as f32, -12.0)));
    }
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut digits = Vec::with_capacity(16);
    let mut run = |room: &mut MediaRoom, ticks: usize, trainee: LegMode| {
        if let Some(l) = room.leg_mut(3) {
            l.set_mode(trainee);
        }
        let mut next = Instant::now();
        for _ in 0..ticks {
            set_counting(true);
            phones_and_tick(room, &mut sources, &mut phones, &mut digits);
            set_counting(false);
            next += Duration::from_millis(20);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                // Real-time pacing of the 20 ms media tick, not a settle.
                std::thread::sleep(wait);
            }
        }
    };
    run(&mut room, 30, LegMode::ListenOnly); // warm-up
    take_count();
    assert_installed();
    run(&mut room, 50, LegMode::ListenOnly);
    run(&mut room, 50, LegMode::Mixed);
    run(&mut room, 50, LegMode::ListenOnly);
    assert_eq!(take_count(), 0, "allocations sharing / leaving / rejoining");
}
