//! #5: a stock linphonec sends `From: <sip:pat@[::1]>` (valid RFC 3261 IPv6 reference); the
//! server answered `400 Malformed From header`, so its calls failed. Over real UDP on 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_testkit::server::TestServer;
use tokio::net::UdpSocket;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// `method` to `user@server` from a socket on 127.0.0.1, with IPv6 references in From and To
/// (and in the Via sent-by when `v6_via`; rport makes the server answer the real source).
fn request(
    method: &str,
    user: &str,
    server: SocketAddr,
    local: SocketAddr,
    n: u32,
    v6_via: bool,
) -> String {
    let via = if v6_via {
        format!("[::1]:{};rport", local.port())
    } else {
        local.to_string()
    };
    let body = if method == "INVITE" { SDP } else { "" };
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:{user}@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via};branch=z9hG4bK.v6-{n}\r\n\
         From: <sip:pat@[::1]>;tag=v6-{n}\r\n\
         To: <sip:{user}@[::1]>\r\n\
         Call-ID: v6-{n}@linphone\r\n\
         CSeq: 20 {method}\r\n\
         Max-Forwards: 70\r\n\
         Contact: <sip:pat@{local};transport=udp>\r\n\
         User-Agent: Linphone/3.12.0 (belle-sip/1.6.3)\r\n\
         {content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The first response within 3 s: its status code and whole text.
async fn first_response(sock: &UdpSocket) -> Option<(u16, String)> {
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(3), sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(buf.get(..n)?).to_string();
    let code = text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()?;
    Some((code, text))
}

#[tokio::test]
async fn requests_with_an_ipv6_from_are_not_rejected_as_malformed() {
    let server = TestServer::start("").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let local = sock.local_addr().expect("local addr");
    // (method, user, IPv6 Via, what a well-formed request gets)
    let cases = [
        ("OPTIONS", "ping", false, 200),
        ("OPTIONS", "ping", true, 200),
        ("REGISTER", "alice", false, 401),
        ("INVITE", "support", false, 0),
    ];
    for (n, (method, user, v6_via, want)) in cases.into_iter().enumerate() {
        let req = request(method, user, server.addr(), local, n as u32, v6_via);
        sock.send_to(req.as_bytes(), server.addr())
            .await
            .expect("send");
        let Some((code, text)) = first_response(&sock).await else {
            panic!("{method} (IPv6 Via: {v6_via}): no response");
        };
        assert_ne!(code, 400, "{method}: {text}");
        if want != 0 {
            assert_eq!(code, want, "{method}: {text}");
        }
        // The reply carries the caller's From back exactly as sent.
        assert!(
            text.contains(&format!("From: <sip:pat@[::1]>;tag=v6-{n}\r\n")),
            "{method}: {text}"
        );
        if method == "INVITE" {
            let cancel = req
                .replacen("INVITE sip:", "CANCEL sip:", 1)
                .replace("CSeq: 20 INVITE", "CSeq: 20 CANCEL")
                .replace("Content-Type: application/sdp\r\n", "")
                .replace(
                    &format!("Content-Length: {}\r\n\r\n{SDP}", SDP.len()),
                    "Content-Length: 0\r\n\r\n",
                );
            sock.send_to(cancel.as_bytes(), server.addr())
                .await
                .expect("send");
        }
    }
}
