//! §4 Queue stuffing: a flood of unauthenticated INVITEs from one address gets `503` with
//! `Retry-After` past the per-source cap, and a legitimate customer from another address is
//! offered to an agent within a second during the flood.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite, invite_request};
use agentphone_testkit::sip::{code, SipPeer};

const FLOOD: usize = 200;
const CAP: usize = 10;

#[tokio::test]
async fn a_call_flood_from_one_address_is_capped_and_a_customer_still_gets_through() {
    let server = TestServer::start_with(
        "",
        &format!(
            "[security]\nmax_calls_per_source = {CAP}\nmax_calls = 100\n\
             [[teams]]\nname = \"sales\"\nmembers = [\"bob\"]\ninbound = \"sales\"\n"
        ),
    )
    .await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    // The flood: INVITEs to a team whose only member (bob) is not logged in — they would queue —
    // from 127.0.0.2.
    let flooder = SipPeer::at(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        server.addr(),
        "x",
        "",
    )
    .await;
    let offer = Sdp::offer(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        40_000,
        1,
        Direction::SendRecv,
    );
    let sales = format!("sip:sales@{}", server.addr());
    let mut flood: Vec<_> = (0..FLOOD)
        .map(|_| {
            let req = invite_request(&flooder, &sales, &message::new_call_id(), 1, &offer, None);
            flooder.ep.request(req, flooder.server)
        })
        .collect();

    // Meanwhile a customer from 127.0.0.1 calls support.
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let started = Instant::now();
    let dialing = dial(&customer, &format!("sip:support@{}", server.addr()), 440.0);
    let inv = expect_invite(&mut alice).await;
    let offered_after = started.elapsed();
    let _a = answer(&alice, &inv, 1000.0).await;
    let (_, cust) = dialing.finish(&customer).await;
    assert!(cust.is_ok(), "the customer is connected");
    assert!(
        offered_after < Duration::from_secs(1),
        "customer offered to alice after {offered_after:?} during the flood"
    );

    // The flood: at most CAP calls taken, the rest refused with 503 + Retry-After.
    let (mut refused, mut taken) = (0, 0);
    for tx in &mut flood {
        // The first response past 100 Trying: 503, or 183 (queued with music).
        let first = loop {
            let resp = tokio::time::timeout(Duration::from_secs(10), tx.next())
                .await
                .ok()
                .flatten()
                .and_then(Result::ok)
                .unwrap_or_else(|| panic!("a flood INVITE got no response"));
            if code(&resp) != 100 {
                break resp;
            }
        };
        if code(&first) == 503 {
            let retry = message::header_value(&rsip::SipMessage::Response(first), "Retry-After");
            assert!(retry.is_some(), "503 without Retry-After");
            refused += 1;
        } else {
            assert!(code(&first) < 300, "flood call: {first}");
            taken += 1;
        }
    }
    assert!(taken <= CAP, "{taken} flood calls taken");
    assert_eq!(refused + taken, FLOOD);
}
