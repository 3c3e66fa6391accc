//! Calls through the server over real sockets, with RTP driven by test peers: inbound to a team,
//! audio both ways through the mixer, hold with music, DTMF relay, BYE, records in SQLite,
//! offer order and ring timeout, RTP timeout, agent-to-agent calls, who may call what (T11).

use std::time::Duration;

use agentphone_sip::message;
use agentphone_sip::sdp::Direction;
use agentphone_testkit::server::{TestServer, MOH_HZ, RINGBACK_HZ};
use agentphone_testkit::sip::call::{
    answer, connect, dial, dial_authenticated, dial_with, expect_bye, expect_invite,
    invite_request, send,
};
use agentphone_testkit::sip::{code, SipPeer};
use agentphone_testkit::wait::wait_until_async;

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const BOB_HZ: f32 = 1500.0;

#[tokio::test]
async fn inbound_call_to_team_is_mixed_held_relays_dtmf_and_is_recorded() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;

    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer_tx = expect_invite(&mut alice).await;
    let msg = rsip::SipMessage::Request(offer_tx.request.clone());
    assert_eq!(
        message::from_display_name(&msg).as_deref(),
        Some("Test Caller")
    );
    let call_info = message::header_value(&msg, "Call-Info").unwrap_or_default();
    assert!(
        call_info.contains("sip:support@") && call_info.contains("x-agentphone-team"),
        "{call_info}"
    );
    let mut alice_party = answer(&alice, &offer_tx, ALICE_HZ).await;
    let (provisional, result) = dialing.finish(&customer).await;
    assert!(
        provisional.contains(&183),
        "183 with early media expected: {provisional:?}"
    );
    let mut cust = result.unwrap_or_else(|r| panic!("customer call failed: {r}"));

    cust.media
        .assert_hears(
            "customer hears alice only",
            &[(ALICE_HZ, true), (CUSTOMER_HZ, false), (MOH_HZ, false)],
        )
        .await;
    alice_party
        .media
        .assert_hears(
            "alice hears the customer only",
            &[(CUSTOMER_HZ, true), (ALICE_HZ, false)],
        )
        .await;

    // Hold: the customer hears music, alice no longer hears the customer.
    assert_eq!(
        alice_party
            .reinvite(&alice, Direction::SendOnly, alice.server)
            .await,
        200
    );
    cust.media
        .assert_hears(
            "held customer hears music on hold",
            &[(MOH_HZ, true), (ALICE_HZ, false)],
        )
        .await;
    alice_party
        .media
        .assert_hears("held customer is not heard", &[(CUSTOMER_HZ, false)])
        .await;

    // Resume.
    assert_eq!(
        alice_party
            .reinvite(&alice, Direction::SendRecv, alice.server)
            .await,
        200
    );
    cust.media
        .assert_hears("customer (resumed)", &[(ALICE_HZ, true), (MOH_HZ, false)])
        .await;
    alice_party
        .media
        .assert_hears("alice (resumed)", &[(CUSTOMER_HZ, true)])
        .await;

    // DTMF from the customer reaches alice.
    cust.media.send_dtmf('5');
    alice_party.media.assert_digit('5').await;

    // The customer hangs up: alice gets BYE.
    assert_eq!(cust.bye(&customer, customer.server).await, 200);
    assert!(expect_bye(&mut alice, 5).await, "alice must get BYE");

    let row = wait_for_ended_record(&server).await;
    assert_eq!(
        row,
        (
            "inbound".to_string(),
            "ended".to_string(),
            Some("alice".to_string())
        )
    );
    let states = record_states(&server);
    for s in ["started", "ringing", "answered", "held", "resumed", "ended"] {
        assert!(
            states.iter().any(|x| x == s),
            "state {s} missing from {states:?}"
        );
    }
}

#[tokio::test]
async fn caller_hears_ringback_while_the_agent_rings() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let mut dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer_tx = expect_invite(&mut alice).await;
    // Drive the dialling side until the 183 started its media, then listen.
    let early = loop {
        let r = tokio::time::timeout(Duration::from_secs(5), dialing.tx.next()).await;
        let resp = match r {
            Ok(Some(Ok(resp))) => resp,
            other => panic!("no 183: {:?}", other.is_ok()),
        };
        if code(&resp) == 183 {
            break resp;
        }
    };
    let text = std::str::from_utf8(&early.body)
        .unwrap_or_default()
        .to_string();
    let answer_sdp = agentphone_sip::sdp::Sdp::parse(&text).unwrap_or_else(|e| panic!("{}", e.0));
    let n = agentphone_sip::sdp::accept_answer(&dialing.offer, &answer_sdp)
        .unwrap_or_else(|e| panic!("{}", e.0));
    let media = dialing
        .media
        .take()
        .unwrap_or_else(|| panic!("media"))
        .start(&n, CUSTOMER_HZ);
    media
        .assert_hears(
            "ringback expected",
            &[(RINGBACK_HZ, true), (ALICE_HZ, false)],
        )
        .await;
    drop(offer_tx);
}

