//! The Phone engine against a scripted SIP peer built from agentphone-sip's Endpoint, over real
//! UDP on 127.0.0.1 with ephemeral ports.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use agentphone::phone::{CallState, Phone, PhoneCommand, PhoneConfig, PhoneEvent, PhoneHandle};
use agentphone_sip::auth::{Credentials, NonceIssuer};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, ServerTransaction, TransportKind};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{Direction, Sdp};

use crate::phone_support::*;

#[tokio::test]
async fn register_answers_a_digest_challenge() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), Some("secret")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));

    handle.command(PhoneCommand::Register).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    assert_eq!(header(&st.request, "Expires").as_deref(), Some("300"));
    let mut resp = message::response(&st.request, 401, "Unauthorized", Some("srv"));
    resp.headers.push(rsip::Header::WwwAuthenticate(
        rsip::headers::WwwAuthenticate::from(challenge(&issuer).to_header_value()),
    ));
    st.respond(resp).await.unwrap();

    let st = server.expect(rsip::Method::Register).await;
    let auth = header(&st.request, "Authorization").expect("second REGISTER has credentials");
    let creds = Credentials::parse(&auth).expect("credentials parse");
    assert_eq!(creds.username, "alice");
    assert!(
        creds.verify("REGISTER", "secret"),
        "digest does not verify: {auth}"
    );
    let mut ok = message::response(&st.request, 200, "OK", Some("srv"));
    ok.headers
        .push(rsip::Header::Other("Expires".into(), "300".into()));
    st.respond(ok).await.unwrap();
    events
        .next(|e| matches!(e, PhoneEvent::Registered { user } if user == "alice"))
        .await;

    // Unregistering re-uses the challenge (no new 401 needed) and asks for Expires: 0.
    handle.command(PhoneCommand::Unregister).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    assert_eq!(header(&st.request, "Expires").as_deref(), Some("0"));
    let creds = Credentials::parse(&header(&st.request, "Authorization").unwrap()).unwrap();
    assert!(creds.verify("REGISTER", "secret"));
    server.reply(&st, 200, "OK", Some("srv")).await;
    events
        .next(|e| matches!(e, PhoneEvent::Unregistered { .. }))
        .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn wrong_password_reports_registration_failed() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), Some("wrong")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));
    handle.command(PhoneCommand::Register).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    let mut resp = message::response(&st.request, 401, "Unauthorized", Some("srv"));
    resp.headers.push(rsip::Header::WwwAuthenticate(
        rsip::headers::WwwAuthenticate::from(challenge(&issuer).to_header_value()),
    ));
    st.respond(resp).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    let creds = Credentials::parse(&header(&st.request, "Authorization").unwrap()).unwrap();
    assert!(!creds.verify("REGISTER", "secret"));
    server.reply(&st, 403, "Forbidden", Some("srv")).await;
    let ev = events
        .next(|e| matches!(e, PhoneEvent::RegistrationFailed { .. }))
        .await;
    assert_eq!(
        ev,
        PhoneEvent::RegistrationFailed {
            code: 403,
            reason: "Forbidden".into()
        }
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_means_offline_with_a_retry() {
    // A socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (handle, mut events, _) = phone(silent.local_addr().unwrap(), Some("pw")).await;
    handle.command(PhoneCommand::Register).await.unwrap();
    let failed = events
        .next(|e| matches!(e, PhoneEvent::RegistrationFailed { .. }))
        .await;
    assert!(
        matches!(
            failed,
            PhoneEvent::RegistrationFailed {
                code: 408 | 503,
                ..
            }
        ),
        "{failed:?}"
    );
    let offline = events
        .next(|e| matches!(e, PhoneEvent::Offline { .. }))
        .await;
    assert_eq!(offline, PhoneEvent::Offline { retry_in_s: 1 });
    // It keeps trying by itself, waiting longer each time.
    let again = events
        .next(|e| matches!(e, PhoneEvent::Offline { .. }))
        .await;
    assert_eq!(again, PhoneEvent::Offline { retry_in_s: 2 });
    handle.shutdown().await;
}

#[tokio::test]
async fn outgoing_call_is_answered_carries_rtp_and_ends_on_remote_bye() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(WAIT)).unwrap();

    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    events.state(CallState::Calling).await;
    let invite = server.expect(rsip::Method::Invite).await;
    assert!(body_text(&invite.request).contains("opus/48000/2"));
    let tag = message::new_tag();
    server.reply(&invite, 180, "Ringing", Some(&tag)).await;
    events.state(CallState::Ringing).await;

    let contact = format!("sip:bob@{}", server.addr());
    let answer = answer_for(&invite.request, &rtp, Direction::SendRecv);
    let ok = with_sdp(
        message::response(&invite.request, 200, "OK", Some(&tag)),
        &contact,
        &answer,
    );
    invite.respond(ok).await.unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Connected).await;

    // The phone's media thread sends RTP to the address of our answer, in the chosen codec.
    let mut buf = [0u8; 1500];
    let (n, _) = rtp.recv_from(&mut buf).expect("RTP from the phone");
    let (hdr, _) = agentphone_media::rtp::parse(&buf[..n]).expect("valid RTP");
    assert_eq!(hdr.pt, answer.formats[0].pt);

    // Bob hangs up.
    let contact_uri = rsip::Uri::try_from(contact.as_str()).unwrap();
    let mut dialog = Dialog::from_uas(&invite.request, &tag, &contact_uri, invite.peer).unwrap();
    let bye = dialog.request(rsip::Method::Bye, None);
    let resp = server
        .ep
        .request(bye, invite.peer)
        .final_response()
        .await
        .unwrap();
    assert_eq!(resp.status_code.code(), 200);
    let reason = events.state(CallState::Ended).await;
    assert_eq!(reason.as_deref(), Some("remote hangup"));
    handle.shutdown().await;
}

