//! Relay vs transcoding, and mixing vs the bare codec, measured in the same run (issue 9):
//!
//! - two-party Opus calls: the room tick relaying (payload forwarding; relayed audio decoded
//!   for the speaking level as by default — the windows after a change in the payloads and a
//!   refresh every 5–20 s —, in every window, or never) and transcoding (decode, mix, encode); both
//!   parties send a steady tone, and again both real speech (`assets/customer-speech.wav`),
//!   whose payload sizes move;
//!   calls per core = calls × 20 ms / time of one tick of all of them; the relay is measured
//!   twice: the tick alone reading the sockets, and as a media worker runs it (`RelayArrivals`:
//!   one epoll wait forwards what has arrived, the relayed ticks then read nothing);
//! - three-party Opus rooms: the mixing tick vs the bare libopus bound for the same work
//!   (decode one packet and encode one frame per participant, no sockets, no mixing);
//! - four-party Opus rooms where two talk and two listen (a supervisor and a trainee): the two
//!   listeners hear the same frame and share one encode, against the same rooms encoding for
//!   every leg;
//! - queued callers on music on hold (one leg per room, G.711 and Opus): the worker's music
//!   broadcast encoded once for G.711, against every leg encoding (and resampling) it alone
//!   (Opus legs encode it alone either way, `tick/music.rs`: the Opus row is the control, ≈ 1×).
//!
//! The ratios that carry a target (relay ≥ 20× transcoding, mixing ≥ 90 % of the libopus bound)
//! and the music figures are measured interleaved (`support/interleave.rs`: A B A B … rounds,
//! medians), which holds on a machine shared with builds; the criterion groups give the
//! absolute figures and criterion's reports.
//!
//! Only the server's work is timed: the phones' sending and draining happen outside the timed
//! span (criterion `iter_custom`). Times are the bench thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, kernel time of its sends and receives included), so other
//! processes on the 2-core machine shared with builds do not count; cache pollution by them
//! still does, so each ratio is taken from the same run. Ratios are printed at the end.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use agentphone_media::codec::{CodecKind, Decoder, Encoder};
use agentphone_media::rtcp::{self, ReportBlock};
use agentphone_media::rtp::{self, RtpHeader};
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::FRAME;
use agentphone_protocol::ids::RoomId;
use agentphone_server::media_engine::arrivals::RelayArrivals;
use agentphone_server::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use agentphone_server::media_engine::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use agentphone_server::media_engine::LegMode;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};

#[path = "support/interleave.rs"]
mod interleave;
use interleave::{
    cpu_now, interleave, median, paired_ratio, ratio_quartiles, rounds_and_ticks, Subject,
};

const CALLS: usize = 24;
/// Calls of the worker-path relay: a worker near capacity, where its per-tick costs (arming the
/// timer, the wake-up at the deadline, its maps) are shared by many calls.
const WORKER_CALLS: usize = 240;
const ROOMS3: usize = 16;
/// Pre-encoded packets the phones cycle through.
const PACKETS: usize = 50;
const TWO_PARTY: &str = "two_party_opus_calls_x24";
const THREE_PARTY: &str = "three_party_opus_rooms_x16";
const FOUR_PARTY: &str = "four_party_two_listening_rooms_x16";
/// Queued callers (one room each) on music on hold.
const QUEUED: usize = 100;
/// Rounds and ticks per round of the interleaved comparisons.
const ROUNDS: usize = 21;
const ROUND_TICKS: u64 = 25;

/// When this bench process started (set by the first group).
static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Criterion's mean estimate (µs) of `group/name` in this run (its `estimates.json`, written
/// when the function's measurement ends); NaN when it did not run (filtered out).
fn mean_us(group: &str, name: &str) -> f64 {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // target/release/deps/<bench>
            let exe = std::env::current_exe().ok()?;
            exe.ancestors().nth(3).map(Path::to_path_buf)
        });
    let Some(path) = target.map(|t| {
        t.join("criterion")
            .join(group)
            .join(name)
            .join("new/estimates.json")
    }) else {
        return f64::NAN;
    };
    // Only this run's figures: a function filtered out leaves the last run's file behind.
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= *STARTED.get_or_init(SystemTime::now));
    if !fresh {
        return f64::NAN;
    }
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["mean"]["point_estimate"].as_f64())
        .map_or(f64::NAN, |ns| ns / 1000.0)
}

