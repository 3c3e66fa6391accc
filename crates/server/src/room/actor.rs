//! The room actor: owns the legs, runs the establishing phase (see `establish.rs`), then serves
//! in-dialog requests and media events until fewer than two parties (or no agent) remain.

use std::sync::Arc;

use agentphone_media::codec::CodecKind;
use agentphone_media::session::SessionConfig;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::sdp::{Negotiated, Sdp};
use tokio::sync::mpsc;

use super::hold::{self, LegView};
use super::leg::{Leg, Role};
use super::outgoing::{OfferEvent, Outgoing};
use super::{LegId, RoomHandle, RoomMsg, RoomSetup};
use crate::context::Ctx;
use crate::media_engine::{MediaCmd, MediaEvent, MediaEventKind};
use crate::records::RecordOp;
use crate::sip_reply;

/// The state a room actor owns.
pub(super) struct Room {
    pub ctx: Arc<Ctx>,
    pub handle: RoomHandle,
    pub rx: mpsc::UnboundedReceiver<RoomMsg>,
    pub media_rx: mpsc::UnboundedReceiver<MediaEvent>,
    /// Call record id.
    pub record_id: String,
    pub legs: Vec<Leg>,
    /// Legs that have a confirmed dialog (so leaving means a BYE).
    pub confirmed: Vec<LegId>,
    /// INVITEs we gave up on (no answer in time, caller left): a late 2xx gets ACK + BYE.
    pub abandoned: Vec<Outgoing>,
    /// SDP session id for all our SDP in this room.
    pub session_id: u64,
    /// The caller's INVITE transaction, kept while the room lives (2xx retransmission, ACK).
    pub caller_invite: Option<ServerTransaction>,
    next_leg: LegId,
}

/// Run a room from the caller's INVITE to the end.
pub(super) async fn run(
    ctx: Arc<Ctx>,
    handle: RoomHandle,
    rx: mpsc::UnboundedReceiver<RoomMsg>,
    setup: RoomSetup,
) {
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    ctx.media.send(MediaCmd::AddRoom {
        room: handle.id(),
        events: media_tx,
    });
    let mut room = Room {
        ctx,
        handle,
        rx,
        media_rx,
        record_id: format!("{:016x}", rand::random::<u64>()),
        legs: Vec::new(),
        confirmed: Vec::new(),
        abandoned: Vec::new(),
        session_id: rand::random::<u32>() as u64,
        caller_invite: None,
        next_leg: 1,
    };
    let reason = match room.establish(setup).await {
        Ok(()) => room.connected().await,
        Err(reason) => reason,
    };
    room.end(&reason);
}

impl Room {
    pub fn new_leg_id(&mut self) -> LegId {
        let id = self.next_leg;
        self.next_leg += 1;
        id
    }

    pub fn media(&self, cmd: MediaCmd) {
        self.ctx.media.send(cmd);
    }

    pub fn record(&self, state: &'static str, detail: Option<String>) {
        self.ctx.records.write(RecordOp::State {
            call: self.record_id.clone(),
            state,
            detail,
        });
    }

