//! A request written from a [`RequestTemplate`] is byte for byte the request the dialog builds
//! (`Dialog::request`, extra headers pushed, the endpoint's Via on top, `request_bytes`), and
//! parses back to the same request.

use crate::core::via::{own_via_value, push_own_via};
use crate::dialog::Dialog;
use crate::endpoint::{Peer, TransportKind};
use crate::message::{parse, request_bytes};
use std::net::SocketAddr;

const SUBSCRIBE: &str = "SUBSCRIBE sip:directory@10.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
From: \"Ann Agent\" <sip:ann@10.0.0.1>;tag=remote-1\r\n\
To: <sip:directory@10.0.0.1>\r\n\
Call-ID: sub-1@10.0.0.2\r\n\
CSeq: 7 SUBSCRIBE\r\n\
Contact: <sip:ann@10.0.0.2:5070;transport=udp>\r\n\
Record-Route: <sip:10.0.0.9;lr>\r\n\
Record-Route: <sip:10.0.0.8;lr>\r\n\
Event: agentphone-directory\r\n\
Expires: 600\r\n\
Content-Length: 0\r\n\r\n";

fn dialog(subscribe: &str, transport: TransportKind) -> Dialog {
    let Ok(rsip::SipMessage::Request(req)) = parse(subscribe.as_bytes()) else {
        panic!("test SUBSCRIBE does not parse");
    };
    let peer = Peer {
        addr: "10.0.0.2:5070".parse().expect("addr"),
        transport,
    };
    let contact = rsip::Uri::try_from("sip:10.0.0.1:5060").expect("uri");
    Dialog::from_uas(&req, "local-1", &contact, peer).expect("dialog")
}

/// What the old path sends: the dialog's request, extra headers, our Via on top.
fn built(
    dialog: &mut Dialog,
    local: SocketAddr,
    branch: &str,
    fixed: &[(&str, &str)],
    own: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut req = dialog.request(
        rsip::Method::Notify,
        Some(("application/x-test", body.to_vec())),
    );
    for (name, value) in fixed.iter().chain(own) {
        req.headers
            .push(rsip::Header::Other((*name).into(), (*value).into()));
    }
    push_own_via(&mut req, local, dialog.peer.transport, branch);
    request_bytes(&req)
}

#[test]
fn template_bytes_equal_the_built_request() {
    let fixed = [("Event", "agentphone-directory")];
    let cases: [(&str, TransportKind, &[u8], &str); 4] = [
        (
            SUBSCRIBE,
            TransportKind::Udp,
            b"{\"v\":1}",
            "active;expires=600",
        ),
        (
            SUBSCRIBE,
            TransportKind::Tcp,
            b"",
            "terminated;reason=timeout",
        ),
        (
            &SUBSCRIBE.replace("Record-Route: <sip:10.0.0.9;lr>\r\n", ""),
            TransportKind::Udp,
            &[b'x'; 1200],
            "active;expires=1",
        ),
        (
            &SUBSCRIBE.replace("\"Ann Agent\" ", ""),
            TransportKind::Udp,
            b"{}",
            "active;expires=3600",
        ),
    ];
    let local: SocketAddr = "10.0.0.1:5060".parse().expect("addr");
    for (i, (subscribe, transport, body, state)) in cases.iter().enumerate() {
        let mut old = dialog(subscribe, *transport);
        let mut new = old.clone();
        let template = new.template(rsip::Method::Notify, Some("application/x-test"), &fixed);
        // Three requests in a row: the CSeq goes up in both.
        for n in 0..3 {
            let branch = format!("z9hG4bK-case{i}-{n}");
            let own = [("Subscription-State", *state)];
            let want = built(&mut old, local, &branch, &fixed, &own, body);
            let via = own_via_value(local, *transport, &branch);
            let got = template.write(&via, new.next_cseq(), &own, body);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "case {i}, request {n}"
            );
            let (Ok(got), Ok(want)) = (parse(&got), parse(&want)) else {
                panic!("case {i}: does not parse");
            };
            assert_eq!(got, want, "case {i}, request {n}: parsed");
        }
        assert_eq!(old.local_cseq, new.local_cseq, "case {i}");
    }
}

#[test]
fn template_without_body_or_extra_headers() {
    let mut old = dialog(SUBSCRIBE, TransportKind::Udp);
    let mut new = old.clone();
    let template = new.template(rsip::Method::Info, None, &[]);
    assert_eq!(template.method(), &rsip::Method::Info);
    let local: SocketAddr = "10.0.0.1:5060".parse().expect("addr");
    let mut req = old.request(rsip::Method::Info, None);
    push_own_via(&mut req, local, TransportKind::Udp, "z9hG4bK-x");
    let via = own_via_value(local, TransportKind::Udp, "z9hG4bK-x");
    let got = template.write(&via, new.next_cseq(), &[], b"");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&request_bytes(&req))
    );
}
