//! A scripted SIP server for the Phone engine tests of issue 3 (room, transfer, directory), built
//! from agentphone-sip's Endpoint over real UDP on 127.0.0.1 with ephemeral ports, and the
//! engine's event stream with waits.
#![allow(dead_code)] // each test file uses its own part

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use agentphone::phone::{CallState, Phone, PhoneConfig, PhoneEvent, PhoneHandle, RoomState};
use agentphone_sip::auth::{Algorithm, Challenge, NonceIssuer};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Endpoint, Peer, ServerTransaction, Timers};
use agentphone_sip::message;
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction, Sdp};
use tokio::sync::mpsc::{Receiver, UnboundedReceiver};

pub const WAIT: Duration = Duration::from_secs(5);

pub fn fast_timers() -> Timers {
    Timers {
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(200),
        t4: Duration::from_millis(200),
    }
}

/// The scripted server.
pub struct SipPeer {
    pub ep: Endpoint,
    rx: Receiver<ServerTransaction>,
}

impl SipPeer {
    pub async fn new() -> SipPeer {
        let (ep, rx) = Endpoint::bind("127.0.0.1:0".parse().unwrap(), fast_timers())
            .await
            .unwrap();
        SipPeer { ep, rx }
    }

    pub fn addr(&self) -> SocketAddr {
        self.ep.local_addr()
    }

    /// The next request; it must be `method`.
    pub async fn expect(&mut self, method: rsip::Method) -> ServerTransaction {
        let st = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {method} arrived"))
            .expect("peer endpoint closed");
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
        if let Ok(Some(st)) = tokio::time::timeout(during, self.rx.recv()).await {
            panic!("unexpected request: {}", st.request);
        }
    }

    pub async fn reply(&self, st: &ServerTransaction, code: u16, reason: &str, tag: Option<&str>) {
        st.respond(message::response(&st.request, code, reason, tag))
            .await
            .unwrap();
    }

    /// A refusal with `Warning: 399 agentphone "text"`, as the server sends them.
    pub async fn refuse(&self, st: &ServerTransaction, code: u16, reason: &str, text: &str) {
        let mut resp = message::response(&st.request, code, reason, None);
        resp.headers.push(rsip::Header::Other(
            "Warning".into(),
            format!("399 agentphone \"{text}\""),
        ));
        st.respond(resp).await.unwrap();
    }

    /// Send `req` to the phone and return the final status code.
    pub async fn send(&self, req: rsip::Request, to: Peer) -> u16 {
        self.ep
            .request(req, to)
            .final_response()
            .await
            .expect("the phone answers")
            .status_code
            .code()
    }
}

pub fn header(req: &rsip::Request, name: &str) -> Option<String> {
    message::header_value(&rsip::SipMessage::Request(req.clone()), name)
}

pub fn to_tag(req: &rsip::Request) -> Option<String> {
    message::to_tag(&rsip::SipMessage::Request(req.clone()))
}

pub fn json_body(req: &rsip::Request) -> serde_json::Value {
    serde_json::from_slice(&req.body).expect("a JSON body")
}

pub async fn phone(
    server: SocketAddr,
    password: Option<&str>,
) -> (PhoneHandle, Events, SocketAddr) {
    let cfg = PhoneConfig {
        server: Some(server),
        user: "alice".into(),
        password: password.map(str::to_string),
        display: Some("Alice".into()),
        sip_timers: fast_timers(),
        ..PhoneConfig::default()
    };
    let (handle, rx) = Phone::start(cfg).await.unwrap();
    let mut events = Events { rx, seen: vec![] };
    let PhoneEvent::Ready { sip } = events.next(|e| matches!(e, PhoneEvent::Ready { .. })).await
    else {
        unreachable!()
    };
    (handle, events, sip.parse().unwrap())
}

pub struct Events {
    rx: UnboundedReceiver<PhoneEvent>,
    pub seen: Vec<PhoneEvent>,
}

