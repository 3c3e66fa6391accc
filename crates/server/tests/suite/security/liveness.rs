//! §6 A dead idle agent no longer stays "available": with keepalives every second, a killed
//! phone is skipped by routing within two intervals, and the next customer reaches a live agent
//! at once instead of ringing the dead one for the whole ring timeout.

use std::time::{Duration, Instant};

use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite};
use agentphone_testkit::sip::SipPeer;

const CUSTOMER_HZ: f32 = 440.0;
const BOB_HZ: f32 = 1500.0;

#[tokio::test]
async fn a_killed_phone_is_skipped_and_the_customer_gets_a_live_agent() {
    let server = TestServer::start_with(
        "ring_timeout_s = 10",
        "[security]\nkeepalive_interval_s = 1\n",
    )
    .await;
    // alice is first in the team's order; both are idle.
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    let mut bob = SipPeer::new(server.addr(), "bob", "bob-secret").await;
    bob.login().await;

    // kill -9 of alice's phone: its socket is gone, nothing answers.
    alice.ep.shutdown();
    drop(alice);
    // The claim under test: within two keepalive intervals (plus slack) the server knows; the
    // time budget is the scenario, not a settle.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let started = Instant::now();
    let dialing = dial(
        &customer,
        &format!("sip:support@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let inv = expect_invite(&mut bob).await;
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "bob rung after {waited:?}: the dead phone was rung first"
    );
    let _b = answer(&bob, &inv, BOB_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    cust.media
        .assert_hears("the customer talks to bob", &[(BOB_HZ, true)])
        .await;
}
