//! One call: its dialog, where it stands, and its media negotiation. The SIP exchanges that move
//! it along live in `outgoing`, `incoming` and `in_dialog`; this file holds the state and the
//! transitions they share (state changes, media start/update, the end).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::session::SessionConfig;
use agentphone_media::srtp::{SrtpKey, SrtpKeys};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::Peer;
use agentphone_sip::rsip;
use agentphone_sip::sdp::{Direction, Negotiated, Sdp};

use super::engine::Engine;
use super::event::{CallState, PhoneEvent};
use super::machine::{Incoming, MediaOrder};
use super::room::RoomLink;

/// Who started the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// We sent the INVITE.
    Outgoing,
    /// We received it.
    Incoming,
}

/// One call's state.
pub struct Call {
    /// Call-ID; the `call` field of events.
    pub id: String,
    /// Who started it.
    pub side: Side,
    /// Where it stands.
    pub state: CallState,
    /// Where our requests for this call go.
    pub peer: Peer,
    /// The far end's URI (what was dialled, or the caller).
    pub remote_uri: String,
    /// Our From/To tag.
    pub local_tag: String,
    /// Outgoing: CSeq of the current INVITE.
    pub invite_cseq: u32,
    /// The dialog, once established (2xx, or our 180 for an incoming call).
    pub dialog: Option<Dialog>,
    /// Outgoing: challenges answered for the INVITE.
    pub auth_rounds: u32,
    /// Incoming: the INVITE not yet answered.
    pub invite_tx: Option<Incoming>,
    /// Incoming: the negotiated answer for our 200.
    pub pending_answer: Option<(Negotiated, Option<SrtpKeys>)>,
    /// Media negotiation and the RTP session before it is handed to the media thread.
    pub media: CallMedia,
    /// An offer of ours is outstanding (initial INVITE or re-INVITE).
    pub reinvite_pending: bool,
    /// The server room this call is, if it is one (subscription, held by me, transfer).
    pub room: RoomLink,
    /// Incoming, ringing: when we give up ringing (nobody rings forever, even when the caller's
    /// CANCEL never comes because the server vanished).
    pub ring_until: Option<Instant>,
    /// Incoming, answered: our 2xx must be ACKed by then, else the caller is gone.
    pub ack_until: Option<Instant>,
}

/// An incoming call rings at most this long (the server's ring and queue timeouts are shorter:
/// this only ends a ring whose CANCEL can no longer come).
pub const MAX_RING: Duration = Duration::from_secs(60);

/// The media side of a call.
pub struct CallMedia {
    /// The media thread has the session.
    pub started: bool,
    /// Our RTP address (announced in SDP).
    pub local: SocketAddr,
    /// o= session id and version of our SDP.
    pub session_id: u64,
    /// Incremented for every new SDP we send.
    pub version: u64,
    /// Our last offer, to read the answer against.
    pub last_offer: Option<Sdp>,
    /// What the media thread was told last.
    pub config: Option<SessionConfig>,
    /// I hold the call.
    pub local_hold: bool,
    /// The far end holds me (its offer was sendonly/inactive).
    pub remote_hold: bool,
    /// The media thread watches this call for silence (RTP timeout).
    pub watched: bool,
    /// Our SRTP key, put in every offer of ours (None: plain RTP offers).
    pub offer_key: Option<SrtpKey>,
}

impl CallMedia {
    /// Media for a call whose RTP port is bound at `local`.
    pub fn new(local: SocketAddr) -> Self {
        CallMedia {
            started: false,
            local,
            session_id: rand::random::<u32>().into(),
            version: 1,
            last_offer: None,
            config: None,
            local_hold: false,
            remote_hold: false,
            watched: false,
            offer_key: None,
        }
    }

    /// A new offer of ours with the next version.
    pub fn offer(&mut self, direction: Direction) -> Sdp {
        self.version += 1;
        let mut sdp = Sdp::offer(
            self.local.ip(),
            self.local.port(),
            self.session_id,
            direction,
        );
        sdp.version = self.version;
        if let Some(key) = &self.offer_key {
            agentphone_server::security::srtp::secure_offer_with(&mut sdp, key);
        }
        self.last_offer = Some(sdp.clone());
        sdp
    }

    /// The direction we offer or answer with.
    pub fn local_direction(&self) -> Direction {
        if self.local_hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        }
    }
}

/// The RTP session settings of a negotiation; None when the codec is not one we speak or the
/// remote address is a hold address (0.0.0.0 / port 0).
pub fn session_config(neg: &Negotiated, srtp: Option<SrtpKeys>) -> Option<SessionConfig> {
    if neg.remote_addr.ip().is_unspecified() || neg.remote_addr.port() == 0 {
        return None;
    }
    let codec = CodecKind::from_name(&neg.codec.name)?;
    Some(SessionConfig {
        remote: neg.remote_addr,
        codec,
        pt: neg.codec.pt,
        telephone_event_pt: neg.telephone_event.as_ref().map(|f| f.pt),
        rtcp_mux: neg.answer.rtcp_mux,
        srtp,
    })
}

/// Whether a remote direction means the far end is not sending to us (it holds the call).
pub fn is_hold_direction(d: Direction) -> bool {
    matches!(d, Direction::SendOnly | Direction::Inactive)
}

