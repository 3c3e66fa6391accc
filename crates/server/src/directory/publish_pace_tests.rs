//! How often the directory publishes (issue 7), in virtual time: a change after a quiet spell
//! goes [`COALESCE`] after it; under steady change publications are at least [`PUBLISH_GAP`]
//! apart and each change goes out at most [`PUBLISH_GAP`] after it happened.

use std::time::{Duration, Instant};

use super::agents::AgentChange;
use super::machine::{Directory, Effect, Event, COALESCE, PUBLISH_GAP};
use super::machine_tests::{binding, config};

/// The directory with alice registered and that published, at virtual time 0.
fn directory() -> (Directory, Instant) {
    let start = Instant::now();
    let mut dir = Directory::new(config(), start);
    let far = start + Duration::from_secs(3_600);
    let register = AgentChange::Register(Some(Box::new(binding(far))));
    dir.handle(agent(register), start);
    (dir, start)
}

fn agent(change: AgentChange) -> Event {
    Event::Agent {
        user: "alice".into(),
        change,
    }
}

/// Feed alice a call of no length (a new idle time: always a change) at each of `changes` (ms),
/// firing every deadline in between; the times (ms) at which a publication went out.
fn publications(changes: &[u64], until_ms: u64) -> Vec<u64> {
    let (mut dir, start) = directory();
    let ms = |at: Instant| at.duration_since(start).as_millis() as u64;
    let mut out = Vec::new();
    let fire_until = |dir: &mut Directory, end: Instant, out: &mut Vec<u64>| {
        while let Some(due) = dir.deadline().filter(|d| *d <= end) {
            let effects = dir.handle(Event::Timer, due);
            if effects.iter().any(|e| matches!(e, Effect::Publish(_))) {
                out.push(ms(due));
            }
        }
    };
    for &c in changes {
        let at = start + Duration::from_millis(c);
        fire_until(&mut dir, at, &mut out);
        dir.handle(agent(AgentChange::CallStarted), at);
        dir.handle(agent(AgentChange::CallEnded), at);
    }
    fire_until(&mut dir, start + Duration::from_millis(until_ms), &mut out);
    // The registration's own publication at 0 + COALESCE is not one of the changes.
    out.retain(|&t| t >= changes.first().copied().unwrap_or(0));
    out
}

#[test]
fn publications_keep_their_gap_under_steady_change_and_come_at_once_after_quiet() {
    let coalesce = COALESCE.as_millis() as u64;
    let gap = PUBLISH_GAP.as_millis() as u64;
    let steady: Vec<u64> = (1_000..2_000).step_by(10).collect();
    // (case, changes at ms, publications at ms)
    let cases: Vec<(&str, Vec<u64>, Vec<u64>)> = vec![
        ("one change", vec![1_000], vec![1_000 + coalesce]),
        (
            "a second change soon after a publication waits for the gap",
            vec![1_000, 1_050],
            vec![1_000 + coalesce, 1_000 + coalesce + gap],
        ),
        (
            "a change after a quiet spell goes at once",
            vec![1_000, 3_000],
            vec![1_000 + coalesce, 3_000 + coalesce],
        ),
        (
            "a burst is one publication",
            vec![1_000, 1_005, 1_010],
            vec![1_000 + coalesce],
        ),
        (
            "a change every 10 ms for 1 s",
            steady.clone(),
            (0..=1_000 / gap)
                .map(|k| 1_000 + coalesce + k * gap)
                .collect(),
        ),
    ];
    for (case, changes, expected) in cases {
        let got = publications(&changes, 5_000);
        assert_eq!(got, expected, "{case}");
        // Every change is out at most PUBLISH_GAP after it happened.
        for c in &changes {
            let out = got.iter().find(|&&p| p >= *c);
            assert!(
                out.is_some_and(|p| p - c <= gap),
                "{case}: change at {c} published at {out:?}"
            );
        }
    }
}
