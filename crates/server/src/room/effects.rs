//! The driver carries out the machine's effects: answers, INVITEs and their CANCELs, joins,
//! directory questions and changes, media commands, call records, NOTIFYs, the end of the room.

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::{OfferIo, Room};
use super::machine::{Ask, CallerReply, DirOp, DirReply, Effect, Event, InviteInfo, Reply, TxId};
use super::offer::Offeree;
use super::offer_invite::Reach;
use super::outgoing::Outgoing;
use super::LegId;
use crate::ids::OfferId;
use crate::media_engine::MediaCmd;
use crate::notify;
use crate::sip_reply;

impl Room {
    /// Carry out one effect.
    pub(super) async fn carry_out(&mut self, effect: Effect) {
        let room = self.handle.id();
        match effect {
            Effect::AnswerEarly { leg } => {
                let result = self.answer_early(leg).await;
                self.follow_ups.push_back(Event::EarlyAnswered(result));
            }
            Effect::AnswerCaller(reply) => self.answer_caller(reply).await,
            Effect::Respond { tx, reply } => self.respond(tx, reply).await,
            Effect::Ask(ask) => {
                let reply = self.ask(ask).await;
                self.follow_ups.push_back(Event::Directory(reply));
            }
            Effect::Directory(op) => match op {
                DirOp::Release(user) => self.ctx.directory.release(&user),
                DirOp::RangOut(user) => self.ctx.directory.ring_timed_out(&user),
                DirOp::Answered(user) => self.ctx.directory.answered(&user),
                DirOp::CallStarted(user) => self.ctx.directory.call_started(&user),
                DirOp::CallEnded(user) => self.ctx.directory.call_ended(&user),
                DirOp::MonitorEnded(user) => self.ctx.directory.monitor_ended(&user),
            },
            Effect::StartOffer { offer, to, invite } => {
                if let Err((code, why)) = self.start_offer(offer, to, &invite) {
                    tracing::warn!(%room, %offer, %why, "cannot send an offer");
                    self.follow_ups
                        .push_back(Event::OfferNotSent { offer, code, why });
                }
            }
            Effect::CancelOffer(offer) => {
                if let Some(o) = self.offers.get_mut(&offer) {
                    o.out.cancel();
                    o.session = None;
                }
            }
            Effect::Join {
                offer,
                leg,
                listen_only,
            } => {
                let result = self.join(offer, leg, listen_only).await;
                self.follow_ups.push_back(Event::Joined { offer, result });
            }
            Effect::HangUpLate(offer) => self.hang_up_late(offer).await,
            Effect::SetMode { leg, mode } => self.media(MediaCmd::SetMode { room, leg, mode }),
            Effect::WatchTimeout { leg, on } => {
                self.media(MediaCmd::WatchTimeout { room, leg, on })
            }
            Effect::DropLeg { leg, bye } => self.drop_leg(leg, bye),
            Effect::Record(op) => self.ctx.records.write(op),
            Effect::Sipfrag { leg, status, last } => self.sipfrag(leg, &status, last),
            Effect::AnswerReinvite { tx, leg } => {
                if let Some(event) = self.answer_reinvite(tx, leg).await {
                    self.follow_ups.push_back(event);
                }
            }
            Effect::AcceptSubscription { tx, user, state } => {
                self.accept_subscription(tx, user, state).await
            }
            Effect::NotifyState { state, end } => self.notify_state(state, end),
            Effect::AcceptSupervisor { tx, leg } => {
                let result = self.accept_supervisor(tx, leg).await;
                self.follow_ups
                    .push_back(Event::SupervisorJoined { leg, result });
            }
            Effect::Ended(reason) => {
                for o in self.offers.values_mut() {
                    o.out.cancel();
                }
                self.media(MediaCmd::RemoveRoom { room });
                self.ctx.dialogs.remove_room(room);
                self.ended = true;
                tracing::info!(%room, call = %self.record_id, %reason, "room ended");
            }
        }
    }

    pub(super) fn media(&self, cmd: MediaCmd) {
        self.ctx.media.send(cmd);
    }

    /// The final answer to the caller's INVITE.
    async fn answer_caller(&mut self, reply: CallerReply) {
        let Some(invite) = &self.caller_invite else {
            return;
        };
        let resp = match reply {
            CallerReply::Ok => {
                let mut ok = message::response(&invite.request, 200, "OK", Some(&self.caller_tag));
                if self.caller_is_agent {
                    sip_reply::add_header(
                        &mut ok,
                        "Contact",
                        format!("<{}>;isfocus", self.room_uri),
                    );
                    sip_reply::add_header(&mut ok, "Recv-Info", INFO_PACKAGE);
                } else {
                    sip_reply::add_header(
                        &mut ok,
                        "Contact",
                        format!("<{}>", self.ctx.local_contact),
                    );
                }
                // The caller gets the SDP it already had in the 183: same session, same version.
                if let Some(leg) = self.legs.get(&self.caller_leg) {
                    sip_reply::set_sdp(&mut ok, &leg.local_sdp);
                }
                tracing::info!(room = %self.handle.id(), call = %self.record_id, "call connected");
                ok
            }
            CallerReply::Final(code, phrase) => {
                message::response(&invite.request, code, &phrase, Some(&self.caller_tag))
            }
            CallerReply::Refused(code, reason) => sip_reply::build(invite, code, &reason),
        };
        sip_reply::send(invite, resp).await;
    }

