//! Requests inside an established call: BYE both ways, hold/resume re-INVITEs, DTMF.

use agentphone_sip::endpoint::TxError;
use agentphone_sip::rsip;
use agentphone_sip::sdp;

use super::call::{response_sdp, Side, SDP_TYPE};
use super::command::PhoneError;
use super::engine::Engine;
use super::event::{CallState, PhoneEvent};
use super::machine::{Incoming, MediaOrder};
use super::sip_util;
use super::transactions::Purpose;

/// Digits RFC 4733 carries (events 0–15).
const DTMF_DIGITS: &str = "0123456789*#ABCD";

impl Engine {
    /// `hangup` command: CANCEL while ringing out, decline while ringing in, BYE once connected.
    pub(super) fn hangup(&mut self) -> Result<(), PhoneError> {
        let Some(call) = self.call.as_ref() else {
            return Err(PhoneError::NoCall);
        };
        match call.side {
            Side::Outgoing if call.dialog.is_none() => self.cancel_outgoing(),
            Side::Incoming if call.invite_tx.is_some() => return self.decline(),
            _ => self.hangup_connected("hangup"),
        }
        Ok(())
    }

    /// Send BYE for the connected call and end it with `reason`.
    pub(super) fn hangup_connected(&mut self, reason: &str) {
        let in_room = self.in_server_room();
        if let Some(dialog) = self.call.as_mut().and_then(|c| c.dialog.as_mut()) {
            let bye = dialog.request(rsip::Method::Bye, None);
            let peer = dialog.peer;
            self.send_request(bye, peer, Purpose::Hangup { in_room });
        }
        self.end_call(reason);
    }

    /// No RTP for `media_timeout` in a connected call: the other side is gone. Hang up (the BYE
    /// may never be answered; the call ends here anyway).
    pub(super) fn on_media_silent(&mut self) {
        let watched = self.call.as_ref().is_some_and(|c| c.media.watched);
        if watched {
            self.hangup_connected("media timeout");
        }
    }

