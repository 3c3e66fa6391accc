//! The directory machine in virtual time: what every subscriber is told, in every order the
//! network can deliver a registration, a voice switch and a subscription.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::{decode, AgentStatus, DirectoryState};
use agentphone_sip::endpoint::{Peer, TransportKind};

use super::agents::{AgentChange, Binding};
use super::machine::{Directory, Effect, Event, SubState, COALESCE};
use crate::config::Config;

pub(super) fn config() -> Arc<Config> {
    let text = r#"
[[agents]]
username = "alice"
password = "a"
[[agents]]
username = "bob"
password = "b"
[[agents]]
username = "carol"
password = "c"
[[teams]]
name = "support"
members = ["alice", "bob", "carol"]
"#;
    Arc::new(Config::from_toml_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}")))
}

pub(super) fn binding(expires_at: Instant) -> Binding {
    let addr: SocketAddr = "127.0.0.1:5099".parse().unwrap_or_else(|e| panic!("{e}"));
    let contact = rsip::Uri::try_from("sip:x@127.0.0.1:5099").unwrap_or_else(|e| panic!("{e}"));
    Binding {
        contact,
        peer: Peer {
            addr,
            transport: TransportKind::Udp,
        },
        expires_at,
    }
}

/// The machine and a virtual clock; keeps what each subscriber was last told.
struct Sim {
    dir: Directory,
    start: Instant,
    now: Instant,
    /// Last document each subscriber received, by Call-ID.
    seen: HashMap<String, DirectoryState>,
    /// NOTIFYs sent per subscriber.
    notifies: HashMap<String, usize>,
    terminated: Vec<String>,
    forgotten: Vec<String>,
    changed: usize,
}

impl Sim {
    fn new() -> Sim {
        Sim::with(config())
    }

    fn with(config: Arc<Config>) -> Sim {
        let start = Instant::now();
        Sim {
            dir: Directory::new(config, start),
            start,
            now: start,
            seen: HashMap::new(),
            notifies: HashMap::new(),
            terminated: Vec::new(),
            forgotten: Vec::new(),
            changed: 0,
        }
    }

    fn at(ms: u64, sim: &Sim) -> Instant {
        sim.start + Duration::from_millis(ms)
    }

    /// Let virtual time run to `ms`, firing every deadline on the way.
    fn run_to(&mut self, ms: u64) {
        self.run_until(Sim::at(ms, self));
    }

    fn run_until(&mut self, end: Instant) {
        while let Some(due) = self.dir.deadline().filter(|d| *d <= end) {
            self.now = due.max(self.now);
            let effects = self.dir.handle(Event::Timer, self.now);
            self.take(effects);
        }
        self.now = end.max(self.now);
    }

    /// At `ms`, feed one event.
    fn event(&mut self, ms: u64, event: Event) {
        self.event_at(Sim::at(ms, self), event);
    }

    /// At `at` (finer than a millisecond), feed one event.
    fn event_at(&mut self, at: Instant, event: Event) {
        self.run_until(at);
        let effects = self.dir.handle(event, self.now);
        self.take(effects);
    }

    fn take(&mut self, effects: Vec<Effect>) {
        let mut bodies_of_this_step: Vec<Arc<[u8]>> = Vec::new();
        for e in effects {
            match e {
                Effect::Notify { id, state, body } => {
                    let doc: DirectoryState =
                        decode(&body).unwrap_or_else(|e| panic!("NOTIFY body: {e}"));
                    if let Some(old) = self.seen.get(&id) {
                        assert!(doc.version >= old.version, "{id}: version went back");
                    }
                    if state == SubState::Terminated {
                        self.terminated.push(id.clone());
                    } else {
                        // Serialised once: every active NOTIFY of one step shares the bytes.
                        if let Some(first) = bodies_of_this_step.first() {
                            assert!(Arc::ptr_eq(first, &body), "body serialised again");
                        }
                        bodies_of_this_step.push(body);
                    }
                    *self.notifies.entry(id.clone()).or_default() += 1;
                    self.seen.insert(id, doc);
                }
                Effect::NotifySupervisor { id, .. } => {
                    *self.notifies.entry(id).or_default() += 1;
                }
                Effect::Forget { id } => self.forgotten.push(id),
                Effect::Changed => self.changed += 1,
            }
        }
    }

