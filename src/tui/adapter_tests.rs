//! The adapter's mappings: the engine's view (folded from the events the engine emits) → model,
//! actions → commands.

use std::time::{Duration, Instant};

use super::*;
use crate::phone::{CallState, PhoneEvent, RoomState, TransferState};
use crate::tui::model::{voice_active, AgentStatus, Role, TransferView};

fn t() -> Instant {
    Instant::now()
}

fn adapter() -> Adapter {
    Adapter::new(
        "alice",
        "Alice Martin",
        Some("127.0.0.1:5060".parse().unwrap()),
    )
}

fn incoming(a: &mut Adapter) {
    a.apply(
        &PhoneEvent::IncomingCall {
            call: "c1".into(),
            from: "sip:customer@127.0.0.1".into(),
            display: Some("Sam Carter".into()),
            team: Some("support".into()),
            reason: None,
            transferred_by: None,
            listen_only: false,
            waited_ms: Some(83_000),
        },
        t(),
    );
}

fn state(a: &mut Adapter, s: CallState, reason: Option<&str>) -> bool {
    a.apply(
        &PhoneEvent::CallState {
            call: "c1".into(),
            state: s,
            reason: reason.map(str::to_string),
        },
        t(),
    )
}

#[test]
fn registration_offline_and_refusal_show_in_the_connection() {
    let mut a = adapter();
    assert_eq!(a.model().connection, Connection::Registering);
    let now = t();
    assert!(a.apply(&PhoneEvent::Offline { retry_in_s: 4 }, now));
    assert_eq!(
        a.model().connection,
        Connection::Offline {
            retry_at: now + Duration::from_secs(4)
        }
    );
    assert!(a.apply(
        &PhoneEvent::Registered {
            user: "alice".into()
        },
        t()
    ));
    assert_eq!(a.model().connection, Connection::Online);
    assert!(a.take_first_registration(), "voice goes on once");
    assert!(!a.take_first_registration());
    // 408 is "nobody answered": the Offline event that follows says when we retry.
    a.apply(
        &PhoneEvent::RegistrationFailed {
            code: 408,
            reason: "Request Timeout".into(),
        },
        t(),
    );
    assert_eq!(a.model().connection, Connection::Online);
    a.apply(
        &PhoneEvent::RegistrationFailed {
            code: 403,
            reason: "Forbidden".into(),
        },
        t(),
    );
    assert_eq!(
        a.model().connection,
        Connection::Refused {
            reason: "403 Forbidden".into()
        }
    );
}

#[test]
fn incoming_call_answered_becomes_the_call_with_the_customer() {
    let mut a = adapter();
    incoming(&mut a);
    let inc = a.model().incoming.clone().unwrap();
    assert_eq!(inc.from, "Sam Carter");
    assert_eq!(inc.team.as_deref(), Some("support"));
    // The server's queue wait, taken back from when it rang here.
    let waited = inc
        .waiting_since
        .map(|since| t().saturating_duration_since(since));
    assert!(
        waited.is_some_and(|w| w >= Duration::from_secs(83) && w < Duration::from_secs(84)),
        "{waited:?}"
    );
    // Ringing here does not create a call yet.
    state(&mut a, CallState::Ringing, None);
    assert!(a.model().call.is_none());
    assert!(state(&mut a, CallState::Connected, None));
    assert!(a.model().incoming.is_none());
    let call = a.model().call.clone().unwrap();
    assert_eq!(call.customer.as_deref(), Some("Sam Carter"));
    assert_eq!(call.participants.len(), 2);
    assert_eq!(call.participants[1].role, Role::Customer);
    assert_eq!(call.participants[1].state, PartyState::Talking);
    assert_eq!(call.timeline.len(), 1);
    assert!(call.timeline[0].text.contains("Alice Martin answered"));
}

