//! Rooms spread over media workers: the same 48 three-party Opus rooms (every leg encoding music
//! on hold, plus the N-1 mix) ticked once by 1 worker, then sharded by room id over one worker per
//! core. As in the engine, workers are persistent threads, each owning its shard: an iteration
//! releases them all for one tick and waits until the last is done (two barrier waits, no
//! thread spawn). Rooms per 20 ms = 48 × 20 ms / the time of one tick; the ratio of the two
//! figures is the scaling, printed at the end. Measure on an otherwise quiet machine: any other
//! process on a core lowers the ratio, not the single-worker figure.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
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

fn tick_shard(shard: &mut Shard, sources: &mut Sources) {
    let mut buf = [0u8; 2048];
    let now = Instant::now();
    for (room, sinks) in shard.iter_mut() {
        tick_room(room, sources, now);
        for s in sinks.iter() {
            while s.recv(&mut buf).is_ok() {}
        }
    }
}

/// Persistent worker threads, each ticking its own shard once per release.
struct Workers {
    start: Arc<Barrier>,
    done: Arc<Barrier>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    fn spawn(shards: Vec<Shard>, sources: &Sources) -> Workers {
        let n = shards.len();
        let start = Arc::new(Barrier::new(n + 1));
        let done = Arc::new(Barrier::new(n + 1));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = shards
            .into_iter()
            .map(|mut shard| {
                let (start, done, stop) = (start.clone(), done.clone(), stop.clone());
                let mut sources = sources.clone();
                std::thread::spawn(move || loop {
                    start.wait();
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    tick_shard(&mut shard, &mut sources);
                    done.wait();
                })
            })
            .collect();
        Workers {
            start,
            done,
            stop,
            threads,
        }
    }

    /// One tick of every shard, in parallel; returns when all are done.
    fn tick(&self) {
        self.start.wait();
        self.done.wait();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.start.wait();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Mean tick time (µs) per worker count.
static MEANS: Mutex<Vec<(usize, Duration, u64)>> = Mutex::new(Vec::new());

fn bench(c: &mut Criterion) {
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    // Every leg encodes its music alone: this bench measures encode work spread over workers.
    sources.set_shared_music(false);
    let mut group = c.benchmark_group("media_workers_48_rooms_x3");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let mut counts = vec![1];
    if default_workers() > 1 {
        counts.push(default_workers());
    }
    for workers in counts {
        let pool = Workers::spawn(shards(workers), &sources);
        group.bench_function(format!("{workers}_workers"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    pool.tick();
                }
                let t = start.elapsed();
                if let Ok(mut m) = MEANS.lock() {
                    m.push((workers, t, iters));
                }
                t
            })
        });
    }
    group.finish();
}

fn summary(_: &mut Criterion) {
    let Ok(m) = MEANS.lock() else {
        return;
    };
    let rooms_per_tick = |workers: usize| {
        let (t, n) = m
            .iter()
            .filter(|(w, _, _)| *w == workers)
            .fold((Duration::ZERO, 0u64), |(t, n), (_, dt, dn)| {
                (t + *dt, n + dn)
            });
        ROOMS as f64 * 20_000.0 / (t.as_secs_f64() * 1e6 / n.max(1) as f64)
    };
    let one = rooms_per_tick(1);
    println!("\n== media workers summary (same run) ==");
    println!("1 worker: {one:.0} three-party rooms per 20 ms");
    let n = default_workers();
    if n > 1 {
        let many = rooms_per_tick(n);
        println!(
            "{n} workers: {many:.0} three-party rooms per 20 ms = {:.2}× one worker",
            many / one
        );
    }
}

criterion_group!(benches, bench, summary);
criterion_main!(benches);
