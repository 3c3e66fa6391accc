//! Requests inside a room's dialogs: BYE (the party leaves), re-INVITE (hold / resume / media
//! change, RFC 6337), INFO room commands (`commands.rs`), REFER (`transfer.rs`), and the harmless
//! rest (OPTIONS, UPDATE → 200; others → 405). An agent's request from another address than
//! that leg's peer is refused (T11: nobody controls a call they are not in).

use agentphone_protocol::TimelineKind;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Negotiated, Sdp};

use agentphone_protocol::command::INFO_PACKAGE;

use super::actor::Room;
use super::leg::session_config;
use super::LegId;
use crate::media_engine::MediaCmd;
use crate::sip_reply;

impl Room {
    /// A request inside one of the room's dialogs.
    pub(super) async fn in_dialog(&mut self, leg_id: LegId, tx: ServerTransaction) {
        let method = tx.request.method;
        if method == rsip::Method::Ack {
            return; // ACK to our 2xx: the endpoint stopped retransmitting; nothing else to do.
        }
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            return;
        };
        if leg.role.agent().is_some() && tx.peer.addr != leg.dialog.peer.addr {
            sip_reply::refuse(
                &tx,
                403,
                "Forbidden",
                "This request is not from a party of the call",
            )
            .await;
            return;
        }
        let cseq = message::cseq(&sip_reply::as_message(&tx.request))
            .map(|(n, _)| n)
            .unwrap_or(0);
        if !leg.dialog.accept_remote_cseq(cseq) {
            sip_reply::reply(&tx, 500, "CSeq Out Of Order").await;
            return;
        }
        match method {
            rsip::Method::Bye => {
                sip_reply::reply(&tx, 200, "OK").await;
                self.party_left(leg_id, "hung up", false);
            }
            rsip::Method::Invite => self.reinvite(leg_id, tx).await,
            rsip::Method::Info => self.info(leg_id, tx).await,
            rsip::Method::Refer => self.refer(leg_id, tx).await,
            rsip::Method::Options | rsip::Method::Update => {
                sip_reply::reply(&tx, 200, "OK").await;
            }
            _ => {
                let mut resp = sip_reply::build(&tx, 405, "Method Not Allowed");
                sip_reply::add_header(&mut resp, "Allow", sip_reply::ALLOW);
                sip_reply::send(&tx, resp).await;
            }
        }
    }

    /// Hold / resume / media change (RFC 6337): answer the new offer, reconfigure the stream,
    /// recompute who hears what.
    async fn reinvite(&mut self, leg_id: LegId, tx: ServerTransaction) {
        let media_ip = self.ctx.config.media_ip;
        let session_id = self.session_id;
        let room_uri = self.room_uri.to_string();
        let local_contact = self.ctx.local_contact.to_string();
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            return;
        };
        let mut resp = message::response(&tx.request, 200, "OK", Some(&leg.dialog.local_tag));
        if leg.role.agent().is_some() {
            sip_reply::add_header(&mut resp, "Contact", format!("<{room_uri}>;isfocus"));
            sip_reply::add_header(&mut resp, "Recv-Info", INFO_PACKAGE);
        } else {
            sip_reply::add_header(&mut resp, "Contact", format!("<{local_contact}>"));
        }
        if tx.request.body.is_empty() {
            // Offer-less re-INVITE: our current SDP is the offer; the ACK's answer changes nothing we track.
            sip_reply::set_sdp(&mut resp, &leg.local_sdp);
            sip_reply::send(&tx, resp).await;
            return;
        }
        let negotiated =
            match parse_and_answer(&tx.request.body, media_ip, leg.local_sdp.port, session_id) {
                Ok(n) => n,
                Err(reason) => {
                    sip_reply::reply(&tx, 488, &reason).await;
                    return;
                }
            };
        let Some(config) = session_config(&negotiated) else {
            sip_reply::reply(&tx, 488, "Not Acceptable Here").await;
            return;
        };
        let mut answer = negotiated.answer;
        answer.session_id = session_id;
        answer.version = leg.local_sdp.version + 1;
        leg.local_sdp = answer.clone();
        let was_holding = leg.is_holding();
        // RFC 2543 hold (c=0.0.0.0): the party holds and cannot receive; keep the old stream target.
        let hold_address = config.remote.ip().is_unspecified() || config.remote.port() == 0;
        leg.remote_direction = if hold_address {
            Direction::Inactive
        } else {
            negotiated.remote_direction
        };
        let (holding, sends) = (leg.is_holding(), leg.sends_media());
        let role = leg.role.clone();
        sip_reply::set_sdp(&mut resp, &answer);
        // Switch the media first, so that when the party sees 200 the room already sounds held.
        let room = self.handle.id();
        if !hold_address {
            self.media(MediaCmd::Reconfigure {
                room,
                leg: leg_id,
                config,
            });
        }
        self.media(MediaCmd::WatchTimeout {
            room,
            leg: leg_id,
            on: sends,
        });
        self.apply_modes();
        sip_reply::send(&tx, resp).await;
        if holding != was_holding {
            let name = self.name_of(&role);
            let what = if role.is_customer() {
                "put the agents on hold".to_string()
            } else if self.legs.iter().any(|l| l.role.is_customer()) {
                "put the customer on hold".to_string()
            } else {
                "put the call on hold".to_string()
            };
            if holding {
                self.note(TimelineKind::Held, format!("{name} {what}"));
            } else {
                self.note(TimelineKind::Resumed, format!("{name} resumed"));
            }
        }
    }
}

/// Parse an SDP body and answer it (sendrecv; the answer mirrors a hold).
pub(super) fn parse_and_answer(
    body: &[u8],
    ip: std::net::IpAddr,
    port: u16,
    session_id: u64,
) -> Result<Negotiated, String> {
    let text = std::str::from_utf8(body).map_err(|_| "SDP is not UTF-8".to_string())?;
    let offer = Sdp::parse(text).map_err(|e| format!("Bad SDP: {}", e.0))?;
    agentphone_sip::sdp::answer(
        &offer,
        ip,
        port,
        session_id,
        agentphone_sip::sdp::Direction::SendRecv,
    )
    .map_err(|e| format!("Not Acceptable Here: {}", e.0))
}
