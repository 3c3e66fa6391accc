//! A scripted SIP peer on agentphone-sip's Endpoint over real UDP/TCP on 127.0.0.1: either a
//! user agent talking to the server under test (register, publish, send requests with the digest
//! dance, take incoming requests), or a scripted server for the phone engine's tests (`scripted`:
//! fast timers, expect a request, reply, send requests to the phone).

use std::net::SocketAddr;
use std::time::Duration;

use agentphone_sip::auth::{Algorithm, Challenge, Credentials};
use agentphone_sip::endpoint::{Endpoint, Peer, ServerTransaction, Timers, TransportKind};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use tokio::sync::mpsc::Receiver;

/// How long a scripted peer waits for the next request.
pub const WAIT: Duration = Duration::from_secs(5);

/// Small SIP timers, so retransmission and timeout paths finish quickly.
pub fn fast_timers() -> Timers {
    Timers {
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(200),
        t4: Duration::from_millis(200),
    }
}

/// A SIP endpoint on an ephemeral loopback port and its incoming requests.
pub struct SipPeer {
    pub ep: Endpoint,
    pub incoming: Receiver<ServerTransaction>,
    /// Where requests built by this peer go (the server under test). A scripted server sends
    /// with `send_to` instead.
    pub server: Peer,
    pub user: String,
    pub password: String,
    /// Preferred digest algorithm when the server offers several.
    pub algorithm: Algorithm,
    /// Requests put aside by a wait for another one (served first by `next_request`).
    pub stash: std::collections::VecDeque<ServerTransaction>,
    cseq: u32,
    /// Leave keepalive OPTIONS unanswered (a phone that hangs).
    pub silent_to_options: bool,
    /// A scripted server without event packages: `expect` refuses SUBSCRIBEs it was not asked
    /// for with 489.
    refuse_subscribe: bool,
}

/// The status code of a response.
pub fn code(resp: &rsip::Response) -> u16 {
    u16::from(resp.status_code.clone())
}

async fn bind(timers: Timers) -> (Endpoint, Receiver<ServerTransaction>) {
    bind_at(std::net::Ipv4Addr::LOCALHOST.into(), timers).await
}

async fn bind_at(ip: std::net::IpAddr, timers: Timers) -> (Endpoint, Receiver<ServerTransaction>) {
    Endpoint::bind(SocketAddr::new(ip, 0), timers)
        .await
        .unwrap_or_else(|e| panic!("bind SIP peer on {ip}: {e}"))
}

impl SipPeer {
    /// A user agent that talks to the server at `server` over UDP.
    pub async fn new(server: SocketAddr, user: &str, password: &str) -> SipPeer {
        SipPeer::with_transport(server, user, password, TransportKind::Udp).await
    }

    /// Agent `user` of the test directories (password `USER-secret`) over UDP, registered and
    /// voice-active.
    pub async fn agent(server: SocketAddr, user: &str) -> SipPeer {
        let mut ua = SipPeer::new(server, user, &format!("{user}-secret")).await;
        ua.login().await;
        ua
    }

    /// A UA that talks to the server over `transport`.
    pub async fn with_transport(
        server: SocketAddr,
        user: &str,
        password: &str,
        transport: TransportKind,
    ) -> SipPeer {
        let (ep, incoming) = bind(Timers::default()).await;
        SipPeer::around(ep, incoming, server, user, password, transport)
    }

    /// A UA on another loopback address (`127.0.0.2`, …: a different source host), over UDP.
    pub async fn at(
        ip: std::net::IpAddr,
        server: SocketAddr,
        user: &str,
        password: &str,
    ) -> SipPeer {
        let (ep, incoming) = bind_at(ip, Timers::default()).await;
        SipPeer::around(ep, incoming, server, user, password, TransportKind::Udp)
    }

