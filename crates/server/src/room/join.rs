//! An offered party answered 2xx — a candidate of the establishing phase or a transfer target:
//! ACK it, accept its SDP on the session we offered, and add its leg to the room and the media
//! engine. One path for both, so a party joins the same way whoever rang it.

use agentphone_sip::dialog::Dialog;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::actor::{LegIo, OfferIo, Room};
use super::leg::session_config;
use super::machine::Unusable;
use super::LegId;
use crate::ids::OfferId;
use crate::media_engine::{LegMode, MediaCmd};

impl Room {
    /// ACK the 2xx of `offer`, configure its session from the SDP answer, add leg `id`.
    pub(super) async fn join(
        &mut self,
        offer: OfferId,
        id: LegId,
        listen_only: bool,
    ) -> Result<Direction, Unusable> {
        let Some(OfferIo {
            to,
            out,
            session: Some(mut session),
            sdp,
            srtp,
            answer: Some(resp),
            early_bye: _,
        }) = self.offers.remove(&offer)
        else {
            return Err(Unusable::NoDialog);
        };
        let Some(mut dialog) = Dialog::from_uac(&out.request, &resp, out.peer) else {
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
            .and_then(|answer| {
                let n = sdp::accept_answer(&sdp, &answer).map_err(|e| e.0)?;
                Ok((srtp.accept_answer(&sdp, &answer)?, n))
            });
        let configured = negotiated.as_ref().ok().and_then(|(keys, n)| {
            let cfg = session_config(n, *keys)?;
            session.configure(cfg).ok().map(|_| n.remote_direction)
        });
        let Some(remote_direction) = configured else {
            tracing::warn!(party = %to.label(), "answer with unusable SDP: hanging up that leg");
            self.bye(&mut dialog);
            return Err(Unusable::NoAudio);
        };
        let room = self.handle.id();
        self.ctx.dialogs.bind(&dialog.call_id, room, id);
        let watch = matches!(remote_direction, Direction::SendRecv | Direction::SendOnly);
        self.legs.insert(
            id,
            LegIo {
                dialog,
                local_sdp: sdp,
                srtp,
                is_agent: to.agent().is_some(),
            },
        );
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
        Ok(remote_direction)
    }
}