#[tokio::test]
async fn hold_and_resume_send_sendonly_then_sendrecv() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (_invite, tag, contact) = connected_call(&mut server, &handle, &mut events, &rtp).await;

    for (cmd, attr, state) in [
        (PhoneCommand::Hold, "a=sendonly", CallState::Held),
        (PhoneCommand::Resume, "a=sendrecv", CallState::Connected),
    ] {
        handle.command(cmd).await.unwrap();
        let reinvite = server.expect(rsip::Method::Invite).await;
        let msg = rsip::SipMessage::Request(reinvite.request.clone());
        assert_eq!(
            message::to_tag(&msg).as_deref(),
            Some(tag.as_str()),
            "in the dialog"
        );
        assert!(
            body_text(&reinvite.request).contains(attr),
            "{}",
            body_text(&reinvite.request)
        );
        let ok = with_sdp(
            message::response(&reinvite.request, 200, "OK", None),
            &contact,
            &answer_for(&reinvite.request, &rtp, Direction::SendRecv),
        );
        reinvite.respond(ok).await.unwrap();
        server.expect(rsip::Method::Ack).await;
        events.state(state).await;
    }

    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("hangup")
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn invite_answers_a_proxy_challenge_and_reports_the_final_failure() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), Some("pw")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));
    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    let first = server.expect(rsip::Method::Invite).await;
    let mut resp = message::response(
        &first.request,
        407,
        "Proxy Authentication Required",
        Some("x"),
    );
    resp.headers.push(rsip::Header::ProxyAuthenticate(
        rsip::headers::ProxyAuthenticate::from(challenge(&issuer).to_header_value()),
    ));
    first.respond(resp).await.unwrap();

    let second = server.expect(rsip::Method::Invite).await;
    let auth = header(&second.request, "Proxy-Authorization").expect("credentials on retry");
    assert!(Credentials::parse(&auth).unwrap().verify("INVITE", "pw"));
    let m1 = rsip::SipMessage::Request(first.request.clone());
    let m2 = rsip::SipMessage::Request(second.request.clone());
    assert_eq!(message::call_id(&m1), message::call_id(&m2), "same call");
    assert!(message::cseq(&m2).unwrap().0 > message::cseq(&m1).unwrap().0);
    server.reply(&second, 486, "Busy Here", Some("y")).await;
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("486 Busy Here")
    );
    handle.shutdown().await;
}

/// An INVITE from the peer to the phone, as a customer would send it through the server.
fn incoming_invite(peer: &SipPeer, phone: SocketAddr, rtp: &UdpSocket) -> rsip::Request {
    let local = rtp.local_addr().unwrap();
    let offer = Sdp::offer(local.ip(), local.port(), 7, Direction::SendRecv);
    RequestBuilder::new(rsip::Method::Invite, &format!("sip:alice@{phone}"))
        .unwrap()
        .from(Some("Customer"), "sip:cust@127.0.0.1", &message::new_tag())
        .to(None, "sip:alice@127.0.0.1", None)
        .call_id(&message::new_call_id())
        .cseq(1)
        .contact(&format!("sip:srv@{}", peer.addr()))
        .header(
            "Call-Info",
            "<sip:support@127.0.0.1>;purpose=x-agentphone-team",
        )
        .header("Subject", "VIP customer")
        .body("application/sdp", offer.to_string().into_bytes())
        .build()
        .unwrap()
}

