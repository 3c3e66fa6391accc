//! §6 / §4 on TCP: RFC 5626 CRLF keepalives are answered; slowloris senders, idle connections
//! and connections past the per-source cap are closed.

use std::time::Duration;

use agentphone_testkit::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_double_crlf_ping_gets_a_crlf_pong() {
    let server = TestServer::start("").await;
    let mut conn = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    for split in [&[b"\r\n\r\n".as_slice()][..], &[b"\r\n", b"\r\n"]] {
        for part in split {
            conn.write_all(part).await.unwrap_or_else(|e| panic!("{e}"));
            // The scenario: each part arrives as its own read; not a settle.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut pong = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(2), conn.read_exact(&mut pong))
            .await
            .unwrap_or_else(|_| panic!("no pong within 2 s"))
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!(&pong, b"\r\n");
    }
}

/// Read until the server closes the connection; how long that took (None: still open at `max`).
async fn closed_within(conn: &mut TcpStream, max: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(tokio::time::Instant::now() + max, conn.read(&mut buf)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn slowloris_and_idle_connections_are_closed() {
    let server = TestServer::start_with(
        "",
        "[security]\ntcp_header_timeout_s = 1\ntcp_idle_timeout_s = 2\n",
    )
    .await;
    // One byte a quarter second: the message never completes within the header timeout.
    let mut slow = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let drip = tokio::spawn(async move {
        for b in b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1" {
            if slow.write_all(&[*b]).await.is_err() {
                return Some(slow);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Some(slow)
    });
    let mut idle = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let idle_closed = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(
        idle_closed.is_some_and(|d| d >= Duration::from_millis(1500)),
        "idle connection: {idle_closed:?}"
    );
    let mut slow = drip
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("drip task"));
    let slow_closed = closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(slow_closed.is_some(), "the slow sender was never closed");
}

#[tokio::test]
async fn connections_per_source_are_capped() {
    let server = TestServer::start_with("", "[security]\ntcp_connections_per_source = 3\n").await;
    let mut conns = Vec::new();
    for _ in 0..3 {
        let c = TcpStream::connect(server.addr())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        conns.push(c);
    }
    let mut extra = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        closed_within(&mut extra, Duration::from_secs(2))
            .await
            .is_some(),
        "the 4th connection from one address must be closed"
    );
    // Those within the cap stay open and are served (a ping gets its pong).
    conns[0]
        .write_all(b"\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut pong = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(2), conns[0].read_exact(&mut pong))
        .await
        .unwrap_or_else(|_| panic!("no pong"))
        .unwrap_or_else(|e| panic!("{e}"));
    // Closing one frees a place.
    drop(conns.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(server.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        closed_within(&mut again, Duration::from_millis(500))
            .await
            .is_none(),
        "a place freed by a closed connection is usable"
    );
}
