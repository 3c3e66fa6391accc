//! A supervisor on a live call over real UDP with tone-sending RTP peers (SPEC V1–V3): the floor
//! view lists the call, then the supervisor joins by INVITE to the room and switches by room
//! command — whisper (the agent hears the supervisor, the customer does not), barge (both do),
//! listen (neither does) — hearing both parties all along. A non-supervisor is refused, and so
//! is a supervisor when the call is full. Customer 440 Hz, alice 1000, carol 2000, sue 3000.

use std::net::SocketAddr;

use agentphone_testkit::server::{standard_config, TestServer, MOH_HZ, SUPERVISOR_SUE};
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

const CAROL: &str = r#"
[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"
"#;

/// carol and the supervisor sue.
fn extra() -> String {
    format!("{CAROL}{SUPERVISOR_SUE}")
}

async fn agent(server: &TestServer, user: &str) -> SipPeer {
    let mut ua = SipPeer::new(server.addr(), user, &format!("{user}-secret")).await;
    ua.login().await;
    ua
}

/// A customer calls support; alice answers. The customer's party, alice and hers.
async fn customer_with_alice(server: &TestServer) -> (SipPeer, Party, SipPeer, Party) {
    customer_with_alice_at(server.addr()).await
}

/// As [`customer_with_alice`], for the server at `addr`.
async fn customer_with_alice_at(addr: SocketAddr) -> (SipPeer, Party, SipPeer, Party) {
    let mut alice = SipPeer::agent(addr, "alice").await;
    let customer = SipPeer::new(addr, "customer", "").await;
    let dialing = dial(&customer, &format!("sip:support@{addr}"), CUSTOMER_HZ);
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
    let server = TestServer::start_with("", &extra()).await;
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
    let server = TestServer::start_with("", &extra()).await;
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

/// The floor's team row of `team` in a supervisor document: (calls today, abandoned today).
fn today(json: &serde_json::Value, team: &str) -> Option<(u64, u64)> {
    let t = json["teams"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == team)?;
    Some((t["calls_today"].as_u64()?, t["abandoned_today"].as_u64()?))
}

/// V1: the floor's calls and abandoned calls of the day come from the call records, so a restart
/// of the server does not zero them, and calls after the restart add to them. First run: one
/// support call alice answers, one sales call nobody answers (queue timeout: abandoned).
#[tokio::test]
async fn todays_counts_survive_a_restart_of_the_server() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{SUPERVISOR_SUE}",
        standard_config(dir.path(), "queue_timeout_s = 1")
    );
    let start = || async {
        let config = agentphone_server::Config::from_toml_str(&text, "restart.toml")
            .unwrap_or_else(|e| panic!("{e}"));
        agentphone_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e:#}"))
    };
    let first = start().await;
    let addr = first.sip_addr();
    let (customer, mut cust, _alice, _a) = customer_with_alice_at(addr).await;
    assert_eq!(cust.bye(&customer, customer.server).await, 200);
    let caller = SipPeer::new(addr, "caller", "").await;
    let (_, refused) = dial(&caller, &format!("sip:sales@{addr}"), CUSTOMER_HZ)
        .finish(&caller)
        .await;
    let refused = refused
        .err()
        .unwrap_or_else(|| panic!("nobody is in sales"));
    assert_eq!(code(&refused), 480, "{refused}");
    first.shutdown_and_wait().await;

    let second = start().await;
    let addr = second.sip_addr();
    let mut sue = SipPeer::agent(addr, "sue").await;
    let uri = format!("sip:supervisor@{addr}");
    assert_eq!(code(&subscribe(&mut sue, &uri, SUPERVISOR, 600).await), 200);
    let floor = notify_until(&mut sue, SUPERVISOR, 5, |n| n.json["teams"].is_array()).await;
    assert_eq!(
        (today(&floor.json, "support"), today(&floor.json, "sales")),
        (Some((1, 0)), Some((1, 1))),
        "after the restart: {}",
        floor.body
    );
    // A call of this run adds to them.
    let (_customer, _cust, _alice, _a) = customer_with_alice_at(addr).await;
    let floor = notify_until(&mut sue, SUPERVISOR, 5, |n| {
        today(&n.json, "support") == Some((2, 0))
    })
    .await;
    assert_eq!(today(&floor.json, "sales"), Some((1, 1)), "{}", floor.body);
    second.shutdown_and_wait().await;
}
