//! §6 / §4 on TCP: RFC 5626 CRLF keepalives are answered.

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
