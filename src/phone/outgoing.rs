//! Outgoing calls: the INVITE (with digest retry on 401/407), provisional responses and early
//! media, the 2xx (dialog + ACK), failures, and CANCEL when the caller gives up.

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, TxError};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction};

use super::call::{response_sdp, Call, CallMedia, Side, SDP_TYPE};
use super::command::PhoneError;
use super::engine::Engine;
use super::event::CallState;
use super::machine::Effect;
use super::room::{RoomLink, INFO_PACKAGE};
use super::sip_util;
use super::transactions::Purpose;

/// Challenges one call answers (the first, and one stale nonce).
const MAX_AUTH_ROUNDS: u32 = 2;

impl Engine {
    /// `dial URI` command.
    pub(super) fn dial(&mut self, uri: &str) -> Result<(), PhoneError> {
        if self.call.is_some() {
            return Err(PhoneError::Busy);
        }
        let uri = uri.trim();
        let peer = match self.cfg.server {
            Some(_) => self.server_peer()?,
            None => Peer {
                addr: sip_util::uri_target(uri).ok_or_else(|| {
                    PhoneError::Invalid(format!(
                        "{uri}: without a server the URI must name an IP address"
                    ))
                })?,
                transport: self.transport_kind(),
            },
        };
        // Validate the URI before binding anything.
        RequestBuilder::new(rsip::Method::Invite, uri)
            .map_err(|e| PhoneError::Invalid(format!("{uri}: {e}")))?;
        let local = self
            .ports
            .bind(self.media_ip())
            .map_err(|e| PhoneError::Network(format!("binding RTP: {e}")))?;
        let call = Call {
            id: message::new_call_id(),
            side: Side::Outgoing,
            state: CallState::Calling,
            peer,
            remote_uri: uri.to_string(),
            local_tag: message::new_tag(),
            invite_cseq: 0,
            dialog: None,
            auth_rounds: 0,
            invite_tx: None,
            pending_answer: None,
            media: CallMedia {
                offer_key: self.new_offer_key(),
                ..CallMedia::new(local)
            },
            reinvite_pending: false,
            room: RoomLink::default(),
            ring_until: None,
            ack_until: None,
        };
        self.call = Some(call);
        if let Err(e) = self.send_invite() {
            self.call = None;
            self.release_port(local);
            return Err(e);
        }
        let id = self.call.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        self.view.dialled(&id, uri, self.now);
        self.emit(super::event::PhoneEvent::CallState {
            call: id,
            state: CallState::Calling,
            reason: None,
        });
        Ok(())
    }

    /// Send (or re-send with credentials) the call's INVITE.
    fn send_invite(&mut self) -> Result<(), PhoneError> {
        let contact = self.contact_uri();
        let aor = self.cfg.aor();
        let display = self.cfg.display.clone();
        let supervise = self
            .call
            .as_ref()
            .and_then(|c| self.supervise_header(&c.remote_uri));
        let Some(call) = self.call.as_mut() else {
            return Err(PhoneError::NoCall);
        };
        call.invite_cseq += 1;
        let offer = call.media.offer(Direction::SendRecv);
        let mut req = RequestBuilder::new(rsip::Method::Invite, &call.remote_uri)
            .map_err(|e| PhoneError::Invalid(format!("{}: {e}", call.remote_uri)))?
            .from(display.as_deref(), &aor, &call.local_tag)
            .to(None, &call.remote_uri, None)
            .call_id(&call.id)
            .cseq(call.invite_cseq)
            .contact(&contact)
            .header("Recv-Info", INFO_PACKAGE);
        if let Some((name, value)) = supervise {
            req = req.header(name, value);
        }
        let mut req = req
            .body(SDP_TYPE, offer.to_string().into_bytes())
            .build()
            .map_err(|e| PhoneError::Invalid(format!("INVITE: {e}")))?;
        let (peer, id, uri) = (call.peer, call.id.clone(), call.remote_uri.clone());
        self.digest.authorize(&mut req.headers, "INVITE", &uri);
        self.send_request(req, peer, Purpose::Invite { call: id });
        Ok(())
    }

