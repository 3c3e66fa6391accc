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
