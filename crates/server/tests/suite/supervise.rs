//! A supervisor on a live call over real UDP with tone-sending RTP peers (SPEC V1–V3): the floor
//! view lists the call, then the supervisor joins by INVITE to the room and switches by room
//! command — whisper (the agent hears the supervisor, the customer does not), barge (both do),
//! listen (neither does) — hearing both parties all along. A non-supervisor is refused, and so
//! is a supervisor when the call is full. Customer 440 Hz, alice 1000, carol 2000, sue 3000.

use agentphone_testkit::server::{TestServer, MOH_HZ};
use agentphone_testkit::sip::call::{answer, dial, dial_authenticated_with, expect_invite, Party};
use agentphone_testkit::sip::media_peer::MediaPeer;
use agentphone_testkit::sip::room::{command, notify_until, refer, room_uri, subscribe, warning};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const CAROL_HZ: f32 = 2000.0;
const SUE_HZ: f32 = 3000.0;
const SUPERVISOR: &str = "agentphone-supervisor";
const ROOM: &str = "agentphone-room";

const EXTRA: &str = r#"
[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"
[[agents]]
username = "sue"
display_name = "Sue Park"
password = "sue-secret"
role = "supervisor"
"#;

async fn agent(server: &TestServer, user: &str) -> SipPeer {
    let mut ua = SipPeer::new(server.addr(), user, &format!("{user}-secret")).await;
    ua.login().await;
    ua
}

/// A customer calls support; alice answers. The customer's party, alice and hers.
async fn customer_with_alice(server: &TestServer) -> (SipPeer, Party, SipPeer, Party) {
    let mut alice = agent(server, "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(
        &customer,
        &format!("sip:support@{}", server.addr()),
        CUSTOMER_HZ,
    );
    let offer = expect_invite(&mut alice).await;
    let a = answer(&alice, &offer, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    (customer, cust, alice, a)
}

/// `ua` INVITEs the room of alice's call with `Supervise: mode`: the party, or the refusal.
async fn supervise(
    ua: &mut SipPeer,
    room: &str,
    mode: &str,
    tone: f32,
) -> Result<Party, rsip::Response> {
    let dialing = dial_authenticated_with(ua, room, tone, &[("Supervise", mode)])
        .await
        .unwrap_or_else(|r| panic!("no challenge: {r}"));
    dialing.finish(ua).await.1
}

async fn hears(who: &str, media: &MediaPeer, tones: &[(f32, bool)]) {
    media.assert_hears(who, tones).await;
}

#[tokio::test]
async fn whisper_reaches_the_agent_only_barge_everyone_and_listen_nobody() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, cust, alice, mut a) = customer_with_alice(&server).await;
    let mut sue = agent(&server, "sue").await;
    // The floor: the call is listed, connected, with alice.
    let uri = format!("sip:supervisor@{}", server.addr());
    assert_eq!(code(&subscribe(&mut sue, &uri, SUPERVISOR, 600).await), 200);
    let floor = notify_until(&mut sue, SUPERVISOR, 5, |n| {
        n.json["calls"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["phase"] == "connected" && c["parties"].to_string().contains("alice"))
        })
    })
    .await;
    let room_id = floor.json["calls"][0]["room"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", floor.body))
        .to_string();
    let room = room_uri(&a.dialog);
    assert!(
        room.contains(&format!("room-{room_id}@")),
        "{room} vs {room_id}"
    );
    assert_eq!(floor.json["teams"][0]["calls_today"], 1, "{}", floor.body);

    let mut s = supervise(&mut sue, &room, "whisper", SUE_HZ)
        .await
        .unwrap_or_else(|r| panic!("whisper refused: {r}"));
    hears(
        "alice (whisper)",
        &a.media,
        &[(CUSTOMER_HZ, true), (SUE_HZ, true)],
    )
    .await;
    hears(
        "customer (whisper)",
        &cust.media,
        &[(ALICE_HZ, true), (SUE_HZ, false), (MOH_HZ, false)],
    )
    .await;
    hears(
        "sue (whisper)",
        &s.media,
        &[(CUSTOMER_HZ, true), (ALICE_HZ, true)],
    )
    .await;
    let whispering = notify_until(&mut sue, SUPERVISOR, 5, |n| {
        n.body.contains("\"whispering\"")
    })
    .await;
    assert!(whispering.body.contains("Sue Park"), "{}", whispering.body);

    let barge = r#"{"command":"supervise","mode":"barge"}"#;
    assert_eq!(code(&command(&sue, &mut s, barge).await), 200);
    hears(
        "alice (barge)",
        &a.media,
        &[(CUSTOMER_HZ, true), (SUE_HZ, true)],
    )
    .await;
    hears(
        "customer (barge)",
        &cust.media,
        &[(ALICE_HZ, true), (SUE_HZ, true)],
    )
    .await;
    hears(
        "sue (barge)",
        &s.media,
        &[(CUSTOMER_HZ, true), (ALICE_HZ, true)],
    )
    .await;

    let listen = r#"{"command":"supervise","mode":"listen"}"#;
    assert_eq!(code(&command(&sue, &mut s, listen).await), 200);
    hears(
        "alice (listen)",
        &a.media,
        &[(CUSTOMER_HZ, true), (SUE_HZ, false)],
    )
    .await;
    hears(
        "customer (listen)",
        &cust.media,
        &[(ALICE_HZ, true), (SUE_HZ, false)],
    )
    .await;
    hears(
        "sue (listen)",
        &s.media,
        &[(CUSTOMER_HZ, true), (ALICE_HZ, true)],
    )
    .await;
    // alice cannot switch modes: she is not a supervisor leg.
    let resp = command(&alice, &mut a, barge).await;
    assert_eq!(code(&resp), 403, "{resp}");
}

#[tokio::test]
async fn a_non_supervisor_is_refused_and_a_full_call_says_so() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, _cust, mut alice, mut a) = customer_with_alice(&server).await;
    let room = room_uri(&a.dialog);
    let mut bob = agent(&server, "bob").await;
    let resp = supervise(&mut bob, &room, "listen", 1500.0)
        .await
        .err()
        .unwrap_or_else(|| panic!("bob may not listen"));
    assert_eq!(code(&resp), 403, "{resp}");
    assert!(warning(&resp).contains("Only supervisors"), "{resp}");
    let uri = format!("sip:supervisor@{}", server.addr());
    let resp = subscribe(&mut bob, &uri, SUPERVISOR, 600).await;
    assert_eq!(code(&resp), 403, "{resp}");
    assert!(warning(&resp).contains("Only supervisors"), "{resp}");

    // carol joins listen-only: three parties, the call is full.
    let mut carol = agent(&server, "carol").await;
    let target = format!("sip:carol@{};agentphone-mode=listen", server.addr().ip());
    assert_eq!(code(&refer(&alice, &mut a, &target).await), 202);
    let inv = expect_invite(&mut carol).await;
    assert_eq!(code(&subscribe(&mut alice, &room, ROOM, 600).await), 200);
    let _c = answer(&carol, &inv, CAROL_HZ).await;
    notify_until(&mut alice, ROOM, 5, |n| n.body.contains("\"listening\"")).await;
    let mut sue = agent(&server, "sue").await;
    let resp = supervise(&mut sue, &room, "barge", SUE_HZ)
        .await
        .err()
        .unwrap_or_else(|| panic!("a fourth party joined"));
    assert_eq!(code(&resp), 486, "{resp}");
    assert!(
        warning(&resp).contains("The call is full: 3 of 3"),
        "{resp}"
    );
}
