//! Call records written per second: calls of 3 ops each (started, answered, ended) through the
//! records queue and writer thread into a WAL SQLite file, timed until they are committed.

use std::time::{Duration, Instant};

use agentphone_server::records::{RecordOp, RecordsHandle};
use criterion::{criterion_group, criterion_main, Criterion};

const CALLS: usize = 1_000;

fn bench(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok((records, _thread)) = RecordsHandle::open(&dir.path().join("bench.db")) else {
        return;
    };
    let mut n = 0u64;
    let mut group = c.benchmark_group("records");
    group.throughput(criterion::Throughput::Elements(CALLS as u64));
    group.bench_function("1000 calls (3 ops each) committed", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                for _ in 0..CALLS {
                    n += 1;
                    let call = format!("call-{n}");
                    records.write(RecordOp::Started {
                        call: call.clone(),
                        kind: "inbound",
                        caller: "sip:customer@127.0.0.1".into(),
                        target: "support".into(),
                        team: Some("support".into()),
                    });
                    records.write(RecordOp::Answered {
                        call: call.clone(),
                        agent: "agent001".into(),
                    });
                    records.write(RecordOp::Ended {
                        call,
                        reason: "caller hung up".into(),
                    });
                }
                records.flush_blocking();
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
