//! The test rig: an [`Engine`] driven in virtual time, with a scripted server. No socket, no
//! sleep: inputs go in, effects come out, and the clock moves only when a test says so.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use agentphone_sip::endpoint::{Peer, TransportKind, TxError};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{Direction, Sdp};

use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::config::PhoneConfig;
use crate::phone::engine::Engine;
use crate::phone::event::PhoneEvent;
use crate::phone::machine::{Effect, Incoming, Input, MediaOrder, RtpPorts, Surroundings, TxId};
use crate::phone::transactions::Purpose;

/// The server's address in every test.
pub const SERVER: &str = "127.0.0.1:5060";

/// RTP ports handed out without binding anything.
struct FakePorts {
    next: u16,
}

impl RtpPorts for FakePorts {
    fn bind(&mut self, ip: IpAddr) -> std::io::Result<SocketAddr> {
        self.next += 2;
        Ok(SocketAddr::new(ip, self.next))
    }
}

/// A request the engine sent, with its purpose.
#[derive(Clone, Debug)]
pub struct Sent {
    pub request: rsip::Request,
    pub purpose: Purpose,
}

impl Sent {
    /// A header of the request.
    pub fn header(&self, name: &str) -> Option<String> {
        message::header_value(&rsip::SipMessage::Request(self.request.clone()), name)
    }
}

/// One engine and everything it did since the last look.
pub struct Rig {
    pub engine: Engine,
    pub now: Instant,
    pub effects: Vec<Effect>,
    next_tx: TxId,
}

pub fn server() -> SocketAddr {
    SERVER.parse().expect("constant address")
}

pub fn server_peer() -> Peer {
    Peer {
        addr: server(),
        transport: TransportKind::Udp,
    }
}

impl Rig {
    /// Bob's phone with a server and a password.
    pub fn new() -> Rig {
        Rig::with(|_| {})
    }

    /// Bob's phone, its config changed by `tweak`.
    pub fn with(tweak: impl FnOnce(&mut PhoneConfig)) -> Rig {
        let mut cfg = PhoneConfig {
            server: Some(server()),
            user: "bob".into(),
            password: Some("secret".into()),
            display: Some("Bob Stone".into()),
            ..PhoneConfig::default()
        };
        tweak(&mut cfg);
        let here = Surroundings {
            sip: "127.0.0.1:5070".parse().expect("constant address"),
            media_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let now = Instant::now();
        let mut rig = Rig {
            engine: Engine::new(cfg, here, Box::new(FakePorts { next: 40_000 }), now),
            now,
            effects: Vec::new(),
            next_tx: 0,
        };
        rig.input(Input::Start);
        rig.effects.clear(); // `ready`
        rig
    }

    /// Feed one input at the current time.
    pub fn input(&mut self, input: Input) {
        let out = self.engine.handle(input, self.now);
        self.effects.extend(out);
    }

    /// Run a command; its reply.
    pub fn command(&mut self, cmd: PhoneCommand) -> Result<(), PhoneError> {
        let out = self.engine.handle(Input::Command(cmd), self.now);
        let mut reply = None;
        for effect in out {
            match effect {
                Effect::Reply(r) => reply = Some(r),
                other => self.effects.push(other),
            }
        }
        reply.expect("every command is answered")
    }

    /// Move the clock by `d`, firing every deadline on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(due) = self.engine.next_deadline().filter(|&t| t <= target) {
            self.now = due.max(self.now);
            self.input(Input::Timer);
        }
        self.now = target;
    }

    /// The events emitted since the last look (taken out).
    pub fn events(&mut self) -> Vec<PhoneEvent> {
        let mut events = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Emit(ev) => {
                events.push(ev.clone());
                false
            }
            _ => true,
        });
        events
    }

    /// The names of the events emitted since the last look.
    pub fn event_names(&mut self) -> Vec<&'static str> {
        self.events().iter().map(PhoneEvent::name).collect()
    }

    /// The requests sent since the last look (taken out).
    pub fn sent(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Send {
                request, purpose, ..
            } => {
                sent.push(Sent {
                    request: request.clone(),
                    purpose: purpose.clone(),
                });
                false
            }
            _ => true,
        });
        sent
    }

    /// The one request of `method` sent since the last look; panics when there is not exactly one.
    pub fn sent_one(&mut self, method: rsip::Method) -> Sent {
        let all = self.sent();
        let mut of: Vec<Sent> = all
            .iter()
            .filter(|s| s.request.method == method)
            .cloned()
            .collect();
        assert_eq!(of.len(), 1, "one {method} expected, sent: {all:?}");
        of.remove(0)
    }

    /// The responses sent on transaction `tx` since the last look (codes; taken out).
    pub fn responses(&mut self, tx: TxId) -> Vec<u16> {
        let mut codes = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Respond { tx: t, response } if *t == tx => {
                codes.push(response.status_code.code());
                false
            }
            _ => true,
        });
        codes
    }

    /// The media orders since the last look (taken out).
    pub fn media(&mut self) -> Vec<MediaOrder> {
        let mut orders = Vec::new();
        self.effects.retain(|e| match e {
            Effect::Media(o) => {
                orders.push(o.clone());
                false
            }
            _ => true,
        });
        orders
    }

    /// Whether a CANCEL of an outgoing INVITE was asked for since the last look (taken out).
    pub fn cancelled_invites(&mut self) -> usize {
        let before = self.effects.len();
        self.effects
            .retain(|e| !matches!(e, Effect::CancelInvite { .. }));
        before - self.effects.len()
    }

    /// A request arrives from the server; its transaction id.
    pub fn request(&mut self, request: rsip::Request) -> TxId {
        self.next_tx += 1;
        let tx = self.next_tx;
        self.input(Input::Request(Incoming {
            tx,
            request,
            peer: server_peer(),
        }));
        tx
    }

    /// The server answers `sent` with `code` (To tag `srv`) plus `headers`.
    pub fn reply(&mut self, sent: &Sent, code: u16, headers: &[(&str, &str)]) {
        let resp = response(&sent.request, code, headers, None);
        self.reply_with(sent, resp);
    }

    /// The server answers `sent` with a built response.
    pub fn reply_with(&mut self, sent: &Sent, resp: rsip::Response) {
        self.input(Input::Response {
            purpose: sent.purpose.clone(),
            request: Box::new(sent.request.clone()),
            result: Ok(Box::new(resp)),
        });
    }

    /// Nothing answers `sent`: its transaction times out.
    pub fn time_out(&mut self, sent: &Sent) {
        self.input(Input::Response {
            purpose: sent.purpose.clone(),
            request: Box::new(sent.request.clone()),
            result: Err(TxError::Timeout),
        });
    }
}

