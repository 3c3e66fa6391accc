//! SIP over TLS on real loopback sockets: a request and its response over a verified TLS
//! connection, the server reaching the client back over it, nothing readable on the wire, and a
//! certificate from an unknown CA refused with the reason.

use crate::common::*;
use agentphone_sip::endpoint::{Endpoint, EndpointConfig, Peer, TransportKind, TxError};
use agentphone_sip::message::{self, response};
use agentphone_sip::rsip;
use agentphone_sip::tls::{self, TlsClient, TlsSettings};
use agentphone_testkit::pki::TestPki;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn any() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

type Incoming = tokio::sync::mpsc::Receiver<agentphone_sip::endpoint::ServerTransaction>;

async fn tls_server(pki: &TestPki) -> (Endpoint, Incoming) {
    let server =
        tls::server_config_from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes(), "test")
            .expect("server config");
    let config = EndpointConfig {
        timers: fast_timers(),
        tls: TlsSettings {
            listen: Some((any(), server)),
            client: None,
        },
        ..EndpointConfig::default()
    };
    Endpoint::bind_with(any(), config)
        .await
        .expect("bind tls server")
}

async fn tls_client(ca_pem: &str, name: &str) -> (Endpoint, Incoming) {
    let client = TlsClient {
        config: tls::client_config_from_pem(ca_pem.as_bytes(), "ca").expect("client config"),
        server_name: Some(tls::server_name(name).expect("name")),
    };
    let config = EndpointConfig {
        timers: fast_timers(),
        tls: TlsSettings {
            listen: None,
            client: Some(client),
        },
        ..EndpointConfig::default()
    };
    Endpoint::bind_with(any(), config)
        .await
        .expect("bind tls client")
}

fn tls_peer(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: TransportKind::Tls,
    }
}

/// A TCP relay in front of `to` that keeps every byte the client sent.
async fn recording_relay(to: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind(any()).await.expect("relay");
    let addr = listener.local_addr().expect("relay addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let Ok(mut server) = TcpStream::connect(to).await else {
                return;
            };
            let keep = keep.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = async {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = cr.read(&mut buf).await {
                        keep.lock().expect("lock").extend_from_slice(&buf[..n]);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut sr, &mut cw);
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn request_response_and_callback_over_verified_tls() {
    let pki = TestPki::new();
    let (server, mut server_in) = tls_server(&pki).await;
    let tls_addr = server.tls_local_addr().expect("tls listener");
    assert_ne!(tls_addr.port(), server.local_addr().port());
    let (relay, seen) = recording_relay(tls_addr).await;
    let (client, mut client_in) = tls_client(&pki.ca_pem, "localhost").await;

    let tx = client.request(request(rsip::Method::Register, tls_addr), tls_peer(relay));
    assert!(message::header_value(&tx.request().clone().into(), "Via")
        .is_some_and(|v| v.starts_with("SIP/2.0/TLS ")));
    let register = within("register over tls", server_in.recv())
        .await
        .expect("incoming");
    assert_eq!(register.peer.transport, TransportKind::Tls);
    let back = register.peer;
    register
        .respond(response(&register.request, 200, "OK", Some("s")))
        .await
        .expect("200");
    let resp = within("200 over tls", tx.final_response())
        .await
        .expect("200");
    assert_eq!(resp.status_code.code(), 200);

    // The server reaches the client over the client's own TLS connection.
    let options = server.request(request(rsip::Method::Options, client.local_addr()), back);
    let incoming = within("options at the client", client_in.recv())
        .await
        .expect("incoming");
    assert_eq!(incoming.request.method, rsip::Method::Options);
    assert_eq!(incoming.peer.transport, TransportKind::Tls);
    incoming
        .respond(response(&incoming.request, 200, "OK", Some("c")))
        .await
        .expect("200");
    let resp = within("options answered", options.final_response())
        .await
        .expect("200");
    assert_eq!(resp.status_code.code(), 200);

    let wire = seen.lock().expect("lock").clone();
    assert!(wire.len() > 200, "the relay saw the TLS records");
    let text = String::from_utf8_lossy(&wire);
    assert!(
        !text.contains("SIP/2.0") && !text.contains("REGISTER"),
        "no plaintext SIP on the wire"
    );
}

#[tokio::test]
async fn certificate_from_unknown_ca_is_refused_with_the_reason() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let (server, mut server_in) = tls_server(&pki).await;
    let tls_addr = server.tls_local_addr().expect("tls listener");
    let (client, _client_in) = tls_client(&other.ca_pem, "localhost").await;
    let tx = client.request(
        request(rsip::Method::Register, tls_addr),
        tls_peer(tls_addr),
    );
    match within("refused", tx.final_response()).await {
        Err(TxError::Transport(reason)) => {
            assert!(reason.contains("TLS handshake"), "{reason}");
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    // The right CA but the wrong name: refused too.
    let (client, _client_in) = tls_client(&pki.ca_pem, "sip.example.com").await;
    let tx = client.request(
        request(rsip::Method::Register, tls_addr),
        tls_peer(tls_addr),
    );
    assert!(matches!(
        within("wrong name", tx.final_response()).await,
        Err(TxError::Transport(reason)) if reason.contains("certificate")
    ));
    assert!(
        server_in.try_recv().is_err(),
        "nothing reached the server's TU"
    );
}
