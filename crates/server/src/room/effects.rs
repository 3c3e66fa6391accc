//! The driver carries out the machine's effects: answers, INVITEs and their CANCELs, joins,
//! directory questions and changes, media commands, call records, NOTIFYs, the end of the room.

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::message;
use agentphone_sip::sdp::{Direction, Sdp};

use super::actor::{OfferIo, Room};
use super::early_bye;
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
                if let Some(setup) = self.setup.take() {
                    setup.answered();
                }
                self.follow_ups.push_back(Event::EarlyAnswered(result));
            }
            Effect::AnswerCaller(reply) => self.answer_caller(reply).await,
            Effect::Respond { tx, reply } => self.respond(tx, reply).await,
            Effect::Ask(ask) => {
                let reply = self.ask(ask).await;
                self.follow_ups.push_back(Event::Directory(reply));
            }
            Effect::Directory(op) if self.ctx.cluster.is_some() => self.cluster_op(op),
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
                let (request, early_bye) = match self.offers.get_mut(&offer) {
                    Some(o) => (Some(o.out.request.clone()), o.early_bye.take()),
                    None => (None, None),
                };
                let result = self.join(offer, leg, listen_only).await;
                // Only now (the leg bound if joined): a BYE in between finds one or the other.
                if let Some(request) = &request {
                    self.offer_done(request);
                }
                self.follow_ups.push_back(Event::Joined { offer, result });
                if let Some(bye) = early_bye {
                    // Now that the leg exists, its BYE is an ordinary one (if it failed to join,
                    // the leg's absence answers 481).
                    match early_bye::fate_at_end(early_bye::InviteEnd::Joined) {
                        early_bye::AtEnd::InDialog => {
                            if let Some(event) = self.in_dialog(leg, bye).await {
                                self.follow_ups.push_back(event);
                            }
                        }
                        fate => early_bye::answer(&bye, fate).await,
                    }
                }
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
                self.answer_early_byes().await;
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
                self.caller_ack_due =
                    Some(std::time::Instant::now() + super::actor::CALLER_ACK_WAIT);
                ok
            }
            CallerReply::Final(code, phrase) => {
                message::response(&invite.request, code, &phrase, Some(&self.caller_tag))
            }
            CallerReply::Refused(code, reason) => sip_reply::build(invite, code, &reason),
        };
        sip_reply::send(invite, resp).await;
        if let Some(setup) = self.setup.take() {
            setup.answered();
        }
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
        if self.ctx.cluster.is_some() {
            return self.ask_cluster(ask).await;
        }
        self.ask_local(ask).await
    }

    /// Ask this node's directory (alone, or in a cluster whose Redis cannot be reached).
    async fn ask_local(&mut self, ask: Ask) -> DirReply {
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

    /// Cluster mode: ask the shared directory. An agent registered through this node is then
    /// reserved in the local directory too (her binding); if it refuses (her state changed and
    /// Redis has not heard yet) the reservation is given back and the next one tried.
    async fn ask_cluster(&mut self, ask: Ask) -> DirReply {
        let Some(cluster) = self.ctx.cluster.clone() else {
            return DirReply::NobodyFree;
        };
        let call = cluster.call_key(self.handle.id());
        match ask {
            Ask::Team { team, exclude } => {
                let mut exclude = exclude;
                loop {
                    let got = match cluster.reserve_for_team(&team, &call, &exclude).await {
                        Ok(Some(got)) => got,
                        Ok(None) => return DirReply::NobodyFree,
                        Err(_) => {
                            // Redis cannot be asked: this node's own agents (no other node
                            // can reserve them meanwhile either).
                            let ask = Ask::Team { team, exclude };
                            return self.ask_local(ask).await;
                        }
                    };
                    let user = got.name().to_string();
                    if self.take_reserved(&cluster, got, &call).await {
                        return DirReply::Reserved(user);
                    }
                    exclude.push(user);
                }
            }
            Ask::Agent(user) => match cluster.reserve(&user, &call).await {
                Err(_) => self.ask_local(Ask::Agent(user)).await,
                Ok(Ok(got)) => {
                    if self.take_reserved(&cluster, got, &call).await {
                        DirReply::Reserved(user)
                    } else {
                        DirReply::Unavailable(
                            self.ctx
                                .directory
                                .status(&user)
                                .await
                                .unwrap_or(crate::directory::AgentStatus::Offline),
                        )
                    }
                }
                Ok(Err(status)) => DirReply::Unavailable(status),
            },
        }
    }

    /// Keep the binding of an agent the shared directory reserved: hers (registered here) or the
    /// edge's (another node's). False (and the reservation given back) when the local directory
    /// says she cannot take it.
    async fn take_reserved(
        &mut self,
        cluster: &crate::cluster::routing::ClusterRouting,
        got: crate::cluster::routing::Reserved,
        call: &str,
    ) -> bool {
        use crate::cluster::routing::Reserved;
        match got {
            Reserved::Here(user) => match self.ctx.directory.reserve(&user).await {
                Ok(binding) => {
                    self.reserved.insert(user, binding);
                    true
                }
                Err(status) => {
                    tracing::info!(%user, ?status, "reserved in the shared directory, not here");
                    cluster.release(&user, call);
                    false
                }
            },
            Reserved::There(user) => {
                let binding = cluster.edge_binding(&user, &self.ctx.config.domain);
                self.reserved.insert(user, binding);
                true
            }
        }
    }

    /// Cluster mode: an agent's part in this call changed; her node applies it.
    fn cluster_op(&self, op: DirOp) {
        use crate::cluster::routing::Op;
        let Some(cluster) = &self.ctx.cluster else {
            return;
        };
        let (user, op) = match op {
            DirOp::Release(user) => (user, Op::Release),
            DirOp::RangOut(user) => (user, Op::RangOut),
            DirOp::Answered(user) => (user, Op::Answered),
            DirOp::CallStarted(user) => (user, Op::CallStarted),
            DirOp::CallEnded(user) => (user, Op::CallEnded),
            DirOp::MonitorEnded(user) => (user, Op::MonitorEnded),
        };
        cluster.op(&user, op);
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
        let mut sdp = Sdp::offer(
            ip,
            session.local_addr().port(),
            self.session_id,
            Direction::SendRecv,
        );
        let srtp = match &reach {
            Reach::Agent { user, binding } => {
                super::leg::srtp_rules(&self.ctx, self.ctx.config.agent_srtp(user), binding.peer)
            }
            Reach::External { peer, .. } => {
                super::leg::srtp_rules(&self.ctx, self.ctx.config.srtp, *peer)
            }
        };
        if srtp.offer_key() {
            crate::security::srtp::secure_offer(&mut sdp);
        }
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
                srtp,
                answer: None,
                early_bye: None,
            },
        );
        self.offer_sent(id);
        Ok(())
    }

    /// An abandoned INVITE was answered after all: ACK and hang up at once.
    async fn hang_up_late(&mut self, id: OfferId) {
        let Some(OfferIo {
            out,
            answer: Some(resp),
            early_bye,
            ..
        }) = self.offers.remove(&id)
        else {
            return;
        };
        self.offer_done(&out.request);
        if let Some(bye) = early_bye {
            let fate = early_bye::fate_at_end(early_bye::InviteEnd::AnsweredLate);
            early_bye::answer(&bye, fate).await;
        }
        if let Some(mut dialog) = Dialog::from_uac(&out.request, &resp, out.peer) {
            let _ = self
                .ctx
                .endpoint
                .ack(dialog.ack(1, None), dialog.peer)
                .await;
            // Our BYE all the same: the held one was not checked against the party's flow (a
            // forged one must not keep the party's side up); after theirs it gets a 481.
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
