//! SPEC B1: malformed SIP and SDP over raw UDP never crash the server; requests get a 400 (or the
//! right error) when a reply is possible; afterwards the server still answers and registers.

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::{code, SipPeer};
use tokio::net::UdpSocket;

/// What a case must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A response with this status code.
    Code(u16),
    /// An error response (400 for what does not parse, 405/501 for an unknown method), or nothing
    /// when the message gives no way to address a reply.
    BadRequestOrNothing,
    /// No response at all.
    Nothing,
    /// Within limits, so it may be served normally or refused; what matters is that the server
    /// still answers afterwards (checked after every case).
    Survives,
}

struct Raw {
    sock: UdpSocket,
    server: SocketAddr,
    n: u32,
}

impl Raw {
    async fn new(server: SocketAddr) -> Raw {
        let sock = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Raw { sock, server, n: 0 }
    }

    /// A well-formed request with `mutate` applied to its text.
    fn request(&mut self, method: &str, uri_user: &str, extra: &str, body: &str) -> String {
        self.n += 1;
        let local = self
            .sock
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let host = self.server;
        format!(
            "{method} sip:{uri_user}@{host} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-raw-{n}\r\nFrom: <sip:tester@{local}>;tag=t{n}\r\nTo: <sip:{uri_user}@{host}>\r\nCall-ID: raw-{n}@test\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContact: <sip:tester@{local}>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            n = self.n,
            len = body.len()
        )
    }

    async fn send(&self, bytes: &[u8]) {
        self.sock
            .send_to(bytes, self.server)
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// The first final (non-1xx) response within `ms`, as (code, reason phrase line).
    async fn final_response(&self, ms: u64) -> Option<(u16, String)> {
        let mut buf = vec![0u8; 65536];
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            let n = match tokio::time::timeout_at(deadline, self.sock.recv(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return None,
            };
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).to_string();
            let first = text.lines().next().unwrap_or_default().to_string();
            let Some(rest) = first.strip_prefix("SIP/2.0 ") else {
                continue;
            };
            let code: u16 = rest.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            if code >= 200 {
                return Some((code, first));
            }
        }
    }

    async fn server_answers_options(&mut self) -> bool {
        let req = self.request("OPTIONS", "ping", "", "");
        self.send(req.as_bytes()).await;
        matches!(self.final_response(3000).await, Some((200, _)))
    }
}

