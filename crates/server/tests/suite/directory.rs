//! The directory event package over real UDP: a subscriber gets the whole state at once and after
//! every change — registration, voice channel, ringing, on a call, call ended — within 200 ms.

use std::time::{Duration, Instant};

use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite};
use agentphone_testkit::sip::room::{
    agent_status, next_notify, notify_until, resubscribe, subscribe, subscribe_dialog, Notified,
};
use agentphone_testkit::sip::{code, SipPeer};

const EVENT: &str = "agentphone-directory";

/// Wait for the NOTIFY in which `user` has `status`; the time since `since`.
async fn status_reached(
    watcher: &mut SipPeer,
    user: &str,
    status: &str,
    since: Instant,
) -> (Notified, Duration) {
    let n = notify_until(watcher, EVENT, 5, |n| agent_status(&n.json, user) == status).await;
    let took = n.at.saturating_duration_since(since);
    (n, took)
}

#[tokio::test]
async fn directory_changes_reach_subscribers_within_200_ms() {
    let server = TestServer::start("").await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let directory = format!("sip:directory@{}", server.addr());
    let resp = subscribe(&mut bob, &directory, EVENT, 600).await;
    assert_eq!(code(&resp), 200, "{resp}");
    let first = next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no first NOTIFY"));
    assert!(first.state.starts_with("active"), "{}", first.state);
    assert_eq!(agent_status(&first.json, "alice"), "offline");
    assert_eq!(agent_status(&first.json, "bob"), "available");
    let team = &first.json["teams"][0];
    assert_eq!(
        (
            team["name"].as_str(),
            team["available"].as_u64(),
            team["active"].as_u64()
        ),
        (Some("support"), Some(1), Some(1)),
        "{team}"
    );
    let v0 = first.json["version"].as_u64().unwrap_or(0);

    let mut latencies = Vec::new();
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    let t = Instant::now();
    assert_eq!(code(&alice.register().await), 200);
    let (n, took) = status_reached(&mut bob, "alice", "inactive", t).await;
    assert!(
        n.json["version"].as_u64().unwrap_or(0) > v0,
        "version grows"
    );
    latencies.push(("register", took));

    let t = Instant::now();
    assert_eq!(code(&alice.set_voice(true).await), 200);
    let (n, took) = status_reached(&mut bob, "alice", "available", t).await;
    assert_eq!(n.json["teams"][0]["available"].as_u64(), Some(2));
    assert_eq!(n.json["teams"][0]["active"].as_u64(), Some(2));
    latencies.push(("voice on", took));

    // A customer call: alice (first in member order) rings, answers, hangs up.
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let t = Instant::now();
    let dialing = dial(&customer, &server.uri("support"), 440.0);
    let offer = expect_invite(&mut alice).await;
    let (n, took) = status_reached(&mut bob, "alice", "ringing", t).await;
    assert_eq!(n.json["teams"][0]["available"].as_u64(), Some(1));
    assert_eq!(
        n.json["base"].as_u64(),
        Some(n.json["version"].as_u64().unwrap_or(0) - 1)
    );
    latencies.push(("ringing", took));
    let t = Instant::now();
    let mut party = answer(&alice, &offer, 1000.0).await;
    let (n, took) = status_reached(&mut bob, "alice", "on_call", t).await;
    // A delta: alice only; the team's counts did not move (ringing → on a call).
    assert_eq!(
        n.json["agents"].as_array().map(Vec::len),
        Some(1),
        "{}",
        n.body
    );
    assert_eq!(
        n.json["teams"].as_array().map(Vec::len),
        Some(0),
        "{}",
        n.body
    );
    latencies.push(("call start", took));
    let (_, cust) = dialing.finish(&customer).await;
    let _cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    let t = Instant::now();
    assert_eq!(party.bye(&alice, alice.server).await, 200);
    let (_, took) = status_reached(&mut bob, "alice", "available", t).await;
    latencies.push(("call end", took));

    let t = Instant::now();
    assert_eq!(code(&alice.set_voice(false).await), 200);
    let (_, took) = status_reached(&mut bob, "alice", "inactive", t).await;
    latencies.push(("voice off", took));

    println!("directory NOTIFY latency: {latencies:?}");
    for (what, took) in &latencies {
        assert!(
            *took < Duration::from_millis(200),
            "{what}: NOTIFY after {took:?} (must be < 200 ms)"
        );
    }
}

