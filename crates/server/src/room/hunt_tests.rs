//! SPEC R1 (queue with music, offered as soon as someone frees up, 480 at the end), R3 (direct
//! and outbound calls) and T3 (a team's members one after another) in virtual time.

// Rule tables are vectors of tuples: one row per case, read like the SPEC's list.
#![allow(clippy::type_complexity)]

use super::*;
use crate::room::rule_table::Table;

const QUEUE: Duration = Duration::from_secs(120);

/// One thing that happens to the hunt, `at` seconds after the call came in.
#[derive(Clone, Debug)]
enum Ev {
    Start,
    Found(Found),
    Missed(u16, &'static str),
    Changed,
    Tick,
}

/// What the hunt decided, with times as seconds after the call came in.
#[derive(Clone, Debug, PartialEq, Eq)]
enum D {
    Ask,
    Ring(bool),
    Queue(u64, bool),
    Fail(u16, &'static str),
}

fn run(target: Target, events: &[(u64, Ev)]) -> Vec<D> {
    let t0 = Instant::now();
    let mut hunt = Hunt::new(target, QUEUE);
    events
        .iter()
        .map(|(at, ev)| {
            let now = t0 + Duration::from_secs(*at);
            let d = match ev.clone() {
                Ev::Start => hunt.start(),
                Ev::Found(f) => hunt.found(f, now),
                Ev::Missed(code, phrase) => hunt.missed(code, phrase.into()),
                Ev::Changed => hunt.queue_event(true, now),
                Ev::Tick => hunt.queue_event(false, now),
            };
            match d {
                Decision::Ask => D::Ask,
                Decision::Ring { from_queue } => D::Ring(from_queue),
                Decision::Queue { until, first } => D::Queue((until - t0).as_secs(), first),
                Decision::Fail(code, phrase) => D::Fail(
                    code,
                    match phrase.as_str() {
                        "Busy Here" => "Busy Here",
                        "Temporarily Unavailable" => "Temporarily Unavailable",
                        "Decline" => "Decline",
                        "Not Found" => "Not Found",
                        _ => "other",
                    },
                ),
            }
        })
        .collect()
}

#[test]
fn r1_r3_t3_who_is_offered_the_call() {
    use Ev::*;
    let customer_team = Target::Team { queues: true };
    let agent_team = Target::Team { queues: false };
    let agent = Target::Agent { self_call: false };
    let tu = "Temporarily Unavailable";
    let reserved = Found(super::Found::Reserved);
    let nobody = Found(super::Found::NobodyFree);
    let status = |s| Found(super::Found::Unavailable(s));
    #[rustfmt::skip]
    let cases: Vec<(&str, Target, Vec<(u64, Ev)>, Vec<D>)> = vec![
        ("team: first member rings", customer_team.clone(),
            vec![(0, Start), (0, reserved.clone())], vec![D::Ask, D::Ring(false)]),
        ("team: ring timeout → next member (T3)", customer_team.clone(),
            vec![(0, Start), (0, reserved.clone()), (15, Missed(480, tu)), (15, reserved.clone())],
            vec![D::Ask, D::Ring(false), D::Ask, D::Ring(false)]),
        ("team: decline → next member", agent_team.clone(),
            vec![(0, Start), (0, reserved.clone()), (2, Missed(603, "Decline")), (2, reserved.clone())],
            vec![D::Ask, D::Ring(false), D::Ask, D::Ring(false)]),
        ("team: everyone missed → 480, not the last decline", customer_team.clone(),
            vec![(0, Start), (0, reserved.clone()), (2, Missed(603, "Decline")), (2, nobody.clone())],
            vec![D::Ask, D::Ring(false), D::Ask, D::Fail(480, tu)]),
        ("R1: nobody free → queue with music for queue_timeout", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone())], vec![D::Ask, D::Queue(120, true)]),
        ("R1: someone frees up → offered at once, ringback again", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (30, Changed), (30, reserved.clone())],
            vec![D::Ask, D::Queue(120, true), D::Ask, D::Ring(true)]),
        ("R1: a change with still nobody free → keep waiting, same deadline", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (30, Changed), (30, nobody.clone())],
            vec![D::Ask, D::Queue(120, true), D::Ask, D::Queue(120, false)]),
        ("R1: queue timeout → 480", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (120, Tick)],
            vec![D::Ask, D::Queue(120, true), D::Fail(480, tu)]),
        ("R1: an early tick keeps waiting", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (60, Tick)],
            vec![D::Ask, D::Queue(120, true), D::Queue(120, false)]),
        ("R1: offered from the queue, declined → back to the queue", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (10, Changed), (10, reserved.clone()), (12, Missed(603, "Decline")), (12, nobody.clone())],
            vec![D::Ask, D::Queue(120, true), D::Ask, D::Ring(true), D::Ask, D::Queue(120, false)]),
        ("R1: back in the queue after the deadline → 480", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (110, Changed), (110, reserved.clone()), (125, Missed(480, tu)), (125, nobody.clone())],
            vec![D::Ask, D::Queue(120, true), D::Ask, D::Ring(true), D::Ask, D::Fail(480, tu)]),
        ("R1: a change after the deadline → 480", customer_team.clone(),
            vec![(0, Start), (0, nobody.clone()), (121, Changed)],
            vec![D::Ask, D::Queue(120, true), D::Fail(480, tu)]),
        ("R1: a customer whose first offer missed does not queue", customer_team.clone(),
            vec![(0, Start), (0, reserved.clone()), (15, Missed(480, tu)), (15, nobody.clone())],
            vec![D::Ask, D::Ring(false), D::Ask, D::Fail(480, tu)]),
        ("an agent calling a team never queues", agent_team.clone(),
            vec![(0, Start), (0, nobody.clone())], vec![D::Ask, D::Fail(480, tu)]),
        ("R3: direct call rings the agent", agent.clone(),
            vec![(0, Start), (0, reserved.clone())], vec![D::Ask, D::Ring(false)]),
        ("R3: direct call declined → the decline", agent.clone(),
            vec![(0, Start), (0, reserved.clone()), (2, Missed(603, "Decline"))], vec![D::Ask, D::Ring(false), D::Fail(603, "Decline")]),
        ("R3: direct call not answered → 480", agent.clone(),
            vec![(0, Start), (0, reserved.clone()), (15, Missed(480, tu))], vec![D::Ask, D::Ring(false), D::Fail(480, tu)]),
        ("R3: agent offline → 480", agent.clone(),
            vec![(0, Start), (0, status(AgentStatus::Offline))], vec![D::Ask, D::Fail(480, tu)]),
        ("R3: agent voice channel off → 480", agent.clone(),
            vec![(0, Start), (0, status(AgentStatus::Inactive))], vec![D::Ask, D::Fail(480, tu)]),
        ("R3: agent on a call → 486", agent.clone(),
            vec![(0, Start), (0, status(AgentStatus::OnCall))], vec![D::Ask, D::Fail(486, "Busy Here")]),
        ("R3: agent ringing → 486", agent.clone(),
            vec![(0, Start), (0, status(AgentStatus::Ringing))], vec![D::Ask, D::Fail(486, "Busy Here")]),
        ("R3: calling yourself → 486 at once", Target::Agent { self_call: true },
            vec![(0, Start)], vec![D::Fail(486, "Busy Here")]),
        ("R3: outbound rings at once", Target::External,
            vec![(0, Start)], vec![D::Ring(false)]),
        ("R3: outbound refused → its status", Target::External,
            vec![(0, Start), (5, Missed(404, "Not Found"))], vec![D::Ring(false), D::Fail(404, "Not Found")]),
        ("R3: outbound busy → 486", Target::External,
            vec![(0, Start), (5, Missed(486, "Busy Here"))], vec![D::Ring(false), D::Fail(486, "Busy Here")]),
    ];
    let mut table = Table::new("R1/R3/T3 hunt");
    for (name, target, events, want) in cases {
        table.case(name, || assert_eq!(run(target.clone(), &events), want));
    }
    table.finish();
}

#[test]
fn r1_queue_deadline_follows_the_configuration() {
    let mut table = Table::new("R1 queue timeout");
    for secs in [1u64, 5, 30, 120, 600] {
        table.case(&format!("queue_timeout {secs} s"), || {
            let t0 = Instant::now();
            let mut hunt = Hunt::new(Target::Team { queues: true }, Duration::from_secs(secs));
            assert_eq!(hunt.start(), Decision::Ask);
            let until = t0 + Duration::from_secs(secs);
            assert_eq!(
                hunt.found(Found::NobodyFree, t0),
                Decision::Queue { until, first: true }
            );
            assert_eq!(
                hunt.queue_event(false, until - Duration::from_millis(1)),
                Decision::Queue {
                    until,
                    first: false
                }
            );
            assert_eq!(
                hunt.queue_event(false, until),
                Decision::Fail(480, "Temporarily Unavailable".into())
            );
        });
    }
    table.finish();
}
