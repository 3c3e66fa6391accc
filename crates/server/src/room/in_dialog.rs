//! Requests inside a room's dialogs, as the driver sees them: the dialog checks (a leg we know,
//! an agent's request from that leg's peer — T11: nobody controls a call they are not in — and
//! the CSeq in order), then the request as a [`Request`] for the machine. A re-INVITE the
//! machine lets through is answered here (RFC 6337 hold / resume / media change).

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_protocol::RoomCommand;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Negotiated, Sdp};

use super::actor::Room;
use super::leg::session_config;
use super::machine::{Event, Request, TxId};
use super::LegId;
use crate::media_engine::MediaCmd;
use crate::sip_reply;

impl Room {
    /// A request inside one of the room's dialogs: the event for the machine, if any.
    pub(super) async fn in_dialog(
        &mut self,
        leg_id: LegId,
        tx: ServerTransaction,
    ) -> Option<Event> {
        let method = tx.request.method;
        if method == rsip::Method::Ack {
            // ACK to our 2xx: the endpoint stopped retransmitting; the caller is there.
            if leg_id == self.caller_leg {
                self.caller_ack_due = None;
            }
            return None;
        }
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            return None;
        };
        if !super::dialog_guard::admits(&self.ctx, &leg.dialog, leg.is_agent, &tx) {
            sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            return None;
        }
        let msg = sip_reply::as_message(&tx.request);
        let cseq = message::cseq(&msg).map(|(n, _)| n).unwrap_or(0);
        if !leg.dialog.accept_remote_cseq(cseq) {
            sip_reply::reply(&tx, 500, "CSeq Out Of Order").await;
            return None;
        }
        let req = match method {
            rsip::Method::Bye => Request::Bye,
            rsip::Method::Invite => Request::Reinvite,
            rsip::Method::Info => {
                let package = message::header_value(&msg, "Info-Package").unwrap_or_default();
                Request::Info(if package.trim().eq_ignore_ascii_case(INFO_PACKAGE) {
                    RoomCommand::parse(&tx.request.body)
                        .map(Some)
                        .map_err(|why| why.to_string())
                } else {
                    Ok(None)
                })
            }
            rsip::Method::Refer => Request::Refer(message::header_value(&msg, "Refer-To")),
            rsip::Method::Options | rsip::Method::Update => Request::Harmless,
            _ => Request::Other,
        };
        let tx = self.keep_tx(tx, None);
        Some(Event::Request {
            tx,
            leg: leg_id,
            req,
        })
    }

    /// Answer a re-INVITE's offer and reconfigure the stream; the machine then decides who hears
    /// what and sends the 200 (kept with the transaction). None: answered here (no offer: our
    /// current SDP; an offer we cannot answer: 488).
    pub(super) async fn answer_reinvite(&mut self, id: TxId, leg_id: LegId) -> Option<Event> {
        let media_ip = self.ctx.config.media_ip;
        let session_id = self.session_id;
        let room_uri = self.room_uri.to_string();
        let local_contact = self.ctx.contact_for(
            self.legs
                .get(&leg_id)
                .map_or(agentphone_sip::endpoint::TransportKind::Udp, |l| {
                    l.dialog.peer.transport
                }),
        );
        let pending = self.txs.get_mut(&id)?;
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            let p = self.txs.remove(&id)?;
            sip_reply::reply(&p.tx, 481, "Call/Transaction Does Not Exist").await;
            return None;
        };
        let tx = &pending.tx;
        let mut resp = message::response(&tx.request, 200, "OK", Some(&leg.dialog.local_tag));
        if leg.is_agent {
            sip_reply::add_header(&mut resp, "Contact", format!("<{room_uri}>;isfocus"));
            sip_reply::add_header(&mut resp, "Recv-Info", INFO_PACKAGE);
        } else {
            sip_reply::add_header(&mut resp, "Contact", format!("<{local_contact}>"));
        }
        if tx.request.body.is_empty() {
            // Offer-less re-INVITE: our current SDP is the offer; the ACK's answer changes nothing we track.
            sip_reply::set_sdp(&mut resp, &leg.local_sdp);
            let p = self.txs.remove(&id)?;
            sip_reply::send(&p.tx, resp).await;
            return None;
        }
        let ours = crate::security::srtp::local_key(&leg.local_sdp);
        let negotiated =
            parse_and_answer(&tx.request.body, media_ip, leg.local_sdp.port, session_id).and_then(
                |(offer, mut n)| {
                    let keys = leg
                        .srtp
                        .answer(&offer, &mut n.answer, ours)
                        .map_err(|e| format!("Not Acceptable Here ({e})"))?;
                    session_config(&n, keys)
                        .map(|c| (n, c))
                        .ok_or_else(not_acceptable)
                },
            );
        let (negotiated, config) = match negotiated {
            Ok(v) => v,
            Err(reason) => {
                let p = self.txs.remove(&id)?;
                sip_reply::reply(&p.tx, 488, &reason).await;
                return None;
            }
        };
        let mut answer = negotiated.answer;
        answer.session_id = session_id;
        answer.version = leg.local_sdp.version + 1;
        leg.local_sdp = answer.clone();
        // RFC 2543 hold (c=0.0.0.0): the party holds and cannot receive; keep the old stream target.
        let hold_address = config.remote.ip().is_unspecified() || config.remote.port() == 0;
        let direction = if hold_address {
            Direction::Inactive
        } else {
            negotiated.remote_direction
        };
        sip_reply::set_sdp(&mut resp, &answer);
        pending.ok = Some(resp);
        if !hold_address {
            self.media(MediaCmd::Reconfigure {
                room: self.handle.id(),
                leg: leg_id,
                config,
            });
        }
        Some(Event::Reinvited {
            tx: id,
            leg: leg_id,
            direction,
        })
    }
}

fn not_acceptable() -> String {
    "Not Acceptable Here".to_string()
}

/// Parse an SDP body and answer it (sendrecv; the answer mirrors a hold).
pub(super) fn parse_and_answer(
    body: &[u8],
    ip: std::net::IpAddr,
    port: u16,
    session_id: u64,
) -> Result<(Sdp, Negotiated), String> {
    let text = std::str::from_utf8(body).map_err(|_| "SDP is not UTF-8".to_string())?;
    let offer = Sdp::parse(text).map_err(|e| format!("Bad SDP: {}", e.0))?;
    let n = agentphone_sip::sdp::answer(
        &offer,
        ip,
        port,
        session_id,
        agentphone_sip::sdp::Direction::SendRecv,
    )
    .map_err(|e| format!("Not Acceptable Here: {}", e.0))?;
    Ok((offer, n))
}
