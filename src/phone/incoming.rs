//! Incoming calls: INVITE → 180 Ringing; answer (200 with the SDP answer), decline (603), the
//! caller's CANCEL (487); and re-INVITEs inside the call (hold by the far end, media changes).

use agentphone_protocol::offer as offer_header;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction};

use super::call::{is_hold_direction, sdp_body, Call, CallMedia, Side, SDP_TYPE};
use super::command::PhoneError;
use super::engine::Engine;
use super::event::{CallState, PhoneEvent};
use super::machine::{Incoming, TxId};
use super::room::{RoomLink, INFO_PACKAGE};
use super::sip_util;

impl Engine {
    /// A new INVITE (no To tag).
    pub(super) fn on_invite(&mut self, st: Incoming) {
        if self.call.is_some() {
            return self.respond(&st, 486, "Busy Here", None);
        }
        let offer = match sdp_body(&st.request.body) {
            Some(Ok(offer)) => offer,
            Some(Err(e)) => return self.respond(&st, 400, &format!("Bad SDP: {e}"), None),
            // We do not do late offer (offer in our 200, answer in the ACK).
            None => {
                return self.respond(&st, 488, "Not Acceptable Here (SDP offer required)", None)
            }
        };
        let local = match self.ports.bind(self.media_ip()) {
            Ok(local) => local,
            Err(e) => {
                tracing::warn!("binding RTP: {e}");
                return self.respond(&st, 500, "Server Internal Error", None);
            }
        };
        let mut media = CallMedia::new(local);
        let answered = sdp::answer(
            &offer,
            media.local.ip(),
            media.local.port(),
            media.session_id,
            Direction::SendRecv,
        )
        .map_err(|e| e.to_string())
        .and_then(|mut neg| {
            let keys = self.secure_answer(&offer, &mut neg, None)?;
            Ok((neg, keys))
        });
        let (neg, keys) = match answered {
            Ok(v) => v,
            Err(e) => {
                self.release_port(local);
                return self.respond(&st, 488, &format!("Not Acceptable Here ({e})"), None);
            }
        };
        media.remote_hold = is_hold_direction(neg.remote_direction);
        let local_tag = message::new_tag();
        let contact = self.contact_uri();
        let dialog = rsip::Uri::try_from(contact.as_str())
            .ok()
            .and_then(|uri| Dialog::from_uas(&st.request, &local_tag, &uri, st.peer));
        let Some(dialog) = dialog else {
            self.release_port(local);
            return self.respond(&st, 400, "Bad Request (no dialog can be formed)", None);
        };
        let msg = rsip::SipMessage::Request(st.request.clone());
        let id = message::call_id(&msg).unwrap_or_else(message::new_call_id);
        // uri_text: an IPv6 caller shows as `[::1]`, not the stack's escaped form.
        let from = message::from_uri(&msg)
            .map(|u| message::uri_text(&u))
            .unwrap_or_default();
        let display = message::from_display_name(&msg);
        let call_info = message::header_values(&msg, "Call-Info");
        let team = call_info
            .iter()
            .find_map(|v| sip_util::team_from_call_info(v));
        let listen_only = call_info
            .iter()
            .any(|v| sip_util::is_listen_only_call_info(v));
        let reason = message::header_value(&msg, "Subject")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let transferred_by =
            message::header_value(&msg, "Referred-By").and_then(|v| sip_util::name_addr_user(&v));
        let room = RoomLink::from_message(&msg, &self.cfg.domain());
        let waited_ms = message::header_value(&msg, offer_header::WAITED_HEADER)
            .and_then(|v| offer_header::parse_waited(&v));

        let mut ringing = message::response(&st.request, 180, "Ringing", Some(&local_tag));
        sip_util::push_contact(&mut ringing.headers, &contact);
        self.send_response(&st, ringing);

        self.call = Some(Call {
            id: id.clone(),
            side: Side::Incoming,
            state: CallState::Ringing,
            peer: st.peer,
            remote_uri: from.clone(),
            local_tag,
            invite_cseq: 0,
            dialog: Some(dialog),
            auth_rounds: 0,
            invite_tx: Some(st),
            pending_answer: Some((neg, keys)),
            media,
            reinvite_pending: false,
            room,
            ring_until: Some(self.now + super::call::MAX_RING),
            ack_until: None,
        });
        self.emit(PhoneEvent::IncomingCall {
            call: id.clone(),
            from,
            display,
            team,
            reason,
            transferred_by,
            listen_only,
            waited_ms,
        });
        self.emit(PhoneEvent::CallState {
            call: id,
            state: CallState::Ringing,
            reason: None,
        });
        if self.cfg.auto_answer {
            if let Err(e) = self.answer() {
                self.emit(PhoneEvent::Error {
                    message: format!("auto-answer: {e}"),
                });
            }
        }
    }