#[tokio::test]
async fn incoming_call_rings_is_answered_and_hung_up() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(WAIT)).unwrap();
    let to_phone = Peer {
        addr: phone_addr,
        transport: TransportKind::Udp,
    };
    let mut tx = server
        .ep
        .request(incoming_invite(&server, phone_addr, &rtp), to_phone);

    let ev = events
        .next(|e| matches!(e, PhoneEvent::IncomingCall { .. }))
        .await;
    let PhoneEvent::IncomingCall {
        from,
        display,
        team,
        reason,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(from, "sip:cust@127.0.0.1");
    assert_eq!(display.as_deref(), Some("Customer"));
    assert_eq!(team.as_deref(), Some("support"));
    assert_eq!(reason.as_deref(), Some("VIP customer"));
    let ringing = loop {
        let r = tx.next().await.unwrap().unwrap();
        if r.status_code.code() != 100 {
            break r;
        }
    };
    assert_eq!(ringing.status_code.code(), 180);

    handle.command(PhoneCommand::Answer).await.unwrap();
    let ok = tx.next().await.unwrap().unwrap();
    assert_eq!(ok.status_code.code(), 200);
    let answer = Sdp::parse(&String::from_utf8_lossy(&ok.body)).expect("200 carries SDP");
    assert_eq!(answer.direction, Direction::SendRecv);
    let dialog = Dialog::from_uac(tx.request(), &ok, to_phone).unwrap();
    server.ep.ack(dialog.ack(1, None), to_phone).await.unwrap();
    events.state(CallState::Connected).await;
    let mut buf = [0u8; 1500];
    rtp.recv_from(&mut buf).expect("RTP from the phone");

    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    events.state(CallState::Ended).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn incoming_call_cancelled_by_the_caller() {
    let server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to_phone = Peer {
        addr: phone_addr,
        transport: TransportKind::Udp,
    };
    let mut tx = server
        .ep
        .request(incoming_invite(&server, phone_addr, &rtp), to_phone);
    events.state(CallState::Ringing).await;
    let cancel = server.ep.cancel(&tx).final_response().await.unwrap();
    assert_eq!(cancel.status_code.code(), 200);
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("cancelled")
    );
    let last = loop {
        let r = tx.next().await.unwrap().unwrap();
        if r.status_code.code() >= 200 {
            break r;
        }
    };
    assert_eq!(last.status_code.code(), 487);
    handle.shutdown().await;
}

#[tokio::test]
async fn incoming_call_declined_gets_603() {
    let server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to_phone = Peer {
        addr: phone_addr,
        transport: TransportKind::Udp,
    };
    let tx = server
        .ep
        .request(incoming_invite(&server, phone_addr, &rtp), to_phone);
    events.state(CallState::Ringing).await;
    handle.command(PhoneCommand::Decline).await.unwrap();
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("declined")
    );
    assert_eq!(tx.final_response().await.unwrap().status_code.code(), 603);
    // Nothing rings any more.
    assert!(handle.command(PhoneCommand::Answer).await.is_err());
    handle.shutdown().await;
}

/// Dial bob at the peer and answer with 200 + SDP; returns the INVITE, bob's tag and Contact.
async fn connected_call(
    server: &mut SipPeer,
    handle: &PhoneHandle,
    events: &mut Events,
    rtp: &UdpSocket,
) -> (ServerTransaction, String, String) {
    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    let tag = message::new_tag();
    let contact = format!("sip:bob@{}", server.addr());
    let ok = with_sdp(
        message::response(&invite.request, 200, "OK", Some(&tag)),
        &contact,
        &answer_for(&invite.request, rtp, Direction::SendRecv),
    );
    invite.respond(ok).await.unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Connected).await;
    (invite, tag, contact)
}

#[tokio::test]
async fn early_media_on_183_then_answer_without_sdp() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(WAIT)).unwrap();
    handle
        .command(PhoneCommand::Dial("sip:support@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    let tag = message::new_tag();
    let contact = format!("sip:srv@{}", server.addr());
    let progress = with_sdp(
        message::response(&invite.request, 183, "Session Progress", Some(&tag)),
        &contact,
        &answer_for(&invite.request, &rtp, Direction::SendRecv),
    );
    invite.respond(progress).await.unwrap();
    events.state(CallState::Early).await;
    // Media flows during early media (silence from us, so the server can latch).
    let mut buf = [0u8; 1500];
    rtp.recv_from(&mut buf).expect("RTP during early media");

    let mut ok = message::response(&invite.request, 200, "OK", Some(&tag));
    ok.headers
        .push(rsip::Header::Contact(rsip::headers::Contact::from(
            format!("<{contact}>"),
        )));
    invite.respond(ok).await.unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Connected).await;
    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn hangup_while_ringing_out_cancels_the_invite() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    let tag = message::new_tag();
    server.reply(&invite, 180, "Ringing", Some(&tag)).await;
    events.state(CallState::Ringing).await;
    handle.command(PhoneCommand::Hangup).await.unwrap();
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("hangup")
    );
    tokio::time::timeout(WAIT, invite.cancelled())
        .await
        .expect("the phone CANCELs the INVITE");
    server
        .reply(&invite, 487, "Request Terminated", Some(&tag))
        .await;
    // The phone is free for the next call.
    assert!(handle.command(PhoneCommand::Hangup).await.is_err());
    handle.shutdown().await;
}

