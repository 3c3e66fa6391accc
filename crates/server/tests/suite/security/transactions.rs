//! §4 Transactions per source: one address sending out-of-dialog MESSAGEs (each a transaction
//! the server keeps 32 s after answering) holds at most `transactions_per_source` of them; past
//! that it gets `503` with `Retry-After`, and another address is still answered.

use std::time::Duration;

use agentphone_testkit::server::TestServer;
use tokio::net::UdpSocket;

const CAP: usize = 4;
const SENT: usize = 16;

/// An unauthenticated MESSAGE from `from`, with its own Call-ID and branch.
fn message(server: std::net::SocketAddr, from: std::net::SocketAddr, i: usize) -> String {
    format!(
        "MESSAGE sip:history@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-tx-{i};rport\r\n\
         From: <sip:nobody@{from}>;tag=t{i}\r\n\
         To: <sip:history@{server}>\r\n\
         Call-ID: per-source-{i}@test\r\n\
         CSeq: 1 MESSAGE\r\n\
         Max-Forwards: 70\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: 2\r\n\r\nhi"
    )
}

/// Send `count` MESSAGEs from `sock` (numbered from `first`); the status code of each answer.
async fn statuses(
    sock: &UdpSocket,
    server: std::net::SocketAddr,
    first: usize,
    count: usize,
) -> Vec<u16> {
    let from = sock.local_addr().unwrap_or_else(|e| panic!("{e}"));
    for i in first..first + count {
        sock.send_to(message(server, from, i).as_bytes(), server)
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
    }
    let mut codes = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while codes.len() < count {
        let n = match tokio::time::timeout(Duration::from_secs(3), sock.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => break,
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).to_string();
        let code: u16 = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if code >= 200 {
            if code == 503 {
                assert!(text.contains("Retry-After:"), "{text}");
            }
            codes.push(code);
        }
    }
    codes
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_transactions() {
    let server = TestServer::start_with(
        "",
        &format!("[security]\ntransactions_per_source = {CAP}\n"),
    )
    .await;
    let flooder = UdpSocket::bind("127.0.0.2:0")
        .await
        .unwrap_or_else(|e| panic!("bind 127.0.0.2: {e}"));
    let codes = statuses(&flooder, server.addr(), 0, SENT).await;
    assert_eq!(codes.len(), SENT, "every MESSAGE is answered: {codes:?}");
    let served = codes.iter().filter(|c| **c != 503).count();
    // Requests go to shards (one per core) by Call-ID, each holding its share of the cap
    // (rounded up).
    let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = shards * CAP.div_ceil(shards);
    assert!(
        (1..=most).contains(&served),
        "{served} served of {SENT}, at most {most}: {codes:?}"
    );
    // Another address is answered as ever.
    let other = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let codes = statuses(&other, server.addr(), 100, 1).await;
    assert_eq!(codes.len(), 1);
    assert_ne!(codes[0], 503, "another source: {codes:?}");
}
