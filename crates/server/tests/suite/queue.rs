//! Queueing (SPEC R1): a customer calling a team with nobody available hears music on hold (early
//! media) and is offered to the first member who frees up.

use std::time::Duration;

use agentphone_testkit::server::{TestServer, MOH_HZ, RINGBACK_HZ};
use agentphone_testkit::sip::call::{answer, dial, expect_invite};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;
const BOB_HZ: f32 = 1500.0;
const OTHER_HZ: f32 = 600.0;

#[tokio::test]
async fn customer_waits_with_music_until_an_agent_leaves_a_call() {
    let server = TestServer::start("queue_timeout_s = 30").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&alice.register().await), 200); // voice channel off
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    // bob takes a first customer's call.
    let first = SipPeer::new(server.addr(), "first", "").await;
    let d1 = dial(&first, &server.uri("support"), OTHER_HZ);
    let inv = expect_invite(&mut bob).await;
    let mut b1 = answer(&bob, &inv, BOB_HZ).await;
    let (_, c1) = d1.finish(&first).await;
    let _c1 = c1.unwrap_or_else(|r| panic!("first call: {r}"));

    // A second customer: nobody available → 183 and music on hold.
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let mut dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let early = loop {
        let r = tokio::time::timeout(Duration::from_secs(5), dialing.tx.next()).await;
        match r {
            Ok(Some(Ok(resp))) if code(&resp) == 183 => break resp,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no 183: {:?}", other.is_ok()),
        }
    };
    let text = String::from_utf8_lossy(&early.body).into_owned();
    let sdp = agentphone_sip::sdp::Sdp::parse(&text).unwrap_or_else(|e| panic!("{}", e.0));
    let n = agentphone_sip::sdp::accept_answer(&dialing.offer, &sdp)
        .unwrap_or_else(|e| panic!("{}", e.0));
    let media = dialing
        .media
        .take()
        .unwrap_or_else(|| panic!("media"))
        .start(&n, CUSTOMER_HZ);
    media
        .assert_hears(
            "a queued customer hears music on hold",
            &[(MOH_HZ, true), (RINGBACK_HZ, false)],
        )
        .await;
    assert!(
        bob.next_request(1)
            .await
            .is_none_or(|tx| tx.request.method != rsip::Method::Invite),
        "bob is on a call: not offered"
    );
    // bob hangs up the first call: the queued customer is offered to him at once.
    assert_eq!(b1.bye(&bob, bob.server).await, 200);
    let inv = expect_invite(&mut bob).await;
    let b2 = answer(&bob, &inv, BOB_HZ).await;
    dialing.early = Some(media);
    let (_, c2) = dialing.finish(&customer).await;
    let c2 = c2.unwrap_or_else(|r| panic!("queued call: {r}"));
    c2.media
        .assert_hears("customer", &[(BOB_HZ, true), (MOH_HZ, false)])
        .await;
    b2.media.assert_hears("bob", &[(CUSTOMER_HZ, true)]).await;
}