#[tokio::test]
async fn nobody_available_waits_in_the_queue_then_gets_480() {
    let server = TestServer::start("queue_timeout_s = 1").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let (_, result) = dial(&customer, &server.uri("support"), CUSTOMER_HZ)
        .finish(&customer)
        .await;
    let resp = result.err().unwrap_or_else(|| panic!("must fail"));
    assert_eq!(code(&resp), 480, "{resp}");
    let row = wait_for_ended_record(&server).await;
    assert_eq!(row.0, "inbound");
}

#[tokio::test]
async fn inactive_agent_is_not_offered_calls() {
    let server = TestServer::start("queue_timeout_s = 1").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&alice.register().await), 200); // registered, voice channel off
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let (_, result) = dial(&customer, &server.uri("support"), CUSTOMER_HZ)
        .finish(&customer)
        .await;
    assert_eq!(result.err().map(|r| code(&r)), Some(480));
    assert!(
        alice.next_request(1).await.is_none(),
        "inactive alice must not be rung"
    );
}

#[tokio::test]
async fn declined_offer_goes_to_the_next_member_and_ring_timeout_cancels() {
    let server = TestServer::start("ring_timeout_s = 2").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;

    // alice first (member order breaks the tie), she declines → bob.
    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let to_alice = expect_invite(&mut alice).await;
    send(
        &to_alice,
        message::response(&to_alice.request, 603, "Decline", Some("a1")),
    )
    .await;
    let to_bob = expect_invite(&mut bob).await;
    // bob lets it ring: after 2 s the server cancels, and with alice already tried → 480.
    send(
        &to_bob,
        message::response(&to_bob.request, 180, "Ringing", Some("b1")),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(5), to_bob.cancelled())
        .await
        .unwrap_or_else(|_| panic!("no CANCEL after ring timeout"));
    send(
        &to_bob,
        message::response(&to_bob.request, 487, "Request Terminated", Some("b1")),
    )
    .await;
    let (_, result) = dialing.finish(&customer).await;
    assert_eq!(result.err().map(|r| code(&r)), Some(480));
}

#[tokio::test]
async fn longest_idle_member_is_offered_first() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    // First call: alice (tie → member order) answers and hangs up; she is now the less idle one.
    let (_c, mut a) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut alice,
        ALICE_HZ,
    )
    .await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
    let mut customer = customer;
    assert!(expect_bye(&mut customer, 5).await);
    // Second call: bob has been idle longer.
    let (_c, _b) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut bob,
        BOB_HZ,
    )
    .await;
    let stray = alice.next_request(1).await.map(|tx| tx.request.to_string());
    assert!(stray.is_none(), "alice must not be rung: {stray:?}");
}

#[tokio::test]
async fn silent_party_is_hung_up_and_the_room_cleaned() {
    let server = TestServer::start("rtp_timeout_s = 2").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut customer = SipPeer::new(server.addr(), "customer", "").await;
    let (cust, _a) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut alice,
        ALICE_HZ,
    )
    .await;
    cust.media
        .assert_hears("customer (connected)", &[(ALICE_HZ, true)])
        .await;
    cust.media
        .sending
        .store(false, std::sync::atomic::Ordering::Relaxed);
    // Silent customer gets BYE, and so does alice when the room ends — within 10 s.
    assert!(
        expect_bye(&mut customer, 10).await,
        "silent customer must get BYE"
    );
    assert!(
        expect_bye(&mut alice, 3).await,
        "alice must get BYE when the room ends"
    );
    let row = wait_for_ended_record(&server).await;
    assert_eq!(row.1, "ended");
}

#[tokio::test]
async fn agent_calls_agent_with_audio_and_hold() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut bob = SipPeer::agent(server.addr(), "bob").await;
    let uri = format!("sip:bob@{}", server.addr().ip());
    let dialing = dial_authenticated(&mut alice, &uri, ALICE_HZ)
        .await
        .unwrap_or_else(|r| panic!("{r}"));
    let tx = expect_invite(&mut bob).await;
    let from = message::from_uri(&rsip::SipMessage::Request(tx.request.clone()))
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert!(from.contains("alice"), "bob sees alice calling: {from}");
    let mut b = answer(&bob, &tx, BOB_HZ).await;
    let (_, r) = dialing.finish(&alice).await;
    let mut a = r.unwrap_or_else(|r| panic!("{r}"));
    a.media
        .assert_hears("alice", &[(BOB_HZ, true), (ALICE_HZ, false)])
        .await;
    b.media
        .assert_hears("bob", &[(ALICE_HZ, true), (BOB_HZ, false)])
        .await;
    // alice holds: bob hears music, alice hears nothing of bob.
    assert_eq!(
        a.reinvite(&alice, Direction::SendOnly, alice.server).await,
        200
    );
    b.media
        .assert_hears("bob", &[(MOH_HZ, true), (ALICE_HZ, false)])
        .await;
    a.media.assert_hears("alice", &[(BOB_HZ, false)]).await;
    assert_eq!(b.bye(&bob, bob.server).await, 200);
    assert!(expect_bye(&mut alice, 5).await);
    let row = wait_for_ended_record(&server).await;
    assert_eq!(
        row,
        (
            "internal".to_string(),
            "ended".to_string(),
            Some("bob".to_string())
        )
    );
}

