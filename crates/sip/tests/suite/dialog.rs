//! Dialogs: a whole call (INVITE, 200, ACK, BYE) between two endpoints over UDP, route sets, CSeq.

use crate::common::*;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message::{self, response, to_bytes};
use agentphone_sip::rsip;
use agentphone_sip::rsip::headers::UntypedHeader;

#[tokio::test]
async fn full_call_invite_ack_bye() {
    let (a, mut a_in) = endpoint().await;
    let (b, mut b_in) = endpoint().await;
    let invite = request(rsip::Method::Invite, b.local_addr());
    let tx = a.request(invite, udp(b.local_addr()));
    let sent_invite = tx.request().clone();

    let incoming = within("invite", b_in.recv()).await.expect("incoming");
    let b_contact =
        rsip::Uri::try_from(format!("sip:bob@{}", b.local_addr()).as_str()).expect("uri");
    let mut b_dialog =
        Dialog::from_uas(&incoming.request, "btag", &b_contact, incoming.peer).expect("uas dialog");
    let mut ok = response(&incoming.request, 200, "OK", Some("btag"));
    ok.headers
        .push(rsip::headers::Contact::new(format!("<{b_contact}>")).into());
    incoming.respond(ok).await.expect("200");

    let ok = within("200", tx.final_response()).await.expect("200");
    let mut a_dialog =
        Dialog::from_uac(&sent_invite, &ok, udp(b.local_addr())).expect("uac dialog");
    assert_eq!(a_dialog.remote_tag, "btag");
    assert_eq!(a_dialog.remote_target, b_contact);
    assert_eq!(a_dialog.local_display.as_deref(), Some("Alice"));
    assert_eq!(b_dialog.remote_display.as_deref(), Some("Alice"));
    assert_eq!(a_dialog.call_id, b_dialog.call_id);

    a.ack(a_dialog.ack(1, None), a_dialog.peer)
        .await
        .expect("ack");
    let ack = within("ack", b_in.recv()).await.expect("ack");
    assert_eq!(ack.request.method, rsip::Method::Ack);
    assert!(b_dialog.matches(&ack.request.clone().into()));

    let bye = a_dialog.request(rsip::Method::Bye, None);
    assert_eq!(
        message::cseq(&bye.clone().into()),
        Some((2, rsip::Method::Bye))
    );
    let bye_tx = a.request(bye, a_dialog.peer);
    let incoming_bye = within("bye", b_in.recv()).await.expect("bye");
    let bye_msg: rsip::SipMessage = incoming_bye.request.clone().into();
    assert!(b_dialog.matches(&bye_msg));
    assert!(b_dialog.accept_remote_cseq(2));
    assert!(
        !b_dialog.accept_remote_cseq(2),
        "same CSeq again is out of order"
    );
    incoming_bye
        .respond(response(&incoming_bye.request, 200, "OK", None))
        .await
        .expect("200");
    let bye_ok = within("bye 200", bye_tx.final_response())
        .await
        .expect("200");
    assert!(a_dialog.matches(&bye_ok.into()));

    // The other direction: B sends a re-INVITE with a body; A's side matches it.
    let reinvite = b_dialog.request(
        rsip::Method::Invite,
        Some(("application/sdp", b"v=0\r\n".to_vec())),
    );
    assert_eq!(
        message::cseq(&reinvite.clone().into()),
        Some((1, rsip::Method::Invite))
    );
    let re_tx = b.request(reinvite, b_dialog.peer);
    let re = within("re-invite", a_in.recv()).await.expect("incoming");
    assert!(a_dialog.matches(&re.request.clone().into()));
    assert_eq!(re.request.body, b"v=0\r\n");
    re.respond(response(&re.request, 488, "Not Acceptable Here", None))
        .await
        .expect("488");
    assert_eq!(
        within("488", re_tx.final_response())
            .await
            .expect("final")
            .status_code
            .code(),
        488
    );
}

#[test]
fn route_set_from_record_route() {
    let text = "INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nRecord-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\nFrom: \"A\" <sip:a@a.example>;tag=at\r\nTo: <sip:bob@b.example>\r\nCall-ID: rr1\r\nCSeq: 10 INVITE\r\nContact: <sip:a@10.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n";
    let msg = message::parse(text.as_bytes()).expect("parses");
    let rsip::SipMessage::Request(invite) = msg else {
        panic!("request")
    };
    let peer = udp("127.0.0.1:5060".parse().expect("addr"));
    let contact = rsip::Uri::try_from("sip:bob@10.0.0.2").expect("uri");
    let mut uas = Dialog::from_uas(&invite, "bt", &contact, peer).expect("dialog");
    assert_eq!(uas.remote_cseq, Some(10));
    let hosts: Vec<String> = uas.route_set.iter().map(|u| u.host().to_string()).collect();
    assert_eq!(hosts, ["p2.example", "p1.example"]);
    let bye = uas.request(rsip::Method::Bye, None);
    assert_eq!(bye.uri.to_string(), "sip:a@10.0.0.1:5070");
    let bye_bytes = String::from_utf8(to_bytes(&bye.into())).expect("utf8");
    assert!(
        bye_bytes.contains("Route: <sip:p2.example;lr>\r\nRoute: <sip:p1.example;lr>\r\n"),
        "{bye_bytes}"
    );
    assert!(
        bye_bytes.contains("From: <sip:bob@b.example>;tag=bt\r\n"),
        "{bye_bytes}"
    );
    assert!(
        bye_bytes.contains("To: \"A\" <sip:a@a.example>;tag=at\r\n"),
        "{bye_bytes}"
    );

    let mut resp = response(&invite, 200, "OK", Some("bt"));
    resp.headers
        .push(rsip::headers::Contact::new("<sip:bob@10.0.0.2>").into());
    let uac = Dialog::from_uac(&invite, &resp, peer).expect("uac dialog");
    let hosts: Vec<String> = uac.route_set.iter().map(|u| u.host().to_string()).collect();
    assert_eq!(
        hosts,
        ["p1.example", "p2.example"],
        "UAC reverses Record-Route"
    );
    let no_tag = response(&invite, 180, "Ringing", None);
    assert!(
        Dialog::from_uac(&invite, &no_tag, peer).is_none(),
        "no To tag, no dialog"
    );
    assert!(!uac.matches(&no_tag.into()));
}
