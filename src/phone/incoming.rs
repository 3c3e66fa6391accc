//! Incoming calls: INVITE → 180 Ringing; answer (200 with the SDP answer), decline (603), the
//! caller's CANCEL (487); and re-INVITEs inside the call (hold by the far end, media changes).

use std::sync::Arc;

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction};

use super::call::{is_hold_direction, sdp_body, Call, CallMedia, Side, SDP_TYPE};
use super::command::PhoneError;
use super::engine::{respond, Engine};
use super::event::{CallState, PhoneEvent};
use super::room::{RoomLink, INFO_PACKAGE};
use super::sip_util;
use super::transactions::Internal;

impl Engine {
    /// A new INVITE (no To tag).
    pub(super) async fn on_invite(&mut self, st: Arc<ServerTransaction>) {
        if self.call.is_some() {
            return respond(&st, 486, "Busy Here", None).await;
        }
        let offer = match sdp_body(&st.request.body) {
            Some(Ok(offer)) => offer,
            Some(Err(e)) => return respond(&st, 400, &format!("Bad SDP: {e}"), None).await,
            // We do not do late offer (offer in our 200, answer in the ACK).
            None => {
                return respond(&st, 488, "Not Acceptable Here (SDP offer required)", None).await
            }
        };
        let rtp = match RtpSession::bind(self.media_ip()) {
            Ok(rtp) => rtp,
            Err(e) => {
                tracing::warn!("binding RTP: {e}");
                return respond(&st, 500, "Server Internal Error", None).await;
            }
        };
        let mut media = CallMedia::new(rtp);
        let neg = match sdp::answer(
            &offer,
            media.local.ip(),
            media.local.port(),
            media.session_id,
            Direction::SendRecv,
        ) {
            Ok(neg) => neg,
            Err(e) => return respond(&st, 488, &format!("Not Acceptable Here ({e})"), None).await,
        };
        media.remote_hold = is_hold_direction(neg.remote_direction);
        let local_tag = message::new_tag();
        let contact = self.contact_uri();
        let Ok(contact_uri) = rsip::Uri::try_from(contact.as_str()) else {
            return respond(&st, 500, "Server Internal Error", None).await;
        };
        let Some(dialog) = Dialog::from_uas(&st.request, &local_tag, &contact_uri, st.peer) else {
            return respond(&st, 400, "Bad Request (no dialog can be formed)", None).await;
        };
        let msg = rsip::SipMessage::Request(st.request.clone());
        let id = message::call_id(&msg).unwrap_or_else(message::new_call_id);
        let from = message::from_uri(&msg)
            .map(|u| u.to_string())
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

        let mut ringing = message::response(&st.request, 180, "Ringing", Some(&local_tag));
        sip_util::push_contact(&mut ringing.headers, &contact);
        if let Err(e) = st.respond(ringing).await {
            tracing::warn!("sending 180: {e}");
        }

        // Watch for the caller's CANCEL until the call is answered or over.
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let watched = st.clone();
        let internal = self.internal.clone();
        let call_id = id.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = watched.cancelled() => { let _ = internal.send(Internal::Cancelled { call: call_id }); }
                _ = stop_rx => {}
            }
        });

        self.call = Some(Call {
            id: id.clone(),
            side: Side::Incoming,
            state: CallState::Ringing,
            peer: st.peer,
            remote_uri: from.clone(),
            local_tag,
            invite_cseq: 0,
            dialog: Some(dialog),
            cancel: Some(stop_tx),
            auth_rounds: 0,
            invite_tx: Some(st),
            pending_answer: Some(neg),
            media,
            reinvite_pending: false,
            room,
        });
        self.emit(PhoneEvent::IncomingCall {
            call: id.clone(),
            from,
            display,
            team,
            reason,
            transferred_by,
            listen_only,
        });
        self.emit(PhoneEvent::CallState {
            call: id,
            state: CallState::Ringing,
            reason: None,
        });
        if self.cfg.auto_answer {
            if let Err(e) = self.answer().await {
                self.emit(PhoneEvent::Error {
                    message: format!("auto-answer: {e}"),
                });
            }
        }
    }

    /// `answer` command.
    pub(super) async fn answer(&mut self) -> Result<(), PhoneError> {
        let contact = self.contact_uri();
        let call = self.ringing_call()?;
        let (Some(st), Some(neg)) = (call.invite_tx.take(), call.pending_answer.take()) else {
            return Err(PhoneError::NotRinging);
        };
        call.cancel = None;
        let mut ok = message::response(&st.request, 200, "OK", Some(&call.local_tag));
        sip_util::push_contact(&mut ok.headers, &contact);
        sip_util::push_header(&mut ok.headers, "Recv-Info", INFO_PACKAGE);
        let body = neg.answer.to_string().into_bytes();
        sip_util::set_body(&mut ok.headers, &mut ok.body, SDP_TYPE, body);
        if let Err(e) = st.respond(ok).await {
            self.end_call(&format!("could not answer: {e}"));
            return Err(PhoneError::Network(e.to_string()));
        }
        self.apply_negotiated(&neg);
        let state = self.connected_state();
        self.set_call_state(state, None);
        self.subscribe_room_soon();
        Ok(())
    }

    /// `decline` command.
    pub(super) async fn decline(&mut self) -> Result<(), PhoneError> {
        let call = self.ringing_call()?;
        let tag = call.local_tag.clone();
        if let Some(st) = call.invite_tx.take() {
            respond(&st, 603, "Decline", Some(&tag)).await;
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

    /// The caller CANCELled (the endpoint already answered the CANCEL itself).
    pub(super) async fn on_cancelled(&mut self, id: &str) {
        let Some(call) = self.call_mut(id) else {
            return;
        };
        let Some(st) = call.invite_tx.take() else {
            return;
        };
        let tag = call.local_tag.clone();
        respond(&st, 487, "Request Terminated", Some(&tag)).await;
        self.end_call("cancelled");
    }

    /// An ACK (to our 2xx; the endpoint stops retransmitting): the call is established on the
    /// far side too, so a room now has us as a party and takes our subscription.
    pub(super) fn on_ack(&mut self, st: &ServerTransaction) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let waiting = self.call.as_ref().is_some_and(|c| {
            c.room.subscribe_at.is_some() && c.dialog.as_ref().is_some_and(|d| d.matches(&msg))
        });
        if waiting {
            self.subscribe_room();
        }
    }

    /// A re-INVITE inside the call: answer its offer (the far end holding or resuming, or moving
    /// its media).
    pub(super) async fn on_reinvite(&mut self, st: Arc<ServerTransaction>) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let contact = self.contact_uri();
        let Some(call) = self.call.as_mut() else {
            return respond(&st, 481, "Call/Transaction Does Not Exist", None).await;
        };
        let Some(dialog) = call.dialog.as_mut().filter(|d| d.matches(&msg)) else {
            return respond(&st, 481, "Call/Transaction Does Not Exist", None).await;
        };
        let cseq = message::cseq(&msg).map(|(n, _)| n).unwrap_or(0);
        if !dialog.accept_remote_cseq(cseq) {
            return respond(&st, 500, "Server Internal Error (CSeq out of order)", None).await;
        }
        if call.reinvite_pending || call.invite_tx.is_some() {
            return respond(&st, 491, "Request Pending", None).await;
        }
        let offer = match sdp_body(&st.request.body) {
            Some(Ok(offer)) => offer,
            Some(Err(e)) => return respond(&st, 400, &format!("Bad SDP: {e}"), None).await,
            None => {
                return respond(&st, 488, "Not Acceptable Here (SDP offer required)", None).await
            }
        };
        let local_direction = call.media.local_direction();
        let mut neg = match sdp::answer(
            &offer,
            call.media.local.ip(),
            call.media.local.port(),
            call.media.session_id,
            local_direction,
        ) {
            Ok(neg) => neg,
            Err(e) => return respond(&st, 488, &format!("Not Acceptable Here ({e})"), None).await,
        };
        call.media.version += 1;
        neg.answer.version = call.media.version;
        call.media.remote_hold = is_hold_direction(neg.remote_direction);
        let mut ok = message::response(&st.request, 200, "OK", None);
        sip_util::push_contact(&mut ok.headers, &contact);
        let body = neg.answer.to_string().into_bytes();
        sip_util::set_body(&mut ok.headers, &mut ok.body, SDP_TYPE, body);
        if let Err(e) = st.respond(ok).await {
            tracing::warn!("answering re-INVITE: {e}");
        }
        self.apply_negotiated(&neg);
        let state = self.connected_state();
        self.set_call_state(state, None);
    }
}