/// A response to `req` with To tag `srv`, extra headers and an optional body.
pub fn response(
    req: &rsip::Request,
    code: u16,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> rsip::Response {
    let mut resp = message::response(req, code, message::reason_phrase(code), Some("srv"));
    for (name, value) in headers {
        resp.headers.push(message::make_header(name, value));
    }
    if let Some((content_type, body)) = body {
        crate::phone::sip_util::set_body(
            &mut resp.headers,
            &mut resp.body,
            content_type,
            body.into_bytes(),
        );
    }
    resp
}

/// An SDP offer from the server's media at 127.0.0.1:30000.
pub fn offer(direction: Direction) -> Sdp {
    Sdp::offer(IpAddr::V4(Ipv4Addr::LOCALHOST), 30_000, 7, direction)
}

/// An SDP answer to the offer in `req`'s body.
pub fn answer_to(req: &rsip::Request) -> String {
    let text = String::from_utf8_lossy(&req.body).to_string();
    let offer = Sdp::parse(&text).expect("the request carries an SDP offer");
    agentphone_sip::sdp::answer(
        &offer,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        30_000,
        7,
        Direction::SendRecv,
    )
    .expect("a codec in common")
    .answer
    .to_string()
}

/// An INVITE from the server to bob, of call `call`, from `display <uri>`, with extra headers.
pub fn invite(
    call: &str,
    display: Option<&str>,
    from: &str,
    headers: &[(&str, &str)],
) -> rsip::Request {
    let mut b = RequestBuilder::new(rsip::Method::Invite, "sip:bob@127.0.0.1:5070")
        .expect("constant URI")
        .from(display, from, "caller")
        .to(Some("Bob Stone"), "sip:bob@127.0.0.1", None)
        .call_id(call)
        .cseq(1)
        .contact_with_params("sip:room-7@127.0.0.1:5060", "isfocus")
        .header("Recv-Info", "agentphone-room");
    for (name, value) in headers {
        b = b.header(name, value);
    }
    b.body(
        "application/sdp",
        offer(Direction::SendRecv).to_string().into_bytes(),
    )
    .build()
    .expect("a valid INVITE")
}

/// A request of `method` from the server in the dialog of INVITE `inv` (answered by us with To
/// tag `to_tag`), CSeq `cseq`.
pub fn in_dialog(
    inv: &rsip::Request,
    to_tag: &str,
    method: rsip::Method,
    cseq: u32,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> rsip::Request {
    let msg = rsip::SipMessage::Request(inv.clone());
    let call = message::call_id(&msg).expect("INVITE has a Call-ID");
    let from = message::from_uri(&msg)
        .expect("INVITE has a From")
        .to_string();
    let mut b = RequestBuilder::new(method, "sip:bob@127.0.0.1:5070")
        .expect("constant URI")
        .from(None, &from, "caller")
        .to(None, "sip:bob@127.0.0.1", Some(to_tag))
        .call_id(&call)
        .cseq(cseq)
        .contact_with_params("sip:room-7@127.0.0.1:5060", "isfocus");
    for (name, value) in headers {
        b = b.header(name, value);
    }
    if let Some((ct, text)) = body {
        b = b.body(ct, text.into_bytes());
    }
    b.build().expect("a valid in-dialog request")
}

/// The To tag of the 180/200 bob sent on `tx` (from the effects, not taken out).
pub fn our_tag(rig: &Rig, tx: TxId) -> String {
    rig.effects
        .iter()
        .find_map(|e| match e {
            Effect::Respond { tx: t, response } if *t == tx => {
                message::to_tag(&rsip::SipMessage::Response(response.clone()))
            }
            _ => None,
        })
        .expect("a response with our tag")
}