#[tokio::test]
async fn agent_calls_out_to_a_customer_uri() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    // The "customer" is any SIP UA at its own address.
    let mut customer = SipPeer::new(server.addr(), "customer", "").await;
    let uri = format!("sip:customer@{}", customer.ep.local_addr());
    let dialing = dial_authenticated(&mut alice, &uri, ALICE_HZ)
        .await
        .unwrap_or_else(|r| panic!("{r}"));
    let tx = expect_invite(&mut customer).await;
    let c = answer(&customer, &tx, CUSTOMER_HZ).await;
    let (_, r) = dialing.finish(&alice).await;
    let mut a = r.unwrap_or_else(|r| panic!("{r}"));
    a.media.assert_hears("alice", &[(CUSTOMER_HZ, true)]).await;
    c.media.assert_hears("customer", &[(ALICE_HZ, true)]).await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
    assert!(
        expect_bye(&mut customer, 5).await,
        "the customer gets BYE when alice hangs up"
    );
    let row = wait_for_ended_record(&server).await;
    assert_eq!(row.0, "outbound");
}

#[tokio::test]
async fn unauthenticated_callers_reach_only_inbound_addresses() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut stranger = SipPeer::new(server.addr(), "stranger", "guess").await;
    // To an agent address without credentials: challenged.
    let offer = agentphone_sip::sdp::Sdp::offer(
        agentphone_testkit::sip::call::LOCAL,
        40000,
        1,
        Direction::SendRecv,
    );
    let uri = format!("sip:alice@{}", server.addr().ip());
    let c = stranger.next_cseq();
    let r = stranger
        .send(invite_request(
            &stranger,
            &uri,
            &message::new_call_id(),
            c,
            &offer,
            None,
        ))
        .await;
    assert_eq!(code(&r), 401, "{r}");
    // With made-up credentials: forbidden.
    let r = dial_authenticated(&mut stranger, &uri, CUSTOMER_HZ).await;
    match r {
        Err(resp) => panic!("second INVITE should be sent: {resp}"),
        Ok(d) => {
            let (_, result) = d.finish(&stranger).await;
            assert_eq!(result.err().map(|r| code(&r)), Some(403));
        }
    }
    // To an outside URI without credentials: challenged too (no toll fraud through the server).
    let c = stranger.next_cseq();
    let r = stranger
        .send(invite_request(
            &stranger,
            "sip:someone@192.0.2.1:5060",
            &message::new_call_id(),
            c,
            &offer,
            None,
        ))
        .await;
    assert_eq!(code(&r), 401, "{r}");
    assert!(
        alice.next_request(1).await.is_none(),
        "alice must not be rung"
    );
}

/// (kind, state, answered_by) of the only call, once it has ended.
async fn wait_for_ended_record(server: &TestServer) -> (String, String, Option<String>) {
    let what = format!("an ended call record in {}", server.db.display());
    wait_until_async(&what, Duration::from_secs(5), || {
        std::future::ready(match last_call(server) {
            Ok(row) if row.1 == "ended" => Ok(row),
            Ok(row) => Err(format!("{row:?}")),
            Err(e) => Err(e.to_string()),
        })
    })
    .await
}

