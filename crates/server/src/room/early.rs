//! The caller's early answer (protocol.md "Calls"): negotiate its media, add its leg with
//! ringback, send 100 and 183 with our SDP answer. Errors are the status the caller gets.

use agentphone_media::session::RtpSession;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_sip::sdp::{self, Direction, Negotiated, Sdp};

use super::actor::{LegIo, Room};
use super::leg::session_config;
use super::LegId;
use crate::media_engine::{LegMode, MediaCmd};
use crate::sip_reply;

impl Room {
    /// An RTP session configured for an incoming SDP offer, and our answer to it; Err: the
    /// status for the party.
    pub(super) fn answer_offer(
        &self,
        offer: &Sdp,
    ) -> Result<(RtpSession, Negotiated), (u16, String)> {
        let ip = self.ctx.config.media_ip;
        let mut session = self.ctx.rtp_ports.bind(ip).map_err(|e| e.reply())?;
        let negotiated = sdp::answer(
            offer,
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        )
        .map_err(|e| (488, format!("Not Acceptable Here: {}", e.0)))?;
        let config = session_config(&negotiated).ok_or((488, "Not Acceptable Here".to_string()))?;
        session
            .configure(config)
            .map_err(|e| (488, format!("Not Acceptable Here: {e}")))?;
        Ok((session, negotiated))
    }

    /// Answer the caller early as leg `id`: its media direction, or the status for it.
    pub(super) async fn answer_early(&mut self, id: LegId) -> Result<Direction, (u16, String)> {
        let (Some(invite), Some(offer)) = (&self.caller_invite, self.caller_offer.take()) else {
            return Err((500, "Server Internal Error".into()));
        };
        let (session, negotiated) = self.answer_offer(&offer)?;
        let tag = message::new_tag();
        // Agents talk to the room (its URI is our Contact); customers see a plain contact.
        let contact = if self.caller_is_agent {
            self.room_uri.clone()
        } else {
            self.ctx.local_contact.clone()
        };
        let dialog = Dialog::from_uas(&invite.request, &tag, &contact, invite.peer)
            .ok_or((400, "Bad Request (cannot form a dialog)".to_string()))?;
        if !self.ctx.dialogs.bind(&dialog.call_id, self.handle.id(), id) {
            return Err((482, "Loop Detected".into()));
        }
        let mut answer = negotiated.answer;
        answer.session_id = self.session_id;
        self.media(MediaCmd::AddLeg {
            room: self.handle.id(),
            leg: id,
            session: Box::new(session),
            mode: LegMode::Ringback,
            watch_timeout: false,
        });
        sip_reply::send(
            invite,
            message::response(&invite.request, 100, "Trying", None),
        )
        .await;
        let mut early = message::response(&invite.request, 183, "Session Progress", Some(&tag));
        sip_reply::add_header(&mut early, "Contact", format!("<{contact}>"));
        sip_reply::set_sdp(&mut early, &answer);
        sip_reply::send(invite, early).await;
        self.legs.insert(
            id,
            LegIo {
                dialog,
                local_sdp: answer,
                is_agent: self.caller_is_agent,
            },
        );
        self.caller_tag = tag;
        self.caller_leg = id;
        Ok(negotiated.remote_direction)
    }
}
