//! The engine as a sans-IO machine: [`Engine::handle`] takes one [`Input`] (a command, a request
//! or response that arrived, a timer, a media report) at a given time and returns the
//! [`Effect`]s the driver must carry out (send, respond, ACK, cancel, media orders, events, the
//! command's reply). Nothing here touches a socket, a clock or a thread: time is a parameter and
//! the RTP ports come from [`RtpPorts`], so every rule runs in a table test in virtual time.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use agentphone_media::session::SessionConfig;
use agentphone_sip::endpoint::{Peer, TxError};
use agentphone_sip::rsip;

use super::command::{PhoneCommand, PhoneError};
use super::event::PhoneEvent;
use super::media::MediaEvent;
use super::transactions::Purpose;

/// The driver's number for one incoming request (its server transaction).
pub type TxId = u64;

/// An incoming request as the machine sees it: the driver keeps the transaction.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// Which transaction to respond on.
    pub tx: TxId,
    /// The request.
    pub request: rsip::Request,
    /// Who sent it.
    pub peer: Peer,
}

/// Everything that can happen to the engine.
#[derive(Debug)]
pub enum Input {
    /// The engine starts (the `ready` event).
    Start,
    /// A command from the UI or a script; answered with one [`Effect::Reply`].
    Command(PhoneCommand),
    /// A new request (in its server transaction).
    Request(Incoming),
    /// A response (provisional or final) to a request we sent, or why there is none.
    Response {
        /// What the request was for.
        purpose: Purpose,
        /// The request as sent.
        request: Box<rsip::Request>,
        /// The response, or the transaction's failure.
        result: Result<Box<rsip::Response>, TxError>,
    },
    /// The caller CANCELled the INVITE of transaction `tx` (the CANCEL is already answered).
    Cancelled {
        /// The INVITE's transaction.
        tx: TxId,
    },
    /// A deadline of [`Engine::next_deadline`] has come.
    Timer,
    /// Something from the media thread.
    Media(MediaEvent),
    /// The SIP endpoint stopped delivering requests.
    EndpointClosed,
}

/// What the media thread is told.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaOrder {
    /// A call's media begins on the RTP port bound at `local`.
    Start {
        /// The port [`RtpPorts::bind`] gave.
        local: SocketAddr,
        /// Remote address and codec.
        config: SessionConfig,
    },
    /// The remote side changed (re-INVITE, 2xx after early media).
    Configure(SessionConfig),
    /// Send the microphone (true) or silence.
    Transmit(bool),
    /// Report silence after this long (None = do not watch).
    Watch(Option<Duration>),
    /// Queue DTMF digits.
    Dtmf(Vec<char>),
    /// The call's media ends.
    Stop,
    /// A port bound for a call that ended before its media started.
    Release(SocketAddr),
}

/// One thing the driver must do, in order.
#[derive(Debug)]
pub enum Effect {
    /// Respond on an incoming request's transaction.
    Respond {
        /// The transaction.
        tx: TxId,
        /// The response.
        response: rsip::Response,
    },
    /// Start a client transaction; its responses come back as [`Input::Response`].
    Send {
        /// The request.
        request: rsip::Request,
        /// Where to.
        peer: Peer,
        /// What it is for (comes back with each response).
        purpose: Purpose,
    },
    /// CANCEL the pending INVITE of call `call` (sent with [`Purpose::Invite`]).
    CancelInvite {
        /// Call-ID.
        call: String,
    },
    /// Send an ACK for a 2xx (no transaction).
    Ack {
        /// The ACK.
        request: rsip::Request,
        /// Where to.
        peer: Peer,
    },
    /// An order to the media thread.
    Media(MediaOrder),
    /// An event for the UI.
    Emit(PhoneEvent),
    /// The answer to the [`Input::Command`] being handled.
    Reply(Result<(), PhoneError>),
    /// The engine is done (the endpoint closed).
    Stop,
}

/// Local RTP ports for calls. The driver binds real sockets; tests hand out addresses.
pub trait RtpPorts: Send {
    /// Reserve an RTP port on `ip` for a new call.
    fn bind(&mut self, ip: IpAddr) -> std::io::Result<SocketAddr>;
}

/// What the machine knows of its surroundings at start.
#[derive(Clone, Copy, Debug)]
pub struct Surroundings {
    /// Where our SIP endpoint listens.
    pub sip: SocketAddr,
    /// The IP we announce and bind RTP to.
    pub media_ip: IpAddr,
}

impl super::engine::Engine {
    /// Handle one input at `now`; the effects, in the order the driver must carry them out.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        self.now = now;
        match input {
            Input::Start => self.emit(PhoneEvent::Ready {
                sip: self.here.sip.to_string(),
            }),
            Input::Command(cmd) => {
                let result = self.handle_command(cmd);
                self.effects.push(Effect::Reply(result));
            }
            Input::Request(req) => self.handle_request(req),
            Input::Response {
                purpose,
                request,
                result,
            } => self.handle_response(purpose, &request, result),
            Input::Cancelled { tx } => self.on_cancelled(tx),
            Input::Timer => self.on_timer(now),
            Input::Media(ev) => self.on_media(ev),
            Input::EndpointClosed => {
                self.emit(PhoneEvent::Error {
                    message: "SIP endpoint closed".into(),
                });
                self.effects.push(Effect::Stop);
            }
        }
        std::mem::take(&mut self.effects)
    }

    /// Respond to `st` without a body.
    pub(super) fn respond(&mut self, st: &Incoming, code: u16, reason: &str, to_tag: Option<&str>) {
        let response = agentphone_sip::message::response(&st.request, code, reason, to_tag);
        self.send_response(st, response);
    }

    /// Respond to `st` with a built response.
    pub(super) fn send_response(&mut self, st: &Incoming, response: rsip::Response) {
        self.effects.push(Effect::Respond {
            tx: st.tx,
            response,
        });
    }

    /// Send an ACK.
    pub(super) fn ack(&mut self, request: rsip::Request, peer: Peer) {
        self.effects.push(Effect::Ack { request, peer });
    }

    /// Tell the media thread.
    pub(super) fn media_send(&mut self, order: MediaOrder) {
        self.effects.push(Effect::Media(order));
    }
}
