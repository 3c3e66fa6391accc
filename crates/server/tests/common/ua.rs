//! A minimal SIP user agent for tests, on agentphone-sip's Endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_sip::auth::{Algorithm, Challenge, Credentials};
use agentphone_sip::endpoint::{Endpoint, Peer, ServerTransaction, TransportKind};
use agentphone_sip::message::{self, RequestBuilder};
use tokio::sync::mpsc::Receiver;

/// A test user agent talking to one server.
pub struct Ua {
    pub ep: Endpoint,
    pub incoming: Receiver<ServerTransaction>,
    pub server: Peer,
    pub user: String,
    pub password: String,
    /// Preferred digest algorithm when the server offers several.
    pub algorithm: Algorithm,
    /// Requests put aside by a wait for another one (served first by `next_request`).
    pub stash: std::collections::VecDeque<ServerTransaction>,
    cseq: u32,
}

pub fn code(resp: &rsip::Response) -> u16 {
    u16::from(resp.status_code.clone())
}

impl Ua {
    pub async fn new(server: SocketAddr, user: &str, password: &str) -> Ua {
        Ua::with_transport(server, user, password, TransportKind::Udp).await
    }

    /// A UA that talks to the server over `transport`.
    pub async fn with_transport(
        server: SocketAddr,
        user: &str,
        password: &str,
        transport: TransportKind,
    ) -> Ua {
        let (ep, incoming) = Endpoint::bind(
            "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
            Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("bind UA: {e}"));
        Ua {
            ep,
            incoming,
            server: Peer {
                addr: server,
                transport,
            },
            user: user.into(),
            password: password.into(),
            algorithm: Algorithm::Sha256,
            stash: Default::default(),
            cseq: 0,
        }
    }

    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    /// `sip:USER@SERVER`
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.server.addr.ip())
    }

    pub fn contact(&self) -> String {
        let tcp = if self.server.transport == TransportKind::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        format!("sip:{}@{}{tcp}", self.user, self.ep.local_addr())
    }

    pub fn next_cseq(&mut self) -> u32 {
        self.cseq += 1;
        self.cseq
    }

    /// Send and wait for the final response.
    pub async fn send(&self, req: rsip::Request) -> rsip::Response {
        let tx = self.ep.request(req, self.server);
        tokio::time::timeout(Duration::from_secs(10), tx.final_response())
            .await
            .unwrap_or_else(|_| panic!("no final response within 10 s"))
            .unwrap_or_else(|e| panic!("transaction failed: {e}"))
    }

    /// A REGISTER (no credentials).
    pub fn register_request(
        &mut self,
        call_id: &str,
        expires: u32,
        auth: Option<String>,
    ) -> rsip::Request {
        let cseq = self.next_cseq();
        let mut b = RequestBuilder::new(
            rsip::Method::Register,
            &format!("sip:{}", self.server.addr.ip()),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .from(None, &self.aor(), "regtag")
        .to(None, &self.aor(), None)
        .call_id(call_id)
        .cseq(cseq)
        .contact(&self.contact())
        .header("Expires", &expires.to_string());
        if let Some(a) = auth {
            b = b.header("Authorization", &a);
        }
        b.build().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The challenge of a 401 with our preferred algorithm (else the first).
    pub fn pick_challenge(&self, resp: &rsip::Response) -> Challenge {
        let values = message::header_values(
            &rsip::SipMessage::Response(resp.clone()),
            "WWW-Authenticate",
        );
        let all: Vec<Challenge> = values.iter().filter_map(|v| Challenge::parse(v)).collect();
        all.iter()
            .find(|c| c.algorithm == self.algorithm)
            .or(all.first())
            .cloned()
            .unwrap_or_else(|| panic!("401 without a usable challenge: {values:?}"))
    }

    pub fn answer(&self, ch: &Challenge, method: &str, uri: &str) -> String {
        Credentials::answer(ch, &self.user, &self.password, method, uri, 1).to_header_value()
    }

    /// REGISTER with the challenge dance; the final response.
    pub async fn register(&mut self) -> rsip::Response {
        let call_id = message::new_call_id();
        let first = self.register_request(&call_id, 300, None);
        let resp = self.send(first).await;
        if code(&resp) != 401 {
            return resp;
        }
        let ch = self.pick_challenge(&resp);
        let uri = format!("sip:{}", self.server.addr.ip());
        let auth = self.answer(&ch, "REGISTER", &uri);
        let second = self.register_request(&call_id, 300, Some(auth));
        self.send(second).await
    }

    /// Send an out-of-dialog request built by `build(cseq, authorization)`, answering one 401.
    pub async fn send_authenticated(
        &mut self,
        method: &str,
        uri: &str,
        build: impl Fn(u32, Option<String>) -> rsip::Request,
    ) -> rsip::Response {
        let c = self.next_cseq();
        let resp = self.send(build(c, None)).await;
        if code(&resp) != 401 {
            return resp;
        }
        let ch = self.pick_challenge(&resp);
        let auth = self.answer(&ch, method, uri);
        let c = self.next_cseq();
        self.send(build(c, Some(auth))).await
    }

    /// PUBLISH presence open/closed.
    pub async fn set_voice(&mut self, active: bool) -> rsip::Response {
        let aor = self.aor();
        let call_id = message::new_call_id();
        let status = if active { "open" } else { "closed" };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{aor}\">\n  <tuple id=\"voice\"><status><basic>{status}</basic></status></tuple>\n</presence>\n"
        );
        let uri = aor.clone();
        self.send_authenticated("PUBLISH", &uri, |cseq, auth| {
            let mut b = RequestBuilder::new(rsip::Method::Publish, &aor)
                .unwrap_or_else(|e| panic!("{e}"))
                .from(None, &aor, "pubtag")
                .to(None, &aor, None)
                .call_id(&call_id)
                .cseq(cseq)
                .header("Event", "presence")
                .header("Expires", "3600");
            if let Some(a) = auth {
                b = b.header("Authorization", &a);
            }
            b.body("application/pidf+xml", body.clone().into_bytes())
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .await
    }

    /// Register and switch the voice channel on; panics unless both succeed.
    pub async fn login(&mut self) {
        let r = self.register().await;
        assert_eq!(code(&r), 200, "REGISTER: {r}");
        let p = self.set_voice(true).await;
        assert_eq!(code(&p), 200, "PUBLISH: {p}");
    }

    /// The next incoming request other than ACK (within `secs`).
    pub async fn next_request(&mut self, secs: u64) -> Option<ServerTransaction> {
        if let Some(tx) = self.stash.pop_front() {
            return Some(tx);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let tx = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()
                .flatten()?;
            if tx.request.method != rsip::Method::Ack {
                return Some(tx);
            }
        }
    }
}