impl Events {
    /// The next event matching `pred` (others are kept in `seen`).
    pub async fn next(&mut self, pred: impl Fn(&PhoneEvent) -> bool) -> PhoneEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Ok(None) => panic!("engine stopped; events so far: {:?}", self.seen),
                Err(_) => panic!("event not seen in time; events so far: {:?}", self.seen),
            }
        }
    }

    pub async fn state(&mut self, want: CallState) {
        self.next(|e| matches!(e, PhoneEvent::CallState { state, .. } if *state == want))
            .await;
    }

    pub async fn transfer(&mut self) -> PhoneEvent {
        self.next(|e| matches!(e, PhoneEvent::Transfer { .. }))
            .await
    }

    pub async fn room(&mut self) -> RoomState {
        match self.next(|e| matches!(e, PhoneEvent::Room { .. })).await {
            PhoneEvent::Room { room } => *room,
            _ => unreachable!(),
        }
    }

    pub async fn timeline_kind(&mut self) -> String {
        match self
            .next(|e| matches!(e, PhoneEvent::Timeline { .. }))
            .await
        {
            PhoneEvent::Timeline { kind, .. } => kind.as_str().to_string(),
            _ => unreachable!(),
        }
    }

    pub async fn command_failed(&mut self) -> (String, u16, String) {
        match self
            .next(|e| matches!(e, PhoneEvent::CommandFailed { .. }))
            .await
        {
            PhoneEvent::CommandFailed {
                command,
                code,
                reason,
            } => (command, code, reason),
            _ => unreachable!(),
        }
    }
}

pub fn challenge(issuer: &NonceIssuer) -> Challenge {
    Challenge {
        realm: "agentphone".into(),
        nonce: issuer.issue(),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale: false,
    }
}

pub fn with_challenge(req: &rsip::Request, issuer: &NonceIssuer) -> rsip::Response {
    let mut resp = message::response(req, 401, "Unauthorized", Some("srv"));
    resp.headers.push(rsip::Header::WwwAuthenticate(
        rsip::headers::WwwAuthenticate::from(challenge(issuer).to_header_value()),
    ));
    resp
}

pub fn answer_for(req: &rsip::Request, rtp: &UdpSocket) -> Sdp {
    let offer = Sdp::parse(&String::from_utf8_lossy(&req.body)).expect("an SDP offer");
    let local = rtp.local_addr().unwrap();
    sdp::answer(&offer, local.ip(), local.port(), 42, Direction::SendRecv)
        .expect("offer has a codec we speak")
        .answer
}

/// A 2xx with SDP and the given raw Contact header value (and any extra headers).
pub fn ok_with(
    req: &rsip::Request,
    tag: &str,
    contact: &str,
    extra: &[(&str, &str)],
    sdp: &Sdp,
) -> rsip::Response {
    let mut resp = message::response(req, 200, "OK", Some(tag));
    resp.headers
        .push(rsip::Header::Other("Contact".into(), contact.into()));
    for (n, v) in extra {
        resp.headers
            .push(rsip::Header::Other(n.to_string(), v.to_string()));
    }
    resp.headers
        .push(rsip::Header::ContentType(rsip::headers::ContentType::from(
            "application/sdp".to_string(),
        )));
    resp.body = sdp.to_string().into_bytes();
    resp
}

/// A NOTIFY in `dialog` with `Event`, `Subscription-State` and a body.
pub fn notify(
    dialog: &mut Dialog,
    event: &str,
    state: &str,
    ctype: &str,
    body: &str,
) -> rsip::Request {
    let mut req = dialog.request(
        rsip::Method::Notify,
        Some((ctype, body.as_bytes().to_vec())),
    );
    req.headers
        .push(rsip::Header::Other("Event".into(), event.into()));
    req.headers.push(rsip::Header::Other(
        "Subscription-State".into(),
        state.into(),
    ));
    req
}

/// Accept a SUBSCRIBE: 200 with a tag, Contact and Expires; returns the notifier's dialog.
pub async fn accept_subscribe(server: &SipPeer, st: &ServerTransaction, expires: u32) -> Dialog {
    let tag = message::new_tag();
    let contact = format!("sip:notifier@{}", server.addr());
    let mut ok = message::response(&st.request, 200, "OK", Some(&tag));
    ok.headers.push(rsip::Header::Other(
        "Contact".into(),
        format!("<{contact}>"),
    ));
    ok.headers
        .push(rsip::Header::Other("Expires".into(), expires.to_string()));
    st.respond(ok).await.unwrap();
    let contact_uri = rsip::Uri::try_from(contact.as_str()).unwrap();
    Dialog::from_uas(&st.request, &tag, &contact_uri, st.peer).unwrap()
}