#[tokio::test]
async fn remote_hold_reinvite_is_answered_recvonly() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (invite, tag, contact) = connected_call(&mut server, &handle, &mut events, &rtp).await;
    let contact_uri = rsip::Uri::try_from(contact.as_str()).unwrap();
    let mut dialog = Dialog::from_uas(&invite.request, &tag, &contact_uri, invite.peer).unwrap();
    let local = rtp.local_addr().unwrap();

    for (dir, want_answer, want_state) in [
        (
            Direction::SendOnly,
            Direction::RecvOnly,
            CallState::RemoteHeld,
        ),
        (
            Direction::SendRecv,
            Direction::SendRecv,
            CallState::Connected,
        ),
    ] {
        let offer = Sdp::offer(local.ip(), local.port(), 9, dir);
        let reinvite = dialog.request(
            rsip::Method::Invite,
            Some(("application/sdp", offer.to_string().into_bytes())),
        );
        let cseq = dialog.local_cseq;
        let resp = server
            .ep
            .request(reinvite, invite.peer)
            .final_response()
            .await
            .unwrap();
        assert_eq!(resp.status_code.code(), 200);
        let answer = Sdp::parse(&String::from_utf8_lossy(&resp.body)).unwrap();
        assert_eq!(answer.direction, want_answer);
        server
            .ep
            .ack(dialog.ack(cseq, None), invite.peer)
            .await
            .unwrap();
        events.state(want_state).await;
    }
    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn register_over_tcp() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let cfg = PhoneConfig {
        server: Some(server.addr()),
        user: "alice".into(),
        transport: agentphone::phone::Transport::Tcp,
        sip_timers: fast_timers(),
        ..PhoneConfig::default()
    };
    let (handle, rx) = Phone::start(cfg).await.unwrap();
    let mut events = Events { rx, seen: vec![] };
    handle.command(PhoneCommand::Register).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    assert_eq!(st.peer.transport, TransportKind::Tcp);
    let contact = header(&st.request, "Contact").unwrap();
    assert!(contact.contains("transport=tcp"), "{contact}");
    server.reply(&st, 200, "OK", Some("srv")).await;
    events
        .next(|e| matches!(e, PhoneEvent::Registered { .. }))
        .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn commands_that_need_a_call_are_refused_without_one() {
    let server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, _events, _) = phone(server.addr(), None).await;
    use agentphone::phone::PhoneError;
    assert_eq!(
        handle.command(PhoneCommand::Hangup).await,
        Err(PhoneError::NoCall)
    );
    assert_eq!(
        handle.command(PhoneCommand::Answer).await,
        Err(PhoneError::NotRinging)
    );
    assert_eq!(
        handle.command(PhoneCommand::Hold).await,
        Err(PhoneError::NoCall)
    );
    assert_eq!(
        handle.command(PhoneCommand::Dtmf("1".into())).await,
        Err(PhoneError::NotConnected)
    );
    assert!(matches!(
        handle.command(PhoneCommand::Dtmf("1x".into())).await,
        Err(PhoneError::Invalid(_))
    ));
    assert!(matches!(
        handle.command(PhoneCommand::Dial("not a uri".into())).await,
        Err(PhoneError::Invalid(_))
    ));
    handle.shutdown().await;
}

/// Answer a REGISTER with a fresh challenge, then the authenticated retry with 200 (Expires 2).
async fn challenge_then_accept(
    server: &mut SipPeer,
    first: ServerTransaction,
    issuer: &NonceIssuer,
) {
    let mut resp = message::response(&first.request, 401, "Unauthorized", Some("srv"));
    resp.headers.push(rsip::Header::WwwAuthenticate(
        rsip::headers::WwwAuthenticate::from(challenge(issuer).to_header_value()),
    ));
    first.respond(resp).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    let creds = Credentials::parse(&header(&st.request, "Authorization").unwrap()).unwrap();
    assert!(creds.verify("REGISTER", "pw"));
    let mut ok = message::response(&st.request, 200, "OK", Some("srv"));
    ok.headers
        .push(rsip::Header::Other("Expires".into(), "2".into()));
    st.respond(ok).await.unwrap();
}

