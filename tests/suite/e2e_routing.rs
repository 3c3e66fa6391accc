//! Calls in and out: team offers in order, decline, nobody answers (480), voice channel off,
//! agent-to-agent calls, agent-to-customer calls and DTMF relay — heard, over real sockets.

use agentphone_testkit::prelude::*;
use std::time::Duration;

const TONES: [f32; 3] = [CUSTOMER_HZ, ALICE_HZ, BOB_HZ];
const PHASE: Duration = Duration::from_secs(2);

fn two(paths: Vec<std::path::PathBuf>) -> [std::path::PathBuf; 2] {
    let mut it = paths.into_iter();
    [it.next().unwrap_or_default(), it.next().unwrap_or_default()]
}

#[test]
fn team_offer_goes_to_next_member_after_a_decline() {
    let dir = scratch_dir("e2e_decline");
    let server = TestServer::standard(&dir);
    let mut alice = agent(&server, &dir, "alice");
    let mut bob = agent(&server, &dir, "bob");

    let mut customer = customer_calls(&server, &dir, "support");

    // Both idle since start: ties go by the team's member order, so alice is offered first.
    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.cmd("decline");
    bob.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    bob.cmd("answer");
    customer.wait_state("connected");

    let [c, b] = two(record_phase(&mut [&mut customer, &mut bob], "talk", PHASE));
    customer.cmd("hangup");
    bob.wait_state("ended");

    let heard = Heard::analyse(&c, &TONES);
    heard.assert_hears(BOB_HZ, "bob, by the customer");
    heard.assert_not_hears(ALICE_HZ, "alice (declined), by the customer");
    Heard::analyse(&b, &TONES).assert_hears(CUSTOMER_HZ, "the customer, by bob");
}

#[test]
fn nobody_answers_gives_480_and_inactive_agents_are_not_offered() {
    let dir = scratch_dir("e2e_480");
    let server = TestServer::standard(&dir);
    let mut alice = agent(&server, &dir, "alice");
    // bob is registered but his voice channel is off: he must not ring.
    let mut bob = agent_voice_off(&server, &dir, "bob");

    let mut customer = customer_calls(&server, &dir, "support");
    alice.wait("incoming_call", &[], Duration::from_secs(10));
    // alice lets it ring out (ring_timeout_s = 4 in the test config).
    let ended = customer.wait("call_state", &[("state", "ended")], Duration::from_secs(20));
    assert!(
        ended["reason"].as_str().is_some_and(|r| r.contains("480")),
        "the customer gets 480 when nobody answers: {ended}"
    );
    // Every event bob printed up to now is in his log once his (unchanged) voice state is answered.
    bob.set_voice(false);
    assert!(
        !bob.log.iter().any(|e| e["event"] == "incoming_call"),
        "bob (voice off) was not offered the call"
    );
    alice.wait_state("ended");
}

#[test]
fn agent_calls_agent_and_agent_calls_customer_with_dtmf() {
    let dir = scratch_dir("e2e_internal");
    let server = TestServer::standard(&dir);
    let mut alice = agent(&server, &dir, "alice");
    let mut bob = agent(&server, &dir, "bob");

    // Internal call alice → bob.
    alice.cmd(&format!("dial {}", server.uri("bob")));
    let inc = bob.wait("incoming_call", &[], Duration::from_secs(10));
    assert!(
        inc["from"].as_str().is_some_and(|f| f.contains("alice")),
        "bob sees alice calling: {inc}"
    );
    bob.cmd("answer");
    alice.wait_state("connected");
    let [a, b] = two(record_phase(&mut [&mut alice, &mut bob], "internal", PHASE));
    bob.cmd("hangup");
    alice.wait_state("ended");
    Heard::analyse(&a, &TONES).assert_hears(BOB_HZ, "bob, by alice");
    Heard::analyse(&b, &TONES).assert_hears(ALICE_HZ, "alice, by bob");

    // Outbound alice → a customer's own SIP address, through the server.
    let mut customer = Client::spawn(
        server.addr(),
        &dir,
        ClientOptions::customer("customer", CUSTOMER_HZ),
    );
    let ready = customer.wait("ready", &[], Duration::from_secs(10));
    let customer_sip = ready["sip"]
        .as_str()
        .expect("ready carries the SIP address")
        .to_string();
    alice.cmd(&format!("dial sip:customer@{customer_sip}"));
    customer.wait("incoming_call", &[], Duration::from_secs(10));
    customer.cmd("answer");
    alice.wait_state("connected");
    let [c, a] = two(record_phase(
        &mut [&mut customer, &mut alice],
        "outbound",
        PHASE,
    ));

    // DTMF from the customer reaches the agent through the server (RFC 4733 relay).
    customer.cmd("dtmf 42#");
    for digit in ["4", "2", "#"] {
        alice.wait("dtmf", &[("digit", digit)], Duration::from_secs(5));
    }
    alice.cmd("hangup");
    customer.wait_state("ended");
    Heard::analyse(&c, &TONES).assert_hears(ALICE_HZ, "alice, by the customer she called");
    Heard::analyse(&a, &TONES).assert_hears(CUSTOMER_HZ, "the called customer, by alice");
}
