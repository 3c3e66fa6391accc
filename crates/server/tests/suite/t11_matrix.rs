//! SPEC T11 over real UDP: every forbidden action is attempted and refused — a customer leg
//! transferring or sending room commands, unauthenticated subscriptions and calls to agent-only
//! addresses, in-dialog requests from a stranger's address, and an agent watching a call they
//! are not in.

use agentphone_sip::message::{self, RequestBuilder};
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite, invite_request};
use agentphone_testkit::sip::room::{command, refer, room_uri, subscribe, warning};
use agentphone_testkit::sip::{code, SipPeer};

#[tokio::test]
async fn forbidden_actions_are_refused() {
    let server = TestServer::start("").await;
    let ip = server.addr().ip();
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(&customer, &server.uri("support"), 440.0);
    let inv = expect_invite(&mut alice).await;
    let mut a = answer(&alice, &inv, 1000.0).await;
    let (_, cust) = dialing.finish(&customer).await;
    let mut cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));

    // The customer leg: REFER and INFO → 403 with a reason.
    let resp = refer(&customer, &mut cust, &format!("sip:bob@{ip}")).await;
    assert_eq!(code(&resp), 403, "customer REFER: {resp}");
    assert!(!warning(&resp).is_empty());
    let resp = command(&customer, &mut cust, r#"{"command":"hold"}"#).await;
    assert_eq!(code(&resp), 403, "customer INFO: {resp}");

    // Unauthenticated SUBSCRIBE (directory, room) → 401.
    let room = room_uri(&a.dialog);
    for (uri, event) in [
        (format!("sip:directory@{ip}"), "agentphone-directory"),
        (room.clone(), "agentphone-room"),
    ] {
        let req = RequestBuilder::new(rsip::Method::Subscribe, &uri)
            .unwrap_or_else(|e| panic!("{e}"))
            .from(None, &customer.aor(), &message::new_tag())
            .to(None, &uri, None)
            .call_id(&message::new_call_id())
            .cseq(1)
            .contact(&customer.contact())
            .header("Event", event)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let resp = customer.send(req).await;
        assert_eq!(
            code(&resp),
            401,
            "unauthenticated SUBSCRIBE {event}: {resp}"
        );
    }

    // INVITE to an agent-only address without credentials → 401.
    let offer =
        agentphone_sip::sdp::Sdp::offer(ip, 40000, 1, agentphone_sip::sdp::Direction::SendRecv);
    let req = invite_request(
        &customer,
        &format!("sip:alice@{ip}"),
        &message::new_call_id(),
        1,
        &offer,
        None,
    );
    assert_eq!(code(&customer.send(req).await), 401);

    // An agent's dialog used from another address → 481 (and the call goes on).
    let stranger = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    for method in [rsip::Method::Info, rsip::Method::Bye, rsip::Method::Refer] {
        let req = a.dialog.request(method, None);
        let resp = stranger.send(req).await;
        assert_eq!(code(&resp), 481, "{method} from a stranger: {resp}");
    }
    let resp = command(&alice, &mut a, r#"{"command":"mute","on":false}"#).await;
    assert_eq!(code(&resp), 200, "alice's own INFO still works: {resp}");

    // bob subscribing to a room he is not in → 403; a room that does not exist → 404.
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let resp = subscribe(&mut bob, &room, "agentphone-room", 3600).await;
    assert_eq!(code(&resp), 403, "{resp}");
    assert!(
        warning(&resp).contains("not in this call"),
        "{}",
        warning(&resp)
    );
    let resp = subscribe(
        &mut bob,
        &format!("sip:room-999999@{ip}"),
        "agentphone-room",
        60,
    )
    .await;
    assert_eq!(code(&resp), 404, "{resp}");
    // alice herself may.
    let resp = subscribe(&mut alice, &room, "agentphone-room", 3600).await;
    assert_eq!(code(&resp), 200, "{resp}");
}
