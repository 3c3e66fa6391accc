//! Speaking levels in the room state over real UDP (SPEC C1): a party sending a tone shows a level
//! above 0, a silent one 0, and a muted one 0 whatever it sends.

use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_invite};
use agentphone_testkit::sip::room::{command, notify_until, room_uri, subscribe};
use agentphone_testkit::sip::{code, SipPeer};
use serde_json::Value;

const ROOM: &str = "agentphone-room";

/// The level of the participant with `role` (and `username`, for an agent) in a room NOTIFY.
fn level(state: &Value, role: &str, user: Option<&str>) -> Option<f64> {
    state["participants"]
        .as_array()?
        .iter()
        .find(|p| p["role"] == role && user.is_none_or(|u| p["username"] == u))?["level"]
        .as_f64()
}

#[tokio::test]
async fn a_talking_party_has_a_level_a_silent_or_muted_one_none() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    // The customer sends RTP that is all silence (a 0 Hz "tone"); alice a -12 dBFS tone.
    let dialing = dial(&customer, &server.uri("support"), 0.0);
    let offer = expect_invite(&mut alice).await;
    let mut a = answer(&alice, &offer, 1000.0).await;
    let (_, cust) = dialing.finish(&customer).await;
    let _cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));

    let resp = subscribe(&mut alice, &room_uri(&a.dialog), ROOM, 3600).await;
    assert_eq!(code(&resp), 200, "{resp}");
    let talking = notify_until(&mut alice, ROOM, 5, |n| {
        level(&n.json, "agent", Some("alice")).is_some_and(|l| l > 0.0)
    })
    .await;
    let alice_level = level(&talking.json, "agent", Some("alice")).unwrap_or(0.0);
    assert!(alice_level <= 1.0, "{}", talking.body);
    assert_eq!(
        level(&talking.json, "customer", None),
        Some(0.0),
        "a silent party: {}",
        talking.body
    );

    // Muted (C2): the room shows no level for alice although her tone still arrives.
    let resp = command(&alice, &mut a, r#"{"command":"mute","on":true}"#).await;
    assert_eq!(code(&resp), 200, "{resp}");
    let muted = notify_until(&mut alice, ROOM, 5, |n| {
        n.json["participants"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["username"] == "alice" && p["muted"] == true)
        })
    })
    .await;
    assert_eq!(
        level(&muted.json, "agent", Some("alice")),
        Some(0.0),
        "{}",
        muted.body
    );
    // Unmuted, her level is back (she never stopped sending).
    let resp = command(&alice, &mut a, r#"{"command":"mute","on":false}"#).await;
    assert_eq!(code(&resp), 200, "{resp}");
    notify_until(&mut alice, ROOM, 5, |n| {
        level(&n.json, "agent", Some("alice")).is_some_and(|l| l > 0.0)
    })
    .await;
}