/// (kind, state, answered_by) of the latest call record.
fn last_call(server: &TestServer) -> rusqlite::Result<(String, String, Option<String>)> {
    rusqlite::Connection::open(&server.db)?.query_row(
        "SELECT kind, state, answered_by FROM calls ORDER BY started_at_ms DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

fn record_states(server: &TestServer) -> Vec<String> {
    let conn = rusqlite::Connection::open(&server.db).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = conn
        .prepare("SELECT state FROM call_events ORDER BY rowid")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{e}"));
    rows.filter_map(Result::ok).collect()
}

#[tokio::test]
async fn g711_customer_and_opus_agent_are_transcoded() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial_with(&customer, &server.uri("support"), CUSTOMER_HZ, |sdp| {
        sdp.formats.retain(|f| {
            f.name.eq_ignore_ascii_case("PCMU") || f.name.eq_ignore_ascii_case("telephone-event")
        });
    });
    let tx = expect_invite(&mut alice).await;
    let offer_to_agent = String::from_utf8_lossy(&tx.request.body).to_string();
    assert!(
        offer_to_agent.contains("opus/48000"),
        "the agent is offered Opus: {offer_to_agent}"
    );
    let a = answer(&alice, &tx, ALICE_HZ).await;
    let (_, r) = dialing.finish(&customer).await;
    let c = r.unwrap_or_else(|r| panic!("{r}"));
    c.media
        .assert_hears("PCMU customer hears the Opus agent", &[(ALICE_HZ, true)])
        .await;
    a.media
        .assert_hears("Opus agent hears the PCMU customer", &[(CUSTOMER_HZ, true)])
        .await;
}

#[tokio::test]
async fn agent_registered_over_tcp_is_rung_over_tcp() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::with_transport(
        server.addr(),
        "alice",
        "alice-secret",
        agentphone_sip::endpoint::TransportKind::Tcp,
    )
    .await;
    alice.login().await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let tx = expect_invite(&mut alice).await;
    assert_eq!(
        tx.peer.transport,
        agentphone_sip::endpoint::TransportKind::Tcp,
        "{}",
        tx.request
    );
    let mut a = answer(&alice, &tx, ALICE_HZ).await;
    let (_, r) = dialing.finish(&customer).await;
    let c = r.unwrap_or_else(|r| panic!("{r}"));
    c.media.assert_hears("customer", &[(ALICE_HZ, true)]).await;
    assert_eq!(a.bye(&alice, alice.server).await, 200);
}

#[tokio::test]
async fn server_shutdown_says_bye_to_everyone() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let mut customer = SipPeer::new(server.addr(), "customer", "").await;
    let (_c, _a) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut alice,
        ALICE_HZ,
    )
    .await;
    server.handle.shutdown();
    assert!(
        expect_bye(&mut customer, 3).await,
        "customer gets BYE on shutdown"
    );
    assert!(
        expect_bye(&mut alice, 3).await,
        "alice gets BYE on shutdown"
    );
    let row = wait_for_ended_record(&server).await;
    assert_eq!(row.1, "ended");
}

/// Issue 10 #4 (the ghost call): the server stopping while an agent's phone rings CANCELs the
/// offer, so the popup goes at once instead of ringing on for a call that no longer exists.
#[tokio::test]
async fn server_shutdown_cancels_an_offer_that_rings() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let _dialing = dial(&customer, &server.uri("support"), CUSTOMER_HZ);
    let offer = expect_invite(&mut alice).await;
    send(
        &offer,
        message::response(&offer.request, 180, "Ringing", Some("a1")),
    )
    .await;
    server.handle.shutdown();
    tokio::time::timeout(Duration::from_secs(3), offer.cancelled())
        .await
        .unwrap_or_else(|_| panic!("no CANCEL when the server stopped"));
}

#[tokio::test]
async fn garbage_on_the_rtp_port_does_not_disturb_the_call() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let (c, a) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut alice,
        ALICE_HZ,
    )
    .await;
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let packets: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x80],
        vec![0x80, 0x6f, 0, 1], // truncated RTP header
        vec![0xff; 11],         // bad version
        [vec![0x8f, 0x6f, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1], vec![0; 4]].concat(), // 15 CSRCs announced, none there
        [
            vec![0x90, 0x6f, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0xbe, 0xde, 0xff, 0xff],
        ]
        .concat(), // extension past the end
        [vec![0xa0, 0x6f, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1], vec![0xff]].concat(), // padding longer than the packet
        (0..1400u32).map(|i| (i * 7) as u8).collect(),
    ];
    for _ in 0..20 {
        for p in &packets {
            let _ = junk.send_to(p, c.server_rtp).await;
            let _ = junk.send_to(p, a.server_rtp).await;
        }
    }
    c.media
        .assert_hears("customer still hears alice", &[(ALICE_HZ, true)])
        .await;
    a.media
        .assert_hears("alice still hears the customer", &[(CUSTOMER_HZ, true)])
        .await;
}

#[tokio::test]
async fn customer_phone_holding_plays_music_to_the_agent() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let (mut c, a) = connect(
        &customer,
        &server.uri("support"),
        CUSTOMER_HZ,
        &mut alice,
        ALICE_HZ,
    )
    .await;
    assert_eq!(
        c.reinvite(&customer, Direction::SendOnly, customer.server)
            .await,
        200
    );
    a.media
        .assert_hears(
            "agent hears music while the customer holds",
            &[(MOH_HZ, true), (CUSTOMER_HZ, false)],
        )
        .await;
    assert_eq!(
        c.reinvite(&customer, Direction::SendRecv, customer.server)
            .await,
        200
    );
    a.media
        .assert_hears("alice", &[(CUSTOMER_HZ, true), (MOH_HZ, false)])
        .await;
}
