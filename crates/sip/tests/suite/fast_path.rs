//! The stateless fast path over real UDP: plain requests it wants are answered from their bytes
//! (no transaction, nothing reaches the TU); the rest still go the normal way.

use crate::common::*;
use agentphone_sip::endpoint::{FastPath, Peer};
use agentphone_sip::message::lite::LiteRequest;
use std::sync::Arc;
use std::time::Duration;

/// Answers every REGISTER it is given 200, with the To user in a header.
struct Registrar;

impl FastPath for Registrar {
    fn wants(&self, method: &str) -> bool {
        method == "REGISTER"
    }

    fn answer(&self, req: &LiteRequest<'_>, peer: Peer) -> Option<Vec<u8>> {
        let user = req.to_uri.user()?.to_string();
        Some(req.response(peer.addr, 200, "OK", Some("fast"), &[("X-User", &user)]))
    }
}

fn register(port: u16, extra: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKf1;rport\r\n\
         From: <sip:pat@127.0.0.1>;tag=1\r\nTo: <sip:pat@127.0.0.1>\r\nCall-ID: fast-1\r\n\
         CSeq: 1 REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn plain_requests_are_answered_in_place_and_the_rest_reach_the_tu() {
    let (ep, mut incoming) = endpoint().await;
    ep.set_fast_path(Arc::new(Registrar));
    let raw = RawPeer::new().await;
    let port = raw.addr().port();

    raw.send(register(port, "").as_bytes(), ep.local_addr())
        .await;
    let (bytes, _) = raw.recv().await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("received=127.0.0.1;rport={port}")),
        "{text}"
    );
    assert!(
        text.contains("To: <sip:pat@127.0.0.1>;tag=fast\r\n"),
        "{text}"
    );
    assert!(text.contains("X-User: pat\r\n"), "{text}");
    let quiet = tokio::time::timeout(Duration::from_millis(100), incoming.recv()).await;
    assert!(
        quiet.is_err(),
        "the TU got a request the fast path answered"
    );

    // A folded header is not plain: the full parser takes it and the TU gets the request.
    let folded = register(port, "Expires:\r\n 60\r\n");
    raw.send(folded.as_bytes(), ep.local_addr()).await;
    let tx = within("folded REGISTER at the TU", incoming.recv())
        .await
        .expect("incoming");
    assert_eq!(tx.request.method, agentphone_sip::rsip::Method::Register);
}
