//! Issue 11 §8: RFC 4475 torture messages answered as the RFC prefers, over real UDP (and TCP
//! where the transport matters). The messages are written here from the RFC's descriptions
//! (`intmeth`, `esc02`, `bext01`, `mcl01`, ...), addressed to the test server.

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_testkit::server::TestServer;
use agentphone_testkit::torture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A raw UDP client.
struct Raw {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Raw {
    async fn new(server: SocketAddr) -> Raw {
        let sock = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Raw { sock, server }
    }

    /// Send `text` and return the first final response (whole text) within 2 s.
    async fn exchange(&self, text: &str) -> Option<String> {
        self.sock
            .send_to(text.as_bytes(), self.server)
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
        final_response(&self.sock, 2000).await
    }
}

pub(super) async fn final_response(sock: &UdpSocket, ms: u64) -> Option<String> {
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        let n = match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return None,
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).to_string();
        if status(&text) >= 200 {
            return Some(text);
        }
    }
}

/// The status code of a response's text (0 when it is none).
pub(super) fn status(text: &str) -> u16 {
    text.strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A header's value in a response's text (name case-insensitive).
pub(super) fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `intmeth` (§3.1.1.2): an unknown method made of every token character — valid, not
/// implemented.
pub(super) fn intmeth(server: SocketAddr) -> String {
    let m = "!interesting-Method0123456789_*+`.%indeed'~";
    format!(
        "{m} sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-.!%66*_+`'~\r\n\
         To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@{server}>\r\n\
         From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{440}\u{430}\u{431}\";tag=_token~1'+`*%!-.\r\n\
         Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}}{{\r\n\
         CSeq: 139122385 {m}\r\n\
         Max-Forwards: 255\r\n\
         extensionHeader-!.%*+_`'~: \u{5927}\u{505c}\u{96fb}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// `esc02` (§3.1.1.5): `%` escapes are not decoded in a method: `RE%47IST%45R` is not REGISTER.
pub(super) fn esc02(server: SocketAddr) -> String {
    format!(
        "RE%47IST%45R sip:{server} SIP/2.0\r\n\
         To: \"%Z%45\" <sip:resource@{server}>\r\n\
         From: \"%Z%45\" <sip:resource@{server}>;tag=f232jadfj23\r\n\
         Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n\
         Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK209793\r\n\
         Contact: <sip:alias1@host1.example.com>\r\n\
         CSeq: 29 RE%47IST%45R\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn unknown_methods_get_501_with_allow() {
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    for (name, text) in [
        ("intmeth", intmeth(server.addr())),
        ("esc02", esc02(server.addr())),
    ] {
        let got = raw.exchange(&text).await;
        let got = got.unwrap_or_else(|| panic!("{name}: no answer"));
        assert_eq!(status(&got), 501, "{name}: {got}");
        let allow = header(&got, "Allow").unwrap_or_else(|| panic!("{name}: no Allow: {got}"));
        assert!(
            allow.contains("REGISTER") && allow.contains("INVITE"),
            "{got}"
        );
        assert!(header(&got, "CSeq")
            .is_some_and(|c| c.starts_with("29 ") || c.starts_with("139122385 ")));
    }
}

/// `bext01` (§3.3.5): Require options nobody supports; a UAS answers 420 listing them in
/// Unsupported (Proxy-Require is for proxies: ignored).
pub(super) fn bext01(server: SocketAddr, method: &str) -> String {
    format!(
        "{method} sip:user@{server} SIP/2.0\r\n\
         To: sip:j_user@{server}\r\n\
         From: sip:caller@example.net;tag=242etr\r\n\
         Max-Forwards: 6\r\n\
         Call-ID: bext01-{method}.0ha0isndaksdj\r\n\
         Require: nothingSupportsThis, nothingSupportsThisEither\r\n\
         Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n\
         CSeq: 8 {method}\r\n\
         Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-{method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn an_unknown_require_gets_420_with_unsupported() {
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    // OPTIONS as in the RFC; REGISTER would otherwise take the stateless fast path.
    for method in ["OPTIONS", "REGISTER", "INVITE"] {
        let got = raw.exchange(&bext01(server.addr(), method)).await;
        let got = got.unwrap_or_else(|| panic!("{method}: no answer"));
        assert_eq!(status(&got), 420, "{method}: {got}");
        assert_eq!(
            header(&got, "Unsupported"),
            Some("nothingSupportsThis, nothingSupportsThisEither"),
            "{got}"
        );
    }
    // Without Require the same OPTIONS is served.
    let plain = bext01(server.addr(), "OPTIONS")
        .replace(
            "Require: nothingSupportsThis, nothingSupportsThisEither\r\n",
            "",
        )
        .replace("bext01-", "bext01-plain-")
        .replace("kdjuw-", "kdjuw-plain-");
    let got = raw.exchange(&plain).await.unwrap_or_default();
    assert_eq!(status(&got), 200, "{got}");
}

/// `mcl01` (§3.3.9): two Content-Length headers with different values.
pub(super) fn mcl01(server: SocketAddr, transport: &str) -> String {
    format!(
        "OPTIONS sip:user@{server} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1;branch=z9hG4bK293423{transport}\r\n\
         To: sip:user@{server}\r\n\
         From: sip:other@example.net;tag=3923942\r\n\
         Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf{transport}\r\n\
         CSeq: 15932 OPTIONS\r\n\
         Content-Length: 13\r\n\
         Max-Forwards: 60\r\n\
         Content-Length: 5\r\n\
         Content-Type: text/plain\r\n\r\n\
         There's no way to know how long this message is\r\n"
    )
}

#[tokio::test]
async fn two_content_lengths_get_400_and_close_a_tcp_connection() {
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    let got = raw.exchange(&mcl01(server.addr(), "UDP")).await;
    let got = got.unwrap_or_else(|| panic!("UDP: no answer"));
    assert_eq!(status(&got), 400, "{got}");

    let mut conn = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    conn.write_all(mcl01(server.addr(), "TCP").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), conn.read_to_end(&mut received));
    assert!(read.await.is_ok(), "the connection was not closed");
    let text = String::from_utf8_lossy(&received);
    assert_eq!(status(&text), 400, "TCP: {text}");
}

#[tokio::test]
async fn a_branch_reused_by_another_sent_by_is_a_new_transaction() {
    // RFC 3261 §17.2.3: branch + sent-by + method. The second OPTIONS (another host's Via, the
    // same branch and Call-ID) must get its own answer, not the first one's again.
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    let options = |sent_by: &str, seq: u32| {
        format!(
            "OPTIONS sip:ping@{addr} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {sent_by};branch=z9hG4bK-reused;rport\r\n\
             From: <sip:tester@127.0.0.1>;tag=sb{seq}\r\n\
             To: <sip:ping@{addr}>\r\n\
             Call-ID: sent-by@test\r\n\
             CSeq: {seq} OPTIONS\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
            addr = server.addr()
        )
    };
    let first = raw.exchange(&options("127.0.0.1:5999", 1)).await;
    assert_eq!(
        first.as_deref().and_then(|t| header(t, "CSeq")),
        Some("1 OPTIONS")
    );
    let second = raw.exchange(&options("192.0.2.7:5060", 2)).await;
    let second = second.unwrap_or_else(|| panic!("no answer to the second request"));
    assert_eq!(status(&second), 200, "{second}");
    assert_eq!(header(&second, "CSeq"), Some("2 OPTIONS"), "{second}");
}

/// Valid messages (§3.1.1) are answered as requests, never 400: `semiuri` (an OPTIONS) gets
/// 200; `wsinv` carries a To tag, so it is a re-INVITE of a dialog the server does not have:
/// 481 (RFC 3261 §12.2.2), its headers read right (Call-ID, CSeq, the three Vias).
#[tokio::test]
async fn tortuous_but_valid_requests_are_not_400() {
    let server = TestServer::start("").await;
    let raw = Raw::new(server.addr()).await;
    let addr = server.addr().to_string();
    let got = raw.exchange(&torture::semiuri(&addr, "127.0.0.1")).await;
    let got = got.unwrap_or_else(|| panic!("semiuri: no answer"));
    assert_eq!(status(&got), 200, "semiuri: {got}");
    assert_eq!(header(&got, "CSeq"), Some("8 OPTIONS"), "{got}");

    // The Vias name loopback hosts (the answer goes to the source address anyway).
    let vias = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let got = raw.exchange(&torture::wsinv(&addr, vias)).await;
    let got = got.unwrap_or_else(|| panic!("wsinv: no answer"));
    assert_eq!(status(&got), 481, "wsinv: {got}");
    assert_eq!(
        header(&got, "Call-ID"),
        Some("wsinv.ndaksdj@192.0.2.1"),
        "{got}"
    );
    assert!(
        header(&got, "CSeq").is_some_and(|c| c.ends_with(" INVITE")),
        "{got}"
    );
    let vias = got
        .split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with("via:"))
        .count();
    assert_eq!(vias, 3, "every Via comes back: {got}");
}

/// The first final response read from a TCP connection within 3 s (whole text).
pub(super) async fn tcp_final_response(conn: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let text = String::from_utf8_lossy(&received).to_string();
        // Responses one after the other: the first final one, whole header section.
        for message in text.split_inclusive("\r\n\r\n") {
            if message.ends_with("\r\n\r\n") && status(message) >= 200 {
                return Some(message.to_string());
            }
        }
        let n = match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return None,
        };
        received.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

/// The same two valid messages over TCP (their top Via saying TCP): the same answers.
#[tokio::test]
async fn tortuous_but_valid_requests_over_tcp() {
    let server = TestServer::start("").await;
    let addr = server.addr().to_string();
    let vias = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let cases = [
        ("semiuri", torture::semiuri(&addr, "127.0.0.1"), 200),
        ("wsinv", torture::wsinv(&addr, vias), 481),
    ];
    for (name, text, want) in cases {
        let text =
            text.replacen("SIP/2.0/UDP", "SIP/2.0/TCP", 1)
                .replacen(" /UDP\r\n", " /TCP\r\n", 1);
        let mut conn = TcpStream::connect(server.addr())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        conn.write_all(text.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = tcp_final_response(&mut conn).await;
        let got = got.unwrap_or_else(|| panic!("{name}: no answer over TCP"));
        assert_eq!(status(&got), want, "{name}: {got}");
    }
}
