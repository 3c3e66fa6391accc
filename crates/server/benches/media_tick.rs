//! The media engine's per-room tick: 3 legs (Opus), each fed a tone by a peer socket, N-1 mix,
//! encode and send. Measures one room's 20 ms of work.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_server::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use agentphone_server::media_engine::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use agentphone_server::media_engine::LegMode;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(3, Duration::from_secs(3600), events);
    // Sinks: where the room's legs send (drained so buffers never fill).
    let sinks: Vec<UdpSocket> = (0..3)
        .filter_map(|_| UdpSocket::bind((ip, 0)).ok())
        .collect();
    for (i, sink) in sinks.iter().enumerate() {
        let _ = sink.set_nonblocking(true);
        let Ok(mut session) = RtpSession::bind(ip) else {
            return;
        };
        let Ok(remote) = sink.local_addr() else {
            return;
        };
        let cfg = SessionConfig {
            remote,
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        };
        if session.configure(cfg).is_err() {
            return;
        }
        room.add_leg(MediaLeg::new(
            i as u32,
            session,
            LegMode::Mixed,
            false,
            Instant::now(),
        ));
    }
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut buf = [0u8; 2048];
    c.bench_function("tick_room 3 legs opus", |b| {
        b.iter(|| {
            tick_room(&mut room, &mut sources, Instant::now());
            for s in &sinks {
                while s.recv(&mut buf).is_ok() {}
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