    fn status_seen_by(&self, sub: &str, user: &str) -> Option<AgentStatus> {
        let doc = self.seen.get(sub)?;
        doc.agents
            .iter()
            .find(|a| a.username == user)
            .map(|a| a.status)
    }

    fn agent(user: &str, change: AgentChange) -> Event {
        Event::Agent {
            user: user.into(),
            change,
        }
    }

    fn subscribe(id: &str) -> Event {
        Event::Subscribe {
            id: id.into(),
            expires: Duration::from_secs(600),
        }
    }
}

/// One of bob's three messages after he starts his phone.
#[derive(Clone, Copy, Debug)]
enum Step {
    Register,
    VoiceOn,
    SubscribeBob,
}

/// issue 8: the transfer modal never listed bob, registered with his voice channel on. Bob's
/// phone sends REGISTER, then SUBSCRIBE (directory) and PUBLISH (voice on) at once; they reach
/// the directory in any order within milliseconds. Whatever the order and spacing, alice (an
/// earlier subscriber) must end up seeing bob available, with the latest version — and the queue
/// must hear that something changed.
#[test]
fn bob_is_seen_available_by_everyone_whatever_the_order_and_spacing() {
    use Step::*;
    let orders = [
        [Register, VoiceOn, SubscribeBob],
        [Register, SubscribeBob, VoiceOn],
        [SubscribeBob, Register, VoiceOn],
    ];
    let gaps_ms = [0, 1, 5, 19, 20, 21, 50, 1000];
    let mut cases = 0;
    for order in orders {
        for gap in gaps_ms {
            let mut sim = Sim::new();
            let bob_reg = binding(Sim::at(3_600_000, &sim));
            let mut bob_reg = Some(bob_reg);
            sim.event(0, Sim::subscribe("alice-sub"));
            let mut t = 1000;
            for step in order {
                let event = match step {
                    Register => {
                        Sim::agent("bob", AgentChange::Register(bob_reg.take().map(Box::new)))
                    }
                    VoiceOn => Sim::agent("bob", AgentChange::SetVoice(true)),
                    SubscribeBob => Sim::subscribe("bob-sub"),
                };
                sim.event(t, event);
                t += gap;
            }
            sim.run_to(t + 1000);
            let case = format!("{order:?} {gap} ms apart");
            for sub in ["alice-sub", "bob-sub"] {
                assert_eq!(
                    sim.status_seen_by(sub, "bob"),
                    Some(AgentStatus::Available),
                    "{case}: {sub} never saw bob available"
                );
            }
            let versions: Vec<u64> = ["alice-sub", "bob-sub"]
                .iter()
                .map(|s| sim.seen[*s].version)
                .collect();
            assert_eq!(versions[0], versions[1], "{case}: subscribers disagree");
            assert!(sim.changed > 0, "{case}: the queue was never told");
            cases += 1;
        }
    }
    assert_eq!(cases, orders.len() * gaps_ms.len());
}

