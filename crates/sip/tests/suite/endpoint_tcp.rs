//! The endpoint over real loopback TCP: framing, connection reuse, 400 + close on bad framing.

use crate::common::*;
use agentphone_sip::message::{self, response};
use agentphone_sip::rsip;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn request_and_response_over_tcp() {
    let (a, _a_in) = endpoint().await;
    let (b, mut b_in) = endpoint().await;
    let req = request(rsip::Method::Register, b.local_addr());
    let tx = a.request(req, tcp(b.local_addr()));
    assert!(message::header_value(&tx.request().clone().into(), "Via")
        .is_some_and(|v| v.starts_with("SIP/2.0/TCP ")));
    let server = within("register at b", b_in.recv())
        .await
        .expect("incoming");
    assert_eq!(
        server.peer.transport,
        agentphone_sip::endpoint::TransportKind::Tcp
    );
    server
        .respond(response(&server.request, 200, "OK", Some("bt")))
        .await
        .expect("respond");
    let resp = within("final", tx.final_response()).await.expect("200");
    assert_eq!(resp.status_code.code(), 200);
}

#[tokio::test]
async fn server_reaches_client_over_its_registration_connection() {
    let (agent, mut agent_in) = endpoint().await;
    let (server_ep, mut server_in) = endpoint().await;
    let tx = agent.request(
        request(rsip::Method::Register, server_ep.local_addr()),
        tcp(server_ep.local_addr()),
    );
    let register = within("register", server_in.recv())
        .await
        .expect("incoming");
    // The connection's source port is ephemeral, not the agent's listening port: reaching the
    // agent there proves the connection is reused.
    let agent_conn = register.peer;
    assert_ne!(agent_conn.addr, agent.local_addr());
    register
        .respond(response(&register.request, 200, "OK", Some("s")))
        .await
        .expect("200");
    within("register done", tx.final_response())
        .await
        .expect("200");

    let invite = server_ep.request(
        request(rsip::Method::Invite, agent.local_addr()),
        agent_conn,
    );
    let incoming = within("invite at agent", agent_in.recv())
        .await
        .expect("incoming");
    assert_eq!(incoming.request.method, rsip::Method::Invite);
    assert_eq!(
        incoming.peer.addr,
        server_ep.local_addr(),
        "arrived over the agent's own connection"
    );
    incoming
        .respond(response(&incoming.request, 486, "Busy Here", Some("ag")))
        .await
        .expect("486");
    let resp = within("486", invite.final_response()).await.expect("final");
    assert_eq!(resp.status_code.code(), 486);
}

async fn read_until_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn bad_content_length_gets_400_then_close() {
    let (b, _b_in) = endpoint().await;
    let mut stream = TcpStream::connect(b.local_addr()).await.expect("connect");
    let local = stream.local_addr().expect("addr");
    let bad = format!(
        "OPTIONS sip:bob@{0} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKtcpbad\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:bob@{0}>\r\nCall-ID: c-tcp\r\nCSeq: 1 OPTIONS\r\nContent-Length: lots\r\n\r\n",
        b.local_addr()
    );
    stream.write_all(bad.as_bytes()).await.expect("write");
    let text = read_until_close(&mut stream).await;
    assert!(
        text.starts_with("SIP/2.0 400 Malformed Content-Length header\r\n"),
        "{text}"
    );
    assert!(text.contains("Call-ID: c-tcp"));
}

#[tokio::test]
async fn frames_split_and_joined_messages() {
    let (b, mut b_in) = endpoint().await;
    let mut stream = TcpStream::connect(b.local_addr()).await.expect("connect");
    let local = stream.local_addr().expect("addr");
    let one = raw_request("OPTIONS", b.local_addr(), local, "z9hG4bKs1", "c-s1", 1);
    let two = raw_request("OPTIONS", b.local_addr(), local, "z9hG4bKs2", "c-s2", 2);
    // The first message in two pieces (with a keep-alive before it), then the rest with the second.
    let mut all = b"\r\n\r\n".to_vec();
    all.extend_from_slice(&one);
    all.extend_from_slice(&two);
    let (head, tail) = all.split_at(30);
    stream.write_all(head).await.expect("write");
    stream.flush().await.expect("flush");
    // The scenario: the two pieces arrive as separate reads (a message split across segments).
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(tail).await.expect("write");
    let first = within("first", b_in.recv()).await.expect("incoming");
    let second = within("second", b_in.recv()).await.expect("incoming");
    let ids: Vec<_> = [&first, &second]
        .iter()
        .map(|t| message::call_id(&t.request.clone().into()).unwrap_or_default())
        .collect();
    assert_eq!(ids, ["c-s1", "c-s2"]);
    // Responses come back over the same connection.
    first
        .respond(response(&first.request, 200, "OK", Some("x")))
        .await
        .expect("respond");
    // The keep-alive ping before the first message got its pong (RFC 5626: one CRLF) first.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = within("response", stream.read(&mut buf))
            .await
            .expect("read");
        got.extend_from_slice(&buf[..n]);
    }
    let resp = got.strip_prefix(b"\r\n").expect("the pong first");
    let resp = message::parse(resp).expect("response parses");
    assert_eq!(message::call_id(&resp).as_deref(), Some("c-s1"));
}

#[tokio::test]
async fn garbage_request_over_tcp_gets_400_and_connection_stays() {
    let (b, mut b_in) = endpoint().await;
    let mut stream = TcpStream::connect(b.local_addr()).await.expect("connect");
    let local = stream.local_addr().expect("addr");
    let bad = String::from_utf8(raw_request(
        "OPTIONS",
        b.local_addr(),
        local,
        "z9hG4bKg",
        "c-g",
        1,
    ))
    .expect("utf8")
    .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    stream.write_all(bad.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = within("400", stream.read(&mut buf)).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 400 Malformed CSeq header"));
    stream
        .write_all(&raw_request(
            "OPTIONS",
            b.local_addr(),
            local,
            "z9hG4bKg2",
            "c-g2",
            2,
        ))
        .await
        .expect("write");
    let ok = within("valid request", b_in.recv())
        .await
        .expect("incoming");
    assert_eq!(
        message::call_id(&ok.request.clone().into()).as_deref(),
        Some("c-g2")
    );
}

#[tokio::test]
async fn unreachable_tcp_peer_is_a_transport_error() {
    let (a, _a_in) = endpoint().await;
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("addr")
    };
    let tx = a.request(request(rsip::Method::Options, closed), tcp(closed));
    let result = within("transport error", tx.final_response()).await;
    assert!(
        matches!(result, Err(agentphone_sip::endpoint::TxError::Transport(_))),
        "{result:?}"
    );
}
