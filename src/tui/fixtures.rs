//! Models for tests: one per screen the snapshots show. Alice is "me" unless said otherwise.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::app::App;
use super::model::*;
use super::theme::Theme;

/// Seconds the call has lasted when a snapshot is taken (timer shows 01:23).
pub const CALL_AGE: Duration = Duration::from_secs(83);

/// One instant all fixtures' calls start at.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// An app on `model` with colours, its clock `CALL_AGE` after the call started.
pub fn app(model: Model) -> App {
    app_with_theme(model, Theme::colored())
}

/// An app on `model` with the given theme.
pub fn app_with_theme(model: Model, theme: Theme) -> App {
    let mut app = App::new(model, theme);
    app.set_now(t0() + CALL_AGE);
    app
}

fn agent(user: &str, display: &str, status: AgentStatus) -> AgentEntry {
    AgentEntry {
        user: user.into(),
        display: display.into(),
        status,
        away_reason: None,
    }
}

fn team(name: &str, available: u32, active: u32) -> TeamEntry {
    TeamEntry {
        name: name.into(),
        available,
        active,
    }
}

fn at(h: u32, m: u32, s: u32, text: &str) -> TimelineEntry {
    TimelineEntry {
        at: TimeOfDay::hms(h, m, s),
        text: text.into(),
    }
}

fn person(user: &str, name: &str, role: Role, state: PartyState, level: f32) -> Participant {
    Participant {
        user: user.into(),
        name: name.into(),
        role,
        state,
        muted: false,
        level,
        held_since: None,
    }
}

/// The directory: some agents free, some busy, some not offered at all (inactive, offline).
pub fn directory() -> Directory {
    Directory {
        agents: vec![
            agent("alice", "Alice Archer", AgentStatus::Available),
            agent("dave", "Dave Dunn", AgentStatus::OnCall),
            agent("bob", "Bob Baker", AgentStatus::Available),
            agent("erin", "Erin Evans", AgentStatus::Ringing),
            agent("frank", "Frank Fischer", AgentStatus::Inactive),
            agent("gina", "Gina Green", AgentStatus::Offline),
            agent("bea", "Bea Brown", AgentStatus::Available),
        ],
        teams: vec![
            team("Support", 2, 4),
            team("Sales", 0, 1),
            team("Billing", 0, 0),
            team("Bookings", 1, 1),
        ],
    }
}

/// Registered, voice on, nothing happening.
pub fn idle() -> Model {
    let mut m = Model::new("alice", "Alice Archer");
    m.connection = Connection::Online;
    m.voice_active = true;
    m.directory = directory();
    m
}

/// A transferred customer call rings here.
pub fn incoming() -> Model {
    let mut m = idle();
    m.incoming = Some(IncomingCall {
        from: "Carol Customer".into(),
        uri: "sip:+15550100@customers.example".into(),
        team: Some("Support".into()),
        transferred_by: Some("Bob Baker".into()),
        reason: Some("Billing question, wants a refund".into()),
        // Rang 5 s of 15.
        rings_out_at: Some(t0() + CALL_AGE + Duration::from_secs(10)),
        waiting_since: None,
    });
    m
}

/// A customer calling Support rings here after 1:23 in the queue and other agents' phones.
pub fn incoming_queued() -> Model {
    let mut m = idle();
    m.incoming = Some(IncomingCall {
        from: "Carol Customer".into(),
        uri: "sip:+15550100@customers.example".into(),
        team: Some("Support".into()),
        transferred_by: None,
        reason: None,
        rings_out_at: Some(t0() + CALL_AGE + Duration::from_secs(12)),
        waiting_since: Some(t0()),
    });
    m
}