impl Engine {
    /// Move the call to `state` and tell the UI (no event when nothing changed).
    pub(super) fn set_call_state(&mut self, state: CallState, reason: Option<String>) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.state == state && reason.is_none() {
            return;
        }
        call.state = state;
        let id = call.id.clone();
        self.emit(PhoneEvent::CallState {
            call: id,
            state,
            reason,
        });
        self.update_transmit();
    }

    /// The state a connected call shows, from its hold flags.
    pub(super) fn connected_state(&self) -> CallState {
        match self.call.as_ref() {
            Some(c) if c.media.local_hold || c.room.held_by_me => CallState::Held,
            Some(c) if c.media.remote_hold => CallState::RemoteHeld,
            _ => CallState::Connected,
        }
    }

    /// Start or update the call's media after an offer/answer.
    pub(super) fn apply_negotiated(&mut self, neg: &Negotiated, srtp: Option<SrtpKeys>) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if let Some(keys) = srtp {
            // Later offers of ours (hold, resume) keep the key the stream uses.
            call.media.offer_key = Some(keys.local);
        }
        let Some(cfg) = session_config(neg, srtp) else {
            // A hold address (or a codec we do not speak): keep what we have.
            return;
        };
        let order = if !call.media.started {
            call.media.started = true;
            call.media.config = Some(cfg);
            Some(MediaOrder::Start {
                local: call.media.local,
                config: cfg,
            })
        } else if call.media.config != Some(cfg) {
            call.media.config = Some(cfg);
            Some(MediaOrder::Configure(cfg))
        } else {
            None
        };
        if let Some(order) = order {
            self.media_send(order);
        }
        self.update_transmit();
    }

    /// Tell the media thread whether the microphone goes out: not when muted, on hold (either
    /// way) or before the call is answered. Holding the customer of a room (INFO) is no hold of
    /// my audio: I keep talking to the other agents.
    /// Also arms the liveness watch while the call is connected and nobody holds it.
    pub(super) fn update_transmit(&mut self) {
        let unheld = self
            .call
            .as_ref()
            .is_some_and(|c| !c.media.local_hold && !c.media.remote_hold);
        let state = self.call.as_ref().map(|c| c.state);
        let room_held = self.call.as_ref().is_some_and(|c| c.room.held_by_me);
        let watch = unheld && state == Some(CallState::Connected);
        let talking = watch || (unheld && room_held && state == Some(CallState::Held));
        self.media_send(MediaOrder::Transmit(talking && !self.muted));
        if let Some(call) = self.call.as_mut() {
            if call.media.watched != watch {
                call.media.watched = watch;
                let limit = watch.then_some(self.cfg.media_timeout);
                self.media_send(MediaOrder::Watch(limit));
            }
        }
    }

    /// The call is over: stop media, forget it, tell the UI why.
    pub(super) fn end_call(&mut self, reason: &str) {
        self.unsubscribe_room();
        let Some(call) = self.call.take() else {
            return;
        };
        if call.media.started {
            self.media_send(MediaOrder::Stop);
        } else {
            self.release_port(call.media.local);
        }
        self.muted = false;
        self.media_send(MediaOrder::Transmit(false));
        self.emit(PhoneEvent::CallState {
            call: call.id,
            state: CallState::Ended,
            reason: Some(reason.to_string()),
        });
    }

    /// When the ring or the wait for the ACK of the call runs out.
    pub(super) fn call_deadline(&self) -> Option<Instant> {
        let call = self.call.as_ref()?;
        call.ring_until.or(call.ack_until)
    }

    /// The ring or the wait for the ACK ran out: the caller is gone.
    pub(super) fn on_call_timer(&mut self, now: Instant) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.ring_until.is_some_and(|t| t <= now) {
            call.ring_until = None;
            let tag = call.local_tag.clone();
            if let Some(st) = call.invite_tx.take() {
                self.respond(&st, 480, "Temporarily Unavailable", Some(&tag));
            }
            return self.end_call("not answered");
        }
        if call.ack_until.is_some_and(|t| t <= now) {
            call.ack_until = None;
            self.hangup_connected("the caller did not confirm the answer (no ACK)");
        }
    }

    /// The server is unreachable: a call it was ringing here can no longer be answered (its
    /// CANCEL would never come either), so the popup goes.
    pub(super) fn drop_call_ringing_from(&mut self, server: SocketAddr) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.peer.addr != server {
            return;
        }
        let tag = call.local_tag.clone();
        let Some(st) = call.invite_tx.take() else {
            return;
        };
        self.respond(&st, 480, "Temporarily Unavailable", Some(&tag));
        self.end_call("the server is unreachable");
    }

    /// The call, if `id` is it.
    pub(super) fn call_mut(&mut self, id: &str) -> Option<&mut Call> {
        self.call.as_mut().filter(|c| c.id == id)
    }
}

/// The SDP body of a message, parsed; None when there is none or it does not parse.
pub fn sdp_body(body: &[u8]) -> Option<Result<Sdp, String>> {
    if body.is_empty() {
        return None;
    }
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(_) => return Some(Err("SDP is not UTF-8".into())),
    };
    Some(Sdp::parse(text).map_err(|e| e.to_string()))
}

/// The Content-Type we put on SDP bodies.
pub const SDP_TYPE: &str = "application/sdp";

/// A response's body as SDP when it has one.
pub fn response_sdp(resp: &rsip::Response) -> Option<Result<Sdp, String>> {
    sdp_body(&resp.body)
}
