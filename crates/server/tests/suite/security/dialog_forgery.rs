//! §1 BYE forgery: a BYE that names the customer's Call-ID but not both tags, or that comes from
//! another address, no longer ends the call (481), and the call goes on (what is heard).

use std::net::{IpAddr, Ipv4Addr};

use agentphone_sip::message::RequestBuilder;
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const ELSEWHERE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

#[tokio::test]
async fn forged_bye_does_not_end_the_call() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(
        &customer,
        &format!("sip:support@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let inv = expect_invite(&mut alice).await;
    let _alice_party = answer(&alice, &inv, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let mut cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));

    // The attacker knows the Call-ID only: any To tag, a wrong From tag.
    let attacker = SipPeer::at(ELSEWHERE, server.addr(), "x", "").await;
    let guessed = RequestBuilder::new(rsip::Method::Bye, &server.uri("support"))
        .unwrap_or_else(|e| panic!("{e}"))
        .from(None, &customer.aor(), "not-the-tag")
        .to(None, &server.uri("support"), Some("anything"))
        .call_id(&cust.dialog.call_id)
        .cseq(100)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = attacker.send(guessed).await;
    assert_eq!(code(&resp), 481, "BYE with the Call-ID only: {resp}");

    // Even with both tags (a sniffed dialog), from another host or another port of the same host.
    let same_host = SipPeer::new(server.addr(), "x", "").await;
    for (who, peer) in [("another host", &attacker), ("another port", &same_host)] {
        let sniffed = cust.dialog.request(rsip::Method::Bye, None);
        let resp = peer.send(sniffed).await;
        assert_eq!(code(&resp), 481, "BYE with both tags from {who}: {resp}");
    }

    cust.media
        .assert_hears("the customer still hears alice", &[(ALICE_HZ, true)])
        .await;

    // The customer's own BYE still ends the call.
    assert_eq!(cust.bye(&customer, customer.server).await, 200);
    assert!(expect_bye(&mut alice, 5).await, "alice must get BYE");
}
