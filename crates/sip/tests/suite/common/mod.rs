//! Helpers shared by the endpoint tests: endpoints on ephemeral loopback ports, raw peers.
#![allow(dead_code)]

use agentphone_sip::endpoint::{Endpoint, Peer, ServerTransaction, Timers, TransportKind};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::Receiver;

/// Small timers so that retransmission and timeout tests finish quickly.
pub fn fast_timers() -> Timers {
    Timers {
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(160),
        t4: Duration::from_millis(200),
    }
}

pub async fn endpoint() -> (Endpoint, Receiver<ServerTransaction>) {
    Endpoint::bind("127.0.0.1:0".parse().expect("addr"), fast_timers())
        .await
        .expect("bind")
}

pub fn udp(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: TransportKind::Udp,
    }
}

pub fn tcp(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: TransportKind::Tcp,
    }
}

pub fn request(method: rsip::Method, to: SocketAddr) -> rsip::Request {
    let uri = format!("sip:bob@{to}");
    RequestBuilder::new(method, &uri)
        .expect("uri")
        .from(Some("Alice"), "sip:alice@example.com", &message::new_tag())
        .to(None, &uri, None)
        .cseq(1)
        .contact("sip:alice@127.0.0.1")
        .build()
        .expect("request")
}

/// Wait for something, failing the test instead of hanging.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A bare UDP socket speaking SIP by hand.
pub struct RawPeer {
    pub socket: UdpSocket,
}

impl RawPeer {
    pub async fn new() -> RawPeer {
        RawPeer {
            socket: UdpSocket::bind("127.0.0.1:0").await.expect("bind raw"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("addr")
    }

    /// Next datagram, or None after `wait`.
    pub async fn recv_within(&self, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
        let mut buf = vec![0u8; 65_536];
        match tokio::time::timeout(wait, self.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) => Some((buf[..n].to_vec(), from)),
            _ => None,
        }
    }

    pub async fn recv(&self) -> (Vec<u8>, SocketAddr) {
        self.recv_within(Duration::from_secs(5))
            .await
            .expect("a datagram within 5 s")
    }

    pub async fn recv_msg(&self) -> (rsip::SipMessage, SocketAddr) {
        let (bytes, from) = self.recv().await;
        (message::parse(&bytes).expect("peer sent valid SIP"), from)
    }

    pub async fn send(&self, bytes: &[u8], to: SocketAddr) {
        self.socket.send_to(bytes, to).await.expect("send");
    }
}

pub fn as_request(msg: rsip::SipMessage) -> rsip::Request {
    match msg {
        rsip::SipMessage::Request(r) => r,
        rsip::SipMessage::Response(r) => panic!("expected request, got {}", r.status_code),
    }
}

pub fn as_response(msg: rsip::SipMessage) -> rsip::Response {
    match msg {
        rsip::SipMessage::Response(r) => r,
        rsip::SipMessage::Request(r) => panic!("expected response, got {}", r.method),
    }
}

/// A hand-written request as a raw peer would send it.
pub fn raw_request(
    method: &str,
    to: SocketAddr,
    from: SocketAddr,
    branch: &str,
    call_id: &str,
    seq: u32,
) -> Vec<u8> {
    format!(
        "{method} sip:bob@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:raw@{from}>;tag=rawtag\r\nTo: <sip:bob@{to}>\r\nCall-ID: {call_id}\r\nCSeq: {seq} {method}\r\nContact: <sip:raw@{from}>\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Waits until some process has a UDP socket bound to `port` on this host (a peer we started,
/// such as baresip, is ready to receive), polling the kernel's socket tables; false after 10 s.
pub async fn udp_port_bound(port: u16) -> bool {
    for _ in 0..500 {
        if agentphone_testkit::wait::udp_port_bound(port) {
            return true;
        }
        // The poll interval of this wait, not a settle.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
