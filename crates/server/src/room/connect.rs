//! A candidate answered: ACK it, accept its SDP, add its leg to the room, answer the caller 200.

use agentphone_media::session::RtpSession;
use agentphone_protocol::TimelineKind;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_sip::sdp::{self, Sdp};

use super::actor::{session_config, Room};
use super::establish::{Call, Ring};
use super::leg::{Leg, Role};
use super::outgoing::Outgoing;
use crate::media_engine::{LegMode, MediaCmd};
use crate::records::RecordOp;
use crate::sip_reply;

impl Room {
    /// The candidate answered: ACK, accept its SDP, add its leg, answer the caller 200.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn connect(
        &mut self,
        call: &Call<'_>,
        out: &Outgoing,
        resp: &rsip::Response,
        mut session: RtpSession,
        offer: &Sdp,
        agent: Option<&str>,
        label: &str,
    ) -> Ring {
        let Some(mut dialog) = Dialog::from_uac(&out.request, resp, out.peer) else {
            if let Some(a) = agent {
                self.ctx.directory.release(a);
            }
            return Ring::Failed(502, "Bad Gateway (answer without a dialog)".into());
        };
        if let Err(e) = self
            .ctx
            .endpoint
            .ack(dialog.ack(1, None), dialog.peer)
            .await
        {
            tracing::warn!(error = %e, "could not send ACK");
        }
        let negotiated = std::str::from_utf8(&resp.body)
            .map_err(|_| "SDP is not UTF-8".to_string())
            .and_then(|t| Sdp::parse(t).map_err(|e| e.0))
            .and_then(|answer| sdp::accept_answer(offer, &answer).map_err(|e| e.0));
        let configured = negotiated.as_ref().ok().and_then(|n| {
            let cfg = session_config(n)?;
            session.configure(cfg).ok().map(|_| n.remote_direction)
        });
        let Some(remote_direction) = configured else {
            tracing::warn!(%label, "answer with unusable SDP: hanging up that leg");
            let bye = dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
            if let Some(a) = agent {
                self.ctx.directory.release(a);
            }
            return Ring::Failed(488, "Not Acceptable Here".into());
        };
        let id = self.new_leg_id();
        let room = self.handle.id();
        self.ctx.dialogs.bind(&dialog.call_id, room, id);
        let role = match agent {
            Some(a) => Role::Agent(a.to_string()),
            None => Role::Customer {
                uri: label.to_string(),
                display: None,
            },
        };
        let leg = Leg {
            id,
            role,
            dialog,
            local_sdp: offer.clone(),
            remote_direction,
            listen_only: false,
            muted: false,
            level: 0,
        };
        let watch = leg.sends_media();
        self.legs.push(leg);
        self.confirmed.push(id);
        self.media(MediaCmd::AddLeg {
            room,
            leg: id,
            session: Box::new(session),
            mode: LegMode::Mixed,
            watch_timeout: watch,
        });
        if let Some(a) = agent {
            self.ctx.directory.answered(a);
        }
        // The caller gets the SDP it already had in the 183: same session, same version.
        let caller_sdp = self
            .legs
            .iter()
            .find(|l| l.id == call.caller_leg)
            .map(|l| l.local_sdp.clone());
        let mut ok = message::response(&call.invite.request, 200, "OK", Some(&call.caller_tag));
        if call.caller.agent().is_some() {
            sip_reply::add_header(&mut ok, "Contact", format!("<{}>;isfocus", self.room_uri));
            sip_reply::add_header(&mut ok, "Recv-Info", super::commands::INFO_PACKAGE);
        } else {
            sip_reply::add_header(&mut ok, "Contact", format!("<{}>", self.ctx.local_contact));
        }
        if let Some(sdp) = &caller_sdp {
            sip_reply::set_sdp(&mut ok, sdp);
        }
        sip_reply::send(call.invite, ok).await;
        self.ctx.records.write(RecordOp::Answered {
            call: self.record_id.clone(),
            agent: label.to_string(),
        });
        let answered_by = match agent {
            Some(a) => self.agent_name(a),
            None => label.to_string(),
        };
        self.note_in_memory(TimelineKind::Answered, format!("Answered by {answered_by}"));
        tracing::info!(room, call = %self.record_id, answered_by = %label, "call connected");
        Ring::Answered
    }
}