#[test]
fn mute_hold_and_quality_follow_the_engine() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    a.apply(&PhoneEvent::Mute { muted: true }, t());
    let me = a.model().me.clone();
    assert!(a.model().call.as_ref().unwrap().muted(&me));
    state(&mut a, CallState::Held, None);
    assert!(a.model().call.as_ref().unwrap().held(&me));
    state(&mut a, CallState::Connected, None);
    assert!(!a.model().call.as_ref().unwrap().held(&me));
    a.apply(
        &PhoneEvent::Quality {
            jitter_ms: 3.5,
            loss_pct: 1.0,
            rtt_ms: Some(12.0),
        },
        t(),
    );
    let q = a.model().call.as_ref().unwrap().quality;
    assert_eq!(
        (q.jitter_ms, q.loss_pct, q.rtt_ms),
        (Some(3.5), Some(1.0), Some(12.0))
    );
    assert!(a.set_levels(0.5, 0.25));
    assert!(!a.set_levels(0.51, 0.25), "invisible change: no redraw");
    let call = a.model().call.clone().unwrap();
    assert_eq!(call.participants[0].level, 0.5);
    assert_eq!(call.participants[1].level, 0.25);
}

#[test]
fn ended_call_clears_the_call_and_says_why() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    state(&mut a, CallState::Ended, Some("remote hangup"));
    assert!(a.model().call.is_none());
    assert_eq!(
        a.model().notice.as_deref(),
        Some("Call ended (remote hangup).")
    );
    // A ringing call the caller gave up on: the popup goes.
    incoming(&mut a);
    state(&mut a, CallState::Ended, Some("cancelled"));
    assert!(a.model().incoming.is_none());
}

#[test]
fn dialing_an_agent_is_an_internal_call() {
    let mut a = adapter();
    let agents: Vec<crate::phone::DirectoryAgent> = serde_json::from_value(serde_json::json!([
        {"username": "bob", "display_name": "Bob Stone", "status": "available"}
    ]))
    .unwrap();
    a.apply(
        &PhoneEvent::Directory {
            version: 1,
            agents,
            teams: Vec::new(),
            away_reasons: Vec::new(),
            ring_timeout_s: None,
        },
        t(),
    );
    let cmds = a.commands_for(&Action::Dial("bob".into())).unwrap();
    assert_eq!(
        cmds,
        vec![PhoneCommand::Dial("sip:bob@127.0.0.1:5060".into())]
    );
    // The engine tells its view whom it dials (the events do not carry it).
    let mut view = a.shown().clone();
    view.dialled("c1", "sip:bob@127.0.0.1:5060", t());
    a.show(&view);
    state(&mut a, CallState::Calling, None);
    let call = a.model().call.clone().unwrap();
    assert_eq!(call.customer, None);
    assert_eq!(call.participants[1].name, "Bob Stone");
    assert_eq!(call.participants[1].state, PartyState::Ringing);
    state(&mut a, CallState::Connected, None);
    assert_eq!(
        a.model().call.as_ref().unwrap().participants[1].state,
        PartyState::Talking
    );
}

#[test]
fn actions_map_to_engine_commands() {
    let mut a = adapter();
    let one = |a: &mut Adapter, action: Action| a.commands_for(&action).unwrap();
    assert_eq!(
        one(&mut a, Action::Mute(true)),
        vec![PhoneCommand::Mute(true)]
    );
    assert_eq!(one(&mut a, Action::Hold(true)), vec![PhoneCommand::Hold]);
    assert_eq!(one(&mut a, Action::Hold(false)), vec![PhoneCommand::Resume]);
    assert_eq!(
        one(&mut a, Action::Dtmf('5')),
        vec![PhoneCommand::Dtmf("5".into())]
    );
    assert_eq!(one(&mut a, Action::Answer), vec![PhoneCommand::Answer]);
    assert_eq!(one(&mut a, Action::Decline), vec![PhoneCommand::Decline]);
    assert_eq!(one(&mut a, Action::Hangup), vec![PhoneCommand::Hangup]);
    assert_eq!(
        one(&mut a, Action::SetVoice(false)),
        vec![PhoneCommand::SetVoice(false)]
    );
    assert!(one(&mut a, Action::Help).is_empty());
    // Quit: nothing to hang up, not registered → nothing.
    assert!(one(&mut a, Action::Quit).is_empty());
    a.apply(
        &PhoneEvent::Registered {
            user: "alice".into(),
        },
        t(),
    );
    incoming(&mut a);
    // Quitting while a call rings here declines it.
    assert_eq!(
        one(&mut a, Action::Quit),
        vec![PhoneCommand::Decline, PhoneCommand::Unregister]
    );
    state(&mut a, CallState::Connected, None);
    assert_eq!(
        one(&mut a, Action::Quit),
        vec![PhoneCommand::Hangup, PhoneCommand::Unregister]
    );
}

