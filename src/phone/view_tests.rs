//! The fold of events into the view: what a script's `expect` and the TUI rely on.

use std::time::{Duration, Instant};

use super::*;

fn state(call: &str, state: CallState) -> PhoneEvent {
    PhoneEvent::CallState {
        call: call.into(),
        state,
        reason: None,
    }
}

fn incoming(call: &str) -> PhoneEvent {
    PhoneEvent::IncomingCall {
        call: call.into(),
        from: "sip:x@y".into(),
        display: None,
        team: None,
        reason: None,
        transferred_by: None,
        listen_only: false,
        waited_ms: None,
    }
}

#[test]
fn outgoing_call_goes_calling_connected_held_idle() {
    let now = Instant::now();
    let mut v = PhoneView::new("bob");
    assert!(v.is_idle());
    v.dialled("a", "sip:customer@h", now);
    v.apply(&state("a", CallState::Calling), now);
    assert!(v.is_calling() && !v.is_ringing());
    v.apply(&state("a", CallState::Ringing), now);
    assert!(v.is_calling(), "remote ringing is still calling");
    v.apply(&state("a", CallState::Connected), now);
    assert!(v.is_connected());
    v.apply(&state("a", CallState::Held), now);
    assert!(v.is_held() && !v.is_connected());
    v.apply(&PhoneEvent::Mute { muted: true }, now);
    assert!(v.muted);
    v.apply(&state("a", CallState::Ended), now);
    assert!(v.is_idle() && !v.muted);
}

#[test]
fn incoming_call_rings_then_connects_with_the_caller_as_customer() {
    let now = Instant::now();
    let mut v = PhoneView::new("bob");
    v.apply(&incoming("b"), now);
    assert!(v.is_ringing() && !v.is_calling() && !v.is_idle());
    v.apply(&state("b", CallState::Ringing), now);
    assert!(v.call.is_none(), "ringing here makes no call yet");
    let later = now + Duration::from_secs(3);
    v.apply(&state("b", CallState::Connected), later);
    assert!(v.is_connected() && !v.is_ringing());
    let call = v.call.as_ref().expect("the call");
    assert!(call.answered_here);
    assert_eq!(call.started_at, later, "the timer starts at the answer");
    assert_eq!(call.parties[1].role, Role::Customer);
}

#[test]
fn the_popup_goes_with_its_own_call_only() {
    let now = Instant::now();
    let mut v = PhoneView::new("bob");
    v.apply(&incoming("b"), now);
    v.apply(&state("old", CallState::Ended), now);
    assert!(v.is_ringing(), "the end of another call keeps the popup");
    v.apply(
        &PhoneEvent::CallState {
            call: "b".into(),
            state: CallState::Ended,
            reason: Some("cancelled".into()),
        },
        now,
    );
    assert!(v.is_idle(), "the caller's cancel ends the popup");
}

#[test]
fn ended_event_of_another_call_keeps_the_current_one() {
    let now = Instant::now();
    let mut v = PhoneView::new("bob");
    v.dialled("a", "sip:x@h", now);
    v.apply(&state("a", CallState::Connected), now);
    v.apply(&state("old", CallState::Ended), now);
    assert!(v.is_connected());
}

#[test]
fn registration_follows_events_table() {
    let now = Instant::now();
    let table: Vec<(PhoneEvent, Registration)> = vec![
        (
            PhoneEvent::Registered { user: "u".into() },
            Registration::Online,
        ),
        (
            PhoneEvent::RegistrationFailed {
                code: 408,
                reason: "Request Timeout".into(),
            },
            Registration::Online,
        ),
        (
            PhoneEvent::Offline { retry_in_s: 2 },
            Registration::Offline {
                retry_at: now + Duration::from_secs(2),
            },
        ),
        (
            PhoneEvent::Registered { user: "u".into() },
            Registration::Online,
        ),
        (
            PhoneEvent::RegistrationFailed {
                code: 403,
                reason: "Forbidden".into(),
            },
            Registration::Refused {
                code: 403,
                reason: "Forbidden".into(),
            },
        ),
        (
            PhoneEvent::Unregistered { user: "u".into() },
            Registration::NotRegistered,
        ),
    ];
    let mut v = PhoneView::new("u");
    for (event, expected) in table {
        v.apply(&event, now);
        assert_eq!(v.registration, expected, "after {event:?}");
    }
}

