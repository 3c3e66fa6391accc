//! Media hot paths: one server mixer tick (100 three-party Opus rooms) against a baseline of
//! just the Opus encodes, and the jitter buffer's push/pop.

use agentphone_media::codec::{CodecKind, Decoder, Encoder};
use agentphone_media::jitter::JitterBuffer;
use agentphone_media::mixer::Mixer;
use agentphone_media::rtp::RtpHeader;
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const ROOMS: usize = 100;
const PARTY: usize = 3;
/// Distinct packets per participant, cycled through.
const PACKETS: usize = 50;

struct Room {
    decoders: Vec<Decoder>,
    encoders: Vec<Encoder>,
    mixer: Mixer,
    /// packets[participant][i]
    packets: Vec<Vec<Vec<u8>>>,
    decoded: [Frame; PARTY],
    mixed: [Frame; PARTY],
    out: [u8; 1500],
}

fn rooms() -> Vec<Room> {
    let freqs = [300.0, 700.0, 1100.0];
    (0..ROOMS)
        .map(|_| {
            let packets = freqs
                .iter()
                .map(|&f| {
                    let mut gen = ToneGenerator::new(f, -12.0);
                    let mut enc = Encoder::new(CodecKind::Opus).expect("encoder");
                    let mut frame = [0i16; FRAME];
                    let mut buf = [0u8; 1500];
                    (0..PACKETS)
                        .map(|_| {
                            gen.fill(&mut frame);
                            let n = enc.encode(&frame, &mut buf).expect("encode");
                            buf[..n].to_vec()
                        })
                        .collect()
                })
                .collect();
            Room {
                decoders: (0..PARTY)
                    .map(|_| Decoder::new(CodecKind::Opus).expect("decoder"))
                    .collect(),
                encoders: (0..PARTY)
                    .map(|_| Encoder::new(CodecKind::Opus).expect("encoder"))
                    .collect(),
                mixer: Mixer::new(PARTY),
                packets,
                decoded: [[0; FRAME]; PARTY],
                mixed: [[0; FRAME]; PARTY],
                out: [0; 1500],
            }
        })
        .collect()
}

fn mixer_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("mixer_tick_100_rooms_x3");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    let mut all = rooms();
    let mut tick = 0usize;
    group.bench_function("decode3_mix_encode3", |b| {
        b.iter(|| {
            let i = tick % PACKETS;
            tick += 1;
            for room in all.iter_mut() {
                for p in 0..PARTY {
                    room.decoders[p]
                        .decode(&room.packets[p][i], &mut room.decoded[p])
                        .expect("decode");
                }
                let [d0, d1, d2] = &room.decoded;
                room.mixer.mix(
                    &[Some(d0), Some(d1), Some(d2)],
                    &[true; PARTY],
                    &mut room.mixed,
                );
                for p in 0..PARTY {
                    let n = room.encoders[p]
                        .encode(&room.mixed[p], &mut room.out)
                        .expect("encode");
                    black_box(&room.out[..n]);
                }
            }
        })
    });

    // Baseline: only the 300 Opus encodes of the same (pre-mixed) frames.
    let mut all = rooms();
    for room in all.iter_mut() {
        let mut gen = ToneGenerator::new(500.0, -12.0);
        for m in room.mixed.iter_mut() {
            gen.fill(m);
        }
    }
    group.bench_function("baseline_encode3_only", |b| {
        b.iter(|| {
            for room in all.iter_mut() {
                for p in 0..PARTY {
                    let n = room.encoders[p]
                        .encode(&room.mixed[p], &mut room.out)
                        .expect("encode");
                    black_box(&room.out[..n]);
                }
            }
        })
    });

    // The same encodes at complexity 2 (what a loaded server could trade for CPU).
    for room in all.iter_mut() {
        for e in room.encoders.iter_mut() {
            e.set_complexity(2).expect("complexity");
        }
    }
    group.bench_function("baseline_encode3_only_complexity2", |b| {
        b.iter(|| {
            for room in all.iter_mut() {
                for p in 0..PARTY {
                    let n = room.encoders[p]
                        .encode(&room.mixed[p], &mut room.out)
                        .expect("encode");
                    black_box(&room.out[..n]);
                }
            }
        })
    });

    // Baseline: just the mixing (no codec work).
    group.bench_function("baseline_mix_only", |b| {
        b.iter(|| {
            for room in all.iter_mut() {
                let [d0, d1, d2] = &room.decoded;
                room.mixer.mix(
                    &[Some(d0), Some(d1), Some(d2)],
                    &[true; PARTY],
                    &mut room.mixed,
                );
                black_box(&room.mixed);
            }
        })
    });
    group.finish();
}

fn jitter_buffer(c: &mut Criterion) {
    let mut group = c.benchmark_group("jitter_buffer");
    let payload = [0x55u8; 80];
    let mut jb = JitterBuffer::new(48_000);
    let start = Instant::now();
    let mut seq = 0u16;
    let mut ts = 0u32;
    let mut n = 0u64;
    group.bench_function("push_pop_one_packet", |b| {
        b.iter(|| {
            let h = RtpHeader {
                marker: false,
                pt: 111,
                seq,
                ts,
                ssrc: 1,
            };
            n += 1;
            jb.push(&h, &payload, 960, start + Duration::from_millis(20 * n));
            black_box(jb.pop());
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(960);
        })
    });
    // Reordered arrivals (each pair swapped) with every 10th packet missing: two pushes and
    // two pops per iteration.
    let mut jb = JitterBuffer::new(48_000);
    let mut k = 0u32;
    group.bench_function("two_push_pop_reordered_lossy", |b| {
        b.iter(|| {
            for s in [k + 1, k] {
                if s % 10 != 9 {
                    let h = RtpHeader {
                        marker: false,
                        pt: 111,
                        seq: s as u16,
                        ts: s.wrapping_mul(960),
                        ssrc: 1,
                    };
                    let at = start + Duration::from_millis(20 * u64::from(k));
                    black_box(jb.push(&h, &payload, 960, at));
                }
            }
            black_box(jb.pop());
            black_box(jb.pop());
            k = k.wrapping_add(2);
        })
    });
    group.finish();
}

criterion_group!(benches, mixer_tick, jitter_buffer);
criterion_main!(benches);