#[test]
fn dial_targets_become_sip_uris() {
    let server = Some("10.0.0.1:5060".parse().unwrap());
    assert_eq!(dial_uri("bob", server).unwrap(), "sip:bob@10.0.0.1:5060");
    assert_eq!(dial_uri("", server), Err(strings::DIAL_EMPTY.to_string()));
    assert_eq!(
        dial_uri("bob", None),
        Err(strings::DIAL_NO_SERVER.to_string())
    );
}

fn room(transfer: Option<(&str, &str)>, customer_held: bool, bob: Option<&str>) -> RoomState {
    let mut participants = vec![
        serde_json::json!({"id": "L1", "role": "customer", "name": "Sam Carter",
            "state": if customer_held { "held" } else { "connected" }, "muted": false}),
        serde_json::json!({"id": "L2", "role": "agent", "username": "alice", "name": "Alice Martin",
            "state": "connected", "muted": true}),
    ];
    if let Some(state) = bob {
        participants.push(
            serde_json::json!({"id": "T1", "role": "agent", "username": "bob",
            "name": "Bob Stone", "state": state, "muted": false}),
        );
    }
    let transfer = transfer.map(|(state, target)| {
        serde_json::json!({"id": 1, "state": state, "kind": "agent", "target": target,
            "target_name": "Bob Stone", "team": null, "by": "alice", "reason": "billing",
            "listen_only": false})
    });
    serde_json::from_value(serde_json::json!({
        "room": "7", "version": 3, "max_participants": 3, "customer_held": customer_held,
        "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
        "participants": participants, "transfer": transfer,
        "timeline": [{"at_ms": 3_600_000u64, "kind": "answered", "text": "Answered by Alice Martin"}]
    }))
    .unwrap()
}

#[test]
fn room_state_drives_participants_transfer_and_timeline() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    a.apply(
        &PhoneEvent::Room {
            room: room(Some(("ringing", "bob")), true, Some("ringing")).into(),
        },
        t(),
    );
    let call = a.model().call.clone().unwrap();
    let me = a.model().me.clone();
    assert_eq!(call.participants.len(), 3);
    assert!(call.held(&me), "customer on hold");
    assert!(call.muted(&me));
    assert_eq!(call.participants[2].state, PartyState::Ringing);
    assert_eq!(
        call.transfer,
        TransferView::Ringing {
            target: "Bob Stone".into(),
            by: "alice".into()
        }
    );
    assert_eq!(call.timeline.len(), 1);
    assert_eq!(call.timeline[0].at, TimeOfDay::hms(1, 0, 0));
    assert_eq!(call.timeline[0].text, "Answered by Alice Martin");

    a.apply(
        &PhoneEvent::Room {
            room: room(Some(("consulting", "bob")), true, Some("connected")).into(),
        },
        t(),
    );
    assert!(matches!(
        a.model().call.as_ref().unwrap().transfer,
        TransferView::Consulting { .. }
    ));
    // Completed arrives after my call ended: the notice says where the call went.
    state(&mut a, CallState::Ended, Some("remote hangup"));
    a.apply(
        &PhoneEvent::Transfer {
            state: TransferState::Completed,
            code: None,
            reason: None,
            target: None,
        },
        t(),
    );
    assert_eq!(
        a.model().notice.as_deref(),
        Some("Call ended: transferred to Bob Stone.")
    );
}

