//! Inbound routing with availability order and queueing (SPEC R1, T3): the longest-idle agent is
//! offered first; with nobody available the customer waits with music and is offered as soon as
//! someone frees up, or gets 480 after `queue_timeout_s`.

use agentphone_testkit::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// When `user` became idle, if a `directory` event shows them available.
fn available_since(v: &Value, user: &str) -> Option<u64> {
    if v["event"] != "directory" {
        return None;
    }
    let agent = v["agents"]
        .as_array()?
        .iter()
        .find(|a| a["username"] == user)?;
    (agent["status"] == "available").then(|| agent["idle_since_ms"].as_u64())?
}

#[test]
fn inbound_calls_go_to_the_longest_idle_agent_first() {
    let dir = scratch_dir("e2e_order");
    let server = TestServer::standard(&dir);
    let mut alice = agent(&server, &dir, "alice");
    let mut bob = agent(&server, &dir, "bob");

    // Call 1: both idle since log-in; the tie goes by member order → alice.
    let mut c1 = customer_calls(&server, &dir, "support");
    alice.wait("incoming_call", &[], Duration::from_secs(10));
    alice.cmd("answer");
    c1.wait_state("connected");
    // Call 2: alice is on a call → bob.
    let mut c2 = Client::spawn(
        server.addr(),
        &dir,
        ClientOptions::customer("customer2", CUSTOMER_HZ),
    );
    c2.cmd(&format!("dial {}", server.uri("support")));
    bob.wait("incoming_call", &[], Duration::from_secs(10));
    bob.cmd("answer");
    c2.wait_state("connected");

    // bob's call ends first, then alice's: bob has been idle longest. Routing and the directory
    // share one table of agent states: once the directory shows both idle, alice since later,
    // the next call is routed on that.
    c2.cmd("hangup");
    bob.wait_state("ended");
    c1.cmd("hangup");
    alice.wait_state("ended");
    alice.wait_for(
        "a directory with both idle, alice since later than bob",
        Duration::from_secs(10),
        |v| {
            let idle_since = |user| available_since(v, user);
            matches!((idle_since("alice"), idle_since("bob")), (Some(a), Some(b)) if a > b)
        },
    );

    c1.cmd(&format!("dial {}", server.uri("support")));
    bob.wait("incoming_call", &[], Duration::from_secs(10));
    alice.assert_no_event("incoming_call", Duration::from_millis(500));
    bob.cmd("answer");
    c1.wait_state("connected");

    // And the next one, with bob busy, goes to alice.
    c2.cmd(&format!("dial {}", server.uri("support")));
    alice.wait("incoming_call", &[], Duration::from_secs(10));
    alice.cmd("answer");
    c2.wait_state("connected");
    c1.cmd("hangup");
    c2.cmd("hangup");
    bob.wait_state("ended");
    alice.wait_state("ended");
}

#[test]
fn queued_customer_hears_music_and_is_offered_when_an_agent_frees_up() {
    let dir = scratch_dir("e2e_queue");
    let server = TestServer::blocking(&standard_config(&dir, "queue_timeout_s = 30"));
    // bob is logged in but his voice channel is off: nobody can take the call.
    let mut bob = agent_voice_off(&server, &dir, "bob");
    let mut customer = customer_calls(&server, &dir, "support");
    // Queued: music on hold plays.
    customer.wait_sound();
    let [waiting] = paths(record_phase(
        &mut [&mut customer],
        "queued",
        Duration::from_secs(3),
    ));
    Heard::analyse(&waiting, &ALL_TONES).assert_music_on_hold(&waiting);
    bob.assert_no_event("incoming_call", Duration::from_millis(100));

    // bob switches his voice channel on: the waiting customer is offered to him.
    bob.voice_on();
    let offer = bob.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(5),
    );
    // Issue 10: the popup shows how long the customer has waited (the server's figure).
    let waited = offer["waited_ms"].as_u64().expect("waited_ms on the offer");
    assert!(
        (3_500..20_000).contains(&waited),
        "the customer waited 0.5 s + the 3 s recording and a little more: {offer}"
    );
    bob.cmd("answer");
    customer.wait_state("connected");
    let [c] = paths(record_phase(
        &mut [&mut customer],
        "talk",
        Duration::from_secs(2),
    ));
    Heard::analyse(&c, &ALL_TONES).assert_hears(BOB_HZ, "bob, by the customer who queued");
    customer.cmd("hangup");
    bob.wait_state("ended");
}

#[test]
fn queue_timeout_ends_the_wait_with_480() {
    let dir = scratch_dir("e2e_queue_timeout");
    let server = TestServer::blocking(&standard_config(&dir, "queue_timeout_s = 3"));
    let mut customer = customer_calls(&server, &dir, "support");
    let ended = customer.wait("call_state", &[("state", "ended")], Duration::from_secs(15));
    assert!(
        ended["reason"].as_str().is_some_and(|r| r.contains("480")),
        "{ended}"
    );
}
