//! Transfers through the server over real UDP with tone-sending RTP peers (SPEC T1–T10, M5):
//! each phase checks who hears whom. Customer 440 Hz, alice 1000, bob 1500, carol 2000, dave 2500;
//! music on hold 700 Hz, ringback 425 Hz.

use std::time::{Duration, Instant};

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_testkit::server::{TestServer, MOH_HZ, RINGBACK_HZ};
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite, send, Party};
use agentphone_testkit::sip::media_peer::MediaPeer;
use agentphone_testkit::sip::room::{
    command, header, next_notify, notify_until, refer, room_uri, subscribe, wait_request, warning,
};
use agentphone_testkit::sip::{code, SipPeer};

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const BOB_HZ: f32 = 1500.0;
const CAROL_HZ: f32 = 2000.0;
const DAVE_HZ: f32 = 2500.0;
const ROOM: &str = "agentphone-room";

const EXTRA: &str = r#"
[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"
[[agents]]
username = "dave"
display_name = "Dave Lee"
password = "dave-secret"
[[teams]]
name = "billing"
members = ["carol", "dave"]
"#;

/// Wait until `who` hears exactly `tones` over the last second (the new phase, see
/// `MediaPeer::assert_hears`).
async fn hears(who: &str, media: &MediaPeer, tones: &[(f32, bool)]) {
    media.assert_hears(who, tones).await;
}

/// A customer calls support; alice (the only one logged in) answers.
async fn customer_with_alice(server: &TestServer) -> (SipPeer, Party, SipPeer, Party) {
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer = expect_invite(&mut alice).await;
    assert!(
        header(&offer.request, "Recv-Info").contains("agentphone-room"),
        "the server's INVITE to an agent carries Recv-Info"
    );
    let a = answer(&alice, &offer, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    (customer, cust, alice, a)
}

fn agent_uri(server: &TestServer, user: &str) -> String {
    format!("sip:{user}@{}", server.addr().ip())
}

async fn incoming_invite(ua: &mut SipPeer) -> ServerTransaction {
    wait_request(ua, 10, |r| r.method == rsip::Method::Invite)
        .await
        .unwrap_or_else(|| panic!("{}: no INVITE", ua.user))
}

/// The timeline (kind, detail) of the last call in the database, once it has an entry of kind
/// `last` (the records writer is asynchronous; polled every 50 ms for up to 5 s).
async fn stored_timeline(server: &TestServer, last: &str) -> Vec<(String, String)> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let conn = rusqlite::Connection::open(&server.db).unwrap_or_else(|e| panic!("{e}"));
        let mut stmt = conn
            .prepare("SELECT state, COALESCE(detail, '') FROM call_events ORDER BY rowid")
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap_or_else(|e| panic!("{e}"));
        let timeline: Vec<(String, String)> = rows.filter_map(Result::ok).collect();
        if timeline.iter().any(|(k, _)| k == last) || Instant::now() >= until {
            return timeline;
        }
        // The poll interval of this wait for the records writer, not a settle.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long until `media` hears `hz` (polled every 10 ms over the last 60 ms), at most 3 s.
async fn time_until_heard(media: &MediaPeer, hz: f32, since: Instant) -> Duration {
    while since.elapsed() < Duration::from_secs(3) {
        if media.hears(&[hz], 0.06) == vec![true] {
            return since.elapsed();
        }
        // The poll interval (the resolution of the measured delay), not a settle.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{hz} Hz not heard within 3 s");
}

#[tokio::test]
async fn agent_transfer_full_path_hold_consult_resume_complete_then_transfer_again() {
    let server = TestServer::start_with("", EXTRA).await;
    let (customer, mut cust, mut alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;

    // alice subscribes to the room.
    let room = room_uri(&a.dialog);
    assert!(
        room.contains("room-"),
        "the server's Contact is the room: {room}"
    );
    let resp = subscribe(&mut alice, &room, ROOM, 3600).await;
    assert_eq!(code(&resp), 200, "{resp}");
    let st = next_notify(&mut alice, ROOM, 5)
        .await
        .unwrap_or_else(|| panic!("no room NOTIFY"));
    assert_eq!(
        st.json["participants"].as_array().map(Vec::len),
        Some(2),
        "{}",
        st.body
    );
    assert_eq!(st.json["timeline"][0]["kind"], "answered", "{}", st.body);
    assert_eq!(st.json["transfer"], serde_json::Value::Null);

    hears(
        "customer",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;

    // Transfer to bob with a reason.
    let target = format!("{}?Subject=billing%20question", agent_uri(&server, "bob"));
    let resp = refer(&alice, &mut a, &target).await;
    assert_eq!(code(&resp), 202, "{resp}");
    let inv = incoming_invite(&mut bob).await;
    let msg = rsip::SipMessage::Request(inv.request.clone());
    assert_eq!(
        message::from_display_name(&msg).as_deref(),
        Some("Test Caller")
    );
    assert_eq!(header(&inv.request, "Subject"), "billing question");
    assert!(header(&inv.request, "Referred-By").contains("sip:alice@"));
    notify_until(&mut alice, "refer", 5, |n| n.body.contains("180 Ringing")).await;
    let st = notify_until(&mut alice, ROOM, 5, |n| {
        n.json["transfer"]["state"] == "ringing"
    })
    .await;
    assert_eq!(st.json["customer_held"], true, "{}", st.body);
    assert_eq!(st.json["transfer"]["reason"], "billing question");
    hears(
        "customer (ringing)",
        &cust.media,
        &[(MOH_HZ, true), (ALICE_HZ, false)],
    )
    .await;
    hears(
        "alice (ringing)",
        &a.media,
        &[(RINGBACK_HZ, true), (CUSTOMER_HZ, false)],
    )
    .await;

    // bob answers: consultation.
    let t = Instant::now();
    let mut b = answer(&bob, &inv, BOB_HZ).await;
    let took = time_until_heard(&b.media, ALICE_HZ, t).await;
    println!("target answered → target hears the transferring agent: {took:?}");
    notify_until(&mut alice, "refer", 5, |n| n.body.contains("200 OK")).await;
    notify_until(&mut alice, ROOM, 5, |n| {
        n.json["transfer"]["state"] == "consulting"
    })
    .await;
    hears(
        "customer (consult)",
        &cust.media,
        &[(MOH_HZ, true), (ALICE_HZ, false), (BOB_HZ, false)],
    )
    .await;
    hears(
        "alice (consult)",
        &a.media,
        &[(BOB_HZ, true), (CUSTOMER_HZ, false)],
    )
    .await;
    hears(
        "bob (consult)",
        &b.media,
        &[(ALICE_HZ, true), (CUSTOMER_HZ, false)],
    )
    .await;

    // Any agent resumes the customer: three-way.
    let resp = command(&bob, &mut b, r#"{"command":"resume"}"#).await;
    assert_eq!(code(&resp), 200, "{resp}");
    hears(
        "customer (3-way)",
        &cust.media,
        &[(ALICE_HZ, true), (BOB_HZ, true), (MOH_HZ, false)],
    )
    .await;
    hears(
        "bob (3-way)",
        &b.media,
        &[(ALICE_HZ, true), (CUSTOMER_HZ, true)],
    )
    .await;

    // alice completes: she leaves, customer and bob remain.
    let resp = command(&alice, &mut a, r#"{"command":"complete_transfer"}"#).await;
    assert_eq!(code(&resp), 200, "{resp}");
    assert!(
        expect_bye(&mut alice, 5).await,
        "alice gets BYE on completion"
    );
    hears(
        "customer (after)",
        &cust.media,
        &[(BOB_HZ, true), (ALICE_HZ, false), (MOH_HZ, false)],
    )
    .await;
    hears(
        "bob (after)",
        &b.media,
        &[(CUSTOMER_HZ, true), (ALICE_HZ, false)],
    )
    .await;

    // T10: bob transfers again; carol declines; the call is as before.
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let resp = refer(&bob, &mut b, &agent_uri(&server, "carol")).await;
    assert_eq!(code(&resp), 202, "{resp}");
    let inv = incoming_invite(&mut carol).await;
    send(
        &inv,
        message::response(&inv.request, 603, "Decline", Some("t1")),
    )
    .await;
    notify_until(&mut bob, "refer", 5, |n| n.body.contains("603")).await;
    hears(
        "customer (after decline)",
        &cust.media,
        &[(BOB_HZ, true), (MOH_HZ, false)],
    )
    .await;
    hears(
        "bob (after decline)",
        &b.media,
        &[(CUSTOMER_HZ, true), (RINGBACK_HZ, false)],
    )
    .await;

    assert_eq!(cust.bye(&customer, customer.server).await, 200);
    assert!(expect_bye(&mut bob, 5).await);
    let timeline = stored_timeline(&server, "transfer_failed").await;
    for kind in [
        "transfer_requested",
        "transfer_ringing",
        "transfer_answered",
        "resumed",
        "transfer_completed",
        "transfer_failed",
    ] {
        assert!(
            timeline.iter().any(|(k, _)| k == kind),
            "{kind} missing: {timeline:?}"
        );
    }
    assert!(
        timeline
            .iter()
            .any(|(_, d)| d == "Alice Martin transferred to Bob Dupont (billing question)"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn team_transfer_rings_the_next_member_when_the_first_does_not_answer() {
    let server = TestServer::start_with("ring_timeout_s = 2", EXTRA).await;
    let (_customer, cust, mut alice, mut a) = customer_with_alice(&server).await;
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let mut dave = SipPeer::agent(server.addr(), "dave").await;
    let target = format!("sip:billing@{};agentphone-target=team", server.addr().ip());
    let resp = refer(&alice, &mut a, &target).await;
    assert_eq!(code(&resp), 202, "{resp}");
    // carol (first in member order, equally idle) rings and does not answer.
    let first = incoming_invite(&mut carol).await;
    assert!(header(&first.request, "Call-Info").contains("x-agentphone-team"));
    let started = Instant::now();
    let inv = incoming_invite(&mut dave).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "dave only after carol's timeout"
    );
    let _d = answer(&dave, &inv, DAVE_HZ).await;
    notify_until(&mut alice, "refer", 5, |n| n.body.contains("200 OK")).await;
    hears("alice", &a.media, &[(DAVE_HZ, true), (CAROL_HZ, false)]).await;
    hears("customer", &cust.media, &[(MOH_HZ, true)]).await;
    drop(first);
}

#[tokio::test]
async fn refusals_come_at_once_with_a_reason() {
    let server = TestServer::start_with("", EXTRA).await;
    let (customer, mut cust, alice, mut a) = customer_with_alice(&server).await;
    let mut carol = SipPeer::new(server.addr(), "carol", "carol-secret").await;
    assert_eq!(code(&carol.register().await), 200); // voice channel off
    let ip = server.addr().ip();
    let cases = [
        (format!("sip:zed@{ip}"), 404, "zed"),
        (format!("sip:alice@{ip}"), 482, "already in the call"),
        (format!("sip:bob@{ip}"), 480, "offline"),
        (format!("sip:carol@{ip}"), 480, "voice channel off"),
        (
            format!("sip:billing@{ip};agentphone-target=team"),
            480,
            "billing",
        ),
    ];
    for (user, want, text) in cases {
        let t = Instant::now();
        let resp = refer(&alice, &mut a, &user).await;
        assert_eq!(code(&resp), want, "{user}: {resp}");
        assert!(
            warning(&resp).contains(text),
            "{user}: Warning {:?}",
            warning(&resp)
        );
        assert!(t.elapsed() < Duration::from_secs(1), "refused at once");
    }
    // T11: the customer leg can neither transfer nor send room commands.
    let resp = refer(&customer, &mut cust, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 403, "{resp}");
    let resp = command(&customer, &mut cust, r#"{"command":"resume"}"#).await;
    assert_eq!(code(&resp), 403, "{resp}");
    // One transfer at a time.
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let resp = refer(&alice, &mut a, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 202);
    let _ring = incoming_invite(&mut bob).await;
    assert_eq!(code(&carol.set_voice(true).await), 200);
    let resp = refer(&alice, &mut a, &agent_uri(&server, "carol")).await;
    assert_eq!(code(&resp), 409, "{resp}");
    assert!(
        warning(&resp).contains("already under way"),
        "{}",
        warning(&resp)
    );
    let resp = command(&alice, &mut a, r#"{"command":"bogus"}"#).await;
    assert_eq!(code(&resp), 488);
    let resp = command(&alice, &mut a, r#"{"command":"complete_transfer"}"#).await;
    assert_eq!(code(&resp), 409, "not answered yet: {resp}");
}

#[tokio::test]
async fn cancel_and_decline_put_the_call_back_as_it_was() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, cust, mut alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    // Cancel while ringing.
    let resp = refer(&alice, &mut a, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 202);
    let inv = incoming_invite(&mut bob).await;
    let resp = command(&alice, &mut a, r#"{"command":"cancel_transfer"}"#).await;
    assert_eq!(code(&resp), 200, "{resp}");
    tokio::time::timeout(Duration::from_secs(5), inv.cancelled())
        .await
        .unwrap_or_else(|_| panic!("bob's INVITE must be CANCELled"));
    notify_until(&mut alice, "refer", 5, |n| n.body.contains("487")).await;
    hears(
        "customer (cancelled)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;
    hears(
        "alice (cancelled)",
        &a.media,
        &[(CUSTOMER_HZ, true), (RINGBACK_HZ, false)],
    )
    .await;
    // Decline.
    let resp = refer(&alice, &mut a, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 202, "bob is free again: {resp}");
    let inv = incoming_invite(&mut bob).await;
    send(
        &inv,
        message::response(&inv.request, 603, "Decline", Some("t2")),
    )
    .await;
    notify_until(&mut alice, "refer", 5, |n| n.body.contains("603")).await;
    hears(
        "customer (declined)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;
    let timeline = stored_timeline(&server, "transfer_failed").await;
    assert!(
        timeline.iter().any(|(k, _)| k == "transfer_cancelled"),
        "{timeline:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|(k, d)| k == "transfer_failed" && d.contains("declined")),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn target_hanging_up_during_the_consultation_returns_to_the_customer() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, cust, alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    assert_eq!(
        code(&refer(&alice, &mut a, &agent_uri(&server, "bob")).await),
        202
    );
    let inv = incoming_invite(&mut bob).await;
    let mut b = answer(&bob, &inv, BOB_HZ).await;
    hears("customer (consult)", &cust.media, &[(MOH_HZ, true)]).await;
    assert_eq!(b.bye(&bob, bob.server).await, 200);
    hears(
        "customer (back)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false), (BOB_HZ, false)],
    )
    .await;
    hears(
        "alice (back)",
        &a.media,
        &[(CUSTOMER_HZ, true), (BOB_HZ, false)],
    )
    .await;
}

#[tokio::test]
async fn customer_hanging_up_during_the_consultation_leaves_the_agents_connected() {
    let server = TestServer::start_with("", EXTRA).await;
    let (customer, mut cust, mut alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let resp = subscribe(&mut alice, &room_uri(&a.dialog), ROOM, 3600).await;
    assert_eq!(code(&resp), 200);
    assert_eq!(
        code(&refer(&alice, &mut a, &agent_uri(&server, "bob")).await),
        202
    );
    let inv = incoming_invite(&mut bob).await;
    let b = answer(&bob, &inv, BOB_HZ).await;
    hears("bob (consult)", &b.media, &[(ALICE_HZ, true)]).await;
    assert_eq!(cust.bye(&customer, customer.server).await, 200);
    let st = notify_until(&mut alice, ROOM, 5, |n| {
        n.json["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().any(|e| e["kind"] == "customer_left"))
    })
    .await;
    assert_eq!(
        st.json["participants"].as_array().map(Vec::len),
        Some(2),
        "{}",
        st.body
    );
    hears("alice", &a.media, &[(BOB_HZ, true)]).await;
    hears("bob", &b.media, &[(ALICE_HZ, true)]).await;
    assert!(
        wait_request(&mut bob, 1, |r| r.method == rsip::Method::Bye)
            .await
            .is_none(),
        "bob stays connected"
    );
}

#[tokio::test]
async fn listen_only_hears_everyone_is_heard_by_no_one_and_a_fourth_is_refused() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, cust, alice, mut a) = customer_with_alice(&server).await;
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let _bob = SipPeer::agent(server.addr(), "bob").await;
    let target = format!("{};agentphone-mode=listen", agent_uri(&server, "carol"));
    assert_eq!(code(&refer(&alice, &mut a, &target).await), 202);
    let inv = incoming_invite(&mut carol).await;
    assert!(header(&inv.request, "Call-Info").contains("x-agentphone-listen-only"));
    hears(
        "customer (listen ringing)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;
    let t = Instant::now();
    let c = answer(&carol, &inv, CAROL_HZ).await;
    let took = time_until_heard(&c.media, CUSTOMER_HZ, t).await;
    println!("target answered → target hears the customer: {took:?}");
    hears("carol", &c.media, &[(CUSTOMER_HZ, true), (ALICE_HZ, true)]).await;
    hears(
        "customer",
        &cust.media,
        &[(ALICE_HZ, true), (CAROL_HZ, false), (MOH_HZ, false)],
    )
    .await;
    hears("alice", &a.media, &[(CUSTOMER_HZ, true), (CAROL_HZ, false)]).await;
    // A fourth participant would exceed max_participants (3).
    let resp = refer(&alice, &mut a, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 488, "{resp}");
    assert!(
        warning(&resp).contains("3 participants"),
        "{}",
        warning(&resp)
    );
}

#[tokio::test]
async fn hanging_up_during_the_consultation_completes_and_hold_commands_work() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, cust, mut alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    // Hold / resume by command (C3) and mute in the room state (C2).
    let resp = subscribe(&mut alice, &room_uri(&a.dialog), ROOM, 3600).await;
    assert_eq!(code(&resp), 200);
    assert_eq!(
        code(&command(&alice, &mut a, r#"{"command":"hold"}"#).await),
        200
    );
    hears(
        "customer (held)",
        &cust.media,
        &[(MOH_HZ, true), (ALICE_HZ, false)],
    )
    .await;
    hears("alice (holding)", &a.media, &[(CUSTOMER_HZ, false)]).await;
    assert_eq!(
        code(&command(&alice, &mut a, r#"{"command":"resume"}"#).await),
        200
    );
    assert_eq!(
        code(&command(&alice, &mut a, r#"{"command":"mute","on":true}"#).await),
        200
    );
    let st = notify_until(&mut alice, ROOM, 5, |n| {
        n.json["participants"].as_array().is_some_and(|p| {
            p.iter()
                .any(|x| x["username"] == "alice" && x["muted"] == true)
        })
    })
    .await;
    assert_eq!(st.json["customer_held"], false, "{}", st.body);
    hears(
        "customer (resumed)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;

    // alice hangs up while bob is connected: the transfer completes (T6).
    assert_eq!(
        code(&refer(&alice, &mut a, &agent_uri(&server, "bob")).await),
        202
    );
    let inv = incoming_invite(&mut bob).await;
    let b = answer(&bob, &inv, BOB_HZ).await;
    hears("bob (consult)", &b.media, &[(ALICE_HZ, true)]).await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
    hears(
        "customer (completed)",
        &cust.media,
        &[(BOB_HZ, true), (MOH_HZ, false), (ALICE_HZ, false)],
    )
    .await;
    hears("bob (completed)", &b.media, &[(CUSTOMER_HZ, true)]).await;
    let timeline = stored_timeline(&server, "transfer_completed").await;
    assert!(
        timeline.iter().any(
            |(k, d)| k == "transfer_completed" && d == "Alice Martin transferred to Bob Dupont"
        ),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn a_target_on_a_call_is_busy() {
    let server = TestServer::start_with("", EXTRA).await;
    let (_customer, _cust, alice, mut a) = customer_with_alice(&server).await;
    // bob is on a call with carol.
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    let dialing = agentphone_testkit::sip::call::dial_authenticated(
        &mut carol,
        &agent_uri(&server, "bob"),
        CAROL_HZ,
    )
    .await
    .unwrap_or_else(|r| panic!("carol dial: {r}"));
    let inv = incoming_invite(&mut bob).await;
    let _b = answer(&bob, &inv, BOB_HZ).await;
    let (_, c) = dialing.finish(&carol).await;
    let _c = c.unwrap_or_else(|r| panic!("carol: {r}"));
    let resp = refer(&alice, &mut a, &agent_uri(&server, "bob")).await;
    assert_eq!(code(&resp), 486, "{resp}");
    assert!(warning(&resp).contains("on a call"), "{}", warning(&resp));
}

#[tokio::test]
async fn hanging_up_while_the_target_rings_transfers_blind_and_no_answer_ends_the_call() {
    // Long enough that bob still rings once the customer hears music, and answers in time.
    let server = TestServer::start_with("ring_timeout_s = 4", EXTRA).await;
    let (mut customer, cust, alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    // Blind: alice hangs up while bob rings; bob answers and has the customer.
    assert_eq!(
        code(&refer(&alice, &mut a, &agent_uri(&server, "bob")).await),
        202
    );
    let inv = incoming_invite(&mut bob).await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
    hears("customer (blind, ringing)", &cust.media, &[(MOH_HZ, true)]).await;
    let mut b = answer(&bob, &inv, BOB_HZ).await;
    hears(
        "customer (blind, answered)",
        &cust.media,
        &[(BOB_HZ, true), (MOH_HZ, false)],
    )
    .await;
    hears("bob (blind)", &b.media, &[(CUSTOMER_HZ, true)]).await;
    // No answer (408) with nobody else left: the customer gets BYE.
    let mut carol = SipPeer::agent(server.addr(), "carol").await;
    assert_eq!(
        code(&refer(&bob, &mut b, &agent_uri(&server, "carol")).await),
        202
    );
    let _ring = incoming_invite(&mut carol).await;
    assert_eq!(b.bye(&bob, bob.server).await, 200);
    let started = Instant::now();
    assert!(
        expect_bye(&mut customer, 8).await,
        "carol did not answer and no agent is left: the customer gets BYE"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(3500),
        "only after the ring timeout"
    );
    let timeline = stored_timeline(&server, "transfer_failed").await;
    assert!(
        timeline
            .iter()
            .any(|(k, d)| k == "transfer_failed" && d.contains("did not answer")),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn without_the_transfer_hold_the_customer_stays_in_the_conversation() {
    let server = TestServer::start_with("hold_customer_on_transfer = false", EXTRA).await;
    let (_customer, cust, alice, mut a) = customer_with_alice(&server).await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    assert_eq!(
        code(&refer(&alice, &mut a, &agent_uri(&server, "bob")).await),
        202
    );
    let inv = incoming_invite(&mut bob).await;
    hears(
        "customer (ringing)",
        &cust.media,
        &[(ALICE_HZ, true), (MOH_HZ, false)],
    )
    .await;
    hears(
        "alice (ringing)",
        &a.media,
        &[(CUSTOMER_HZ, true), (RINGBACK_HZ, false)],
    )
    .await;
    let t = Instant::now();
    let b = answer(&bob, &inv, BOB_HZ).await;
    let took = time_until_heard(&b.media, CUSTOMER_HZ, t).await;
    println!("target answered → target hears the customer (no transfer hold): {took:?}");
    hears("bob", &b.media, &[(CUSTOMER_HZ, true), (ALICE_HZ, true)]).await;
    hears("customer", &cust.media, &[(ALICE_HZ, true), (BOB_HZ, true)]).await;
}