    /// Serve the connected call; returns why it ended.
    async fn connected(&mut self) -> String {
        loop {
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    None | Some(RoomMsg::Shutdown) => return "server shutting down".into(),
                    Some(RoomMsg::InDialog { leg, tx }) => self.in_dialog(leg, tx).await,
                    Some(RoomMsg::Offer { attempt, event }) => self.abandoned_offer(attempt, event).await,
                },
                ev = self.media_rx.recv() => match ev {
                    Some(MediaEvent { leg, kind: MediaEventKind::RtpTimeout }) => {
                        let secs = self.ctx.config.rtp_timeout.as_secs();
                        tracing::info!(room = self.handle.id(), leg, "no RTP for {secs} s: leg gone");
                        self.leave(leg, &format!("no RTP for {secs} s"), true);
                    }
                    Some(MediaEvent { leg, kind: MediaEventKind::Dtmf(digit) }) => {
                        tracing::debug!(room = self.handle.id(), leg, %digit, "DTMF relayed");
                    }
                    None => return "media engine stopped".into(),
                },
            }
            if let Some(reason) = self.end_reason() {
                return reason;
            }
        }
    }

    /// The room ends when fewer than two parties or no agent remain (SPEC C5, T9).
    fn end_reason(&self) -> Option<String> {
        if self.legs.len() < 2 {
            Some("the other party hung up".into())
        } else if !self.legs.iter().any(|l| l.role.agent().is_some()) {
            Some("no agent left".into())
        } else {
            None
        }
    }

    async fn in_dialog(&mut self, leg_id: LegId, tx: ServerTransaction) {
        let method = tx.request.method;
        if method == rsip::Method::Ack {
            return; // ACK to our 2xx: the endpoint stopped retransmitting; nothing else to do.
        }
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            return;
        };
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
                self.leave(leg_id, "hung up", false);
            }
            rsip::Method::Invite => self.reinvite(leg_id, tx).await,
            rsip::Method::Info | rsip::Method::Options | rsip::Method::Update => {
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
        let contact = self.ctx.local_contact.to_string();
        let Some(leg) = self.legs.iter_mut().find(|l| l.id == leg_id) else {
            return;
        };
        let mut resp = message::response(&tx.request, 200, "OK", Some(&leg.dialog.local_tag));
        sip_reply::add_header(&mut resp, "Contact", format!("<{contact}>"));
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
        leg.remote_direction = negotiated.remote_direction;
        let (holding, sends) = (leg.is_holding(), leg.sends_media());
        let label = leg.role.label();
        sip_reply::set_sdp(&mut resp, &answer);
        sip_reply::send(&tx, resp).await;
        let room = self.handle.id();
        self.media(MediaCmd::Reconfigure {
            room,
            leg: leg_id,
            config,
        });
        self.media(MediaCmd::WatchTimeout {
            room,
            leg: leg_id,
            on: sends,
        });
        self.apply_modes();
        if holding != was_holding {
            self.record(if holding { "held" } else { "resumed" }, Some(label));
        }
    }

    /// Tell the media engine what every leg hears, from who holds.
    pub fn apply_modes(&self) {
        let views: Vec<LegView<'_>> = self
            .legs
            .iter()
            .map(|l| LegView {
                id: l.id,
                role: &l.role,
                holding: l.is_holding(),
                listen_only: l.listen_only,
            })
            .collect();
        for (leg, mode) in hold::modes(&views) {
            self.media(MediaCmd::SetMode {
                room: self.handle.id(),
                leg,
                mode,
            });
        }
    }

    /// A leg leaves the room (hung up, timed out, or the room ends); `send_bye` when it did not
    /// hang up itself and its dialog is confirmed.
    pub fn leave(&mut self, leg_id: LegId, reason: &str, send_bye: bool) {
        let Some(pos) = self.legs.iter().position(|l| l.id == leg_id) else {
            return;
        };
        let mut leg = self.legs.remove(pos);
        self.ctx.dialogs.unbind(&leg.dialog.call_id);
        self.media(MediaCmd::RemoveLeg {
            room: self.handle.id(),
            leg: leg_id,
        });
        if send_bye && self.confirmed.contains(&leg_id) {
            let bye = leg.dialog.request(rsip::Method::Bye, None);
            let tx = self.ctx.endpoint.request(bye, leg.dialog.peer);
            tokio::spawn(async move {
                let _ = tx.final_response().await;
            });
        }
        if let Some(agent) = leg.role.agent() {
            self.ctx.directory.call_ended(agent);
        }
        self.record("left", Some(format!("{}: {reason}", leg.role.label())));
        if !self.legs.is_empty() {
            self.apply_modes();
        }
    }

    /// The room ends: BYE to whoever is left, forget the dialogs and the media, close the record.
    fn end(&mut self, reason: &str) {
        let ids: Vec<LegId> = self.legs.iter().map(|l| l.id).collect();
        for id in ids {
            self.leave(id, reason, true);
        }
        for out in &mut self.abandoned {
            out.cancel();
        }
        self.media(MediaCmd::RemoveRoom {
            room: self.handle.id(),
        });
        self.ctx.dialogs.remove_room(self.handle.id());
        self.ctx.records.write(RecordOp::Ended {
            call: self.record_id.clone(),
            reason: reason.to_string(),
        });
        tracing::info!(room = self.handle.id(), call = %self.record_id, %reason, "room ended");
    }

    /// An event for an INVITE we gave up on: a late 2xx is ACKed and hung up at once.
    pub async fn abandoned_offer(&mut self, attempt: u64, event: OfferEvent) {
        let Some(pos) = self.abandoned.iter().position(|o| o.attempt == attempt) else {
            return;
        };
        let code = match &event {
            OfferEvent::Response(r) => u16::from(r.status_code.clone()),
            OfferEvent::Failed(_) => 999,
        };
        if code < 200 {
            return;
        }
        let out = self.abandoned.remove(pos);
        if let (OfferEvent::Response(resp), true) = (&event, (200..300).contains(&code)) {
            if let Some(mut dialog) =
                agentphone_sip::dialog::Dialog::from_uac(&out.request, resp, out.peer)
            {
                let _ = self
                    .ctx
                    .endpoint
                    .ack(dialog.ack(1, None), dialog.peer)
                    .await;
                let bye = dialog.request(rsip::Method::Bye, None);
                let tx = self.ctx.endpoint.request(bye, dialog.peer);
                tokio::spawn(async move {
                    let _ = tx.final_response().await;
                });
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

/// The RTP session settings for a negotiated stream; None for a codec the media crate lacks.
pub(super) fn session_config(n: &Negotiated) -> Option<SessionConfig> {
    Some(SessionConfig {
        remote: n.remote_addr,
        codec: CodecKind::from_name(&n.codec.name)?,
        pt: n.codec.pt,
        telephone_event_pt: n.telephone_event.as_ref().map(|f| f.pt),
    })
}

/// How a role is shown in the From of the INVITEs the room sends for it.
pub(super) fn identity(ctx: &Ctx, role: &Role) -> (Option<String>, String) {
    match role {
        Role::Customer { uri, display } => (display.clone(), uri.clone()),
        Role::Agent(name) => {
            let display = ctx.config.agent(name).map(|a| a.display_name.clone());
            (display, format!("sip:{name}@{}", ctx.config.domain))
        }
    }
}
