//! The Phone engine's side of a server room against a scripted server: the room state
//! subscription and timeline events, room commands over INFO, transfer by REFER with its sipfrag
//! progress, and the INFO/re-INVITE choice for hold.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::phone_support::*;
use agentphone::phone::{
    CallState, PhoneCommand, PhoneEvent, PhoneHandle, TransferState, TransferTarget,
};
use agentphone_sip::auth::{Credentials, NonceIssuer};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, TransportKind};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{Direction, Sdp};
use serde_json::json;

fn room_json(version: u64, kinds: &[(u64, &str)], customer_held: bool) -> String {
    let timeline: Vec<_> = kinds
        .iter()
        .map(|(at, k)| json!({"at_ms": at, "kind": k, "text": format!("{k} text")}))
        .collect();
    json!({"room": "5", "version": version, "max_participants": 3,
        "customer_held": customer_held,
        "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
        "participants": [
            {"id": "L1", "role": "customer", "name": "Sam Carter", "state": "connected", "muted": false},
            {"id": "L2", "role": "agent", "username": "alice", "name": "Alice", "state": "connected", "muted": false}],
        "transfer": null, "timeline": timeline})
    .to_string()
}

/// A call from the scripted server, answered: the server's side of the call dialog, the phone's
/// address and the RTP socket (kept open for the call).
struct RoomCall {
    dialog: Dialog,
    to_phone: Peer,
    _rtp: UdpSocket,
}

/// The server offers a call whose Contact is `contact` (raw header value), with `extra` headers;
/// the phone answers. Returns the call and the 200's Recv-Info.
async fn answered_call(
    server: &mut SipPeer,
    handle: &PhoneHandle,
    events: &mut Events,
    phone_addr: SocketAddr,
    contact: &str,
    extra: &[(&str, &str)],
) -> (RoomCall, Option<String>) {
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = rtp.local_addr().unwrap();
    let offer = Sdp::offer(local.ip(), local.port(), 7, Direction::SendRecv);
    let mut b = RequestBuilder::new(rsip::Method::Invite, &format!("sip:alice@{phone_addr}"))
        .unwrap()
        .from(
            Some("Sam Carter"),
            "sip:customer@127.0.0.1",
            &message::new_tag(),
        )
        .to(None, "sip:alice@127.0.0.1", None)
        .call_id(&message::new_call_id())
        .cseq(1);
    let mut invite_headers = vec![("Contact", contact)];
    invite_headers.extend_from_slice(extra);
    for (n, v) in invite_headers {
        b = b.header(n, v);
    }
    let invite = b
        .body("application/sdp", offer.to_string().into_bytes())
        .build()
        .unwrap();
    let to_phone = Peer {
        addr: phone_addr,
        transport: TransportKind::Udp,
    };
    let mut tx = server.ep.request(invite, to_phone);
    events.state(CallState::Ringing).await;
    handle.command(PhoneCommand::Answer).await.unwrap();
    let ok = loop {
        let r = tx.next().await.unwrap().unwrap();
        if r.status_code.code() >= 200 {
            break r;
        }
    };
    assert_eq!(ok.status_code.code(), 200);
    let recv_info = message::header_value(&rsip::SipMessage::Response(ok.clone()), "Recv-Info");
    let dialog = Dialog::from_uac(tx.request(), &ok, to_phone).unwrap();
    server.ep.ack(dialog.ack(1, None), to_phone).await.unwrap();
    events.state(CallState::Connected).await;
    (
        RoomCall {
            dialog,
            to_phone,
            _rtp: rtp,
        },
        recv_info,
    )
}

const ROOM_CONTACT: &str = "<sip:room-5@127.0.0.1:5999>;isfocus";

