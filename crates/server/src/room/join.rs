//! An offered party answered 2xx — a candidate of the establishing phase or a transfer target:
//! ACK it, accept its SDP on the session we offered, and add its leg to the room and the media
//! engine. One path for both, so a party joins the same way whoever rang it.

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::sdp::{self, Sdp};

use super::actor::Room;
use super::leg::session_config;
use super::leg::{Leg, Role};
use super::offer::Unusable;
use super::outgoing::Outgoing;
use super::LegId;
use crate::media_engine::{LegMode, MediaCmd};

impl Room {
    /// ACK the 2xx of `out`, configure `session` from its SDP answer to `sdp`, add the leg.
    pub(super) async fn join_answered(
        &mut self,
        out: &Outgoing,
        resp: &rsip::Response,
        mut session: RtpSession,
        sdp: Sdp,
        role: Role,
        listen_only: bool,
    ) -> Result<LegId, Unusable> {
        let Some(mut dialog) = Dialog::from_uac(&out.request, resp, out.peer) else {
            return Err(Unusable::NoDialog);
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
            .and_then(|answer| sdp::accept_answer(&sdp, &answer).map_err(|e| e.0));
        let configured = negotiated.as_ref().ok().and_then(|n| {
            let cfg = session_config(n)?;
            session.configure(cfg).ok().map(|_| n.remote_direction)
        });
        let Some(remote_direction) = configured else {
            tracing::warn!(party = %role.label(), "answer with unusable SDP: hanging up that leg");
            let bye = dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
            return Err(Unusable::NoAudio);
        };
        let id = self.new_leg_id();
        let room = self.handle.id();
        self.ctx.dialogs.bind(&dialog.call_id, room, id);
        let leg = Leg {
            id,
            role,
            dialog,
            local_sdp: sdp,
            remote_direction,
            listen_only,
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
            mode: if listen_only {
                LegMode::ListenOnly
            } else {
                LegMode::Mixed
            },
            watch_timeout: watch,
        });
        Ok(id)
    }
}
