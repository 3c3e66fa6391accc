//! Agent states over real UDP (SPEC S1, S2): an agent who is away or wrapping up is offered no
//! call, the directory shows why, a wrap-up ends by itself, and an agent who lets an offered call
//! ring out goes away ("missed call") until they say they are back.

use std::time::{Duration, Instant};

use agentphone_sip::message;
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite, send};
use agentphone_testkit::sip::room::{agent_status, notify_until, subscribe, warning, Notified};
use agentphone_testkit::sip::{code, SipPeer};

const EVENT: &str = "agentphone-directory";
const CUSTOMER_HZ: f32 = 440.0;
const AGENT_HZ: f32 = 1000.0;

/// carol watches the directory; team `desk` (alice, bob) wraps up 2 s after each call.
const EXTRA: &str = r#"
[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"
[[teams]]
name = "desk"
members = ["alice", "bob"]
inbound = "desk"
wrap_up_s = 2
"#;

async fn watcher(server: &TestServer) -> SipPeer {
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let directory = format!("sip:directory@{}", server.addr());
    assert_eq!(
        code(&subscribe(&mut carol, &directory, EVENT, 600).await),
        200
    );
    carol
}

/// The directory NOTIFY in which `user` has `status`; `desk` follows the team's `available`
/// through the NOTIFYs on the way (a delta names a team only when its counts changed).
async fn seen(watcher: &mut SipPeer, desk: &mut u64, user: &str, status: &str) -> Notified {
    let known = std::cell::Cell::new(*desk);
    let n = notify_until(watcher, EVENT, 8, |n| {
        if let Some(v) = desk_available(n) {
            known.set(v);
        }
        agent_status(&n.json, user) == status
    })
    .await;
    *desk = known.get();
    n
}

fn agent_field<'a>(n: &'a Notified, user: &str, field: &str) -> &'a serde_json::Value {
    n.json["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["username"] == user))
        .map_or(&serde_json::Value::Null, |a| &a[field])
}

fn desk_available(n: &Notified) -> Option<u64> {
    n.json["teams"]
        .as_array()
        .and_then(|t| t.iter().find(|x| x["name"] == "desk"))
        .and_then(|t| t["available"].as_u64())
}

/// No INVITE reaches `ua` within `secs` (other requests are answered and dropped).
async fn not_offered(ua: &mut SipPeer, secs: u64) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        match ua.next_request(1).await {
            Some(tx) if tx.request.method == rsip::Method::Invite => return false,
            Some(tx) if tx.request.method != rsip::Method::Ack => {
                send(&tx, message::response(&tx.request, 200, "OK", None)).await
            }
            _ => {}
        }
    }
    true
}