    fn around(
        ep: Endpoint,
        incoming: Receiver<ServerTransaction>,
        server: SocketAddr,
        user: &str,
        password: &str,
        transport: TransportKind,
    ) -> SipPeer {
        SipPeer {
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
            silent_to_options: false,
            refuse_subscribe: false,
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
        self.publish(&call_id, "presence", "application/pidf+xml", &body)
            .await
    }

    /// PUBLISH my agent state (`agentphone-agent-state`, JSON such as `{"state": "available"}`).
    pub async fn set_state(&mut self, json: &str) -> rsip::Response {
        let call_id = message::new_call_id();
        let content_type = "application/vnd.agentphone.agent-state+json";
        self.publish(&call_id, "agentphone-agent-state", content_type, json)
            .await
    }

    /// PUBLISH `body` for my own address in event package `event`.
    async fn publish(
        &mut self,
        call_id: &str,
        event: &str,
        content_type: &str,
        body: &str,
    ) -> rsip::Response {
        let aor = self.aor();
        let uri = aor.clone();
        self.send_authenticated("PUBLISH", &uri, |cseq, auth| {
            let mut b = RequestBuilder::new(rsip::Method::Publish, &aor)
                .unwrap_or_else(|e| panic!("{e}"))
                .from(None, &aor, "pubtag")
                .to(None, &aor, None)
                .call_id(call_id)
                .cseq(cseq)
                .header("Event", event)
                .header("Expires", "3600");
            if let Some(a) = auth {
                b = b.header("Authorization", &a);
            }
            b.body(content_type, body.as_bytes().to_vec())
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

    /// The next incoming request other than ACK and keepalive OPTIONS, which are answered 200
    /// (within `secs`).
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
            match tx.request.method {
                rsip::Method::Ack => {}
                // The server's keepalive: a phone answers it (issue 11 §6).
                rsip::Method::Options if !self.silent_to_options => {
                    let ok = message::response(&tx.request, 200, "OK", None);
                    let _ = tx.respond(ok).await;
                }
                _ => return Some(tx),
            }
        }
    }
}

/// The scripted-server side, for the phone engine's tests.
impl SipPeer {
    /// A scripted server with fast timers; the phone under test registers with it.
    pub async fn scripted() -> SipPeer {
        let (ep, incoming) = bind(fast_timers()).await;
        let server = Peer {
            addr: ep.local_addr(),
            transport: TransportKind::Udp,
        };
        SipPeer {
            ep,
            incoming,
            server,
            user: "server".into(),
            password: String::new(),
            algorithm: Algorithm::Sha256,
            stash: Default::default(),
            cseq: 0,
            silent_to_options: false,
            refuse_subscribe: false,
        }
    }

    /// Behave like a server without event packages: SUBSCRIBEs that `expect` was not asked for
    /// are refused with 489.
    pub fn refusing_subscribes(mut self) -> SipPeer {
        self.refuse_subscribe = true;
        self
    }

    /// This peer's SIP address.
    pub fn addr(&self) -> SocketAddr {
        self.ep.local_addr()
    }

    /// The next request; it must be `method`.
    pub async fn expect(&mut self, method: rsip::Method) -> ServerTransaction {
        let st = loop {
            let st = tokio::time::timeout(WAIT, self.incoming.recv())
                .await
                .unwrap_or_else(|_| panic!("no {method} arrived"))
                .unwrap_or_else(|| panic!("peer endpoint closed while waiting for {method}"));
            if self.refuse_subscribe
                && st.request.method() == &rsip::Method::Subscribe
                && method != rsip::Method::Subscribe
            {
                self.reply(&st, 489, "Bad Event", None).await;
                continue;
            }
            if self.refused_history_fetch(&st).await {
                continue;
            }
            break st;
        };
        assert_eq!(
            st.request.method(),
            &method,
            "expected {method}, got {}",
            st.request
        );
        st
    }

    /// Nothing more arrives for a while.
    pub async fn expect_silence(&mut self, during: Duration) {
        let deadline = tokio::time::Instant::now() + during;
        while let Ok(Some(st)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await {
            if !self.refused_history_fetch(&st).await {
                panic!("unexpected request: {}", st.request);
            }
        }
    }

    /// The scripted server has no call history (a phone fetches it after registering and after
    /// calls): its fetch is refused 489, as by a server without the package. True when `st` was one.
    async fn refused_history_fetch(&self, st: &ServerTransaction) -> bool {
        let is_fetch = st.request.method() == &rsip::Method::Subscribe
            && message::header_value(&rsip::SipMessage::Request(st.request.clone()), "Event")
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("agentphone-history"));
        if is_fetch {
            self.reply(st, 489, "Bad Event", None).await;
        }
        is_fetch
    }

    /// Answer with a bare response.
    pub async fn reply(&self, st: &ServerTransaction, code: u16, reason: &str, tag: Option<&str>) {
        st.respond(message::response(&st.request, code, reason, tag))
            .await
            .unwrap_or_else(|e| panic!("respond {code}: {e}"));
    }

    /// A refusal with `Warning: 399 agentphone "text"`, as the server sends them.
    pub async fn refuse(&self, st: &ServerTransaction, code: u16, reason: &str, text: &str) {
        let mut resp = message::response(&st.request, code, reason, None);
        resp.headers.push(rsip::Header::Other(
            "Warning".into(),
            format!("399 agentphone \"{text}\""),
        ));
        st.respond(resp)
            .await
            .unwrap_or_else(|e| panic!("respond {code}: {e}"));
    }

    /// Send `req` to `to` (the phone) and return the final status code.
    pub async fn send_to(&self, req: rsip::Request, to: Peer) -> u16 {
        let resp = tokio::time::timeout(WAIT, self.ep.request(req, to).final_response())
            .await
            .unwrap_or_else(|_| panic!("no final response within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("the phone answers: {e}"));
        code(&resp)
    }
}
