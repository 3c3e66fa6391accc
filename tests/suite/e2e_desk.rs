//! The agent desktop's figures from the server (issue 10), end to end over real sockets: the
//! hold time a transfer target sees, and the call history with the disposition the agent set
//! during wrap-up. (The customer's queue wait on the offer: `e2e_queue.rs`.)

use agentphone_testkit::prelude::*;
use serde_json::Value;
use std::time::Duration;

const PHASE: Duration = Duration::from_millis(2000);

/// The customer's held_ms in a room event, if it says.
fn customer_held_ms(room: &Value) -> Option<u64> {
    room["room"]["participants"]
        .as_array()?
        .iter()
        .find(|p| p["role"] == "customer")
        .and_then(|p| p["held_ms"].as_u64())
}

#[test]
fn a_transfer_target_sees_how_long_the_customer_has_been_on_hold() {
    let dir = scratch_dir("e2e_desk_hold");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");

    alice.cmd("hold");
    alice.wait_for("the customer held", Duration::from_secs(10), |v| {
        v["event"] == "room" && customer_held_ms(v).is_some()
    });
    // The customer hears music for 2 s: the hold's length.
    let [held] = paths(record_phase(&mut [&mut customer], "held", PHASE));
    Heard::analyse(&held, &ALL_TONES).assert_music_on_hold(&held);

    alice.cmd("transfer agent bob billing question");
    bob.wait("incoming_call", &[], Duration::from_secs(10));
    bob.cmd("answer");
    bob.wait_state("connected");
    let room = bob.wait_for("bob's room state", Duration::from_secs(10), |v| {
        v["event"] == "room" && customer_held_ms(v).is_some()
    });
    let held_ms = customer_held_ms(&room).unwrap_or_default();
    assert!(
        (2_000..15_000).contains(&held_ms),
        "bob sees the hold since alice began it, not since he joined: {room}"
    );
    let [a, b] = paths(record_phase(&mut [&mut alice, &mut bob], "consult", PHASE));
    Heard::analyse(&a, &ALL_TONES).assert_hears(BOB_HZ, "bob, by alice in the consultation");
    Heard::analyse(&b, &ALL_TONES).assert_hears(ALICE_HZ, "alice, by bob in the consultation");
    // alice hangs up: the transfer completes (T6); then the customer hangs up on bob.
    alice.cmd("hangup");
    alice.wait_state("ended");
    customer.cmd("hangup");
    bob.wait_state("ended");
}

/// The first call of a history event.
fn newest(history: &Value) -> &Value {
    &history["calls"][0]
}

#[test]
fn after_the_call_the_history_lists_it_and_the_disposition_is_stored() {
    let dir = scratch_dir("e2e_desk_history");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let [c, a] = paths(record_phase(
        &mut [&mut customer, &mut alice],
        "talk",
        PHASE,
    ));
    Heard::analyse(&c, &ALL_TONES).assert_hears(ALICE_HZ, "alice, by the customer");
    Heard::analyse(&a, &ALL_TONES).assert_hears(CUSTOMER_HZ, "the customer, by alice");

    // alice hangs up: the fetch that follows her BYE's 200 lists the call.
    alice.cmd("hangup");
    alice.wait_state("ended");
    let history = alice.wait_for("the history with the call", Duration::from_secs(10), |v| {
        v["event"] == "history" && v["calls"].as_array().is_some_and(|c| !c.is_empty())
    });
    let call = newest(&history);
    assert_eq!(call["customer"], "Sam Carter", "{history}");
    assert_eq!(call["team"], "support", "{history}");
    assert_eq!(call["outcome"], "completed", "{history}");
    assert!(
        call["duration_s"]
            .as_u64()
            .is_some_and(|d| (2..30).contains(&d)),
        "{history}"
    );
    assert!(call["disposition"].is_null(), "{history}");

    // A code the server does not have is refused with its list; a good one is stored.
    alice.cmd("disposition sold");
    let refused = alice.wait(
        "command_failed",
        &[("command", "disposition")],
        Duration::from_secs(10),
    );
    assert_eq!(refused["code"], 488, "{refused}");
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("resolved")),
        "{refused}"
    );
    alice.cmd("disposition resolved refund sent");
    let history = alice.wait_for(
        "the history with the disposition",
        Duration::from_secs(10),
        |v| v["event"] == "history" && newest(v)["disposition"] == "resolved",
    );
    assert_eq!(newest(&history)["note"], "refund sent", "{history}");

    // Stored with alice's part of the call record.
    let db = rusqlite::Connection::open(&server.db).expect("open call records");
    let (code, note, ended): (String, String, String) = db
        .query_row(
            "SELECT a.disposition, a.note, c.state FROM call_agents a JOIN calls c ON c.id = a.call_id
             WHERE a.agent = 'alice'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("alice's part of the call");
    assert_eq!(
        (code.as_str(), note.as_str(), ended.as_str()),
        ("resolved", "refund sent", "ended")
    );
}