    /// Answer a kept server transaction.
    async fn respond(&mut self, id: TxId, reply: Reply) {
        let Some(pending) = self.txs.remove(&id) else {
            return;
        };
        let tx = &pending.tx;
        match reply {
            Reply::Ok => match (pending.ok, tx.request.method) {
                (Some(resp), _) => sip_reply::send(tx, resp).await,
                (None, rsip::Method::Refer) => {
                    let mut ok = sip_reply::build(tx, 202, "Accepted");
                    sip_reply::add_header(
                        &mut ok,
                        "Contact",
                        format!("<{}>;isfocus", self.room_uri),
                    );
                    sip_reply::send(tx, ok).await;
                }
                (None, _) => sip_reply::reply(tx, 200, "OK").await,
            },
            Reply::Status(code, phrase) => sip_reply::reply(tx, code, phrase).await,
            Reply::Refuse(code, phrase, warning) => {
                tracing::info!(room = %self.handle.id(), code, %warning, "refused");
                sip_reply::refuse(tx, code, phrase, &warning).await
            }
            Reply::NotAllowed => {
                let mut resp = sip_reply::build(tx, 405, "Method Not Allowed");
                sip_reply::add_header(&mut resp, "Allow", sip_reply::ALLOW);
                sip_reply::send(tx, resp).await;
            }
        }
    }

    /// Ask the directory (the room waits for the answer, as the machine does).
    async fn ask(&mut self, ask: Ask) -> DirReply {
        self.changes.borrow_and_update();
        match ask {
            Ask::Team { team, exclude } => {
                match self.ctx.directory.reserve_for_team(&team, &exclude).await {
                    Some((user, binding)) => {
                        self.reserved.insert(user.clone(), binding);
                        DirReply::Reserved(user)
                    }
                    None => DirReply::NobodyFree,
                }
            }
            Ask::Agent(user) => match self.ctx.directory.reserve(&user).await {
                Ok(binding) => {
                    self.reserved.insert(user.clone(), binding);
                    DirReply::Reserved(user)
                }
                Err(status) => DirReply::Unavailable(status),
            },
        }
    }

    /// RTP session, SDP offer, INVITE. Err: the status for a caller and why.
    fn start_offer(
        &mut self,
        id: OfferId,
        to: Offeree,
        invite: &InviteInfo,
    ) -> Result<(), (u16, String)> {
        let reach = match &to {
            Offeree::Agent(user) => {
                let binding = self
                    .reserved
                    .remove(user)
                    .ok_or((480, "Temporarily Unavailable".to_string()))?;
                Reach::Agent {
                    user: user.clone(),
                    binding,
                }
            }
            Offeree::External(_) => {
                let (uri, peer) = self
                    .external
                    .clone()
                    .ok_or((480, "Temporarily Unavailable".to_string()))?;
                Reach::External { uri, peer }
            }
        };
        let ip = self.ctx.config.media_ip;
        let session = self.ctx.rtp_ports.bind(ip).map_err(|e| e.reply())?;
        let sdp = Sdp::offer(
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        );
        let (request, peer) = self
            .offer_invite(&reach, invite, &sdp)
            .map_err(|why| (480, why))?;
        let out = Outgoing::start(&self.ctx.endpoint, request, peer, id, self.handle.clone());
        self.offers.insert(
            id,
            OfferIo {
                to,
                out,
                session: Some(session),
                sdp,
                answer: None,
            },
        );
        Ok(())
    }

    /// An abandoned INVITE was answered after all: ACK and hang up at once.
    async fn hang_up_late(&mut self, id: OfferId) {
        let Some(OfferIo {
            out,
            answer: Some(resp),
            ..
        }) = self.offers.remove(&id)
        else {
            return;
        };
        if let Some(mut dialog) = Dialog::from_uac(&out.request, &resp, out.peer) {
            let _ = self
                .ctx
                .endpoint
                .ack(dialog.ack(1, None), dialog.peer)
                .await;
            self.bye(&mut dialog);
        }
    }

    /// Send BYE in a dialog (its answer does not matter).
    pub(super) fn bye(&self, dialog: &mut Dialog) {
        let bye = dialog.request(rsip::Method::Bye, None);
        let tx = self.ctx.endpoint.request(bye, dialog.peer);
        tokio::spawn(async move {
            let _ = tx.final_response().await;
        });
    }

    /// A leg is gone: forget its dialog and media; BYE when asked.
    fn drop_leg(&mut self, id: LegId, bye: bool) {
        let Some(mut leg) = self.legs.remove(&id) else {
            return;
        };
        self.ctx.dialogs.unbind(&leg.dialog.call_id);
        self.media(MediaCmd::RemoveLeg {
            room: self.handle.id(),
            leg: id,
        });
        if bye {
            self.bye(&mut leg.dialog);
        }
        tracing::debug!(room = %self.handle.id(), leg = id, "leg left");
    }

    /// A sipfrag NOTIFY about a transfer to its requester (`last`: the subscription ends).
    fn sipfrag(&mut self, id: LegId, status: &str, last: bool) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let state = if last {
            "terminated;reason=noresource".to_string()
        } else {
            notify::active(60)
        };
        let body = format!("SIP/2.0 {status}\r\n").into_bytes();
        let req = notify::request(&mut leg.dialog, "refer", &state, "message/sipfrag", body);
        let tx = self.ctx.endpoint.request(req, leg.dialog.peer);
        tokio::spawn(async move {
            let _ = tx.final_response().await;
        });
    }
}
