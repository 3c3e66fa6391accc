//! Issue 10 #1: a listen-only participant (a trainee) is not in the conversation, so it cannot put
//! the customer on hold — neither by the room command (refused with a reason) nor by a re-INVITE
//! sendonly (answered, but nobody is held). Checked by what the customer hears. And when the
//! agent hangs up, the customer is not left with the silent trainee: the call ends for both.

use agentphone_sip::sdp::Direction;
use agentphone_testkit::server::{TestServer, MOH_HZ};
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite, Party};
use agentphone_testkit::sip::media_peer::MediaPeer;
use agentphone_testkit::sip::room::{command, refer, warning};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const CAROL_HZ: f32 = 2000.0;

const EXTRA: &str = r#"
[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"
"#;

/// The customer hears alice and no music: nobody holds them.
async fn customer_not_held(media: &MediaPeer) {
    media
        .assert_hears("customer", &[(ALICE_HZ, true), (MOH_HZ, false)])
        .await;
}

/// Everyone of the call: the customer, alice, and carol who joined it to listen only.
struct Listened {
    customer: SipPeer,
    cust: Party,
    alice: SipPeer,
    a: Party,
    carol: SipPeer,
    c: Party,
}

/// The customer calls support, alice answers and transfers to carol listen-only; carol answers
/// and hears both.
async fn alice_with_a_listener(server: &TestServer) -> Listened {
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer = expect_invite(&mut alice).await;
    let mut a = answer(&alice, &offer, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));

    let target = format!("sip:carol@{};agentphone-mode=listen", server.addr().ip());
    assert_eq!(code(&refer(&alice, &mut a, &target).await), 202);
    let inv = expect_invite(&mut carol).await;
    let c = answer(&carol, &inv, CAROL_HZ).await;
    c.media
        .assert_hears("carol", &[(CUSTOMER_HZ, true), (ALICE_HZ, true)])
        .await;
    Listened {
        customer,
        cust,
        alice,
        a,
        carol,
        c,
    }
}

#[tokio::test]
async fn a_listener_cannot_put_the_customer_on_hold() {
    let server = TestServer::start_with("", EXTRA).await;
    let Listened {
        cust,
        a,
        carol,
        mut c,
        ..
    } = alice_with_a_listener(&server).await;
    customer_not_held(&cust.media).await;

    let resp = command(&carol, &mut c, r#"{"command":"hold"}"#).await;
    assert_eq!(code(&resp), 403, "{resp}");
    assert!(
        warning(&resp).contains("Carol Diaz is only listening"),
        "{}",
        warning(&resp)
    );
    customer_not_held(&cust.media).await;

    // A phone that holds by re-INVITE: accepted (its SDP), but it holds nobody.
    assert_eq!(
        c.reinvite(&carol, Direction::SendOnly, carol.server).await,
        200
    );
    customer_not_held(&cust.media).await;
    a.media
        .assert_hears("alice", &[(CUSTOMER_HZ, true), (MOH_HZ, false)])
        .await;
}

/// The agent hangs up: a customer with only a listener left would talk to nobody, so the call
/// ends — both get a BYE (the record says `no agent left`).
#[tokio::test]
async fn the_agent_hanging_up_does_not_leave_the_customer_with_a_silent_listener() {
    let server = TestServer::start_with("", EXTRA).await;
    let Listened {
        mut customer,
        alice,
        mut a,
        mut carol,
        ..
    } = alice_with_a_listener(&server).await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
    assert!(
        expect_bye(&mut customer, 5).await,
        "the customer gets a BYE"
    );
    assert!(expect_bye(&mut carol, 5).await, "the listener gets a BYE");
}