/// Opus packets of a tone, as a phone would send them.
fn packets(freq: f32) -> Vec<Vec<u8>> {
    let mut tone = ToneGenerator::new(freq, -12.0);
    let Ok(mut enc) = Encoder::new(CodecKind::Opus) else {
        return Vec::new();
    };
    let mut pcm = [0i16; FRAME];
    let mut buf = [0u8; 1500];
    (0..PACKETS)
        .filter_map(|_| {
            tone.fill(&mut pcm);
            let n = enc.encode(&pcm, &mut buf).ok()?;
            Some(buf[..n].to_vec())
        })
        .collect()
}

/// Opus packets of the recorded customer (looped), as a phone would send them; a tone when
/// the recording is missing.
fn speech_packets() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/customer-speech.wav");
    let Ok(speech) = agentphone_media::wav::read_mono_48k(&path) else {
        return packets(700.0);
    };
    let Ok(mut enc) = Encoder::new(CodecKind::Opus) else {
        return Vec::new();
    };
    let _ = enc.set_loss_hint(0);
    let mut buf = [0u8; 1500];
    speech
        .chunks_exact(FRAME)
        .filter_map(|chunk| {
            let pcm: &[i16; FRAME] = chunk.try_into().ok()?;
            let n = enc.encode(pcm, &mut buf).ok()?;
            Some(buf[..n].to_vec())
        })
        .collect()
}

/// A phone: its socket, where its leg listens, and its stream position.
struct Phone {
    socket: UdpSocket,
    leg: SocketAddr,
    seq: u16,
    /// Listen-only phones send nothing.
    talks: bool,
}

impl Phone {
    fn send(&mut self, packets: &[Vec<u8>]) {
        if !self.talks {
            return;
        }
        let Some(p) = packets.get(usize::from(self.seq) % packets.len().max(1)) else {
            return;
        };
        let h = RtpHeader {
            marker: false,
            pt: 111,
            seq: self.seq,
            ts: u32::from(self.seq).wrapping_mul(960),
            ssrc: 7,
        };
        let mut buf = [0u8; 1600];
        let n = rtp::write(&h, p, &mut buf);
        let _ = self.socket.send_to(&buf[..n], self.leg);
        self.seq = self.seq.wrapping_add(1);
    }

    fn drain(&self) {
        let mut buf = [0u8; 2048];
        while self.socket.recv(&mut buf).is_ok() {}
    }
}

/// A room of `legs` Opus legs that all talk, each with its phone.
fn room(legs: usize) -> Option<(MediaRoom, Vec<Phone>)> {
    room_of(&vec![LegMode::Mixed; legs], CodecKind::Opus)
}

/// A room of legs on `codec` in these modes, each with its phone (a phone sends Opus, and only
/// while its leg is heard: a listen-only or held one sends nothing).
fn room_of(modes: &[LegMode], codec: CodecKind) -> Option<(MediaRoom, Vec<Phone>)> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(modes.len(), Duration::from_secs(3600), events);
    let mut phones = Vec::new();
    for (i, &mode) in modes.iter().enumerate() {
        let socket = UdpSocket::bind((ip, 0)).ok()?;
        socket.set_nonblocking(true).ok()?;
        let mut session = RtpSession::bind(ip).ok()?;
        session
            .configure(SessionConfig {
                remote: socket.local_addr().ok()?,
                codec,
                pt: codec.default_pt(),
                telephone_event_pt: Some(101),
                rtcp_mux: true,
                srtp: None,
            })
            .ok()?;
        let leg = session.local_addr();
        // The phone's first receiver report: a clean path, so the leg's encoder leaves the
        // start-of-stream loss hint (FEC at 64 kb/s) for 48 kb/s without FEC — the settings of
        // the bound's encoders below.
        let mut rr = [0u8; 128];
        let n = rtcp::write_rr(0x7, &[ReportBlock::loss_only(session.ssrc(), 0)], &mut rr);
        socket.send_to(rr.get(..n)?, leg).ok()?;
        room.add_leg(MediaLeg::new(
            i as u32,
            session,
            mode,
            false,
            Instant::now(),
        ));
        phones.push(Phone {
            socket,
            leg,
            seq: 0,
            talks: mode == LegMode::Mixed,
        });
    }
    Some((room, phones))
}

