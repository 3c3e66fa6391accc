//! The directory machine in virtual time: what every subscriber is told, in every order the
//! network can deliver a registration, a voice switch and a subscription.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::directory_parts::Assembler;
use agentphone_protocol::{decode, AgentStatus, DirectoryState};
use agentphone_sip::endpoint::{Peer, TransportKind};

use super::agents::{AgentChange, Binding};
use super::fanout::{Carrier, Fanout, FanoutEvent, Scope};
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

/// An event for one of the two machines.
pub(super) enum Input {
    /// For the directory (agents, routing).
    Dir(Event),
    /// For the fan-out (subscribers).
    Fan(FanoutEvent),
}

impl From<Event> for Input {
    fn from(e: Event) -> Input {
        Input::Dir(e)
    }
}

impl From<FanoutEvent> for Input {
    fn from(e: FanoutEvent) -> Input {
        Input::Fan(e)
    }
}

/// Both machines wired as the tasks wire them, a virtual clock, and phones that answer every
/// NOTIFY at once (except the `slow` ones, whose NOTIFYs wait in `held` until released). Keeps
/// what each subscriber has put together so far.
pub(super) struct Sim {
    pub dir: Directory,
    pub fan: Fanout,
    start: Instant,
    pub now: Instant,
    /// The state each subscriber has, by Call-ID.
    pub seen: HashMap<String, DirectoryState>,
    asm: HashMap<String, Assembler>,
    /// NOTIFYs received per subscriber (parts count one each).
    pub notifies: HashMap<String, usize>,
    /// Whole documents (versions) each subscriber put together, in order.
    pub docs: HashMap<String, Vec<DirectoryState>>,
    /// Bodies received, per subscriber, in order.
    pub bodies: HashMap<String, Vec<Arc<[u8]>>>,
    pub terminated: Vec<String>,
    pub forgotten: Vec<String>,
    pub changed: usize,
    /// Subscribers that do not answer (yet).
    pub slow: Vec<String>,
    /// NOTIFYs of slow subscribers waiting for their answer.
    pub held: Vec<String>,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(config())
    }

    pub fn with(config: Arc<Config>) -> Sim {
        let start = Instant::now();
        let dir = Directory::new(config, start);
        let fan = Fanout::new(dir.document());
        Sim {
            dir,
            fan,
            start,
            now: start,
            seen: HashMap::new(),
            asm: HashMap::new(),
            notifies: HashMap::new(),
            docs: HashMap::new(),
            bodies: HashMap::new(),
            terminated: Vec::new(),
            forgotten: Vec::new(),
            changed: 0,
            slow: Vec::new(),
            held: Vec::new(),
        }
    }

    pub fn at(ms: u64, sim: &Sim) -> Instant {
        sim.start + Duration::from_millis(ms)
    }

    /// Let virtual time run to `ms`, firing every deadline on the way.
    pub fn run_to(&mut self, ms: u64) {
        self.run_until(Sim::at(ms, self));
    }

    fn run_until(&mut self, end: Instant) {
        loop {
            let dir = self.dir.deadline().filter(|d| *d <= end);
            let fan = self.fan.deadline().filter(|d| *d <= end);
            let due = match (dir, fan) {
                (Some(d), Some(f)) if f < d => Input::Fan(FanoutEvent::Timer),
                (Some(_), _) => Input::Dir(Event::Timer),
                (None, Some(_)) => Input::Fan(FanoutEvent::Timer),
                (None, None) => break,
            };
            self.now = dir
                .into_iter()
                .chain(fan)
                .min()
                .map_or(self.now, |d| d.max(self.now));
            self.feed(due);
        }
        self.now = end.max(self.now);
    }

    /// At `ms`, feed one event.
    pub fn event(&mut self, ms: u64, event: impl Into<Input>) {
        self.event_at(Sim::at(ms, self), event);
    }

    /// At `at` (finer than a millisecond), feed one event.
    pub fn event_at(&mut self, at: Instant, event: impl Into<Input>) {
        self.run_until(at);
        self.feed(event.into());
    }

    fn feed(&mut self, input: Input) {
        match input {
            Input::Dir(e) => {
                let effects = self.dir.handle(e, self.now);
                self.take(effects);
            }
            Input::Fan(e) => {
                if matches!(e, FanoutEvent::Subscribe { .. }) {
                    // As the directory task does: what is being coalesced goes first.
                    let pending = self.dir.flush(self.now);
                    self.take(pending);
                }
                let effects = self.fan.handle(e, self.now);
                self.take(effects);
            }
        }
    }

    /// The slow subscriber `id` answers all its NOTIFYs now.
    pub fn release(&mut self, id: &str) {
        self.slow.retain(|s| s != id);
        let n = self.held.iter().filter(|h| *h == id).count();
        self.held.retain(|h| h != id);
        for _ in 0..n {
            self.feed(Input::Fan(FanoutEvent::Delivered { id: id.into() }));
        }
    }

    fn take(&mut self, effects: Vec<Effect>) {
        let mut delivered = Vec::new();
        for e in effects {
            match e {
                Effect::Notify { id, state, body } => {
                    *self.notifies.entry(id.clone()).or_default() += 1;
                    if state == SubState::Terminated {
                        assert!(body.is_empty(), "{id}: the final NOTIFY has no body");
                        self.terminated.push(id);
                        continue;
                    }
                    self.bodies
                        .entry(id.clone())
                        .or_default()
                        .push(body.clone());
                    let part: DirectoryState =
                        decode(&body).unwrap_or_else(|e| panic!("NOTIFY body: {e}"));
                    let whole = self.asm.entry(id.clone()).or_default().add(part);
                    if let Some(doc) = whole {
                        let have = self
                            .seen
                            .entry(id.clone())
                            .or_insert_with(|| DirectoryState::new(0, Vec::new(), Vec::new()));
                        assert!(doc.version > have.version, "{id}: version went back");
                        have.apply(doc.clone())
                            .unwrap_or_else(|e| panic!("{id}: {e}"));
                        self.docs.entry(id.clone()).or_default().push(doc);
                    }
                    if self.slow.contains(&id) {
                        self.held.push(id);
                    } else {
                        delivered.push(id);
                    }
                }
                Effect::NotifySupervisor { id, .. } => {
                    *self.notifies.entry(id).or_default() += 1;
                }
                Effect::Forget { id } => self.forgotten.push(id),
                Effect::Changed => self.changed += 1,
                Effect::Publish(changes) => {
                    let effects = self.fan.handle(FanoutEvent::Changes(*changes), self.now);
                    self.take(effects);
                }
            }
        }
        for id in delivered {
            self.feed(Input::Fan(FanoutEvent::Delivered { id }));
        }
    }

    pub fn status_seen_by(&self, sub: &str, user: &str) -> Option<AgentStatus> {
        let doc = self.seen.get(sub)?;
        doc.agents
            .iter()
            .find(|a| a.username == user)
            .map(|a| a.status)
    }

    pub fn agent(user: &str, change: AgentChange) -> Event {
        Event::Agent {
            user: user.into(),
            change,
        }
    }

    pub fn subscribe(id: &str) -> FanoutEvent {
        Sim::subscribe_as(id, Scope::All, Carrier::Datagram)
    }

    pub fn subscribe_as(id: &str, scope: Scope, carrier: Carrier) -> FanoutEvent {
        FanoutEvent::Subscribe {
            id: id.into(),
            scope,
            carrier,
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
                let event: Input = match step {
                    Register => {
                        Sim::agent("bob", AgentChange::Register(bob_reg.take().map(Box::new)))
                            .into()
                    }
                    VoiceOn => Sim::agent("bob", AgentChange::SetVoice(true)).into(),
                    SubscribeBob => Sim::subscribe("bob-sub").into(),
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
    type Case = (&'static str, Vec<(u64, Input)>, usize);
    let cases: Vec<Case> = vec![
        ("nothing", vec![], 0),
        ("one change", vec![(100, voice(true).into())], 1),
        (
            "three in 10 ms",
            vec![
                (100, voice(true).into()),
                (105, voice(false).into()),
                (110, voice(true).into()),
            ],
            1,
        ),
        (
            "two bursts",
            vec![
                (100, voice(true).into()),
                (100 + 2 * COALESCE.as_millis() as u64, voice(false).into()),
            ],
            2,
        ),
        (
            "back where it was",
            vec![(100, voice(true).into()), (105, voice(false).into())],
            0,
        ),
        (
            "unknown agent",
            vec![(100, Sim::agent("zed", AgentChange::SetVoice(true)).into())],
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
    sim.run_to(100);
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
            FanoutEvent::Subscribe {
                id: id.into(),
                scope: Scope::All,
                carrier: Carrier::Datagram,
                expires: Duration::from_secs(10),
            },
        );
    }
    sim.event(
        5_000,
        FanoutEvent::Resubscribe {
            id: "refreshed".into(),
            expires: Some(Duration::from_secs(10)),
        },
    );
    sim.event(
        6_000,
        FanoutEvent::Resubscribe {
            id: "ended".into(),
            expires: None,
        },
    );
    sim.event(7_000, FanoutEvent::Gone { id: "gone".into() });
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
    assert_eq!(sim.fan.subscribers(), (1, 0));
    sim.run_to(15_000);
    assert_eq!(sim.terminated, ["ended", "lapses", "refreshed"]);
}

/// A config of `n` agents `agent0000…` in 10 teams (agent i in team i % 10).
pub(super) fn big_config(n: usize) -> Arc<Config> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for i in 0..n {
        let _ = write!(
            text,
            "[[agents]]\nusername = \"agent{i:04}\"\npassword = \"p\"\ndisplay_name = \"Agent Number {i}\"\n"
        );
    }
    for t in 0..10 {
        let members: Vec<String> = (0..n)
            .filter(|i| i % 10 == t)
            .map(|i| format!("\"agent{i:04}\""))
            .collect();
        let _ = write!(
            text,
            "[[teams]]\nname = \"team{t}\"\nmembers = [{}]\n",
            members.join(", ")
        );
    }
    Arc::new(Config::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}")))
}

fn voice(user: &str, on: bool) -> Event {
    Sim::agent(user, AgentChange::SetVoice(on))
}

fn register(sim: &Sim, user: &str) -> Event {
    let far = Sim::at(3_600_000, sim);
    Sim::agent(user, AgentChange::Register(Some(Box::new(binding(far)))))
}

/// Whole state first, then deltas: each names only the agents and teams that changed, from the
/// version the subscriber had; a fast and a slow subscriber end up with the same state, the slow
/// one having received the changes of its wait as one delta.
#[test]
fn deltas_name_only_what_changed_and_a_slow_subscriber_gets_one_delta_for_its_wait() {
    let mut sim = Sim::new();
    sim.slow.push("slow".into());
    sim.event(0, Sim::subscribe("fast"));
    sim.event(0, Sim::subscribe("slow"));
    // (at ms, change) — each its own burst.
    let steps = [
        (100, register(&sim, "alice")),
        (200, voice("alice", true)),
        (300, register(&sim, "bob")),
        (400, voice("bob", true)),
    ];
    for (ms, e) in steps {
        sim.event(ms, e);
    }
    sim.run_to(1_000);
    let fast = &sim.docs["fast"];
    // (changed agents, changed teams) of each delta the fast subscriber got.
    let shape: Vec<(Vec<&str>, usize)> = fast[1..]
        .iter()
        .map(|d| {
            assert_eq!(d.base, Some(d.version - 1), "each delta follows the last");
            let agents = d.agents.iter().map(|a| a.username.as_str()).collect();
            (agents, d.teams.len())
        })
        .collect();
    assert_eq!(fast[0].base, None, "the whole state first");
    assert_eq!(fast[0].agents.len(), 3);
    assert_eq!(
        shape,
        [
            (vec!["alice"], 0), // registered, voice off: inactive (no team count moves)
            (vec!["alice"], 1), // available: the team's counts move
            (vec!["bob"], 0),
            (vec!["bob"], 1),
        ]
    );
    // The slow one: its first NOTIFY still unanswered, nothing more was sent.
    assert_eq!(sim.notifies["slow"], 1);
    sim.release("slow");
    let slow = &sim.docs["slow"];
    assert_eq!(slow.len(), 2, "one delta for the whole wait");
    let names: Vec<&str> = slow[1].agents.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(slow[1].base, Some(slow[0].version));
    assert_eq!(
        sim.seen["slow"], sim.seen["fast"],
        "the same state in the end"
    );
}

/// Every subscriber at the same version gets the same bytes: one serialisation per change.
#[test]
fn one_change_is_serialised_once_for_all_subscribers() {
    let mut sim = Sim::new();
    for i in 0..5 {
        sim.event(0, Sim::subscribe(&format!("s{i}")));
    }
    sim.event(100, register(&sim, "carol"));
    sim.run_to(500);
    let last: Vec<&Arc<[u8]>> = (0..5)
        .map(|i| {
            sim.bodies[&format!("s{i}")]
                .last()
                .unwrap_or_else(|| panic!("s{i}"))
        })
        .collect();
    assert!(
        last.iter().all(|b| Arc::ptr_eq(b, last[0])),
        "serialised again"
    );
    let first: Vec<&Arc<[u8]>> = (0..5).map(|i| &sim.bodies[&format!("s{i}")][0]).collect();
    assert!(
        first.iter().all(|b| Arc::ptr_eq(b, first[0])),
        "whole state serialised again"
    );
}

/// A state too big for a datagram: in parts of at most `DATAGRAM_BODY` bytes, at most `WINDOW`
/// unanswered at a time, to a UDP subscriber; whole to a TCP one. Either way the same state.
#[test]
fn a_big_state_goes_in_parts_over_udp_within_the_window_and_whole_over_tcp() {
    use agentphone_protocol::directory_parts::DATAGRAM_BODY;
    let mut sim = Sim::with(big_config(600));
    sim.slow.push("udp".into());
    sim.event(0, Sim::subscribe_as("udp", Scope::All, Carrier::Datagram));
    sim.event(0, Sim::subscribe_as("tcp", Scope::All, Carrier::Stream));
    assert_eq!(
        sim.notifies["udp"],
        super::fanout::WINDOW,
        "a window's worth"
    );
    assert_eq!(sim.notifies["tcp"], 1);
    // A change while the parts are under way waits for them.
    sim.event(10, register(&sim, "agent0007"));
    sim.run_to(100);
    sim.release("udp");
    let parts = sim.bodies["udp"].len();
    assert!(parts > 50, "{parts} parts");
    let biggest = sim.bodies["udp"].iter().map(|b| b.len()).max();
    assert!(biggest <= Some(DATAGRAM_BODY), "a part of {biggest:?} B");
    assert_eq!(sim.docs["udp"].len(), 2, "the whole state, then the change");
    assert_eq!(sim.seen["udp"], sim.seen["tcp"]);
    assert_eq!(sim.seen["udp"].agents.len(), 600);
    assert_eq!(
        sim.status_seen_by("udp", "agent0007"),
        Some(AgentStatus::Inactive)
    );
}

/// The fan-out task awaits NOTIFY answers only when one lets the machine send more at once:
/// parts still queued, or a change that came while the subscriber's NOTIFYs were under way.
#[test]
fn answers_are_awaited_only_while_a_notify_waits_for_them() {
    let mut sim = Sim::with(big_config(600));
    sim.slow.push("s".into());
    sim.event(0, Sim::subscribe("s"));
    assert!(
        sim.fan.waits_for_answers(),
        "parts of the whole state queued"
    );
    sim.release("s");
    assert!(!sim.fan.waits_for_answers(), "all delivered");
    // A delta under way, nothing newer: its answer can be read lazily.
    sim.slow.push("s".into());
    sim.event(100, register(&sim, "agent0001"));
    sim.run_to(200);
    assert_eq!(sim.held.len(), 1, "one delta in flight");
    assert!(!sim.fan.waits_for_answers());
    // A change while it is under way: the answer lets the next delta go.
    sim.event(300, register(&sim, "agent0002"));
    sim.run_to(400);
    assert!(sim.fan.waits_for_answers());
    sim.release("s");
    assert!(!sim.fan.waits_for_answers());
    assert_eq!(
        sim.status_seen_by("s", "agent0002"),
        Some(AgentStatus::Inactive)
    );
}

/// Scope `self`: only my own entry, first with the away reasons and ring timeout, then a delta
/// when my entry changes — nothing when others change.
#[test]
fn an_own_subscription_hears_of_its_agent_only() {
    let mut sim = Sim::new();
    sim.event(
        0,
        Sim::subscribe_as("bob-own", Scope::Own("bob".into()), Carrier::Datagram),
    );
    sim.event(0, Sim::subscribe("all"));
    // (at ms, change, own NOTIFYs so far)
    let steps = [
        (100, register(&sim, "alice"), 1),
        (200, voice("alice", true), 1),
        (300, register(&sim, "bob"), 2),
        (400, voice("carol", true), 2),
        (500, voice("bob", true), 3),
    ];
    for (ms, e, want) in steps {
        sim.event(ms, e);
        sim.run_to(ms + 50);
        assert_eq!(sim.notifies["bob-own"], want, "at {ms} ms");
    }
    let own = &sim.docs["bob-own"];
    assert!(own
        .iter()
        .all(|d| d.agents.len() == 1 && d.teams.is_empty()));
    assert!(own[1..].iter().all(|d| d.base.is_some()));
    assert_eq!(
        sim.status_seen_by("bob-own", "bob"),
        Some(AgentStatus::Available)
    );
    assert_eq!(sim.fan.subscribers(), (1, 1));
}

/// CPU per directory change with N agents and 100 subscribers: the fan-out now (deltas, one
/// serialisation per change) against the way it was done before, reproduced here and measured
/// in the same run (the whole document serialised per subscriber). Figures, not a pass/fail:
/// `cargo test -p agentphone-server --release --lib directory_fanout -- --ignored --nocapture`.
#[test]
#[ignore]
fn directory_fanout_cpu_per_change() {
    const SUBS: usize = 100;
    const CHANGES: u32 = 200;
    for n in [100, 1_000, 5_000] {
        let mut sim = Sim::with(big_config(n));
        for i in 0..n {
            let e = register(&sim, &format!("agent{i:04}"));
            sim.event(0, e);
        }
        for i in 0..SUBS {
            sim.event(
                1,
                Sim::subscribe_as(&format!("sub{i}"), Scope::All, Carrier::Stream),
            );
        }
        sim.run_to(1_000);
        let change = |k: u32| voice(&format!("agent{:04}", k as usize % n), k.is_multiple_of(2));
        let mut ms = 1_000;
        let t0 = Instant::now();
        for k in 0..CHANGES {
            ms += 50;
            sim.event(ms, change(k));
            sim.run_to(ms + 25);
        }
        let new = t0.elapsed() / CHANGES;
        // Before: the whole document serialised for each subscriber.
        let doc = sim.dir.document();
        let t0 = Instant::now();
        let mut bytes = 0;
        for _ in 0..CHANGES / 10 {
            for _ in 0..SUBS {
                bytes += serde_json::to_vec(&doc).map_or(0, |v| v.len());
            }
        }
        let old = t0.elapsed() / (CHANGES / 10);
        println!(
            "directory fan-out, {n} agents, {SUBS} subscribers: before {old:?} per change \
             ({} B/NOTIFY), now {new:?} per change: {:.0}x less CPU",
            bytes / (CHANGES as usize / 10 * SUBS),
            old.as_secs_f64() / new.as_secs_f64().max(1e-9)
        );
    }
}
