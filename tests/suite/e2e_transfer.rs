//! Transfer (SPEC T1–T10, M4, M5), end to end: the server, headless softphones as the customer and
//! agents, each sending its own tone; each phase's recordings prove who heard whom.

use agentphone_testkit::prelude::*;
use std::time::Duration;

const PHASE: Duration = Duration::from_millis(2500);
const RINGBACK_HZ: f32 = 425.0;

/// Customer and alice hear each other again (after a failed or cancelled transfer).
fn assert_back_to_customer_and_alice(customer: &mut Client, alice: &mut Client, tag: &str) {
    assert_hear_each_other((customer, CUSTOMER_HZ), (alice, ALICE_HZ), tag, PHASE);
}

fn call_events(server: &TestServer) -> Vec<String> {
    let db = rusqlite::Connection::open(&server.db).expect("open call records");
    let mut stmt = db
        .prepare("SELECT state FROM call_events ORDER BY at_ms, rowid")
        .expect("call_events table");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query call_events");
    rows.filter_map(Result::ok).collect()
}

#[test]
fn agent_transfer_full_path_is_heard_phase_by_phase() {
    let dir = scratch_dir("e2e_transfer_full");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");

    // C ↔ A talk.
    let [c, a] = paths(record_phase(
        &mut [&mut customer, &mut alice],
        "talk",
        PHASE,
    ));
    Heard::analyse(&c, &ALL_TONES).assert_hears(ALICE_HZ, "alice, by the customer");
    Heard::analyse(&a, &ALL_TONES).assert_hears(CUSTOMER_HZ, "the customer, by alice");

    // A transfers to B with a reason: B rings with it; C hears music, not A.
    alice.cmd("transfer agent bob billing question");
    alice.wait_transfer("ringing");
    let incoming = bob.wait("incoming_call", &[], Duration::from_secs(10));
    assert_eq!(incoming["reason"], "billing question", "{incoming}");
    assert_eq!(incoming["transferred_by"], "alice", "{incoming}");
    assert!(
        incoming["display"]
            .as_str()
            .is_some_and(|d| d.contains("Sam Carter")),
        "bob sees the customer's identity: {incoming}"
    );
    let [c, a] = paths(record_phase(
        &mut [&mut customer, &mut alice],
        "ringing",
        PHASE,
    ));
    let heard = Heard::analyse(&c, &ALL_TONES);
    heard.assert_not_hears(ALICE_HZ, "alice, by the customer on hold");
    heard.assert_music_on_hold(&c);
    let heard = Heard::analyse(&a, &ALL_TONES);
    heard.assert_not_hears(CUSTOMER_HZ, "the held customer, by alice");
    // Ringback (425 Hz, 1 s on, 4 s off; restarted when the leg's mode changes) while bob rings.
    let ring = Heard::analyse(&a, &[RINGBACK_HZ]);
    assert!(
        ring.share(RINGBACK_HZ) >= 0.15,
        "alice hears ringback: 425 Hz in {:.0}% of windows of {}",
        100.0 * ring.share(RINGBACK_HZ),
        ring.path
    );

    // B answers: A and B hear each other, C hears neither.
    bob.cmd("answer");
    bob.wait_state("connected");
    alice.wait_transfer("answered");
    let [c, a, b] = paths(record_phase(
        &mut [&mut customer, &mut alice, &mut bob],
        "consult",
        PHASE,
    ));
    let heard = Heard::analyse(&c, &ALL_TONES);
    heard.assert_not_hears(ALICE_HZ, "alice, by the customer during the consultation");
    heard.assert_not_hears(BOB_HZ, "bob, by the customer during the consultation");
    heard.assert_music_on_hold(&c);
    let heard = Heard::analyse(&a, &ALL_TONES);
    heard.assert_hears(BOB_HZ, "bob, by alice during the consultation");
    heard.assert_not_hears(
        CUSTOMER_HZ,
        "the customer, by alice during the consultation",
    );
    let heard = Heard::analyse(&b, &ALL_TONES);
    heard.assert_hears(ALICE_HZ, "alice, by bob during the consultation");
    heard.assert_not_hears(CUSTOMER_HZ, "the customer, by bob during the consultation");

    // Resume: all three hear each other.
    alice.cmd("resume");
    alice.wait_timeline("resumed");
    customer.wait_hearing(&[ALICE_HZ, BOB_HZ], &[]);
    alice.wait_hearing(&[CUSTOMER_HZ, BOB_HZ], &[]);
    bob.wait_hearing(&[CUSTOMER_HZ, ALICE_HZ], &[]);
    let [c, a, b] = paths(record_phase(
        &mut [&mut customer, &mut alice, &mut bob],
        "three-way",
        PHASE,
    ));
    let heard = Heard::analyse(&c, &ALL_TONES);
    heard.assert_hears(ALICE_HZ, "alice, by the customer in the three-way");
    heard.assert_hears(BOB_HZ, "bob, by the customer in the three-way");
    let heard = Heard::analyse(&a, &ALL_TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by alice in the three-way");
    heard.assert_hears(BOB_HZ, "bob, by alice in the three-way");
    let heard = Heard::analyse(&b, &ALL_TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by bob in the three-way");
    heard.assert_hears(ALICE_HZ, "alice, by bob in the three-way");

    // A completes: A is gone; C and B carry on.
    alice.cmd("transfer complete");
    alice.wait_state("ended");
    bob.wait_timeline("transfer_completed");
    customer.wait_hearing(&[BOB_HZ], &[ALICE_HZ]);
    bob.wait_hearing(&[CUSTOMER_HZ], &[ALICE_HZ]);
    let [c, b] = paths(record_phase(&mut [&mut customer, &mut bob], "after", PHASE));
    let heard = Heard::analyse(&c, &ALL_TONES);
    heard.assert_hears(BOB_HZ, "bob, by the customer after the transfer");
    heard.assert_not_hears(ALICE_HZ, "alice (gone), by the customer");
    let heard = Heard::analyse(&b, &ALL_TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by bob after the transfer");
    heard.assert_not_hears(ALICE_HZ, "alice (gone), by bob");

    customer.cmd("hangup");
    bob.wait_state("ended");

    // The call record holds every step (its writer is asynchronous: wait until it has them).
    let steps = [
        "answered",
        "transfer_requested",
        "transfer_ringing",
        "transfer_answered",
        "resumed",
        "transfer_completed",
    ];
    wait_until(
        &format!("a call record with {steps:?}"),
        Duration::from_secs(5),
        || {
            let events = call_events(&server);
            match steps.iter().find(|k| !events.iter().any(|e| e == *k)) {
                None => Ok(()),
                Some(missing) => Err(format!("no {missing} in {events:?}")),
            }
        },
    );
}

#[test]
fn team_transfer_offers_members_in_order_until_one_answers() {
    let dir = scratch_dir("e2e_transfer_team");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut carol = agent(&server, &dir, "carol");
    let mut dave = agent(&server, &dir, "dave");

    alice.cmd("transfer team sales wants an upgrade");
    // carol (first in order, equally idle) rings and lets it ring out; dave is next and answers.
    let inc = carol.wait("incoming_call", &[], Duration::from_secs(10));
    assert_eq!(inc["team"], "sales", "{inc}");
    assert_eq!(inc["reason"], "wants an upgrade", "{inc}");
    // One member at a time: dave does not ring while carol does (ring_timeout_s = 4).
    dave.assert_no_event("incoming_call", Duration::from_secs(2));
    carol.wait_state("ended");
    let inc = dave.wait("incoming_call", &[], Duration::from_secs(10));
    assert_eq!(inc["team"], "sales", "{inc}");
    dave.cmd("answer");
    alice.wait_transfer("answered");
    alice.cmd("transfer complete");
    alice.wait_state("ended");
    assert_hear_each_other(
        (&mut customer, CUSTOMER_HZ),
        (&mut dave, DAVE_HZ),
        "after",
        PHASE,
    );
    customer.cmd("hangup");
}

#[test]
fn team_with_everyone_busy_fails_at_once_with_a_reason() {
    let dir = scratch_dir("e2e_transfer_busy_team");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    // sales: carol is logged in but voice off, dave is not logged in.
    let _carol = agent_voice_off(&server, &dir, "carol");
    alice.cmd("transfer team sales");
    let refused = alice.wait_transfer("refused");
    assert!(
        refused["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "a reason alice can read: {refused}"
    );
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "after-refusal");
}

#[test]
fn declined_transfer_restores_the_call_and_says_why() {
    let dir = scratch_dir("e2e_transfer_decline");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    transfer_rings(&mut alice, &mut bob, "transfer agent bob");
    let mark = alice.mark();
    bob.cmd("decline");
    let failed = alice.wait_transfer("failed");
    assert_eq!(failed["code"], 603, "{failed}");
    alice.wait_timeline_since(mark, "transfer_failed");
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "after-decline");
}

#[test]
fn unanswered_transfer_times_out_and_restores_the_call() {
    let dir = scratch_dir("e2e_transfer_timeout");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    transfer_rings(&mut alice, &mut bob, "transfer agent bob");
    // ring_timeout_s = 4 in the test config.
    let failed = alice.wait_transfer("failed");
    assert_eq!(failed["code"], 408, "{failed}");
    bob.wait_state("ended");
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "after-timeout");
}

#[test]
fn cancel_while_ringing_restores_the_call() {
    let dir = scratch_dir("e2e_transfer_cancel");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    transfer_rings(&mut alice, &mut bob, "transfer agent bob");
    let mark = alice.mark();
    alice.cmd("transfer cancel");
    alice.wait_transfer("cancelled");
    bob.wait_state("ended");
    alice.wait_timeline_since(mark, "transfer_cancelled");
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "after-cancel");
}

