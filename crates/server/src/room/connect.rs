//! A candidate answered: ACK it, accept its SDP, add its leg to the room, answer the caller 200.

use std::time::Instant;

use agentphone_sip::message;

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_protocol::TimelineKind;

use super::actor::Room;
use super::call_setup::Call;
use super::leg::Role;
use super::offer::{Offer, OfferInput, Step, Unusable};
use super::transfer_state::RingingTarget;
use crate::records::RecordOp;
use crate::sip_reply;

impl Room {
    /// The candidate answered: ACK, accept its SDP, add its leg, answer the caller 200.
    /// Err: the answer is unusable; the status for the caller if this was the last candidate.
    pub(super) async fn connect(
        &mut self,
        call: &Call,
        ringing: RingingTarget,
        resp: &rsip::Response,
    ) -> Result<(), (u16, String)> {
        let RingingTarget {
            offer: mut answered,
            out,
            session,
            sdp: offer,
        } = ringing;
        let answered = &mut answered;
        let agent = answered.to.agent().map(str::to_string);
        let agent = agent.as_deref();
        let label = answered.to.label().to_string();
        let label = label.as_str();
        let role = match agent {
            Some(a) => Role::Agent(a.to_string()),
            None => Role::Customer {
                uri: label.to_string(),
                display: None,
            },
        };
        let joined = self
            .join_answered(&out, resp, session, offer, role, false)
            .await;
        if let Err(unusable) = joined {
            return self.unusable_answer(answered, matches!(unusable, Unusable::NoAudio));
        }
        let room = self.handle.id();
        if let Some(a) = agent {
            self.ctx.directory.answered(a);
        }
        // The caller gets the SDP it already had in the 183: same session, same version.
        let caller_sdp = self
            .legs
            .iter()
            .find(|l| l.id == call.caller_leg)
            .map(|l| l.local_sdp.clone());
        let Some(invite) = &self.caller_invite else {
            return Err((500, "Server Internal Error".into()));
        };
        let mut ok = message::response(&invite.request, 200, "OK", Some(&call.caller_tag));
        if call.caller.agent().is_some() {
            sip_reply::add_header(&mut ok, "Contact", format!("<{}>;isfocus", self.room_uri));
            sip_reply::add_header(&mut ok, "Recv-Info", INFO_PACKAGE);
        } else {
            sip_reply::add_header(&mut ok, "Contact", format!("<{}>", self.ctx.local_contact));
        }
        if let Some(sdp) = &caller_sdp {
            sip_reply::set_sdp(&mut ok, sdp);
        }
        sip_reply::send(invite, ok).await;
        self.ctx.records.write(RecordOp::Answered {
            call: self.record_id.clone(),
            agent: label.to_string(),
        });
        let answered_by = match agent {
            Some(a) => self.agent_name(a),
            None => label.to_string(),
        };
        self.note_in_memory(TimelineKind::Answered, format!("Answered by {answered_by}"));
        tracing::info!(%room, call = %self.record_id, answered_by = %label, "call connected");
        Ok(())
    }

    /// The answer cannot be used: the offer machine says what the caller is told.
    fn unusable_answer(
        &mut self,
        answered: &mut Offer,
        no_audio: bool,
    ) -> Result<(), (u16, String)> {
        match answered.handle(OfferInput::BadAnswer { no_audio }, Instant::now()) {
            Step::Missed(miss) => {
                if let Some(a) = answered.to.agent() {
                    self.ctx.directory.release(a);
                }
                let (code, reason) = miss.caller_status();
                Err((code, reason))
            }
            _ => Err((502, "Bad Gateway".into())),
        }
    }
}