/// Alice wraps up after two calls, the newest transferred to her, the older one disposed.
pub fn with_history() -> Model {
    let mut m = wrap_up();
    m.history = Some(HistoryList {
        codes: vec!["resolved".into(), "callback".into(), "escalated".into()],
        calls: vec![
            HistoryRow {
                at: TimeOfDay::hms(14, 2, 11),
                customer: "Carol Customer".into(),
                team: Some("Support".into()),
                duration_s: 83,
                transfers: 1,
                outcome: "completed".into(),
                disposition: None,
                note: None,
            },
            HistoryRow {
                at: TimeOfDay::hms(13, 40, 5),
                customer: "sip:+15550111@customers.example".into(),
                team: None,
                duration_s: 12,
                transfers: 0,
                outcome: "transferred".into(),
                disposition: Some("callback".into()),
                note: Some("call back at 5".into()),
            },
        ],
    });
    m
}

/// Alice talks with Carol.
pub fn in_call() -> Model {
    let mut m = idle();
    m.call = Some(CallView {
        customer: Some("Carol Customer".into()),
        started_at: t0(),
        participants: vec![
            person(
                "sip:+15550100@customers.example",
                "Carol Customer",
                Role::Customer,
                PartyState::Talking,
                0.6,
            ),
            person(
                "alice",
                "Alice Archer",
                Role::Agent,
                PartyState::Talking,
                0.3,
            ),
        ],
        transfer: TransferView::None,
        quality: Quality {
            mic_level: 0.5,
            speaker_level: 0.67,
            jitter_ms: Some(12.0),
            loss_pct: Some(0.4),
            rtt_ms: Some(48.0),
        },
        timeline: vec![
            at(14, 2, 5, "Carol Customer called Support"),
            at(14, 2, 9, "Alice Archer answered"),
        ],
        reason: None,
    });
    m
}

fn call_mut(m: &mut Model) -> &mut CallView {
    m.call.as_mut().expect("fixture has a call")
}

/// In call, my microphone muted.
pub fn muted() -> Model {
    let mut m = in_call();
    let call = call_mut(&mut m);
    if let Some(me) = call.participants.iter_mut().find(|p| p.user == "alice") {
        me.muted = true;
        me.level = 0.0;
    }
    call.quality.mic_level = 0.0;
    m
}

/// In call, the customer on hold.
pub fn on_hold() -> Model {
    let mut m = in_call();
    let call = call_mut(&mut m);
    call.participants[0].state = PartyState::OnHold;
    call.participants[0].level = 0.0;
    // Held for the last 42 s of the call.
    call.participants[0].held_since = Some(t0() + Duration::from_secs(41));
    call.timeline
        .push(at(14, 3, 1, "Alice Archer put the customer on hold"));
    m
}

/// Alice asked to transfer to Bob; Bob's phone rings, the customer hears music.
pub fn transfer_ringing() -> Model {
    let mut m = on_hold();
    let call = call_mut(&mut m);
    call.participants.push(person(
        "bob",
        "Bob Baker",
        Role::Agent,
        PartyState::Ringing,
        0.0,
    ));
    call.transfer = TransferView::Ringing {
        target: "Bob Baker".into(),
        by: "alice".into(),
    };
    call.timeline.push(at(
        14,
        3,
        2,
        "Alice Archer asked to transfer to Bob Baker: Billing question",
    ));
    m
}

/// Bob answered: Alice and Bob talk, the customer still on hold.
pub fn consulting() -> Model {
    let mut m = transfer_ringing();
    let call = call_mut(&mut m);
    call.participants[2].state = PartyState::Talking;
    call.participants[2].level = 0.5;
    call.transfer = TransferView::Consulting {
        target: "Bob Baker".into(),
        by: "alice".into(),
    };
    call.timeline
        .push(at(14, 3, 9, "Bob Baker answered the transfer"));
    m
}

/// Alice resumed the customer during the consultation: all three talk.
pub fn three_way() -> Model {
    let mut m = consulting();
    let call = call_mut(&mut m);
    call.participants[0].state = PartyState::Talking;
    call.participants[0].level = 0.4;
    call.timeline
        .push(at(14, 3, 30, "Alice Archer resumed the customer"));
    m
}