type Rooms = Vec<(MediaRoom, Vec<Phone>)>;

/// Time `iters` ticks of every room (the phones send before and drain after each, untimed).
fn timed_ticks(
    rooms: &mut Rooms,
    sources: &mut Sources,
    media: &[Vec<u8>],
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        for (_, phones) in rooms.iter_mut() {
            phones.iter_mut().for_each(|p| p.send(media));
        }
        let (now, start) = (Instant::now(), cpu_now());
        for (room, _) in rooms.iter_mut() {
            tick_room(room, sources, now);
        }
        total += cpu_now().saturating_sub(start);
        for (_, phones) in rooms.iter() {
            phones.iter().for_each(Phone::drain);
        }
    }
    total
}

/// Two-party relayed calls as a media worker holds them: the rooms by id, their phones, and the
/// worker's arrival wait.
struct WorkerCalls {
    rooms: std::collections::HashMap<RoomId, MediaRoom>,
    phones: Vec<Vec<Phone>>,
    arrivals: RelayArrivals,
}

impl WorkerCalls {
    fn new(calls: Rooms) -> Self {
        let mut rooms = std::collections::HashMap::new();
        let mut all_phones = Vec::new();
        for (i, (room, phones)) in calls.into_iter().enumerate() {
            rooms.insert(RoomId(i as u64 + 1), room);
            all_phones.push(phones);
        }
        WorkerCalls {
            rooms,
            phones: all_phones,
            arrivals: RelayArrivals::new(),
        }
    }

    /// Time `iters` worker rounds: the phones send (untimed), the arrival wait forwards what
    /// arrived and sleeps to its deadline (200 µs ahead, as a worker arms its timer for the next
    /// tick: a deadline already past makes arming the timer fire it at once, which a worker
    /// does not pay), every room ticks; the phones drain (untimed). All of a tick's packets
    /// are forwarded by one wake-up: the batching of a busy worker (an idle one wakes per
    /// packet).
    fn timed_ticks(&mut self, sources: &mut Sources, media: &[Vec<u8>], iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            for phones in self.phones.iter_mut() {
                phones.iter_mut().for_each(|p| p.send(media));
            }
            let start = cpu_now();
            let deadline = Instant::now() + Duration::from_micros(200);
            self.arrivals.wait_until(deadline, &mut self.rooms);
            let now = Instant::now();
            for (&id, room) in self.rooms.iter_mut() {
                tick_room(room, sources, now);
                self.arrivals.sync(id, room);
            }
            total += cpu_now().saturating_sub(start);
            for phones in self.phones.iter() {
                phones.iter().for_each(Phone::drain);
            }
        }
        total
    }
}

/// Untimed ticks until every jitter buffer is filled and every encoder follows the phones'
/// first reports: the recorded means (the printed ratios) are the steady state's.
fn warm_up(rooms: &mut Rooms, sources: &mut Sources, media: &[Vec<u8>]) {
    timed_ticks(rooms, sources, media, 20);
}

/// Warm `rooms` up, then time their ticks as `name`.
fn bench_rooms(
    group: &mut BenchmarkGroup<WallTime>,
    name: &'static str,
    mut rooms: Rooms,
    sources: &mut Sources,
    media: &[Vec<u8>],
) {
    warm_up(&mut rooms, sources, media);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| timed_ticks(&mut rooms, sources, media, iters))
    });
}