#[tokio::test]
async fn room_call_is_subscribed_and_reports_state_and_each_new_timeline_entry() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    let (mut call, recv_info) = answered_call(
        &mut server,
        &handle,
        &mut events,
        phone_addr,
        ROOM_CONTACT,
        &[
            ("Recv-Info", "agentphone-room"),
            ("Referred-By", "<sip:bob@127.0.0.1>"),
            ("Subject", "billing question"),
            (
                "Call-Info",
                "<sip:127.0.0.1>;purpose=x-agentphone-listen-only",
            ),
        ],
    )
    .await;
    assert_eq!(recv_info.as_deref(), Some("agentphone-room"));
    let incoming = events
        .seen
        .iter()
        .find(|e| matches!(e, PhoneEvent::IncomingCall { .. }))
        .cloned()
        .expect("incoming_call");
    let PhoneEvent::IncomingCall {
        transferred_by,
        listen_only,
        reason,
        display,
        team,
        ..
    } = incoming
    else {
        unreachable!()
    };
    assert_eq!(transferred_by.as_deref(), Some("bob"));
    assert!(listen_only);
    assert_eq!(reason.as_deref(), Some("billing question"));
    assert_eq!(display.as_deref(), Some("Sam Carter"));
    assert_eq!(team, None);

    // Connected: the phone subscribes to the room named by the Contact.
    let sub = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(sub.request.uri.to_string(), "sip:room-5@127.0.0.1:5999");
    assert_eq!(
        header(&sub.request, "Event").as_deref(),
        Some("agentphone-room")
    );
    assert_eq!(
        header(&sub.request, "Accept").as_deref(),
        Some("application/vnd.agentphone.room+json")
    );
    assert_eq!(header(&sub.request, "Expires").as_deref(), Some("3600"));
    let mut notifier = accept_subscribe(&server, &sub, 3600).await;
    let to_phone = sub.peer;
    let ctype = "application/vnd.agentphone.room+json";

    let first = room_json(1, &[(10, "answered")], false);
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "active;expires=3600",
        ctype,
        &first,
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let room = events.room().await;
    assert_eq!(room.version, 1);
    assert_eq!(room.participants.len(), 2);
    assert_eq!(events.timeline_kind().await, "answered");

    // Two new entries → two timeline events, in order.
    let third = room_json(
        3,
        &[(10, "answered"), (20, "held"), (30, "transfer_requested")],
        true,
    );
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "active;expires=3600",
        ctype,
        &third,
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    assert!(events.room().await.customer_held);
    assert_eq!(events.timeline_kind().await, "held");
    assert_eq!(events.timeline_kind().await, "transfer_requested");

    // An older state overtaken on the way is answered but not reported.
    let second = room_json(2, &[(10, "answered"), (20, "held")], true);
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "active;expires=3600",
        ctype,
        &second,
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let fourth = room_json(
        4,
        &[
            (10, "answered"),
            (20, "held"),
            (30, "transfer_requested"),
            (40, "resumed"),
        ],
        false,
    );
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "active;expires=3600",
        ctype,
        &fourth,
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    assert_eq!(events.room().await.version, 4, "version 2 was not reported");
    assert_eq!(events.timeline_kind().await, "resumed");

    // A body that is not the room JSON is refused.
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "active",
        ctype,
        "{not json",
    );
    assert_eq!(server.send_to(req, to_phone).await, 400);

    // Nobody makes the phone transfer; INFO in the call is accepted, outside it there is none.
    let refer = call.dialog.request(rsip::Method::Refer, None);
    assert_eq!(server.send_to(refer, call.to_phone).await, 403);
    let info = call.dialog.request(rsip::Method::Info, None);
    assert_eq!(server.send_to(info, call.to_phone).await, 200);
    let stray = |method| {
        RequestBuilder::new(method, &format!("sip:alice@{phone_addr}"))
            .unwrap()
            .from(None, "sip:x@127.0.0.1", "xt")
            .to(None, "sip:alice@127.0.0.1", None)
            .call_id(&message::new_call_id())
            .cseq(1)
            .header("Refer-To", "<sip:mallory@127.0.0.1>")
            .build()
            .unwrap()
    };
    assert_eq!(
        server
            .send_to(stray(rsip::Method::Refer), call.to_phone)
            .await,
        405
    );
    assert_eq!(
        server
            .send_to(stray(rsip::Method::Info), call.to_phone)
            .await,
        481
    );

    // Hanging up ends the room subscription too.
    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    let unsub = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(header(&unsub.request, "Expires").as_deref(), Some("0"));
    assert_eq!(
        message::call_id(&rsip::SipMessage::Request(unsub.request.clone())),
        message::call_id(&rsip::SipMessage::Request(sub.request.clone())),
        "in the subscription's dialog"
    );
    assert!(to_tag(&unsub.request).is_some());
    server.reply(&unsub, 200, "OK", None).await;
    // Its final NOTIFY is still answered politely.
    let last = notify(
        &mut notifier,
        "agentphone-room",
        "terminated;reason=timeout",
        ctype,
        "",
    );
    assert_eq!(server.send_to(last, to_phone).await, 200);
    handle.shutdown().await;
}