#[test]
fn holding_in_a_room_leaves_the_other_agents_as_the_room_says() {
    // Issue 10 #2: alice holds in a three-party call; bob stays talking on her screen.
    let now = Instant::now();
    let mut v = PhoneView::new("alice");
    v.apply(&incoming("c"), now);
    v.apply(&state("c", CallState::Connected), now);
    let room: RoomState = serde_json::from_value(serde_json::json!({
        "room": "7", "version": 4, "customer_held": true,
        "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
        "participants": [
            {"id": "L1", "role": "customer", "name": "Sam Carter", "state": "held"},
            {"id": "L2", "role": "agent", "username": "alice", "name": "Alice Martin", "state": "connected"},
            {"id": "L3", "role": "agent", "username": "bob", "name": "Bob Stone", "state": "connected"}]
    }))
    .expect("room JSON");
    v.apply(
        &PhoneEvent::Room {
            room: Box::new(room),
        },
        now,
    );
    // The INFO's 200 comes after the room's NOTIFY.
    v.apply(&state("c", CallState::Held), now);
    let parties = &v.call.as_ref().expect("call").parties;
    let state_of = |user: &str| parties.iter().find(|p| p.user == user).map(|p| p.state);
    assert_eq!(state_of("bob"), Some(PartyState::Talking));
    assert_eq!(state_of("sip:customer@127.0.0.1"), Some(PartyState::OnHold));
    assert!(v.is_held(), "my call shows held");
}

/// A room where the customer has been held `held_ms` (None: not held) as its NOTIFY left.
fn room_with_customer_held(held_ms: Option<u64>) -> PhoneEvent {
    let state = if held_ms.is_some() {
        "held"
    } else {
        "connected"
    };
    let room: RoomState = serde_json::from_value(serde_json::json!({
        "room": "7", "version": 4,
        "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
        "participants": [
            {"id": "L1", "role": "customer", "name": "Sam Carter", "state": state,
             "held_ms": held_ms},
            {"id": "L2", "role": "agent", "username": "bob", "name": "Bob Stone", "state": "connected"}]
    }))
    .expect("room JSON");
    PhoneEvent::Room {
        room: Box::new(room),
    }
}

#[test]
fn the_hold_timer_counts_from_the_servers_figure_without_jumping() {
    // bob took the call by transfer while the customer had been held 30 s already.
    let now = Instant::now();
    let mut v = PhoneView::new("bob");
    v.apply(&incoming("c"), now);
    v.apply(&state("c", CallState::Connected), now);
    let customer_held = |v: &PhoneView| v.call.as_ref().expect("call").parties[0].held_since;
    v.apply(&room_with_customer_held(Some(30_000)), now);
    let since = now.checked_sub(Duration::from_secs(30));
    assert_eq!(customer_held(&v), since);
    // The next NOTIFY 5 s later took 300 ms longer on its way: the timer stays put.
    v.apply(
        &room_with_customer_held(Some(35_300)),
        now + Duration::from_secs(5),
    );
    assert_eq!(customer_held(&v), since);
    // Resumed, then held anew: a new start.
    v.apply(&room_with_customer_held(None), now + Duration::from_secs(6));
    assert_eq!(customer_held(&v), None);
    v.apply(
        &room_with_customer_held(Some(0)),
        now + Duration::from_secs(8),
    );
    assert_eq!(customer_held(&v), Some(now + Duration::from_secs(8)));
}

/// Issue 10, plain words: a failed transfer says what happened to whom, by display name, never
/// the SIP reason phrase.
#[test]
fn transfer_failures_are_plain_words_with_display_names() {
    let now = Instant::now();
    let agents: Vec<DirectoryAgent> = serde_json::from_value(serde_json::json!([
        {"username": "bob", "display_name": "Bob Stone", "status": "available"}
    ]))
    .unwrap_or_default();
    let cases: [(u16, &str); 5] = [
        (408, "Bob Stone did not answer"),
        (480, "Bob Stone did not answer"),
        (486, "Bob Stone is busy"),
        (603, "Bob Stone declined"),
        (503, "Bob Stone could not be reached"),
    ];
    for (code, words) in cases {
        let mut v = PhoneView::new("alice");
        v.apply(
            &PhoneEvent::Directory {
                version: 1,
                agents: agents.clone(),
                teams: Vec::new(),
                away_reasons: Vec::new(),
                ring_timeout_s: None,
            },
            now,
        );
        v.dialled("a", "sip:customer@h", now);
        v.apply(&state("a", CallState::Connected), now);
        v.apply(
            &PhoneEvent::Transfer {
                state: TransferState::Failed,
                code: Some(code),
                reason: Some("Request Timeout".into()),
                target: Some("bob".into()),
            },
            now,
        );
        let transfer = v.call.as_ref().map(|c| c.transfer.clone());
        assert_eq!(
            transfer,
            Some(TransferView::Failed {
                target: "Bob Stone".into(),
                reason: Some(words.into())
            }),
            "{code}"
        );
    }
}