#[test]
fn transfer_refusal_and_failure_show_why() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    a.apply(
        &PhoneEvent::Transfer {
            state: TransferState::Refused,
            code: Some(486),
            reason: Some("bob is on a call".into()),
            target: Some("bob".into()),
        },
        t(),
    );
    assert_eq!(
        a.model().call.as_ref().unwrap().transfer,
        TransferView::Failed {
            target: "bob".into(),
            reason: Some("bob is on a call".into())
        }
    );
    a.apply(
        &PhoneEvent::CommandFailed {
            command: "cancel_transfer".into(),
            code: 409,
            reason: "no transfer under way".into(),
        },
        t(),
    );
    assert_eq!(
        a.model().notice.as_deref(),
        Some("cancel transfer refused: no transfer under way")
    );
}

#[test]
fn directory_event_fills_the_modal_lists() {
    let mut a = Adapter::new("bob", "bob", None);
    let agents: Vec<crate::phone::DirectoryAgent> = serde_json::from_value(serde_json::json!([
        {"username": "bob", "display_name": "Bob Stone", "status": "available"},
        {"username": "carol", "display_name": "", "status": "something_new"}
    ]))
    .unwrap();
    let teams: Vec<crate::phone::DirectoryTeam> = serde_json::from_value(serde_json::json!([
        {"name": "Support", "available": 1, "active": 2}
    ]))
    .unwrap();
    a.apply(
        &PhoneEvent::Directory {
            version: 1,
            agents,
            teams,
            away_reasons: Vec::new(),
            ring_timeout_s: None,
        },
        t(),
    );
    let d = &a.model().directory;
    assert_eq!(d.agents[0].status, AgentStatus::Available);
    assert_eq!(d.agents[1].display, "carol");
    assert_eq!(d.agents[1].status, AgentStatus::Unknown);
    assert!(
        !voice_active(d.agents[1].status),
        "unknown status = not offered"
    );
    assert_eq!((d.teams[0].available, d.teams[0].active), (1, 2));
    assert_eq!(
        a.model().me.display,
        "Bob Stone",
        "my name from the directory"
    );
}

/// Plain words (issue 10): the popup names the team as configured ("Support"), not the address
/// the call came in on (`support`, the server's Call-Info).
#[test]
fn the_popup_names_the_team_not_its_address() {
    let mut a = adapter();
    let teams: Vec<crate::phone::DirectoryTeam> = serde_json::from_value(serde_json::json!([
        {"name": "Support", "inbound": "support", "available": 1, "active": 2}
    ]))
    .unwrap();
    a.apply(
        &PhoneEvent::Directory {
            version: 1,
            agents: Vec::new(),
            teams,
            away_reasons: Vec::new(),
            ring_timeout_s: None,
        },
        t(),
    );
    incoming(&mut a);
    let inc = a.model().incoming.clone().unwrap();
    assert_eq!(inc.team.as_deref(), Some("Support"));
}

#[test]
fn transfer_actions_become_transfer_commands() {
    let a = adapter();
    let cmds = a
        .commands_for(&Action::Transfer {
            target: TransferTarget::Team("Support".into()),
            reason: Some("  ".into()),
            listen_only: true,
        })
        .unwrap();
    assert_eq!(
        cmds,
        vec![PhoneCommand::Transfer {
            target: phone::TransferTarget::Team("Support".into()),
            reason: None,
            listen_only: true
        }]
    );
    assert_eq!(
        a.commands_for(&Action::CompleteTransfer).unwrap(),
        vec![PhoneCommand::CompleteTransfer]
    );
    assert_eq!(
        a.commands_for(&Action::CancelTransfer).unwrap(),
        vec![PhoneCommand::CancelTransfer]
    );
}