#[test]
fn target_hanging_up_during_consultation_returns_to_the_first_agent() {
    let dir = scratch_dir("e2e_transfer_target_leaves");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    transfer_answered(&mut alice, &mut bob, "transfer agent bob");
    bob.cmd("hangup");
    bob.wait_state("ended");
    alice.wait_timeline("left");
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "after-target-left");
}

#[test]
fn customer_hanging_up_during_consultation_leaves_the_agents_connected() {
    let dir = scratch_dir("e2e_transfer_customer_leaves");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    transfer_answered(&mut alice, &mut bob, "transfer agent bob");
    customer.cmd("hangup");
    customer.wait_state("ended");
    alice.wait_timeline("customer_left");
    bob.wait_timeline("customer_left");
    assert_hear_each_other((&mut alice, ALICE_HZ), (&mut bob, BOB_HZ), "agents", PHASE);
    alice.cmd("hangup");
    bob.wait_state("ended");
}

#[test]
fn a_fourth_participant_is_refused_with_a_reason() {
    let dir = scratch_dir("e2e_transfer_fourth");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    let _carol = agent(&server, &dir, "carol");
    transfer_answered(&mut alice, &mut bob, "transfer agent bob");
    // Customer + alice + bob = 3 = max_participants: carol would be the 4th. Also: one transfer
    // at a time — after completing or cancelling, bob himself tries.
    bob.cmd("transfer agent carol");
    let refused = bob.wait_transfer("refused");
    assert!(
        refused["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{refused}"
    );
    alice.cmd("transfer complete");
    alice.wait_state("ended");
    customer.wait_hearing(&[BOB_HZ], &[]);
    let [c] = paths(record_phase(&mut [&mut customer], "after", PHASE));
    Heard::analyse(&c, &ALL_TONES).assert_hears(BOB_HZ, "bob, by the customer");
}

#[test]
fn listen_only_agent_hears_everyone_and_is_heard_by_no_one() {
    let dir = scratch_dir("e2e_transfer_listen");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut carol = agent(&server, &dir, "carol");
    let inc = transfer_answered(
        &mut alice,
        &mut carol,
        "transfer agent carol --listen trainee",
    );
    assert_eq!(inc["listen_only"], true, "{inc}");
    carol.wait_hearing(&[CUSTOMER_HZ, ALICE_HZ], &[]);
    customer.wait_hearing(&[ALICE_HZ], &[]);
    alice.wait_hearing(&[CUSTOMER_HZ], &[]);
    let [c, a, t] = paths(record_phase(
        &mut [&mut customer, &mut alice, &mut carol],
        "listening",
        PHASE,
    ));
    let heard = Heard::analyse(&c, &ALL_TONES);
    heard.assert_hears(
        ALICE_HZ,
        "alice, by the customer (not held for listen-only)",
    );
    heard.assert_not_hears(CAROL_HZ, "the listening trainee, by the customer");
    let heard = Heard::analyse(&a, &ALL_TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by alice");
    heard.assert_not_hears(CAROL_HZ, "the listening trainee, by alice");
    let heard = Heard::analyse(&t, &ALL_TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by the trainee");
    heard.assert_hears(ALICE_HZ, "alice, by the trainee");
    customer.cmd("hangup");
}

#[test]
fn a_transfer_after_a_transfer() {
    let dir = scratch_dir("e2e_transfer_twice");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let mut bob = agent(&server, &dir, "bob");
    let mut carol = agent(&server, &dir, "carol");
    transfer_answered(&mut alice, &mut bob, "transfer agent bob");
    alice.cmd("transfer complete");
    alice.wait_state("ended");
    bob.wait("room", &[], Duration::from_secs(10));

    let inc = transfer_answered(&mut bob, &mut carol, "transfer agent carol second line");
    assert_eq!(inc["transferred_by"], "bob", "{inc}");
    bob.cmd("transfer complete");
    bob.wait_state("ended");
    assert_hear_each_other(
        (&mut customer, CUSTOMER_HZ),
        (&mut carol, CAROL_HZ),
        "after",
        PHASE,
    );
    customer.cmd("hangup");
}

#[test]
fn a_customer_cannot_transfer_or_control_the_room() {
    let dir = scratch_dir("e2e_t11");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let _bob = agent(&server, &dir, "bob");
    customer.cmd("transfer agent bob");
    let refused = customer.wait_transfer("refused");
    assert_eq!(refused["code"], 403, "{refused}");
    customer.cmd("transfer complete");
    customer.wait("command_failed", &[], Duration::from_secs(10));
    // The customer cannot reach an agent-only address either.
    let mut other = Client::spawn(
        server.addr(),
        &dir,
        ClientOptions::customer("intruder", CUSTOMER_HZ),
    );
    other.cmd(&format!("dial {}", server.uri("bob")));
    let ended = other.wait("call_state", &[("state", "ended")], Duration::from_secs(10));
    assert!(
        ended["reason"]
            .as_str()
            .is_some_and(|r| r.contains("401") || r.contains("403")),
        "{ended}"
    );
    assert_back_to_customer_and_alice(&mut customer, &mut alice, "unchanged");
}