    /// `answer` command.
    pub(super) fn answer(&mut self) -> Result<(), PhoneError> {
        let contact = self.contact_uri();
        // RFC 3261 §13.3.1.4: 2xx retransmitted for 64·T1 without an ACK ends the session.
        let ack_until = self.now + self.cfg.sip_timers.t1 * 64;
        let call = self.ringing_call()?;
        let (Some(st), Some((neg, keys))) = (call.invite_tx.take(), call.pending_answer.take())
        else {
            return Err(PhoneError::NotRinging);
        };
        call.ring_until = None;
        call.ack_until = Some(ack_until);
        let mut ok = message::response(&st.request, 200, "OK", Some(&call.local_tag));
        sip_util::push_contact(&mut ok.headers, &contact);
        sip_util::push_header(&mut ok.headers, "Recv-Info", INFO_PACKAGE);
        let body = neg.answer.to_string().into_bytes();
        sip_util::set_body(&mut ok.headers, &mut ok.body, SDP_TYPE, body);
        self.send_response(&st, ok);
        self.apply_negotiated(&neg, keys);
        let state = self.connected_state();
        self.set_call_state(state, None);
        self.subscribe_room_soon();
        Ok(())
    }

    /// `decline` command.
    pub(super) fn decline(&mut self) -> Result<(), PhoneError> {
        let call = self.ringing_call()?;
        let tag = call.local_tag.clone();
        if let Some(st) = call.invite_tx.take() {
            self.respond(&st, 603, "Decline", Some(&tag));
        }
        self.end_call("declined");
        Ok(())
    }

    fn ringing_call(&mut self) -> Result<&mut Call, PhoneError> {
        match self.call.as_mut() {
            Some(c) if c.side == Side::Incoming && c.invite_tx.is_some() => Ok(c),
            _ => Err(PhoneError::NotRinging),
        }
    }

    /// The caller CANCELled the INVITE of transaction `tx` (the endpoint already answered the
    /// CANCEL itself).
    pub(super) fn on_cancelled(&mut self, tx: TxId) {
        let Some(call) = self
            .call
            .as_mut()
            .filter(|c| c.invite_tx.as_ref().is_some_and(|st| st.tx == tx))
        else {
            return;
        };
        let Some(st) = call.invite_tx.take() else {
            return;
        };
        let tag = call.local_tag.clone();
        self.respond(&st, 487, "Request Terminated", Some(&tag));
        self.end_call("cancelled");
    }

    /// An ACK (to our 2xx; the endpoint stops retransmitting): the call is established on the
    /// far side too, so a room now has us as a party and takes our subscription.
    pub(super) fn on_ack(&mut self, st: &Incoming) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let Some(call) = self
            .call
            .as_mut()
            .filter(|c| c.dialog.as_ref().is_some_and(|d| d.matches(&msg)))
        else {
            return;
        };
        call.ack_until = None;
        if call.room.subscribe_at.is_some() {
            self.subscribe_room();
        }
    }

    /// A re-INVITE inside the call: answer its offer (the far end holding or resuming, or moving
    /// its media).
    pub(super) fn on_reinvite(&mut self, st: &Incoming) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let contact = self.contact_uri();
        let Some(call) = self.call.as_mut() else {
            return self.respond(st, 481, "Call/Transaction Does Not Exist", None);
        };
        let Some(dialog) = call.dialog.as_mut().filter(|d| d.matches(&msg)) else {
            return self.respond(st, 481, "Call/Transaction Does Not Exist", None);
        };
        let cseq = message::cseq(&msg).map(|(n, _)| n).unwrap_or(0);
        if !dialog.accept_remote_cseq(cseq) {
            return self.respond(st, 500, "Server Internal Error (CSeq out of order)", None);
        }
        if call.reinvite_pending || call.invite_tx.is_some() {
            return self.respond(st, 491, "Request Pending", None);
        }
        let offer = match sdp_body(&st.request.body) {
            Some(Ok(offer)) => offer,
            Some(Err(e)) => return self.respond(st, 400, &format!("Bad SDP: {e}"), None),
            None => return self.respond(st, 488, "Not Acceptable Here (SDP offer required)", None),
        };
        let local_direction = call.media.local_direction();
        let current = call.media.config.and_then(|c| c.srtp);
        let mut neg = match sdp::answer(
            &offer,
            call.media.local.ip(),
            call.media.local.port(),
            call.media.session_id,
            local_direction,
        ) {
            Ok(neg) => neg,
            Err(e) => return self.respond(st, 488, &format!("Not Acceptable Here ({e})"), None),
        };
        let keys = match self.secure_answer(&offer, &mut neg, current) {
            Ok(keys) => keys,
            Err(e) => return self.respond(st, 488, &format!("Not Acceptable Here ({e})"), None),
        };
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.media.version += 1;
        neg.answer.version = call.media.version;
        call.media.remote_hold = is_hold_direction(neg.remote_direction);
        let mut ok = message::response(&st.request, 200, "OK", None);
        sip_util::push_contact(&mut ok.headers, &contact);
        let body = neg.answer.to_string().into_bytes();
        sip_util::set_body(&mut ok.headers, &mut ok.body, SDP_TYPE, body);
        self.send_response(st, ok);
        self.apply_negotiated(&neg, keys);
        let state = self.connected_state();
        self.set_call_state(state, None);
    }
}