/// A criterion group of this bench: 20 samples, 4 s.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group
}

fn sources() -> Sources {
    Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    )
}

fn two_party(c: &mut Criterion) {
    STARTED.get_or_init(SystemTime::now);
    let mut sources = sources();
    let (tone, speech) = (packets(700.0), speech_packets());
    let mut group = group(c, TWO_PARTY);
    // (name, relay, level windows: None = the default, media)
    for (name, relay, level_every, media) in [
        ("relayed", true, None, &tone),
        ("relayed_decoding_all", true, Some(1), &tone),
        ("relayed_no_decode", true, Some(0), &tone),
        ("transcoded", false, None, &tone),
        ("relayed_speech", true, None, &speech),
        ("transcoded_speech", false, None, &speech),
    ] {
        let rooms = two_party_calls(relay, level_every);
        bench_rooms(&mut group, name, rooms, &mut sources, media);
    }
    group.finish();
}

/// [`CALLS`] two-party Opus calls, relayed or transcoded (`level_every`: see
/// `MediaRoom::set_relay_level_every`; None = the default).
fn two_party_calls(relay: bool, level_every: Option<u32>) -> Rooms {
    two_party_calls_n(CALLS, relay, level_every)
}

/// `n` two-party Opus calls (see [`two_party_calls`]).
fn two_party_calls_n(n: usize, relay: bool, level_every: Option<u32>) -> Rooms {
    let mut rooms: Rooms = (0..n).filter_map(|_| room(2)).collect();
    for (i, (r, phones)) in rooms.iter_mut().enumerate() {
        r.set_relay(relay);
        if let Some(every) = level_every {
            r.set_relay_level_every(every);
        }
        // Calls (and the two sides of one) at different places in the recording.
        for (j, p) in phones.iter_mut().enumerate() {
            p.seq = (97 * i + 499 * j) as u16;
        }
    }
    rooms
}

/// The bare libopus bound of [`ROOMS3`] three-party rooms: per participant, decode one packet
/// and encode one frame (no sockets, no mixing); runs `iters` ticks, returns their CPU time.
fn libopus_bound(media: &[Vec<u8>]) -> impl FnMut(u64) -> Duration + '_ {
    let mut codecs: Vec<(Decoder, Encoder)> = (0..ROOMS3 * 3)
        .filter_map(|_| {
            Some((
                Decoder::new(CodecKind::Opus).ok()?,
                Encoder::new(CodecKind::Opus).ok()?,
            ))
        })
        .collect();
    let (mut pcm, mut out) = ([0i16; FRAME], [0u8; 1500]);
    let mut k = 0usize;
    let mut ticks = move |iters: u64| {
        let start = cpu_now();
        for _ in 0..iters {
            k += 1;
            let Some(packet) = media.get(k % media.len().max(1)) else {
                continue;
            };
            for (dec, enc) in codecs.iter_mut() {
                let _ = dec.decode(packet, &mut pcm);
                let _ = enc.encode(&pcm, &mut out);
            }
        }
        cpu_now().saturating_sub(start)
    };
    // Warmed like the rooms: fresh Opus encoders are slower for their first frames.
    ticks(20);
    ticks
}

/// [`QUEUED`] callers on `codec`, each alone in its room on hold (hearing music on hold).
fn queued_callers(codec: CodecKind) -> Rooms {
    (0..QUEUED)
        .filter_map(|_| room_of(&[LegMode::Held], codec))
        .collect()
}

fn three_party(c: &mut Criterion) {
    let mut sources = sources();
    let media = packets(700.0);
    let mut group = group(c, THREE_PARTY);
    let rooms: Rooms = (0..ROOMS3).filter_map(|_| room(3)).collect();
    bench_rooms(&mut group, "mixed_tick", rooms, &mut sources, &media);
    let mut bound_ticks = libopus_bound(&media);
    group.bench_function("bare_libopus_decode_encode", |b| {
        b.iter_custom(&mut bound_ticks)
    });
    group.finish();
}