/// Bob's screen after Alice completed the transfer to him.
pub fn completed() -> Model {
    let mut m = three_way();
    m.me = Me {
        user: "bob".into(),
        display: "Bob Baker".into(),
    };
    let call = call_mut(&mut m);
    call.participants.retain(|p| p.user != "alice");
    call.transfer = TransferView::Completed {
        from: "Alice Archer".into(),
        to: "Bob Baker".into(),
    };
    call.reason = Some("Billing question".into());
    call.timeline.push(at(
        14,
        4,
        2,
        "Alice Archer transferred to Bob Baker (Billing question)",
    ));
    m
}

/// The server went away: offline, next attempt in 5 s.
pub fn offline() -> Model {
    let mut m = idle();
    m.connection = Connection::Offline {
        retry_at: t0() + CALL_AGE + Duration::from_secs(5),
    };
    m
}

/// Idle with no audio device.
pub fn no_audio() -> Model {
    let mut m = idle();
    m.audio = AudioStatus::NoDevice {
        message: "no capture device found".into(),
    };
    m
}

/// The server's away reasons of the fixtures.
fn away_reasons() -> Vec<String> {
    ["break", "lunch", "training"].map(String::from).to_vec()
}

/// Idle and available (the directory lists me).
pub fn available() -> Model {
    let mut m = idle();
    m.state = MyState {
        status: Some(AgentStatus::Available),
        away_reason: None,
        wrap_up_until: None,
        away_reasons: away_reasons(),
    };
    m
}

/// Away at lunch.
pub fn away() -> Model {
    let mut m = available();
    m.state.status = Some(AgentStatus::Away);
    m.state.away_reason = Some("lunch".into());
    m
}

/// After-call work with 14 s left.
pub fn wrap_up() -> Model {
    let mut m = available();
    m.state.status = Some(AgentStatus::AfterCallWork);
    m.state.wrap_up_until = Some(t0() + CALL_AGE + Duration::from_secs(14));
    m
}

/// Sue, a supervisor, watching the floor: one call talking with a whisperer, one waiting; agents
/// in several states for some minutes.
pub fn supervisor_floor() -> Model {
    use super::supervisor::{ago, Floor, FloorAgent, FloorCall, FloorTeam};
    let now = t0() + CALL_AGE;
    let mut m = Model::new("sue", "Sue Park");
    m.connection = Connection::Online;
    m.voice_active = true;
    m.directory = directory();
    let agent = |name: &str, status, away: Option<&str>, secs| FloorAgent {
        name: name.into(),
        status,
        away_reason: away.map(str::to_string),
        since: Some(ago(now, secs)),
    };
    m.floor = Some(Floor {
        teams: vec![
            FloorTeam {
                name: "Support".into(),
                waiting: 1,
                longest_since: Some(ago(now, 42)),
                calls_today: 12,
                abandoned_today: 2,
            },
            FloorTeam {
                name: "Sales".into(),
                waiting: 0,
                longest_since: None,
                calls_today: 3,
                abandoned_today: 0,
            },
        ],
        agents: vec![
            agent("Alice Archer", AgentStatus::OnCall, None, 192),
            agent("Bob Baker", AgentStatus::Away, Some("lunch"), 760),
            agent("Dave Dunn", AgentStatus::AfterCallWork, None, 15),
            agent("Erin Evans", AgentStatus::Available, None, 3725),
        ],
        calls: vec![
            FloorCall {
                room: "7".into(),
                team: Some("Support".into()),
                who: "Carol Customer · Alice Archer · Sue Park whispering".into(),
                answered: true,
                since: ago(now, 190),
            },
            FloorCall {
                room: "8".into(),
                team: Some("Support".into()),
                who: "sip:+15550111@customers.example".into(),
                answered: false,
                since: ago(now, 42),
            },
        ],
        more_calls: 0,
    });
    m
}