/// R1/T3 as subscribers see it: bob's call ends, then alice's, so close together that the
/// directory takes both in within one millisecond (a loaded server: alice hung up the moment
/// bob's phone showed his call ended). Every subscriber must see alice idle since later than
/// bob — the order routing uses — and the team's next call goes to bob.
#[test]
fn calls_ending_within_a_millisecond_show_idle_times_in_their_order() {
    for gap_us in [0, 1, 300, 999, 1000, 1500, 20_000] {
        let mut sim = Sim::new();
        let case = format!("alice's call ended {gap_us} µs after bob's");
        for user in ["alice", "bob"] {
            let reg = binding(Sim::at(3_600_000, &sim));
            sim.event(
                0,
                Sim::agent(user, AgentChange::Register(Some(Box::new(reg)))),
            );
            sim.event(0, Sim::agent(user, AgentChange::SetVoice(true)));
        }
        sim.event(10, Sim::subscribe("carol-sub"));
        for user in ["alice", "bob"] {
            let now = sim.now;
            assert!(sim.dir.reserve(user, now).is_ok(), "{case}: {user}");
            sim.event(100, Sim::agent(user, AgentChange::Answered));
        }
        let bob_ends = Sim::at(1000, &sim) + Duration::from_micros(250);
        sim.event_at(bob_ends, Sim::agent("bob", AgentChange::CallEnded));
        let alice_ends = bob_ends + Duration::from_micros(gap_us);
        sim.event_at(alice_ends, Sim::agent("alice", AgentChange::CallEnded));
        sim.run_to(2000);
        let idle_since = |user: &str| {
            let agent = sim.seen["carol-sub"]
                .agents
                .iter()
                .find(|a| a.username == user)
                .cloned()
                .unwrap_or_else(|| panic!("{case}: no {user}"));
            assert_eq!(agent.status, AgentStatus::Available, "{case}: {user}");
            agent
                .idle_since_ms
                .unwrap_or_else(|| panic!("{case}: {user}"))
        };
        let (alice, bob) = (idle_since("alice"), idle_since("bob"));
        assert!(alice > bob, "{case}: alice idle since {alice}, bob {bob}");
        assert!(
            alice - bob <= 1 + gap_us / 1000,
            "{case}: no later than needed"
        );
        let now = sim.now;
        let next = sim.dir.reserve_for_team("support", &[], now);
        assert_eq!(next.map(|n| n.0).as_deref(), Some("bob"), "{case}");
    }
}