    /// A response to the INVITE of call `id`.
    pub(super) fn on_invite_response(
        &mut self,
        id: &str,
        request: &rsip::Request,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let Some(call) = self.call_mut(id) else {
            // The call was given up; a late 2xx still needs ACK and BYE to end the dialog.
            if let Ok(resp) = result {
                if resp.status_code.code() / 100 == 2 {
                    self.ack_and_bye(request, &resp);
                }
            }
            return;
        };
        // A response to an INVITE we already replaced (after a challenge) is of no interest.
        let is_current = message::cseq(&rsip::SipMessage::Request(request.clone()))
            .is_some_and(|(n, _)| n == call.invite_cseq);
        if !is_current {
            return;
        }
        let resp = match result {
            Ok(resp) => resp,
            Err(TxError::Timeout) => return self.end_call("timeout"),
            Err(TxError::Transport(e)) => return self.end_call(&format!("unreachable: {e}")),
        };
        let code = resp.status_code.code();
        let rounds = call.auth_rounds;
        let uri = call.remote_uri.clone();
        let supervising = self.supervise_header(&uri).is_some();
        match code {
            100 => {}
            101..=199 => self.on_provisional(&resp),
            200..=299 => self.on_answered(request, &resp),
            401 | 407 => {
                if rounds < MAX_AUTH_ROUNDS
                    && self.digest.on_challenge(&resp)
                    && (rounds == 0 || self.digest.last_was_stale())
                {
                    if let Some(call) = self.call.as_mut() {
                        call.auth_rounds += 1;
                    }
                    if let Err(e) = self.send_invite() {
                        self.end_call(&format!("INVITE: {e}"));
                    }
                } else {
                    self.end_call(&sip_util::status_line(&resp));
                }
            }
            487 => self.end_call("cancelled"),
            603 => self.end_call("declined"),
            // A supervisor refused by a room: the room's reason ("The call is full: 3 of 3").
            _ if supervising => self.end_call(&sip_util::refusal_reason(&resp)),
            _ => self.end_call(&sip_util::status_line(&resp)),
        }
    }

    fn on_provisional(&mut self, resp: &rsip::Response) {
        let Some(call) = self.call.as_ref() else {
            return;
        };
        match response_sdp(resp) {
            Some(Ok(answer)) => {
                let Some(offer) = call.media.last_offer.clone() else {
                    return;
                };
                let accepted = sdp::accept_answer(&offer, &answer)
                    .map_err(|e| e.to_string())
                    .and_then(|neg| Ok((self.answer_keys(&offer, &answer)?, neg)));
                match accepted {
                    Ok((keys, neg)) => {
                        self.apply_negotiated(&neg, keys);
                        self.set_call_state(CallState::Early, None);
                    }
                    Err(e) => tracing::warn!("early media SDP refused: {e}"),
                }
            }
            Some(Err(e)) => tracing::warn!("early media SDP unreadable: {e}"),
            None => {
                if resp.status_code.code() == 180 && call.state == CallState::Calling {
                    self.set_call_state(CallState::Ringing, None);
                }
            }
        }
    }

    fn on_answered(&mut self, request: &rsip::Request, resp: &rsip::Response) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let Some(dialog) = Dialog::from_uac(request, resp, call.peer) else {
            // Without a dialog we cannot even ACK properly; give up loudly.
            self.end_call("bad 2xx response (no dialog)");
            return;
        };
        let ack = dialog.ack(call.invite_cseq, None);
        self.ack(ack, dialog.peer);
        let domain = self.cfg.domain();
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.dialog = Some(dialog);
        call.room = RoomLink::from_message(&rsip::SipMessage::Response(resp.clone()), &domain);
        match (response_sdp(resp), call.media.last_offer.clone()) {
            (Some(Ok(answer)), Some(offer)) => match sdp::accept_answer(&offer, &answer)
                .map_err(|e| e.to_string())
                .and_then(|neg| Ok((self.answer_keys(&offer, &answer)?, neg)))
            {
                Ok((keys, neg)) => self.apply_negotiated(&neg, keys),
                Err(e) => {
                    self.emit(super::event::PhoneEvent::Error {
                        message: format!("answer SDP refused: {e}"),
                    });
                    return self.hangup_connected("no common codec");
                }
            },
            (Some(Err(e)), _) => {
                self.emit(super::event::PhoneEvent::Error {
                    message: format!("answer SDP unreadable: {e}"),
                });
                return self.hangup_connected("bad SDP");
            }
            // No SDP in the 2xx: early media already negotiated it (or there is no media).
            _ => {}
        }
        let state = self.connected_state();
        self.set_call_state(state, None);
        self.subscribe_room();
    }

    /// ACK and BYE a 2xx that arrived for a call we no longer have.
    fn ack_and_bye(&mut self, request: &rsip::Request, resp: &rsip::Response) {
        let msg = rsip::SipMessage::Request(request.clone());
        let Some((cseq, _)) = message::cseq(&msg) else {
            return;
        };
        let peer = match self.cfg.server {
            Some(_) => match self.server_peer() {
                Ok(p) => p,
                Err(_) => return,
            },
            None => match sip_util::uri_target(&request.uri.to_string()) {
                Some(addr) => Peer {
                    addr,
                    transport: self.transport_kind(),
                },
                None => return,
            },
        };
        let Some(mut dialog) = Dialog::from_uac(request, resp, peer) else {
            return;
        };
        self.ack(dialog.ack(cseq, None), dialog.peer);
        let bye = dialog.request(rsip::Method::Bye, None);
        self.send_request(bye, dialog.peer, Purpose::Fire);
    }

    /// Give up an outgoing call that is not answered yet: CANCEL it.
    pub(super) fn cancel_outgoing(&mut self) {
        if let Some(call) = self.call.as_ref() {
            let call = call.id.clone();
            self.effects.push(Effect::CancelInvite { call });
        }
        self.end_call("hangup");
    }
}