const GOOD_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[tokio::test]
async fn malformed_messages_get_400_and_the_server_survives() {
    let server = TestServer::start("").await;
    let mut raw = Raw::new(server.addr()).await;
    let good = raw.request("OPTIONS", "ping", "", "");
    let without = |text: &str, header: &str| -> String {
        text.split("\r\n")
            .filter(|l| !l.starts_with(header))
            .collect::<Vec<_>>()
            .join("\r\n")
    };

    let mut cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty datagram", Vec::new(), Expect::Nothing),
        ("keep-alive CRLF", b"\r\n\r\n".to_vec(), Expect::Nothing),
        ("garbage bytes", (0..200u8).map(|i| i.wrapping_mul(37)).collect(), Expect::Nothing),
        ("truncated request line", b"INVITE sip:".to_vec(), Expect::Nothing),
        ("request line only", format!("OPTIONS sip:x@{} SIP/2.0\r\n\r\n", server.addr()).into_bytes(), Expect::Nothing),
        ("missing Via", without(&good, "Via:").into_bytes(), Expect::BadRequestOrNothing),
        ("missing From", without(&good, "From:").into_bytes(), Expect::Code(400)),
        ("missing To", without(&good, "To:").into_bytes(), Expect::Code(400)),
        ("missing Call-ID", without(&good, "Call-ID:").into_bytes(), Expect::Code(400)),
        ("missing CSeq", without(&good, "CSeq:").into_bytes(), Expect::Code(400)),
        ("CSeq not a number", good.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS").into_bytes(), Expect::Code(400)),
        ("CSeq method mismatch", good.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE").into_bytes(), Expect::Code(400)),
        ("Content-Length beyond the datagram", good.replace("Content-Length: 0", "Content-Length: 500").into_bytes(), Expect::Code(400)),
        ("Content-Length not a number", good.replace("Content-Length: 0", "Content-Length: lots").into_bytes(), Expect::Code(400)),
        ("header line without colon", good.replace("Max-Forwards: 70", "Max-Forwards 70 and more").into_bytes(), Expect::Code(400)),
        ("garbage Via", good.replace("Via: SIP/2.0/UDP", "Via: ???").into_bytes(), Expect::BadRequestOrNothing),
        ("empty From", {
            let from_line = good.split("\r\n").find(|l| l.starts_with("From:")).unwrap_or_default().to_string();
            good.replace(&from_line, "From: ")
        }.into_bytes(), Expect::Code(400)),
        ("bad SIP version", good.replace("SIP/2.0\r\nVia", "SIP/7.1\r\nVia").into_bytes(), Expect::BadRequestOrNothing),
        ("non-UTF-8 header value", {
            let mut b = good.clone().into_bytes();
            let pos = good.find("Max-Forwards").unwrap_or(0);
            b.splice(pos..pos, b"X-Bin: \xff\xfe\xc3\x28\r\n".iter().copied());
            b
        }, Expect::BadRequestOrNothing),
        ("NUL byte in the method", good.replacen("OPTIONS", "OPT\u{0}IONS", 1).into_bytes(), Expect::BadRequestOrNothing),
        ("huge header", good.replace("Max-Forwards: 70", &format!("Max-Forwards: 70\r\nX-Huge: {}", "a".repeat(60_000))).into_bytes(), Expect::Survives),
        ("a thousand headers", good.replace("Max-Forwards: 70", "X-Many: 1\r\n".repeat(1000).trim_end()).into_bytes(), Expect::Survives),
        ("stray response", b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnope\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nContent-Length: 0\r\n\r\n".to_vec(), Expect::Nothing),
    ];
    // Well-formed SIP with bad content: the server itself must answer.
    let bad_sdp = raw.request(
        "INVITE",
        "support",
        "Content-Type: application/sdp\r\n",
        "v=0\r\nthis is not sdp\r\n",
    );
    cases.push((
        "INVITE with garbage SDP",
        bad_sdp.into_bytes(),
        Expect::Code(400),
    ));
    let no_audio = raw.request("INVITE", "support", "Content-Type: application/sdp\r\n", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n");
    cases.push((
        "INVITE with SDP without audio",
        no_audio.into_bytes(),
        Expect::Code(400),
    ));
    let g729 = GOOD_SDP.replace(
        "RTP/AVP 0\r\na=rtpmap:0 PCMU/8000",
        "RTP/AVP 18\r\na=rtpmap:18 G729/8000",
    );
    let no_codec = raw.request(
        "INVITE",
        "support",
        "Content-Type: application/sdp\r\n",
        &g729,
    );
    cases.push((
        "INVITE with no common codec",
        no_codec.into_bytes(),
        Expect::Code(488),
    ));
    let wrong_type = raw.request("INVITE", "support", "Content-Type: text/plain\r\n", "hello");
    cases.push((
        "INVITE with a non-SDP body",
        wrong_type.into_bytes(),
        Expect::Code(415),
    ));
    let bye = raw.request("BYE", "support", "", "");
    cases.push(("BYE outside a dialog", bye.into_bytes(), Expect::Code(481)));
    let unknown = raw.request("FROB", "support", "", "");
    cases.push((
        "unknown method",
        unknown.into_bytes(),
        Expect::BadRequestOrNothing,
    ));

    assert!(cases.len() >= 20);
    for (name, bytes, expect) in cases {
        raw.send(&bytes).await;
        let got = raw.final_response(1500).await;
        match (expect, &got) {
            (Expect::Code(c), Some((got_code, _))) => assert_eq!(*got_code, c, "{name}: {got:?}"),
            (Expect::Code(c), None) => panic!("{name}: expected {c}, got no reply"),
            (Expect::BadRequestOrNothing, None) | (Expect::Nothing, None) => {}
            (Expect::BadRequestOrNothing, Some((got_code, _))) => {
                assert!(
                    (400..600).contains(got_code),
                    "{name}: expected an error or nothing, got {got:?}"
                )
            }
            (Expect::Nothing, Some(_)) => panic!("{name}: expected no reply, got {got:?}"),
            (Expect::Survives, _) => {}
        }
        assert!(
            raw.server_answers_options().await,
            "server stopped answering after: {name}"
        );
    }

    let mut ua = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    let r = ua.register().await;
    assert_eq!(code(&r), 200, "REGISTER after the garbage: {r}");
}

#[tokio::test]
async fn a_flood_of_garbage_does_not_stop_registration() {
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    for i in 0..2000u32 {
        let junk: Vec<u8> = (0..(i % 300))
            .map(|j| (j as u8).wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        raw.send(&junk).await;
    }
    let mut ua = SipPeer::new(server.addr(), "bob", "bob-secret").await;
    let r = ua.register().await;
    assert_eq!(code(&r), 200, "{r}");
}