#[test]
fn room_levels_fill_the_others_meters_and_my_row_keeps_my_mic() {
    let level_of = |a: &Adapter, user: &str| {
        let call = a.model().call.as_ref().unwrap();
        call.participants
            .iter()
            .find(|p| p.user == user)
            .map(|p| p.level)
    };
    let customer = "sip:customer@127.0.0.1";
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    let without_levels = room(None, false, None);
    a.apply(
        &PhoneEvent::Room {
            room: without_levels.clone().into(),
        },
        t(),
    );
    // A server without levels: the speaker meter stands in for the others.
    assert!(a.set_levels(0.5, 0.25));
    assert_eq!(level_of(&a, "alice"), Some(0.5));
    assert_eq!(level_of(&a, customer), Some(0.25));

    let mut with_levels = without_levels;
    with_levels.participants[0].level = Some(0.75);
    with_levels.participants[1].level = Some(0.0);
    a.apply(
        &PhoneEvent::Room {
            room: with_levels.clone().into(),
        },
        t(),
    );
    assert_eq!(level_of(&a, customer), Some(0.75), "the server's level");
    assert_eq!(level_of(&a, "alice"), Some(0.5), "my row keeps my mic");

    assert!(a.set_levels(0.9, 0.1));
    assert_eq!(level_of(&a, "alice"), Some(0.9));
    assert_eq!(
        level_of(&a, customer),
        Some(0.75),
        "the speaker no longer overrides"
    );

    with_levels.participants[0].level = Some(7.0);
    a.apply(
        &PhoneEvent::Room {
            room: with_levels.into(),
        },
        t(),
    );
    assert_eq!(level_of(&a, customer), Some(1.0), "out of range is clamped");
}

/// #6: an old notice goes with the next action, stays gone when the view changes for something
/// else, and the same failure happening again shows again.
#[test]
fn notice_clears_on_the_next_action_and_a_repeat_shows_again() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    let refused = PhoneEvent::CommandFailed {
        command: "hold".into(),
        code: 409,
        reason: "not now".into(),
    };
    a.apply(&refused, t());
    assert_eq!(a.model().notice.as_deref(), Some("hold refused: not now"));

    a.clear_notice(); // the user pressed a key for the engine
    assert_eq!(a.model().notice, None);
    a.apply(&PhoneEvent::Mute { muted: true }, t());
    assert_eq!(a.model().notice, None, "the stale notice came back");

    a.apply(&refused, t());
    assert_eq!(
        a.model().notice.as_deref(),
        Some("hold refused: not now"),
        "the same failure again must show again"
    );
}

/// Timers (issue 10 #3): the call timer counts from the room's first timeline entry — the target
/// of a transfer sees the customer's whole call — and a held party gets a hold timer.
#[test]
fn call_timer_spans_a_transfer_and_the_held_party_has_a_hold_timer() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut r = room(None, true, None);
    r.timeline[0].at_ms = wall_now - 65_000;
    let before = Instant::now();
    a.apply(&PhoneEvent::Room { room: r.into() }, t());
    let call = a.model().call.clone().unwrap();
    let age = before.saturating_duration_since(call.started_at);
    assert!(
        (64..=66).contains(&age.as_secs()),
        "the call began 65 s ago on the server: {age:?}"
    );
    let held = call
        .participants
        .iter()
        .find(|p| p.state == PartyState::OnHold)
        .expect("the customer is held");
    let since = held.held_since.expect("a hold timer");
    assert!(since >= before, "held from when it was seen");
    // Still held in the next state: the timer keeps its start.
    let mut r = room(None, true, None);
    r.timeline[0].at_ms = wall_now - 65_000;
    a.apply(&PhoneEvent::Room { room: r.into() }, t());
    let call = a.model().call.clone().unwrap();
    let again = call
        .participants
        .iter()
        .find(|p| p.state == PartyState::OnHold)
        .and_then(|p| p.held_since);
    assert_eq!(again, Some(since));
}

/// The server's hold figure wins over when this screen saw the hold (issue 10: a transfer
/// target sees how long the customer has really been held).
#[test]
fn the_hold_timer_takes_the_servers_figure() {
    let mut a = adapter();
    incoming(&mut a);
    state(&mut a, CallState::Connected, None);
    let mut r = room(None, true, None);
    r.participants[0].held_ms = Some(42_000);
    let before = Instant::now();
    a.apply(&PhoneEvent::Room { room: r.into() }, t());
    let call = a.model().call.clone().unwrap();
    let since = call
        .participants
        .iter()
        .find(|p| p.state == PartyState::OnHold)
        .and_then(|p| p.held_since)
        .expect("a hold timer");
    let held = before.saturating_duration_since(since);
    assert!(
        (41..=42).contains(&held.as_secs()),
        "held 42 s on the server: {held:?}"
    );
}