#[tokio::test]
async fn hold_resume_mute_and_cancel_are_info_room_commands_with_reasons_on_refusal() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    // The server's own INVITE: a room-… Contact and Recv-Info.
    let (_call, _) = answered_call(
        &mut server,
        &handle,
        &mut events,
        phone_addr,
        "<sip:room-5@127.0.0.1:5999>",
        &[("Recv-Info", "agentphone-room")],
    )
    .await;
    // The room did not have us as a party yet: the phone asks again shortly.
    let sub = server.expect(rsip::Method::Subscribe).await;
    server
        .refuse(&sub, 403, "Forbidden", "You are not in this call")
        .await;
    let sub = server.expect(rsip::Method::Subscribe).await;
    accept_subscribe(&server, &sub, 3600).await;

    handle.command(PhoneCommand::Hold).await.unwrap();
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(
        header(&info.request, "Info-Package").as_deref(),
        Some("agentphone-room")
    );
    assert_eq!(
        header(&info.request, "Content-Type").as_deref(),
        Some("application/vnd.agentphone.command+json")
    );
    assert_eq!(json_body(&info.request), json!({"command": "hold"}));
    assert!(to_tag(&info.request).is_some(), "in the call's dialog");
    server.reply(&info, 200, "OK", None).await;
    events.state(CallState::Held).await;

    handle.command(PhoneCommand::Resume).await.unwrap();
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(json_body(&info.request), json!({"command": "resume"}));
    server
        .refuse(&info, 409, "Conflict", "Bob Stone holds the customer")
        .await;
    let (command, code, reason) = events.command_failed().await;
    assert_eq!(
        (command.as_str(), code, reason.as_str()),
        ("resume", 409, "Bob Stone holds the customer")
    );

    handle.command(PhoneCommand::Mute(true)).await.unwrap();
    events
        .next(|e| matches!(e, PhoneEvent::Mute { muted: true }))
        .await;
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(
        json_body(&info.request),
        json!({"command": "mute", "on": true})
    );
    server.reply(&info, 200, "OK", None).await;

    handle.command(PhoneCommand::CancelTransfer).await.unwrap();
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(
        json_body(&info.request),
        json!({"command": "cancel_transfer"})
    );
    server
        .refuse(&info, 409, "Conflict", "No transfer is under way")
        .await;
    let (command, code, reason) = events.command_failed().await;
    assert_eq!(
        (command.as_str(), code, reason.as_str()),
        ("cancel_transfer", 409, "No transfer is under way")
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn transfer_sends_refer_and_reports_refusal_and_sipfrag_progress() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, phone_addr) = phone(server.addr(), None).await;
    let (mut call, _) = answered_call(
        &mut server,
        &handle,
        &mut events,
        phone_addr,
        ROOM_CONTACT,
        &[("Recv-Info", "agentphone-room")],
    )
    .await;
    let sub = server.expect(rsip::Method::Subscribe).await;
    accept_subscribe(&server, &sub, 3600).await;

    // Refused at once: the Warning text is the reason.
    handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Agent("bob".into()),
            reason: Some("billing question & more".into()),
            listen_only: false,
        })
        .await
        .unwrap();
    let refer = server.expect(rsip::Method::Refer).await;
    assert_eq!(
        header(&refer.request, "Refer-To").as_deref(),
        Some("<sip:bob@127.0.0.1?Subject=billing%20question%20%26%20more>")
    );
    assert_eq!(
        header(&refer.request, "Referred-By").as_deref(),
        Some("<sip:alice@127.0.0.1>")
    );
    assert_eq!(to_tag(&refer.request), Some(call.dialog.local_tag.clone()));
    server
        .refuse(
            &refer,
            488,
            "Not Acceptable Here",
            "The call already has 3 participants",
        )
        .await;
    assert_eq!(
        events.transfer().await,
        PhoneEvent::Transfer {
            state: TransferState::Refused,
            code: Some(488),
            reason: Some("The call already has 3 participants".into()),
            target: Some("bob".into()),
        }
    );

    // A team: accepted, then progress in sipfrag NOTIFYs (a late 100 is not reported).
    handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Team("sales".into()),
            reason: None,
            listen_only: false,
        })
        .await
        .unwrap();
    let refer = server.expect(rsip::Method::Refer).await;
    assert_eq!(
        header(&refer.request, "Refer-To").as_deref(),
        Some("<sip:sales@127.0.0.1;agentphone-target=team>")
    );
    server.reply(&refer, 202, "Accepted", None).await;
    let to_phone = call.to_phone;
    for (frag, state) in [
        ("SIP/2.0 100 Trying", "active;expires=60"),
        ("SIP/2.0 180 Ringing", "active;expires=60"),
        ("SIP/2.0 100 Trying", "active;expires=60"),
        ("SIP/2.0 200 OK", "terminated;reason=noresource"),
    ] {
        let req = notify(&mut call.dialog, "refer", state, "message/sipfrag", frag);
        assert_eq!(server.send_to(req, to_phone).await, 200);
    }
    let mut states = vec![];
    for _ in 0..3 {
        if let PhoneEvent::Transfer { state, target, .. } = events.transfer().await {
            assert_eq!(target.as_deref(), Some("sales"));
            states.push(state);
        }
    }
    assert_eq!(
        states,
        [
            TransferState::Trying,
            TransferState::Ringing,
            TransferState::Answered
        ]
    );

    handle
        .command(PhoneCommand::CompleteTransfer)
        .await
        .unwrap();
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(
        json_body(&info.request),
        json!({"command": "complete_transfer"})
    );
    server.reply(&info, 200, "OK", None).await;
    assert!(matches!(
        events.transfer().await,
        PhoneEvent::Transfer {
            state: TransferState::Completed,
            ..
        }
    ));

    // Listen only, declined by the target.
    handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Agent("carol".into()),
            reason: None,
            listen_only: true,
        })
        .await
        .unwrap();
    let refer = server.expect(rsip::Method::Refer).await;
    assert_eq!(
        header(&refer.request, "Refer-To").as_deref(),
        Some("<sip:carol@127.0.0.1;agentphone-mode=listen>")
    );
    server.reply(&refer, 202, "Accepted", None).await;
    let req = notify(
        &mut call.dialog,
        "refer",
        "terminated;reason=noresource",
        "message/sipfrag",
        "SIP/2.0 603 Declined",
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    assert_eq!(
        events.transfer().await,
        PhoneEvent::Transfer {
            state: TransferState::Failed,
            code: Some(603),
            reason: Some("Declined".into()),
            target: Some("carol".into()),
        }
    );
    // Cancelled while ringing: the server's 487 sipfrag comes before the INFO's 200; one
    // `cancelled` is reported, at the first of them.
    handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Agent("dave".into()),
            reason: None,
            listen_only: false,
        })
        .await
        .unwrap();
    let refer = server.expect(rsip::Method::Refer).await;
    server.reply(&refer, 202, "Accepted", None).await;
    let req = notify(
        &mut call.dialog,
        "refer",
        "active;expires=60",
        "message/sipfrag",
        "SIP/2.0 180 Ringing",
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    assert!(matches!(
        events.transfer().await,
        PhoneEvent::Transfer {
            state: TransferState::Ringing,
            ..
        }
    ));
    handle.command(PhoneCommand::CancelTransfer).await.unwrap();
    let info = server.expect(rsip::Method::Info).await;
    assert_eq!(
        json_body(&info.request),
        json!({"command": "cancel_transfer"})
    );
    let req = notify(
        &mut call.dialog,
        "refer",
        "terminated;reason=noresource",
        "message/sipfrag",
        "SIP/2.0 487 Request Terminated",
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    server.reply(&info, 200, "OK", None).await;
    assert_eq!(
        events.transfer().await,
        PhoneEvent::Transfer {
            state: TransferState::Cancelled,
            code: None,
            reason: None,
            target: Some("dave".into()),
        }
    );
    handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Agent("erin".into()),
            reason: None,
            listen_only: false,
        })
        .await
        .unwrap();
    let refer = server.expect(rsip::Method::Refer).await;
    server
        .refuse(&refer, 480, "Temporarily Unavailable", "Erin is offline")
        .await;
    let next = events.transfer().await;
    assert!(
        matches!(
            next,
            PhoneEvent::Transfer {
                state: TransferState::Refused,
                ..
            }
        ),
        "no second `cancelled` before it: {next:?}"
    );

    // A NOTIFY of another package in the call's dialog is not ours.
    let req = notify(&mut call.dialog, "presence", "active", "text/plain", "x");
    assert_eq!(server.send_to(req, to_phone).await, 489);

    // A name that cannot be a SIP user is refused before anything is sent.
    let bad = handle
        .command(PhoneCommand::Transfer {
            target: TransferTarget::Agent("bob@evil".into()),
            reason: None,
            listen_only: false,
        })
        .await;
    assert!(bad.is_err());
    server.expect_silence(Duration::from_millis(300)).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn direct_call_holds_by_reinvite_and_a_room_call_subscribes_with_credentials() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, _) = phone(server.addr(), Some("secret")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();

    // Another phone of ours answers: Recv-Info, but no room — hold is a re-INVITE, no SUBSCRIBE.
    handle
        .command(PhoneCommand::Dial("sip:bob@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    assert_eq!(
        header(&invite.request, "Recv-Info").as_deref(),
        Some("agentphone-room")
    );
    let tag = message::new_tag();
    let contact = format!("<sip:bob@{}>", server.addr());
    let answer = answer_for(&invite.request, &rtp, Direction::SendRecv);
    invite
        .respond(ok_with(
            &invite.request,
            &tag,
            &contact,
            &[("Recv-Info", "agentphone-room")],
            &answer,
        ))
        .await
        .unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Connected).await;
    handle.command(PhoneCommand::Hold).await.unwrap();
    let reinvite = server.expect(rsip::Method::Invite).await;
    assert!(String::from_utf8_lossy(&reinvite.request.body).contains("a=sendonly"));
    let answer = answer_for(&reinvite.request, &rtp, Direction::SendRecv);
    reinvite
        .respond(ok_with(&reinvite.request, &tag, &contact, &[], &answer))
        .await
        .unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Held).await;
    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    events.state(CallState::Ended).await;
    server.expect_silence(Duration::from_millis(200)).await;

    // A call the server answers from a room (`;isfocus`): the room SUBSCRIBE carries credentials.
    handle
        .command(PhoneCommand::Dial("sip:carol@127.0.0.1".into()))
        .await
        .unwrap();
    let invite = server.expect(rsip::Method::Invite).await;
    invite
        .respond(with_challenge(&invite.request, &issuer))
        .await
        .unwrap();
    // (The ACK of the 401 stays in the transaction layer.)
    let invite = server.expect(rsip::Method::Invite).await;
    assert!(header(&invite.request, "Authorization").is_some());
    let tag = message::new_tag();
    let answer = answer_for(&invite.request, &rtp, Direction::SendRecv);
    invite
        .respond(ok_with(
            &invite.request,
            &tag,
            "<sip:room-9@127.0.0.1:5999>;isfocus",
            &[("Recv-Info", "agentphone-room")],
            &answer,
        ))
        .await
        .unwrap();
    server.expect(rsip::Method::Ack).await;
    events.state(CallState::Connected).await;
    let sub = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(sub.request.uri.to_string(), "sip:room-9@127.0.0.1:5999");
    let creds = Credentials::parse(&header(&sub.request, "Authorization").expect("credentials"))
        .expect("credentials parse");
    assert!(creds.verify("SUBSCRIBE", "secret"), "digest for SUBSCRIBE");
    let mut notifier = accept_subscribe(&server, &sub, 3600).await;
    // The room ends the subscription: hanging up then sends only the BYE.
    let req = notify(
        &mut notifier,
        "agentphone-room",
        "terminated;reason=noresource",
        "application/vnd.agentphone.room+json",
        "",
    );
    assert_eq!(server.send_to(req, sub.peer).await, 200);
    handle.command(PhoneCommand::Hangup).await.unwrap();
    let bye = server.expect(rsip::Method::Bye).await;
    server.reply(&bye, 200, "OK", None).await;
    server.expect_silence(Duration::from_millis(300)).await;
    handle.shutdown().await;
}