#[tokio::test]
async fn routing_skips_away_and_wrapping_up_agents_and_wrap_up_ends_by_itself() {
    let server = TestServer::start_with("queue_timeout_s = 20", EXTRA).await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let mut carol = watcher(&server).await;
    let mut desk = u64::MAX;

    // A reason the server does not know is refused with the list.
    let resp = alice
        .set_state(r#"{"state": "away", "reason": "nap"}"#)
        .await;
    assert_eq!(code(&resp), 488, "{resp}");
    assert!(
        warning(&resp).contains("break, lunch"),
        "{}",
        warning(&resp)
    );
    assert_eq!(code(&alice.set_state("not json").await), 400);

    let resp = alice
        .set_state(r#"{"state": "away", "reason": "lunch"}"#)
        .await;
    assert_eq!(code(&resp), 200, "{resp}");
    let n = seen(&mut carol, &mut desk, "alice", "away").await;
    assert_eq!(
        agent_field(&n, "alice", "away_reason"),
        "lunch",
        "{}",
        n.body
    );
    assert_eq!(desk, 1, "{}", n.body);

    // alice is first in config order and as idle as bob: away, she is skipped.
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(
        &customer,
        &format!("sip:desk@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let inv = expect_invite(&mut bob).await;
    let mut b = answer(&bob, &inv, AGENT_HZ).await;
    let (_, c) = dialing.finish(&customer).await;
    c.unwrap_or_else(|r| panic!("customer: {r}"));
    assert!(not_offered(&mut alice, 1).await, "alice is away");

    // bob hangs up: after-call work for the team's 2 s.
    assert_eq!(b.bye(&bob, bob.server).await, 200);
    let ended = Instant::now();
    let n = seen(&mut carol, &mut desk, "bob", "after_call_work").await;
    assert!(
        agent_field(&n, "bob", "wrap_up_until_ms")
            .as_u64()
            .is_some(),
        "{}",
        n.body
    );
    assert_eq!(desk, 0, "{}", n.body);

    // A customer now waits in the queue until bob's wrap-up ends by itself.
    let second = SipPeer::new(server.addr(), "second", "").await;
    let dialing = dial(&second, &format!("sip:desk@{}", server.addr()), CUSTOMER_HZ);
    let inv = expect_invite(&mut bob).await;
    let waited = ended.elapsed();
    assert!(
        waited >= Duration::from_millis(1800),
        "offered during the wrap-up ({waited:?})"
    );
    let _b2 = answer(&bob, &inv, AGENT_HZ).await;
    let (_, c2) = dialing.finish(&second).await;
    c2.unwrap_or_else(|r| panic!("second customer: {r}"));

    // alice is back.
    assert_eq!(
        code(&alice.set_state(r#"{"state": "available"}"#).await),
        200
    );
    let n = seen(&mut carol, &mut desk, "alice", "available").await;
    assert!(
        agent_field(&n, "alice", "away_reason").is_null(),
        "{}",
        n.body
    );
}

#[tokio::test]
async fn letting_an_offered_call_ring_out_puts_the_agent_away_until_they_are_back() {
    let server = TestServer::start_with("ring_timeout_s = 1\nqueue_timeout_s = 1", EXTRA).await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut carol = watcher(&server).await;
    let mut desk = u64::MAX;

    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(
        &customer,
        &format!("sip:desk@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let inv = expect_invite(&mut alice).await;
    send(&inv, message::response(&inv.request, 180, "Ringing", None)).await;
    let n = seen(&mut carol, &mut desk, "alice", "away").await;
    assert_eq!(
        agent_field(&n, "alice", "away_reason"),
        "missed call",
        "{}",
        n.body
    );
    let (_, c) = dialing.finish(&customer).await;
    assert_eq!(c.err().map(|r| code(&r)), Some(480));

    // The next customer is not offered to her: the call does not bounce to an absent agent.
    let next = SipPeer::new(server.addr(), "next", "").await;
    let dialing = dial(&next, &format!("sip:desk@{}", server.addr()), CUSTOMER_HZ);
    assert!(
        not_offered(&mut alice, 2).await,
        "alice is away (missed call)"
    );
    let (_, c) = dialing.finish(&next).await;
    assert_eq!(c.err().map(|r| code(&r)), Some(480));

    // Back: offered again; declining is not a missed call.
    assert_eq!(
        code(&alice.set_state(r#"{"state": "available"}"#).await),
        200
    );
    seen(&mut carol, &mut desk, "alice", "available").await;
    let third = SipPeer::new(server.addr(), "third", "").await;
    let dialing = dial(&third, &format!("sip:desk@{}", server.addr()), CUSTOMER_HZ);
    let inv = expect_invite(&mut alice).await;
    send(&inv, message::response(&inv.request, 603, "Decline", None)).await;
    let (_, c) = dialing.finish(&third).await;
    assert!(c.is_err());
    // Ringing may be too short to be published: a new subscriber gets the state as it is now.
    // Its first NOTIFY may still show her ringing (the decline and the subscription race), never
    // available before the decline: so her being available here follows from the decline.
    drop(carol);
    let mut again = watcher(&server).await;
    let n = notify_until(&mut again, EVENT, 5, |n| {
        agent_status(&n.json, "alice") != "ringing"
    })
    .await;
    assert_eq!(agent_status(&n.json, "alice"), "available", "{}", n.body);
}
