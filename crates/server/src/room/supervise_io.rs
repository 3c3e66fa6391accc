//! The driver's side of a supervisor joining (SPEC V2): answer their INVITE — RTP session, SDP
//! answer, `200 OK` with the room as Contact — and add their leg, listening until the machine
//! sets its mode. Errors are the status the supervisor gets.

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::{LegIo, Room};
use super::machine::TxId;
use super::LegId;
use crate::media_engine::{LegMode, MediaCmd};
use crate::sip_reply;

impl Room {
    /// Answer the supervisor's INVITE kept as `id` as leg `leg`: its media direction, or Err
    /// after refusing the INVITE.
    pub(super) async fn accept_supervisor(
        &mut self,
        id: TxId,
        leg: LegId,
    ) -> Result<Direction, ()> {
        let Some(pending) = self.txs.remove(&id) else {
            return Err(());
        };
        let tx = pending.tx;
        match self.answer_supervisor(&tx, leg).await {
            Ok(direction) => Ok(direction),
            Err((code, reason)) => {
                sip_reply::reply(&tx, code, &reason).await;
                Err(())
            }
        }
    }

    async fn answer_supervisor(
        &mut self,
        tx: &ServerTransaction,
        id: LegId,
    ) -> Result<Direction, (u16, String)> {
        let offer = std::str::from_utf8(&tx.request.body)
            .ok()
            .and_then(|t| Sdp::parse(t).ok())
            .ok_or((400, "Bad Request (bad SDP)".to_string()))?;
        let supervisor = message::from_uri(&rsip::SipMessage::Request(tx.request.clone()))
            .and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default();
        let srtp =
            super::leg::srtp_rules(&self.ctx, self.ctx.config.agent_srtp(&supervisor), tx.peer);
        let (session, negotiated) = self.answer_offer(&offer, &srtp)?;
        let tag = message::new_tag();
        let dialog = Dialog::from_uas(&tx.request, &tag, &self.room_uri, tx.peer)
            .ok_or((400, "Bad Request (cannot form a dialog)".to_string()))?;
        let room = self.handle.id();
        if !self.ctx.dialogs.bind(&dialog.call_id, room, id) {
            return Err((482, "Loop Detected".into()));
        }
        let mut answer = negotiated.answer;
        answer.session_id = self.session_id;
        let watch = matches!(
            negotiated.remote_direction,
            Direction::SendRecv | Direction::SendOnly
        );
        self.media(MediaCmd::AddLeg {
            room,
            leg: id,
            session: Box::new(session),
            mode: LegMode::ListenOnly,
            watch_timeout: watch,
        });
        let mut ok = message::response(&tx.request, 200, "OK", Some(&tag));
        sip_reply::add_header(&mut ok, "Contact", format!("<{}>;isfocus", self.room_uri));
        sip_reply::add_header(&mut ok, "Recv-Info", INFO_PACKAGE);
        sip_reply::set_sdp(&mut ok, &answer);
        sip_reply::send(tx, ok).await;
        self.legs.insert(
            id,
            LegIo {
                dialog,
                local_sdp: answer,
                srtp,
                is_agent: true,
            },
        );
        Ok(negotiated.remote_direction)
    }
}