fn listeners(c: &mut Criterion) {
    let mut sources = sources();
    let media = packets(700.0);
    let mut group = group(c, FOUR_PARTY);
    let modes = [
        LegMode::Mixed,
        LegMode::Mixed,
        LegMode::ListenOnly,
        LegMode::ListenOnly,
    ];
    for (name, shared) in [("shared_encode", true), ("encode_per_leg", false)] {
        let mut rooms: Rooms = (0..ROOMS3)
            .filter_map(|_| room_of(&modes, CodecKind::Opus))
            .collect();
        for (r, _) in rooms.iter_mut() {
            r.set_shared_encodes(shared);
        }
        bench_rooms(&mut group, name, rooms, &mut sources, &media);
    }
    group.finish();
}

fn summary(_: &mut Criterion) {
    let per_core = |name: &str, n: usize| n as f64 * 20_000.0 / mean_us(TWO_PARTY, name);
    let transcoded = per_core("transcoded", CALLS);
    println!("\n== media relay summary (same run) ==");
    println!("two-party calls per core (steady tones), transcoded: {transcoded:.0}");
    for (name, what) in [
        (
            "relayed",
            "relayed (default: level decoded in windows after a change, refresh 5–20 s)",
        ),
        ("relayed_decoding_all", "relayed, decoding every packet"),
        ("relayed_no_decode", "relayed, never decoding"),
    ] {
        let calls = per_core(name, CALLS);
        println!(
            "two-party calls per core, {what}: {calls:.0} = {:.1}× transcoded",
            calls / transcoded
        );
    }
    let (relayed, transcoded) = (
        per_core("relayed_speech", CALLS),
        per_core("transcoded_speech", CALLS),
    );
    println!(
        "two-party calls per core, both talking real speech: relayed (default) {relayed:.0}, \
         transcoded {transcoded:.0} → {:.1}×",
        relayed / transcoded
    );
    let (mixed, bound) = (
        mean_us(THREE_PARTY, "mixed_tick"),
        mean_us(THREE_PARTY, "bare_libopus_decode_encode"),
    );
    println!(
        "three-party rooms per core: mixed {:.1}, bare libopus bound {:.1} → {:.1} % of the bound",
        ROOMS3 as f64 * 20_000.0 / mixed,
        ROOMS3 as f64 * 20_000.0 / bound,
        100.0 * bound / mixed
    );
    println!("(criterion mean estimates; times are the bench thread's CPU time)");
    let (shared, per_leg) = (
        mean_us(FOUR_PARTY, "shared_encode"),
        mean_us(FOUR_PARTY, "encode_per_leg"),
    );
    println!(
        "four-party rooms (two listening) per core: shared encode {:.0}, encode per leg {:.0} → {:.2}×",
        ROOMS3 as f64 * 20_000.0 / shared,
        ROOMS3 as f64 * 20_000.0 / per_leg,
        per_leg / shared
    );
}

/// `rooms` ticked with `sources` as one side of an interleaved comparison (warmed up first).
fn rooms_subject(mut rooms: Rooms, mut sources: Sources, media: &[Vec<u8>]) -> Subject<'_> {
    warm_up(&mut rooms, &mut sources, media);
    Box::new(move |ticks| timed_ticks(&mut rooms, &mut sources, media, ticks))
}