#[tokio::test]
async fn server_gone_then_back_means_offline_then_registered_and_voice_republished() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), Some("pw")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));
    handle.command(PhoneCommand::Register).await.unwrap();
    let first = server.expect(rsip::Method::Register).await;
    challenge_then_accept(&mut server, first, &issuer).await;
    events
        .next(|e| matches!(e, PhoneEvent::Registered { .. }))
        .await;
    handle.command(PhoneCommand::SetVoice(true)).await.unwrap();
    let publish = server.expect(rsip::Method::Publish).await;
    assert!(body_text(&publish.request).contains("<basic>open</basic>"));
    server.reply(&publish, 200, "OK", None).await;
    events
        .next(|e| matches!(e, PhoneEvent::Voice { active: true }))
        .await;

    // The refresh (due after 1.5 s of the 2 s granted) goes unanswered: the server is "down".
    let refresh = server.expect(rsip::Method::Register).await;
    drop(refresh);
    events
        .next(|e| matches!(e, PhoneEvent::Offline { retry_in_s: 1 }))
        .await;

    // The server is back with a new secret: it challenges, the phone answers, and tells it
    // its voice channel again.
    let retry = server.expect(rsip::Method::Register).await;
    challenge_then_accept(
        &mut server,
        retry,
        &NonceIssuer::new(Duration::from_secs(60)),
    )
    .await;
    events
        .next(|e| matches!(e, PhoneEvent::Registered { .. }))
        .await;
    let publish = server.expect(rsip::Method::Publish).await;
    assert!(body_text(&publish.request).contains("<basic>open</basic>"));
    server.reply(&publish, 200, "OK", None).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn a_2xx_that_crosses_the_cancel_gets_ack_and_bye() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let (handle, mut events, _) = phone(server.addr(), None).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    let tag = message::new_tag();
    server.reply(&invite, 180, "Ringing", Some(&tag)).await;
    events.state(CallState::Ringing).await;
    handle.command(PhoneCommand::Hangup).await.unwrap();
    events.state(CallState::Ended).await;
    tokio::time::timeout(WAIT, invite.cancelled())
        .await
        .unwrap();
    // Bob answered at the same moment: his 200 crosses the CANCEL.
    let contact = format!("sip:bob@{}", server.addr());
    let ok = with_sdp(
        message::response(&invite.request, 200, "OK", Some(&tag)),
        &contact,
        &answer_for(&invite.request, &rtp, Direction::SendRecv),
    );
    invite.respond(ok).await.unwrap();
    server.expect(rsip::Method::Ack).await;
    let bye = server.expect(rsip::Method::Bye).await;
    let msg = rsip::SipMessage::Request(bye.request.clone());
    assert_eq!(message::to_tag(&msg).as_deref(), Some(tag.as_str()));
    server.reply(&bye, 200, "OK", None).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn bound_to_the_wildcard_it_announces_the_routed_ip() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let cfg = PhoneConfig {
        server: Some(server.addr()),
        user: "alice".into(),
        bind: "0.0.0.0".parse().unwrap(),
        sip_timers: fast_timers(),
        ..PhoneConfig::default()
    };
    let (handle, _rx) = Phone::start(cfg).await.unwrap();
    handle.command(PhoneCommand::Register).await.unwrap();
    let st = server.expect(rsip::Method::Register).await;
    let contact = header(&st.request, "Contact").unwrap();
    assert!(contact.contains("@127.0.0.1:"), "{contact}");
    handle.shutdown().await;
}

#[tokio::test]
async fn a_connected_call_without_incoming_rtp_ends_with_media_timeout() {
    let mut server = SipPeer::scripted().await.refusing_subscribes();
    let cfg = PhoneConfig {
        server: Some(server.addr()),
        user: "alice".into(),
        media_timeout: Duration::from_millis(600),
        sip_timers: fast_timers(),
        ..PhoneConfig::default()
    };
    let (handle, rx) = Phone::start(cfg).await.unwrap();
    let mut events = Events { rx, seen: vec![] };
    // The far end answers but never sends RTP (its socket only receives).
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    connected_call(&mut server, &handle, &mut events, &rtp).await;
    assert_eq!(
        events.state(CallState::Ended).await.as_deref(),
        Some("media timeout")
    );
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    handle.shutdown().await;
}
