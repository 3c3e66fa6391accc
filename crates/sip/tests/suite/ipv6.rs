//! IPv6 references (`[::1]`) wherever RFC 3261 allows a host: Request-URI, Via sent-by, From,
//! To, Contact. A stock linphonec sends `From: <sip:pat@[::1]>`; it used to get
//! `400 Malformed From header`.

use agentphone_sip::message::{self, parse, to_bytes};
use agentphone_sip::rsip;

fn invite(request_uri: &str, via: &str, from: &str, to: &str, contact: &str) -> Vec<u8> {
    format!(
        "INVITE {request_uri} SIP/2.0\r\n\
         Via: {via}\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Call-ID: v6-1@host\r\n\
         CSeq: 20 INVITE\r\n\
         Contact: {contact}\r\n\
         User-Agent: Linphone [1-2-3] (belle-sip)\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn linphone_from_with_ipv6_loopback_parses() {
    let raw = invite(
        "sip:support@127.0.0.1:5060",
        "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK.abc;rport",
        "<sip:pat@[::1]>;tag=Xy1",
        "<sip:support@127.0.0.1>",
        "<sip:pat@127.0.0.1:5062;transport=udp>",
    );
    let msg = parse(&raw).expect("IPv6 From parses");
    assert_eq!(message::from_tag(&msg).as_deref(), Some("Xy1"));
    let from = message::from_uri(&msg).expect("From URI");
    assert_eq!(from.user(), Some("pat"));
    assert_eq!(message::uri_text(&from), "sip:pat@[::1]");
}

#[test]
fn ipv6_everywhere_parses_and_goes_back_on_the_wire_unchanged() {
    let cases = [
        ("::1", "[::1]"),
        ("2001:db8::7", "[2001:db8::7]"),
        ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]"),
    ];
    for (_, host) in cases {
        let raw = invite(
            &format!("sip:bob@{host}:5060"),
            &format!("SIP/2.0/UDP {host}:5060;branch=z9hG4bK.v6;rport"),
            &format!("\"Pat [home]\" <sip:pat@{host}:5062>;tag=t1"),
            &format!("sip:bob@{host}"),
            &format!("<sip:pat@{host}:5062;transport=udp>;expires=60"),
        );
        let msg = parse(&raw).unwrap_or_else(|e| panic!("{host}: {e}"));
        let rsip::SipMessage::Request(req) = &msg else {
            panic!("{host}: a request");
        };
        assert_eq!(req.method, rsip::Method::Invite);
        assert_eq!(req.uri.user(), Some("bob"));
        assert_eq!(req.uri.port().map(|p| *p.value()), Some(5060));
        assert_eq!(message::uri_text(&req.uri), format!("sip:bob@{host}:5060"));
        let from = message::from_uri(&msg).expect("From");
        assert_eq!(message::uri_text(&from), format!("sip:pat@{host}:5062"));
        assert_eq!(
            message::from_display_name(&msg).as_deref(),
            Some("Pat [home]")
        );
        let to = message::to_uri(&msg).expect("To");
        assert_eq!(message::uri_text(&to), format!("sip:bob@{host}"));
        let contact = message::contact_uri(&msg).expect("Contact");
        // (rsip writes the transport in capitals)
        assert!(message::uri_text(&contact)
            .eq_ignore_ascii_case(&format!("sip:pat@{host}:5062;transport=udp")));

        // On the wire again: the real addresses, byte for byte in every header.
        let wire = text(&to_bytes(&msg));
        assert!(
            wire.starts_with(&format!("INVITE sip:bob@{host}:5060 SIP/2.0\r\n")),
            "{wire}"
        );
        for line in [
            format!("Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bK.v6;rport"),
            format!("From: \"Pat [home]\" <sip:pat@{host}:5062>;tag=t1"),
            format!("To: sip:bob@{host}"),
            format!("Contact: <sip:pat@{host}:5062;transport=udp>;expires=60"),
            "User-Agent: Linphone [1-2-3] (belle-sip)".to_string(),
        ] {
            assert!(
                wire.contains(&format!("{line}\r\n")),
                "{host}: no `{line}` in\n{wire}"
            );
        }
        assert!(parse(wire.as_bytes()).is_ok(), "{host}: re-parse");

        // A response to it carries them back too.
        let reply = message::response(req, 180, "", Some("srv"));
        let reply = text(&message::response_bytes(&reply));
        assert!(
            reply.contains(&format!(
                "From: \"Pat [home]\" <sip:pat@{host}:5062>;tag=t1\r\n"
            )),
            "{reply}"
        );
        assert!(
            reply.contains(&format!("Via: SIP/2.0/UDP {host}:5060;")),
            "{reply}"
        );
    }
}

#[test]
fn builder_takes_ipv6_uris() {
    let req = message::RequestBuilder::new(rsip::Method::Invite, "sip:bob@[::1]:5070")
        .expect("IPv6 Request-URI")
        .from(Some("Alice"), "sip:alice@[::1]", "a1")
        .to(None, "sip:bob@[::1]:5070", None)
        .contact("sip:alice@[::1]:5062")
        .build()
        .expect("builds");
    let wire = text(&message::request_bytes(&req));
    assert!(
        wire.starts_with("INVITE sip:bob@[::1]:5070 SIP/2.0\r\n"),
        "{wire}"
    );
    assert!(
        wire.contains("From: \"Alice\" <sip:alice@[::1]>;tag=a1\r\n"),
        "{wire}"
    );
    assert!(
        wire.contains("Contact: <sip:alice@[::1]:5062>\r\n"),
        "{wire}"
    );
}

#[test]
fn a_broken_bracket_is_still_malformed() {
    let raw = invite(
        "sip:bob@127.0.0.1",
        "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK.x",
        "<sip:pat@[::1>;tag=1",
        "<sip:bob@127.0.0.1>",
        "<sip:pat@127.0.0.1:5062>",
    );
    assert!(parse(&raw).is_err());
}
