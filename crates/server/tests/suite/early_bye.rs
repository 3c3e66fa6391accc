//! A BYE that overtakes the 2xx it follows (issue 12: through Kamailio's parallel workers an
//! agent who answers and hangs up at once can have her BYE reach the node first). The agent
//! here sends the BYE, and her 200 only 300 ms later, over real UDP: the server must hold the
//! BYE, answer it 200 once the 200 came and end the call at once — not 481 it and leave the
//! customer with a silent agent until the RTP timeout.

use std::time::{Duration, Instant};

use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{dial, expect_bye, expect_invite, ok_with_answer, send};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;

#[tokio::test]
async fn an_agents_bye_that_overtakes_her_200_ends_the_call_at_once() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut customer = SipPeer::new(server.addr(), "customer", "").await;

    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer = expect_invite(&mut alice).await;
    let tag = message::new_tag();
    send(
        &offer,
        message::response(&offer.request, 180, "Ringing", Some(&tag)),
    )
    .await;
    // The dialog her 200 will confirm, and her BYE in it — sent first.
    let contact = rsip::Uri::try_from(alice.contact()).expect("contact");
    let mut dialog =
        Dialog::from_uas(&offer.request, &tag, &contact, offer.peer).expect("UAS dialog");
    let bye = alice
        .ep
        .request(dialog.request(rsip::Method::Bye, None), offer.peer);
    let hung_up = Instant::now();
    let mut bye_answer = tokio::spawn(async move { bye.final_response().await });
    // The 200 is held back until the server has surely seen the BYE alone — which it must not
    // answer yet (481 here was the bug: the dialog exists once the 200 arrives).
    let early = tokio::time::timeout(Duration::from_millis(300), &mut bye_answer).await;
    assert!(
        early.is_err(),
        "the BYE was answered before the 200 was sent: {early:?}"
    );
    // No media: nothing of hers is heard either way.
    let (ok, _) = ok_with_answer(&alice, &offer, &tag, 40_000);
    send(&offer, ok).await;

    let bye_answer = bye_answer
        .await
        .expect("BYE task")
        .expect("an answer to the BYE");
    assert_eq!(
        code(&bye_answer),
        200,
        "the BYE before the 200: {bye_answer}"
    );
    // The server ACKed her 200 (the dialog was confirmed, then ended by her BYE).
    let ack = alice.expect(rsip::Method::Ack).await;
    assert_eq!(ack.request.method, rsip::Method::Ack);

    // The customer is answered (the agent took the call) and hung up on at once — well before
    // the RTP timeout (4 s here) would have ended the call.
    let (_, result) = dialing.finish(&customer).await;
    if result.is_ok() {
        assert!(
            expect_bye(&mut customer, 3).await,
            "the customer got no BYE within 3 s of the agent's"
        );
    }
    let took = hung_up.elapsed();
    assert!(
        took < Duration::from_millis(2_800),
        "the call ended {took:?} after the agent's BYE (RTP timeout is 4 s)"
    );
}
