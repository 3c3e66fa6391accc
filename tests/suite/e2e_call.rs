//! A customer calls the support team; an agent answers. Everyone sends their own tone and records
//! what they hear; the recordings prove who heard whom in each phase (talk, hold, mute).
//! Real server, real headless softphones, real UDP, real Opus.

use agentphone_testkit::prelude::*;
use std::time::Duration;

const PHASE: Duration = Duration::from_millis(2500);
const TONES: [f32; 2] = [CUSTOMER_HZ, ALICE_HZ];

fn phase(customer: &mut Client, alice: &mut Client, name: &str) -> [std::path::PathBuf; 2] {
    let mut paths = record_phase(&mut [customer, alice], name, PHASE).into_iter();
    [
        paths.next().unwrap_or_default(),
        paths.next().unwrap_or_default(),
    ]
}

#[test]
fn customer_reaches_team_agent_and_they_hear_each_other_hold_and_mute() {
    let dir = scratch_dir("e2e_call");
    let server = TestServer::standard(&dir);

    let mut alice = scenario::agent(&server, &dir, "alice");

    let mut customer = customer_calls(&server, &dir, "support");

    let incoming = alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    assert!(
        incoming["from"]
            .as_str()
            .is_some_and(|f| f.contains("customer")),
        "the agent sees who calls: {incoming}"
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    customer.wait_state("connected");

    // Talk: each hears the other, nobody hears themselves.
    let [c_talk, a_talk] = phase(&mut customer, &mut alice, "talk");

    // Hold: the customer hears music, neither tone crosses.
    alice.cmd("hold");
    alice.wait_state("held");
    let [c_hold, a_hold] = phase(&mut customer, &mut alice, "hold");

    // Resume, then mute: the agent's tone stops reaching the customer; the customer still reaches her.
    alice.cmd("resume");
    alice.wait_state("connected");
    alice.cmd("mute on");
    customer.wait_hearing(&[], &[ALICE_HZ]);
    alice.wait_hearing(&[CUSTOMER_HZ], &[]);
    let [c_mute, a_mute] = phase(&mut customer, &mut alice, "muted");

    alice.cmd("mute off");
    customer.wait_hearing(&[ALICE_HZ], &[]);
    let [c_back, _] = phase(&mut customer, &mut alice, "unmuted");

    alice.cmd("hangup");
    alice.wait_state("ended");
    customer.wait_state("ended");

    let heard = Heard::analyse(&c_talk, &TONES);
    heard.assert_hears(ALICE_HZ, "alice, by the customer while talking");
    heard.assert_not_hears(
        CUSTOMER_HZ,
        "the customer's own voice (N-1), by the customer",
    );
    let heard = Heard::analyse(&a_talk, &TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by alice while talking");
    heard.assert_not_hears(ALICE_HZ, "alice's own voice (N-1), by alice");

    let heard = Heard::analyse(&c_hold, &TONES);
    heard.assert_not_hears(ALICE_HZ, "alice, by the customer on hold");
    heard.assert_music_on_hold(&c_hold);
    let heard = Heard::analyse(&a_hold, &TONES);
    heard.assert_not_hears(CUSTOMER_HZ, "the held customer, by alice");

    let heard = Heard::analyse(&c_mute, &TONES);
    heard.assert_not_hears(ALICE_HZ, "muted alice, by the customer");
    let heard = Heard::analyse(&a_mute, &TONES);
    heard.assert_hears(CUSTOMER_HZ, "the customer, by muted alice");

    let heard = Heard::analyse(&c_back, &TONES);
    heard.assert_hears(ALICE_HZ, "alice after unmute, by the customer");

    // The call record holds the call, written as it went.
    let db = rusqlite::Connection::open(&server.db).expect("open call records");
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0))
        .expect("calls table");
    assert!(rows >= 1, "a call record was written");

    assert!(customer.quit().success());
    assert!(alice.quit().success());
}