/// The same-run comparisons, interleaved (see the file's head): the figures the targets and the
/// music on hold are judged by.
fn interleaved(_: &mut Criterion) {
    let (tone, speech) = (packets(700.0), speech_packets());
    let (rounds, round_ticks) = rounds_and_ticks((ROUNDS, ROUND_TICKS));
    println!(
        "\n== interleaved same-run comparisons: {rounds} rounds × {round_ticks} ticks, A B A B …, \
         medians of the bench thread's CPU time per tick; ratio = median of the rounds' ratios \
         [middle half] =="
    );
    let per_core = |n: usize, us: f64| n as f64 * 20_000.0 / us;

    let mut worker = WorkerCalls::new(two_party_calls_n(WORKER_CALLS, true, None));
    let mut worker_sources = sources();
    worker.timed_ticks(&mut worker_sources, &tone, 20);
    let mut subjects: Vec<Subject<'_>> = vec![
        rooms_subject(two_party_calls(true, None), sources(), &tone),
        rooms_subject(two_party_calls(false, None), sources(), &tone),
        rooms_subject(two_party_calls(true, None), sources(), &speech),
        rooms_subject(two_party_calls(false, None), sources(), &speech),
        Box::new(|ticks| worker.timed_ticks(&mut worker_sources, &tone, ticks)),
    ];
    let r = interleave(&mut subjects, rounds, round_ticks);
    drop(subjects);
    if let [relayed, transcoded, relayed_speech, transcoded_speech, worker] = r.as_slice() {
        let (lo, hi) = ratio_quartiles(transcoded, worker);
        let scale = (WORKER_CALLS / CALLS) as f64;
        println!(
            "two-party calls per core (steady tones), relayed as a worker runs it (arrivals on \
             epoll, then the ticks; {WORKER_CALLS} calls): {:.0} → {:.1}× transcoded [{:.1}–{:.1}]",
            per_core(WORKER_CALLS, median(worker)),
            paired_ratio(transcoded, worker) * scale,
            lo * scale,
            hi * scale,
        );
        for (what, relayed, transcoded) in [
            ("steady tones", relayed, transcoded),
            ("real speech", relayed_speech, transcoded_speech),
        ] {
            let (lo, hi) = ratio_quartiles(transcoded, relayed);
            println!(
                "two-party calls per core ({what}): relayed {:.0}, transcoded {:.0} → {:.1}× [{lo:.1}–{hi:.1}] (target ≥ 20×)",
                per_core(CALLS, median(relayed)),
                per_core(CALLS, median(transcoded)),
                paired_ratio(transcoded, relayed),
            );
        }
    }

    let three: Rooms = (0..ROOMS3).filter_map(|_| room(3)).collect();
    let mut subjects: Vec<Subject<'_>> = vec![
        rooms_subject(three, sources(), &tone),
        Box::new(libopus_bound(&tone)),
    ];
    let r = interleave(&mut subjects, rounds, round_ticks);
    drop(subjects);
    if let [mixed, bound] = r.as_slice() {
        let (lo, hi) = ratio_quartiles(bound, mixed);
        println!(
            "three-party rooms per core: mixed {:.1}, bare libopus bound {:.1} → {:.1} % of the bound [{:.1}–{:.1}] (target ≥ 90 %)",
            per_core(ROOMS3, median(mixed)),
            per_core(ROOMS3, median(bound)),
            100.0 * paired_ratio(bound, mixed),
            100.0 * lo,
            100.0 * hi,
        );
    }

    for codec in [CodecKind::Pcmu, CodecKind::Opus] {
        let mut per_leg = sources();
        per_leg.set_shared_music(false);
        let mut subjects: Vec<Subject<'_>> = vec![
            rooms_subject(queued_callers(codec), sources(), &tone),
            rooms_subject(queued_callers(codec), per_leg, &tone),
        ];
        let r = interleave(&mut subjects, rounds, round_ticks);
        drop(subjects);
        if let [shared, alone] = r.as_slice() {
            let (lo, hi) = ratio_quartiles(alone, shared);
            println!(
                "queued callers on music on hold per core ({}): one encode per codec {:.0}, \
                 each leg encoding {:.0} → {:.1}× [{lo:.1}–{hi:.1}]; CPU per queued call {:.1} µs/s vs {:.1} µs/s",
                codec.name(),
                per_core(QUEUED, median(shared)),
                per_core(QUEUED, median(alone)),
                paired_ratio(alone, shared),
                median(shared) * 50.0 / QUEUED as f64,
                median(alone) * 50.0 / QUEUED as f64,
            );
        }
    }
}

criterion_group!(
    benches,
    two_party,
    three_party,
    listeners,
    summary,
    interleaved
);
criterion_main!(benches);
