//! Issue 11 §8: RFC 4475 torture messages answered as the RFC prefers, over real UDP (and TCP
//! where the transport matters). The messages are written here from the RFC's descriptions
//! (`intmeth`, `esc02`, `bext01`, `mcl01`, ...), addressed to the test server.

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_testkit::server::TestServer;
use tokio::net::UdpSocket;

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

async fn final_response(sock: &UdpSocket, ms: u64) -> Option<String> {
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
fn status(text: &str) -> u16 {
    text.strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A header's value in a response's text (name case-insensitive).
fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `intmeth` (§3.1.1.2): an unknown method made of every token character — valid, not
/// implemented.
fn intmeth(server: SocketAddr) -> String {
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
fn esc02(server: SocketAddr) -> String {
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