    /// The far end hung up.
    pub(super) fn on_bye(&mut self, st: &Incoming) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let matches = self
            .call
            .as_ref()
            .and_then(|c| c.dialog.as_ref())
            .is_some_and(|d| d.matches(&msg));
        if !matches {
            return self.respond(st, 481, "Call/Transaction Does Not Exist", None);
        }
        self.respond(st, 200, "OK", None);
        // A BYE while our INVITE is still unanswered (incoming side) also ends it.
        if let Some(invite) = self.call.as_mut().and_then(|c| c.invite_tx.take()) {
            self.respond(&invite, 487, "Request Terminated", None);
        }
        // The server noted my leaving before its BYE: the history has the call.
        let in_room = self.in_server_room();
        self.end_call("remote hangup");
        self.fetch_history_after_call(in_room);
    }

    /// An INFO: in the call's dialog it is the server using the room package towards us (we
    /// announced `Recv-Info`) and is accepted; outside any dialog of ours there is nothing to
    /// inform.
    pub(super) fn on_info(&mut self, st: &Incoming) {
        if self.in_call_dialog(st) {
            self.respond(st, 200, "OK", None)
        } else {
            self.respond(st, 481, "Call/Transaction Does Not Exist", None)
        }
    }

    /// A REFER: the phone never transfers on someone else's request (only the server carries
    /// out transfers, T11).
    pub(super) fn on_refer(&mut self, st: &Incoming) {
        if self.in_call_dialog(st) {
            self.respond(
                st,
                403,
                "Forbidden (this phone does not transfer on request)",
                None,
            )
        } else {
            self.respond(st, 405, "Method Not Allowed", None)
        }
    }

    fn in_call_dialog(&self, st: &Incoming) -> bool {
        let msg = rsip::SipMessage::Request(st.request.clone());
        self.call
            .as_ref()
            .and_then(|c| c.dialog.as_ref())
            .is_some_and(|d| d.matches(&msg))
    }

    /// `hold` (true) / `resume` (false): re-INVITE with sendonly / sendrecv.
    pub(super) fn hold(&mut self, on: bool) -> Result<(), PhoneError> {
        let contact = self.contact_uri();
        let Some(call) = self.call.as_mut() else {
            return Err(PhoneError::NoCall);
        };
        let connected = matches!(
            call.state,
            CallState::Connected | CallState::Held | CallState::RemoteHeld
        );
        if !connected || call.invite_tx.is_some() {
            return Err(PhoneError::NotConnected);
        }
        if call.reinvite_pending {
            return Err(PhoneError::Invalid(
                "a hold/resume is already under way".into(),
            ));
        }
        let Some(dialog) = call.dialog.as_mut() else {
            return Err(PhoneError::NotConnected);
        };
        call.media.local_hold = on;
        let offer = call.media.offer(call.media.local_direction());
        let mut req = dialog.request(
            rsip::Method::Invite,
            Some((SDP_TYPE, offer.to_string().into_bytes())),
        );
        sip_util::push_contact(&mut req.headers, &contact);
        let cseq = dialog.local_cseq;
        let peer = dialog.peer;
        let id = call.id.clone();
        call.reinvite_pending = true;
        self.send_request(
            req,
            peer,
            Purpose::ReInvite {
                call: id,
                hold: on,
                cseq,
            },
        );
        // The microphone stops at once; the state follows the 200.
        self.update_transmit();
        Ok(())
    }

    /// A response to our hold/resume re-INVITE.
    pub(super) fn on_reinvite_response(
        &mut self,
        id: &str,
        hold: bool,
        cseq: u32,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let Some(call) = self.call_mut(id) else {
            return;
        };
        let resp = match result {
            Ok(resp) if resp.status_code.code() < 200 => return,
            Ok(resp) => resp,
            Err(e) => {
                call.reinvite_pending = false;
                call.media.local_hold = !hold;
                self.emit(PhoneEvent::Error {
                    message: format!("{}: re-INVITE not answered ({e})", verb(hold)),
                });
                return self.hangup_connected("timeout");
            }
        };
        call.reinvite_pending = false;
        let code = resp.status_code.code();
        if code >= 300 {
            call.media.local_hold = !hold;
            self.emit(PhoneEvent::Error {
                message: format!("{}: {}", verb(hold), sip_util::status_line(&resp)),
            });
            if code == 481 || code == 408 {
                // The dialog is gone on the far side (RFC 3261 §14.1).
                self.end_call(&sip_util::status_line(&resp));
            } else {
                self.update_transmit();
            }
            return;
        }
        if let Some(dialog) = call.dialog.as_ref() {
            let ack = dialog.ack(cseq, None);
            let peer = dialog.peer;
            self.ack(ack, peer);
        }
        let offer = self.call.as_ref().and_then(|c| c.media.last_offer.clone());
        if let (Some(Ok(answer)), Some(offer)) = (response_sdp(&resp), offer) {
            let accepted = sdp::accept_answer(&offer, &answer)
                .map_err(|e| e.to_string())
                .and_then(|neg| Ok((self.answer_keys(&offer, &answer)?, neg)));
            match accepted {
                Ok((keys, neg)) => self.apply_negotiated(&neg, keys),
                Err(e) => tracing::warn!("re-INVITE answer refused: {e}"),
            }
        }
        let state = self.connected_state();
        self.set_call_state(state, None);
    }

    /// `dtmf DIGITS` command.
    pub(super) fn send_dtmf(&mut self, digits: &str) -> Result<(), PhoneError> {
        let digits: Vec<char> = digits.chars().map(|c| c.to_ascii_uppercase()).collect();
        if digits.is_empty() {
            return Err(PhoneError::Invalid("no DTMF digits".into()));
        }
        if let Some(bad) = digits.iter().find(|c| !DTMF_DIGITS.contains(**c)) {
            return Err(PhoneError::Invalid(format!(
                "'{bad}' is not a DTMF digit (0-9 * # A-D)"
            )));
        }
        let connected = self.call.as_ref().is_some_and(|c| {
            c.media.started
                && matches!(
                    c.state,
                    CallState::Connected | CallState::Held | CallState::RemoteHeld
                )
        });
        if !connected {
            return Err(PhoneError::NotConnected);
        }
        self.media_send(MediaOrder::Dtmf(digits));
        Ok(())
    }
}

fn verb(hold: bool) -> &'static str {
    if hold {
        "hold"
    } else {
        "resume"
    }
}
