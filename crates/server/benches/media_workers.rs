//! Rooms spread over media workers: the same 48 three-party Opus rooms (every leg encoding music
//! on hold, plus the N-1 mix) ticked once by 1 worker, then sharded by room id over one worker per
//! core, each worker on its own thread. Rooms per 20 ms = 48 × 20 ms / the time of one tick; the
//! ratio of the two figures is the scaling (thread spawn per iteration included).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_protocol::ids::RoomId;
use agentphone_server::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use agentphone_server::media_engine::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use agentphone_server::media_engine::{default_workers, shard_of, LegMode};
use criterion::{criterion_group, criterion_main, Criterion};

const ROOMS: u64 = 48;
const LEGS: usize = 3;

/// A room whose legs all hear music on hold, with the sockets they send to.
fn room() -> Option<(MediaRoom, Vec<UdpSocket>)> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(LEGS, Duration::from_secs(3600), events);
    let mut sinks = Vec::new();
    for i in 0..LEGS {
        let sink = UdpSocket::bind((ip, 0)).ok()?;
        sink.set_nonblocking(true).ok()?;
        let mut session = RtpSession::bind(ip).ok()?;
        session
            .configure(SessionConfig {
                remote: sink.local_addr().ok()?,
                codec: CodecKind::Opus,
                pt: 111,
                telephone_event_pt: Some(101),
                rtcp_mux: true,
                srtp: None,
            })
            .ok()?;
        room.add_leg(MediaLeg::new(
            i as u32,
            session,
            LegMode::Held,
            false,
            Instant::now(),
        ));
        sinks.push(sink);
    }
    Some((room, sinks))
}

type Shard = Vec<(MediaRoom, Vec<UdpSocket>)>;

fn shards(workers: usize) -> Vec<Shard> {
    let mut shards: Vec<Shard> = (0..workers).map(|_| Vec::new()).collect();
    for id in 0..ROOMS {
        if let (Some(r), Some(shard)) = (room(), shards.get_mut(shard_of(RoomId(id), workers))) {
            shard.push(r);
        }
    }
    shards
}

fn tick_shard(shard: &mut Shard, sources: &Sources) {
    let mut buf = [0u8; 2048];
    let now = Instant::now();
    for (room, sinks) in shard.iter_mut() {
        tick_room(room, sources, now);
        for s in sinks.iter() {
            while s.recv(&mut buf).is_ok() {}
        }
    }
}

fn bench(c: &mut Criterion) {
    let sources = Sources {
        music_on_hold: LoopedAudio::new(fallback_music()),
        ringback: LoopedAudio::new(fallback_ringback()),
    };
    let mut group = c.benchmark_group("media_workers_48_rooms_x3");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let mut counts = vec![1];
    if default_workers() > 1 {
        counts.push(default_workers());
    }
    for workers in counts {
        let mut all = shards(workers);
        group.bench_function(format!("{workers}_workers"), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for shard in all.iter_mut() {
                        let sources = &sources;
                        s.spawn(move || tick_shard(shard, sources));
                    }
                });
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