#[tokio::test]
async fn directory_subscription_refusals_and_first_state() {
    let server = TestServer::start("").await;
    let directory = format!("sip:directory@{}", server.addr());
    // Wrong credentials: 403 after the challenge.
    let mut customer = SipPeer::new(server.addr(), "customer", "wrong").await;
    let resp = subscribe(&mut customer, &directory, EVENT, 600).await;
    assert_eq!(
        code(&resp),
        403,
        "wrong credentials after the challenge: {resp}"
    );
    // Another event package: 489.
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let resp = subscribe(&mut bob, &directory, "dialog", 600).await;
    assert_eq!(code(&resp), 489, "{resp}");
    let resp = subscribe(&mut bob, &directory, EVENT, 600).await;
    assert_eq!(code(&resp), 200);
    let n = next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no NOTIFY"));
    assert_eq!(agent_status(&n.json, "bob"), "available");
}

#[tokio::test]
async fn directory_subscription_is_refreshed_and_ended_in_its_dialog() {
    let server = TestServer::start("").await;
    let directory = format!("sip:directory@{}", server.addr());
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let (resp, dialog) = subscribe_dialog(&mut bob, &directory, EVENT, 600).await;
    assert_eq!(code(&resp), 200, "{resp}");
    let mut dialog = dialog.unwrap_or_else(|| panic!("no subscription dialog"));
    let n = next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no NOTIFY"));
    assert!(n.state.starts_with("active;expires="), "{}", n.state);
    let resp = resubscribe(&bob, &mut dialog, EVENT, 300).await;
    assert_eq!(code(&resp), 200, "refresh: {resp}");
    let resp = resubscribe(&bob, &mut dialog, EVENT, 0).await;
    assert_eq!(code(&resp), 200, "end: {resp}");
    let last = next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no final NOTIFY"));
    assert!(last.state.starts_with("terminated"), "{}", last.state);
    // No more NOTIFYs after the end, even when something changes.
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&alice.register().await), 200);
    assert!(next_notify(&mut bob, EVENT, 1).await.is_none());
}

/// A subscriber that has not answered its NOTIFY gets no other until it does, and then only the
/// latest document (RFC 6665 §4.2.2): one request in flight per subscriber, whatever the change
/// rate.
#[tokio::test]
async fn a_slow_subscriber_gets_the_latest_state_once_it_answers() {
    let server = TestServer::start("").await;
    let mut bob = SipPeer::new(server.addr(), "bob", "bob-secret").await;
    bob.login().await;
    let directory = format!("sip:directory@{}", server.addr());
    assert_eq!(
        code(&subscribe(&mut bob, &directory, EVENT, 600).await),
        200
    );
    next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no first NOTIFY"));

    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&alice.register().await), 200);
    let held = agentphone_testkit::sip::room::wait_request(&mut bob, 5, |r| {
        r.method == agentphone_sip::rsip::Method::Notify
    })
    .await
    .unwrap_or_else(|| panic!("no NOTIFY for alice's registration"));
    // Changes while bob's NOTIFY waits for its answer: none of them is sent yet.
    for active in [true, false, true] {
        assert_eq!(code(&alice.set_voice(active).await), 200);
    }
    bob.expect_silence(Duration::from_millis(300)).await;

    bob.reply(&held, 200, "OK", None).await;
    let latest = next_notify(&mut bob, EVENT, 5)
        .await
        .unwrap_or_else(|| panic!("no NOTIFY after answering"));
    assert_eq!(agent_status(&latest.json, "alice"), "available");
    // The intermediate documents were skipped, not queued.
    bob.expect_silence(Duration::from_millis(300)).await;
}
