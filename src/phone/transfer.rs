//! Transfer (protocol.md "Transfer"): a REFER in the call's dialog to the room, its immediate
//! refusal (4xx with a Warning) or acceptance, and the `message/sipfrag` NOTIFYs that report the
//! target's progress.

use agentphone_sip::endpoint::TxError;
use agentphone_sip::rsip;

use super::command::{PhoneError, TransferTarget};
use super::engine::Engine;
use super::event::{CallState, PhoneEvent, TransferState};
use super::machine::Incoming;
use super::sip_util;
use super::subscription::{subscription_state, SubState};
use super::transactions::Purpose;

/// The transfer I asked for, while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferProgress {
    /// Which of my transfers this is (they are numbered from 1 for the engine's life).
    pub id: u64,
    /// The agent or team asked for.
    pub target: String,
    /// The highest sipfrag status reported so far (a late `100` after a `180` is not reported).
    pub last_code: u16,
    /// Its outcome (failed, cancelled, completed) has been reported: nothing more is.
    pub finished: bool,
}

/// The Refer-To value for `target` (protocol.md: team and listen parameters, `?Subject=` reason).
pub fn refer_to(
    target: &TransferTarget,
    domain: &str,
    reason: Option<&str>,
    listen: bool,
) -> String {
    let mut uri = format!("sip:{}@{domain}", target.name());
    if matches!(target, TransferTarget::Team(_)) {
        uri.push_str(";agentphone-target=team");
    }
    if listen {
        uri.push_str(";agentphone-mode=listen");
    }
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        uri.push_str("?Subject=");
        uri.push_str(&sip_util::percent_encode(reason));
    }
    format!("<{uri}>")
}

/// What a sipfrag status means for the transfer. `487 Request Terminated` is the server's word
/// for a cancelled transfer: reported as `cancelled` at once, so it comes before the room's
/// timeline entry for it (the INFO's 200 may be overtaken by the room NOTIFY).
fn progress_state(code: u16) -> TransferState {
    match code {
        100..=179 => TransferState::Trying,
        180..=199 => TransferState::Ringing,
        200..=299 => TransferState::Answered,
        487 => TransferState::Cancelled,
        _ => TransferState::Failed,
    }
}

impl Engine {
    /// `transfer agent|team NAME`: REFER to the room.
    pub(super) fn transfer(
        &mut self,
        target: TransferTarget,
        reason: Option<String>,
        listen_only: bool,
    ) -> Result<(), PhoneError> {
        if !sip_util::is_plain_user(target.name()) {
            return Err(PhoneError::Invalid(format!(
                "'{}' is not an agent or team name",
                target.name()
            )));
        }
        let domain = self.cfg.domain();
        let me = format!("<{}>", self.cfg.aor());
        let call = self.call.as_mut().ok_or(PhoneError::NoCall)?;
        let connected = matches!(
            call.state,
            CallState::Connected | CallState::Held | CallState::RemoteHeld
        );
        let dialog = match call.dialog.as_mut() {
            Some(d) if connected && call.invite_tx.is_none() => d,
            _ => return Err(PhoneError::NotConnected),
        };
        let mut req = dialog.request(rsip::Method::Refer, None);
        let refer_to = refer_to(&target, &domain, reason.as_deref(), listen_only);
        sip_util::push_header(&mut req.headers, "Refer-To", &refer_to);
        sip_util::push_header(&mut req.headers, "Referred-By", &me);
        let peer = dialog.peer;
        let name = target.name().to_string();
        self.transfer_seq += 1;
        call.room.transfer = Some(TransferProgress {
            id: self.transfer_seq,
            target: name.clone(),
            last_code: 0,
            finished: false,
        });
        let purpose = Purpose::Refer {
            call: call.id.clone(),
            target: name,
        };
        self.send_request(req, peer, purpose);
        Ok(())
    }

    /// The answer to a REFER: 2xx (202) → progress follows in NOTIFYs; anything else is a refusal.
    pub(super) fn on_refer_response(
        &mut self,
        call: &str,
        target: &str,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let (code, reason) = match result {
            Ok(resp) if resp.status_code.code() < 300 => return,
            Ok(resp) => (resp.status_code.code(), sip_util::refusal_reason(&resp)),
            Err(e) => (408, format!("the server did not answer ({e})")),
        };
        if let Some(c) = self.call_mut(call) {
            if c.room.transfer.as_ref().is_some_and(|t| t.target == target) {
                c.room.transfer = None;
            }
        }
        self.emit(PhoneEvent::Transfer {
            state: TransferState::Refused,
            code: Some(code),
            reason: Some(reason),
            target: Some(target.to_string()),
        });
    }

    /// A NOTIFY (`Event: refer`, sipfrag) in the call's dialog.
    pub(super) fn on_refer_notify(&mut self, st: &Incoming) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let Some((code, phrase)) = sip_util::sipfrag_status(&st.request.body) else {
            return self.respond(st, 400, "Bad Request (body is not a SIP status line)", None);
        };
        self.respond(st, 200, "OK", None);
        let terminated = subscription_state(&msg) == SubState::Terminated;
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if let Some(cseq) = agentphone_sip::message::cseq(&msg).map(|(n, _)| n) {
            if let Some(d) = call.dialog.as_mut() {
                // Keeps the remote CSeq current for later re-INVITE checks; order is judged by
                // the status itself below.
                let _ = d.accept_remote_cseq(cseq);
            }
        }
        let state = progress_state(code);
        let outcome = code >= 300;
        let progress = call.room.transfer.as_mut();
        let target = progress.as_ref().map(|p| p.target.clone());
        if let Some(p) = progress {
            if p.finished || code < p.last_code {
                return; // already over, or overtaken on the way
            }
            p.last_code = code;
            p.finished = outcome;
        }
        if terminated && !outcome && code < 200 {
            // The server stopped reporting before any outcome: nothing more will come.
            call.room.transfer = None;
        }
        let failed = state == TransferState::Failed;
        self.emit(PhoneEvent::Transfer {
            state,
            code: failed.then_some(code),
            reason: (failed && !phrase.is_empty()).then_some(phrase),
            target,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_carries_team_listen_and_the_encoded_reason() {
        let agent = TransferTarget::Agent("bob".into());
        assert_eq!(
            refer_to(&agent, "h", Some("billing question"), false),
            "<sip:bob@h?Subject=billing%20question>"
        );
        assert_eq!(
            refer_to(&agent, "h", None, true),
            "<sip:bob@h;agentphone-mode=listen>"
        );
        let team = TransferTarget::Team("sales".into());
        assert_eq!(
            refer_to(&team, "h", Some("  "), false),
            "<sip:sales@h;agentphone-target=team>"
        );
    }

    #[test]
    fn sipfrag_codes_map_to_progress() {
        assert_eq!(progress_state(100), TransferState::Trying);
        assert_eq!(progress_state(180), TransferState::Ringing);
        assert_eq!(progress_state(183), TransferState::Ringing);
        assert_eq!(progress_state(200), TransferState::Answered);
        assert_eq!(progress_state(603), TransferState::Failed);
        assert_eq!(progress_state(487), TransferState::Cancelled);
    }
}
