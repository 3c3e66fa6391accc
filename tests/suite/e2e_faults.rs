//! Faults: a softphone killed mid-call (no BYE, no unregister) is noticed by the server within
//! 10 s; its room is cleaned up and the other party gets a BYE. Afterwards the server still works.

use agentphone_testkit::prelude::*;
use std::time::{Duration, Instant};

#[test]
fn killed_agent_is_noticed_and_the_customer_gets_bye_within_10_s() {
    let dir = scratch_dir("e2e_killed_agent");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    // Media flows both ways before the fault.
    customer.wait_hearing(&[ALICE_HZ], &[]);
    alice.wait_hearing(&[CUSTOMER_HZ], &[]);

    let killed_at = Instant::now();
    alice.kill();
    customer.wait("call_state", &[("state", "ended")], Duration::from_secs(10));
    let noticed = killed_at.elapsed();
    eprintln!("killed agent noticed after {noticed:?}");
    assert!(noticed <= Duration::from_secs(10));

    // The room is gone and the team works again with a new agent session.
    let mut alice2 = agent(&server, &dir, "alice");
    customer.cmd(&format!("dial {}", server.uri("support")));
    alice2.wait("incoming_call", &[], Duration::from_secs(10));
    alice2.cmd("answer");
    customer.wait_state("connected");
    let heard = record_phase(&mut [&mut customer], "after", Duration::from_secs(2)).remove(0);
    customer.cmd("hangup");
    alice2.wait_state("ended");
    Heard::analyse(&heard, &[ALICE_HZ]).assert_hears(ALICE_HZ, "the new alice session");
}

#[test]
fn killed_customer_is_noticed_and_the_agent_gets_bye_within_10_s() {
    let dir = scratch_dir("e2e_killed_customer");
    let server = TestServer::standard(&dir);
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    // Media flows both ways before the fault.
    customer.wait_hearing(&[ALICE_HZ], &[]);
    alice.wait_hearing(&[CUSTOMER_HZ], &[]);

    let killed_at = Instant::now();
    customer.kill();
    alice.wait("call_state", &[("state", "ended")], Duration::from_secs(10));
    let noticed = killed_at.elapsed();
    eprintln!("killed customer noticed after {noticed:?}");
    assert!(noticed <= Duration::from_secs(10));
}
