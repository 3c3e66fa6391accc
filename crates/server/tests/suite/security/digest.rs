//! §2–3 Digest: a captured Authorization re-sent (another address, or the same one) binds
//! nothing; wrong answers "from" the agent's address with a nonce that address never received do
//! not lock her out; guessing from rotating addresses is slowed to the account rate while the agent
//! still logs in from her own address.

use std::net::{IpAddr, Ipv4Addr};

use agentphone_sip::message;
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::{code, SipPeer};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A challenge for `peer`'s user, and the REGISTER answering it (from `peer`).
async fn challenged_register(peer: &mut SipPeer) -> rsip::Request {
    let call_id = message::new_call_id();
    let first = peer.register_request(&call_id, 300, None);
    let resp = peer.send(first).await;
    assert_eq!(code(&resp), 401, "{resp}");
    let ch = peer.pick_challenge(&resp);
    let auth = peer.answer(&ch, "REGISTER", &format!("sip:{}", peer.server.addr.ip()));
    peer.register_request(&call_id, 300, Some(auth))
}

fn authorization(req: &rsip::Request) -> String {
    message::header_value(&rsip::SipMessage::Request(req.clone()), "Authorization")
        .unwrap_or_else(|| panic!("no Authorization in {req}"))
}

#[tokio::test]
async fn a_captured_register_cannot_be_replayed() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    let register = challenged_register(&mut alice).await;
    let captured = authorization(&register);
    assert_eq!(code(&alice.send(register).await), 200);

    // Re-sent from another host with a new Call-ID and the attacker's Contact.
    let mut elsewhere = SipPeer::at(loopback(2), server.addr(), "alice", "").await;
    let replay = elsewhere.register_request(&message::new_call_id(), 300, Some(captured.clone()));
    let resp = elsewhere.send(replay).await;
    assert_eq!(code(&resp), 401, "replay from another host: {resp}");
    // Re-sent from alice's own host (another port): the nonce count was used.
    let mut same_host = SipPeer::new(server.addr(), "alice", "").await;
    let replay = same_host.register_request(&message::new_call_id(), 300, Some(captured));
    let resp = same_host.send(replay).await;
    assert_eq!(code(&resp), 401, "replay from the same host: {resp}");

    // Without qop (RFC 2069 style) an answer is challenged again, never accepted.
    let mut old_style = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    let call_id = message::new_call_id();
    let first = old_style.register_request(&call_id, 300, None);
    let mut ch = old_style.pick_challenge(&old_style.send(first).await);
    ch.qop_auth = false;
    let auth = old_style.answer(&ch, "REGISTER", &format!("sip:{}", server.addr().ip()));
    let req = old_style.register_request(&call_id, 300, Some(auth));
    let resp = old_style.send(req).await;
    assert_eq!(code(&resp), 401, "answer without qop: {resp}");
}

#[tokio::test]
async fn wrong_answers_spoofed_from_the_agents_address_do_not_lock_her_out() {
    let server = TestServer::start("").await;
    // The attacker gets nonces at its own address…
    let mut attacker = SipPeer::at(loopback(2), server.addr(), "alice", "guess").await;
    let with_its_nonce = challenged_register(&mut attacker).await;
    let wrong = authorization(&with_its_nonce);
    // …and sends wrong answers "from" alice's address (here: really from 127.0.0.1).
    let mut spoofer = SipPeer::new(server.addr(), "alice", "guess").await;
    for _ in 0..8 {
        let req = spoofer.register_request(&message::new_call_id(), 300, Some(wrong.clone()));
        let resp = spoofer.send(req).await;
        assert_eq!(
            code(&resp),
            401,
            "a nonce alice's address never got: {resp}"
        );
    }
    // Its own failures only slow its own address.
    for _ in 0..6 {
        let resp = attacker.register().await;
        assert_eq!(code(&resp), 403, "{resp}");
    }
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    let resp = alice.register().await;
    assert_eq!(code(&resp), 200, "alice is not locked out: {resp}");
}

#[tokio::test]
async fn guessing_from_rotating_addresses_is_slowed_but_the_agent_gets_in() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&alice.register().await), 200);

    let (mut checked, mut slowed) = (0, 0);
    for last in 10..70u8 {
        let mut guesser = SipPeer::at(loopback(last), server.addr(), "alice", "1234").await;
        let resp = guesser.register().await;
        match code(&resp) {
            403 => checked += 1,
            503 => {
                slowed += 1;
                let retry = message::header_value(&rsip::SipMessage::Response(resp), "Retry-After");
                assert!(retry.is_some_and(|r| r.trim().parse::<u64>().is_ok_and(|s| s >= 1)));
            }
            other => panic!("guess from 127.0.0.{last}: {other}"),
        }
    }
    // The default account burst is 10 checks, then 10 a minute.
    assert!(checked <= 12, "{checked} guesses checked out of 60");
    assert_eq!(checked + slowed, 60);
    // Meanwhile alice (from the address she logged in from) is not slowed.
    let mut again = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    assert_eq!(code(&again.register().await), 200);
}