/// Table: changes at these times (ms) → NOTIFYs each subscriber gets after the first one.
#[test]
fn changes_of_one_burst_are_one_notify_and_no_change_is_none() {
    let voice = |on| Sim::agent("alice", AgentChange::SetVoice(on));
    // (case, events at ms, NOTIFYs each subscriber gets after its first)
    type Case = (&'static str, Vec<(u64, Event)>, usize);
    let cases: Vec<Case> = vec![
        ("nothing", vec![], 0),
        ("one change", vec![(100, voice(true))], 1),
        (
            "three in 10 ms",
            vec![(100, voice(true)), (105, voice(false)), (110, voice(true))],
            1,
        ),
        (
            "two bursts",
            vec![
                (100, voice(true)),
                (100 + 2 * COALESCE.as_millis() as u64, voice(false)),
            ],
            2,
        ),
        (
            "back where it was",
            vec![(100, voice(true)), (105, voice(false))],
            0,
        ),
        (
            "unknown agent",
            vec![(100, Sim::agent("zed", AgentChange::SetVoice(true)))],
            0,
        ),
    ];
    for (name, events, expected) in cases {
        let mut sim = Sim::new();
        sim.event(
            0,
            Sim::agent(
                "alice",
                AgentChange::Register(Some(Box::new(binding(Sim::at(3_600_000, &sim))))),
            ),
        );
        sim.event(50, Sim::subscribe("s1"));
        sim.event(50, Sim::subscribe("s2"));
        for (ms, e) in events {
            sim.event(ms, e);
        }
        sim.run_to(10_000);
        for sub in ["s1", "s2"] {
            assert_eq!(sim.notifies[sub] - 1, expected, "{name}: {sub}");
        }
    }
}

/// What one step of the agent-state table does to bob.
enum Do {
    Change(AgentChange),
    /// Reserve bob for a call: Ok (now ringing) or refused with this status.
    Reserve(Result<(), AgentStatus>),
    /// The team's next member to offer a call to.
    TeamPicks(Option<&'static str>),
}

/// SPEC S1/S2 as a table in virtual time: what bob's status, away reason and wrap-up end become
/// (as subscribers see them), and whether routing may offer him a call. His team wraps up 30 s.
#[test]
fn agent_states_away_wrap_up_and_missed_call() {
    use agentphone_protocol::AgentStateRequest as Set;
    use AgentStatus::*;
    let text = "[[agents]]\nusername = \"bob\"\npassword = \"b\"\n\
        [[teams]]\nname = \"support\"\nmembers = [\"bob\"]\nwrap_up_s = 30\n";
    let config = Arc::new(Config::from_toml_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}")));
    let mut sim = Sim::with(config);
    let away = |r: &str| Do::Change(AgentChange::SetState(Set::Away { reason: r.into() }));
    let available = || Do::Change(AgentChange::SetState(Set::Available));
    let change = Do::Change;
    // (at ms, what happens, then: status, away reason, wrap-up ends at ms, team count available)
    type Row = (u64, Do, AgentStatus, Option<&'static str>, Option<u64>, u32);
    let rows: Vec<Row> = vec![
        (
            100,
            change(AgentChange::SetVoice(true)),
            Available,
            None,
            None,
            1,
        ),
        (200, away("lunch"), Away, Some("lunch"), None, 0),
        (210, Do::Reserve(Err(Away)), Away, Some("lunch"), None, 0),
        (220, Do::TeamPicks(None), Away, Some("lunch"), None, 0),
        (300, available(), Available, None, None, 1),
        (400, change(AgentChange::CallStarted), OnCall, None, None, 0),
        (
            1_000,
            change(AgentChange::CallEnded),
            AfterCallWork,
            None,
            Some(31_000),
            0,
        ),
        (
            1_100,
            Do::Reserve(Err(AfterCallWork)),
            AfterCallWork,
            None,
            Some(31_000),
            0,
        ),
        (
            1_200,
            Do::TeamPicks(None),
            AfterCallWork,
            None,
            Some(31_000),
            0,
        ),
        (
            30_900,
            Do::TeamPicks(None),
            AfterCallWork,
            None,
            Some(31_000),
            0,
        ),
        // The wrap-up ends by itself, published without any message.
        (31_100, Do::TeamPicks(Some("bob")), Ringing, None, None, 0),
        (31_200, change(AgentChange::Answered), OnCall, None, None, 0),
        (
            40_000,
            change(AgentChange::CallEnded),
            AfterCallWork,
            None,
            Some(70_000),
            0,
        ),
        // Ready early (a key in the TUI).
        (45_000, available(), Available, None, None, 1),
        (46_000, Do::Reserve(Ok(())), Ringing, None, None, 0),
        // RONA: the room releases him and says the call rang out.
        (
            61_000,
            change(AgentChange::Release),
            Available,
            None,
            None,
            1,
        ),
        (
            61_050,
            change(AgentChange::RangOut),
            Away,
            Some("missed call"),
            None,
            0,
        ),
        (
            61_200,
            Do::TeamPicks(None),
            Away,
            Some("missed call"),
            None,
            0,
        ),
        (70_000, available(), Available, None, None, 1),
        // Away while wrapping up: away wins; back: no wrap-up left.
        (
            70_100,
            change(AgentChange::CallStarted),
            OnCall,
            None,
            None,
            0,
        ),
        (
            70_200,
            change(AgentChange::CallEnded),
            AfterCallWork,
            None,
            Some(100_200),
            0,
        ),
        (70_300, away("break"), Away, Some("break"), None, 0),
        (70_400, available(), Available, None, None, 1),
        // A supervisor's listen / whisper / barge session (V2): busy while in it, and after it
        // no after-call work — it was the agent's call, not his.
        (
            75_000,
            change(AgentChange::CallStarted),
            OnCall,
            None,
            None,
            0,
        ),
        (
            76_000,
            change(AgentChange::MonitorEnded),
            Available,
            None,
            None,
            1,
        ),
        (76_100, Do::TeamPicks(Some("bob")), Ringing, None, None, 0),
        (
            76_200,
            change(AgentChange::Release),
            Available,
            None,
            None,
            1,
        ),
        // Logging out clears the chosen state: a new login starts available.
        (80_000, away("training"), Away, Some("training"), None, 0),
        (
            80_100,
            change(AgentChange::Register(None)),
            Offline,
            None,
            None,
            0,
        ),
    ];
    sim.event(0, Sim::subscribe("s"));
    let reg = binding(Sim::at(3_600_000, &sim));
    sim.event(
        50,
        Sim::agent("bob", AgentChange::Register(Some(Box::new(reg)))),
    );
    let wall = |ms: u64, sim: &Sim| {
        let doc = &sim.seen["s"];
        let bob = doc.agents.iter().find(|a| a.username == "bob");
        (ms, bob.and_then(|b| b.wrap_up_until_ms))
    };
    let mut wall_base: Option<u64> = None;
    for (i, (ms, what, status, reason, wrap_up_ms, team_available)) in rows.into_iter().enumerate()
    {
        sim.run_to(ms);
        let now = sim.now;
        match what {
            Do::Change(c) => sim.event(ms, Sim::agent("bob", c)),
            Do::Reserve(want) => {
                let got = sim.dir.reserve("bob", now).map(|_| ());
                assert_eq!(got, want, "row {i}");
            }
            Do::TeamPicks(want) => {
                let got = sim.dir.reserve_for_team("support", &[], now).map(|p| p.0);
                assert_eq!(got.as_deref(), want, "row {i}");
            }
        }
        sim.run_to(ms + 2 * COALESCE.as_millis() as u64);
        let doc = &sim.seen["s"];
        let bob = doc
            .agents
            .iter()
            .find(|a| a.username == "bob")
            .expect("bob");
        assert_eq!(bob.status, status, "row {i} at {ms} ms");
        assert_eq!(bob.away_reason.as_deref(), reason, "row {i}");
        assert_eq!(doc.teams[0].available, team_available, "row {i}");
        match (wrap_up_ms, wall(ms, &sim).1) {
            (None, None) => {}
            (Some(want), Some(got)) => {
                // Wall-clock ms: the same offset from the start for every row.
                let base = *wall_base.get_or_insert(got - want);
                assert_eq!(got - want, base, "row {i}: wrap-up end");
            }
            other => panic!("row {i}: wrap-up end {other:?}"),
        }
    }
}

#[test]
fn a_lapsing_registration_is_published_without_any_message() {
    let mut sim = Sim::new();
    let expires = Sim::at(60_000, &sim);
    sim.event(
        0,
        Sim::agent(
            "bob",
            AgentChange::Register(Some(Box::new(binding(expires)))),
        ),
    );
    sim.event(0, Sim::agent("bob", AgentChange::SetVoice(true)));
    sim.event(10, Sim::subscribe("s"));
    assert_eq!(sim.status_seen_by("s", "bob"), Some(AgentStatus::Available));
    sim.run_to(59_999);
    assert_eq!(sim.status_seen_by("s", "bob"), Some(AgentStatus::Available));
    sim.run_to(60_000);
    assert_eq!(sim.status_seen_by("s", "bob"), Some(AgentStatus::Offline));
}

#[test]
fn subscriptions_lapse_refresh_end_and_vanish() {
    let mut sim = Sim::new();
    for id in ["lapses", "refreshed", "ended", "gone"] {
        sim.event(
            0,
            Event::Subscribe {
                id: id.into(),
                expires: Duration::from_secs(10),
            },
        );
    }
    sim.event(
        5_000,
        Event::Resubscribe {
            id: "refreshed".into(),
            expires: Some(Duration::from_secs(10)),
        },
    );
    sim.event(
        6_000,
        Event::Resubscribe {
            id: "ended".into(),
            expires: None,
        },
    );
    sim.event(7_000, Event::Gone { id: "gone".into() });
    sim.run_to(10_000);
    assert_eq!(sim.terminated, ["ended", "lapses"]);
    assert_eq!(sim.forgotten, ["ended", "gone", "lapses"]);
    sim.event(11_000, Sim::agent("alice", AgentChange::Register(None)));
    sim.event(
        11_000,
        Sim::agent(
            "carol",
            AgentChange::Register(Some(Box::new(binding(Sim::at(99_000, &sim))))),
        ),
    );
    sim.run_to(12_000);
    assert_eq!(sim.notifies["refreshed"], 2, "still subscribed until 15 s");
    assert_eq!(sim.notifies["gone"], 1, "never told again");
    sim.run_to(15_000);
    assert_eq!(sim.terminated, ["ended", "lapses", "refreshed"]);
}

/// CPU per directory change with 100 agents and 100 subscribers, against the way it was done
/// before (reproduced here as the baseline, measured in the same run): the document as a JSON
/// tree, compared with the last, then cloned, numbered and serialised once per subscriber.
/// Figures, not a pass/fail: `cargo test -p agentphone-server --lib directory_fanout -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn directory_fanout_cpu_per_change() {
    use std::fmt::Write as _;
    const N: usize = 100;
    const CHANGES: u32 = 300;
    let mut text = String::new();
    for i in 0..N {
        let _ = write!(
            text,
            "[[agents]]\nusername = \"agent{i}\"\npassword = \"p\"\ndisplay_name = \"Agent Number {i}\"\n"
        );
    }
    for t in 0..10 {
        let members: Vec<String> = (0..N)
            .filter(|i| i % 10 == t)
            .map(|i| format!("\"agent{i}\""))
            .collect();
        let _ = write!(
            text,
            "[[teams]]\nname = \"team{t}\"\nmembers = [{}]\n",
            members.join(", ")
        );
    }
    let config = Arc::new(Config::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}")));
    let start = Instant::now();
    let mut dir = Directory::new(config, start);
    let far = start + Duration::from_secs(36_000);
    for i in 0..N {
        let user = format!("agent{i}");
        let reg = AgentChange::Register(Some(Box::new(binding(far))));
        dir.handle(Event::Agent { user, change: reg }, start);
        dir.handle(
            Event::Subscribe {
                id: format!("sub{i}"),
                expires: Duration::from_secs(3600),
            },
            start,
        );
    }
    let mut now = start + Duration::from_secs(1);
    dir.handle(Event::Timer, now);

    // Now: one snapshot, one serialisation, the bytes copied into each NOTIFY.
    let mut bytes = 0usize;
    let t0 = Instant::now();
    // Every step switches one agent's voice channel (on in the first round, off in the next, …),
    // so every step is a real change.
    let change = |k: u32| Event::Agent {
        user: format!("agent{}", k as usize % N),
        change: AgentChange::SetVoice((k as usize / N).is_multiple_of(2)),
    };
    for k in 0..CHANGES {
        now += Duration::from_millis(1);
        dir.handle(change(k), now);
        now += COALESCE;
        for e in dir.handle(Event::Timer, now) {
            if let Effect::Notify { body, .. } = e {
                bytes += body.to_vec().len();
            }
        }
    }
    let new = t0.elapsed() / CHANGES;

    // Before: the same snapshot as a JSON tree, cloned and serialised per subscriber.
    let mut last = serde_json::Value::Null;
    let mut version = 0u64;
    let mut old_bytes = 0usize;
    let t0 = Instant::now();
    for k in CHANGES..2 * CHANGES {
        now += Duration::from_millis(1);
        dir.handle(change(k), now);
        now += COALESCE;
        let snapshot =
            serde_json::to_value(dir.snapshot_for_tests(now)).unwrap_or_else(|e| panic!("{e}"));
        if snapshot == last {
            continue;
        }
        last = snapshot;
        version += 1;
        for _ in 0..N {
            let mut body = last.clone();
            if let Some(obj) = body.as_object_mut() {
                obj.insert("version".into(), serde_json::json!(version));
            }
            old_bytes += body.to_string().into_bytes().len();
        }
    }
    let old = t0.elapsed() / CHANGES;
    println!(
        "directory fan-out, {N} agents, {N} subscribers, {CHANGES} changes: \
         before {old:?} per change ({} B/NOTIFY), now {new:?} per change ({} B/NOTIFY): \
         {:.1}x less CPU",
        old_bytes / (CHANGES as usize * N),
        bytes / (CHANGES as usize * N),
        old.as_secs_f64() / new.as_secs_f64().max(1e-9)
    );
    // The same documents both ways, one per change.
    assert!(
        bytes.abs_diff(old_bytes) < bytes / 50,
        "{bytes} vs {old_bytes}"
    );
}
