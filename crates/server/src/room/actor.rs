//! The room's driver: a tokio task that owns what the call logic must not touch — the SIP
//! transactions (by [`TxId`]), the legs' dialogs and SDP, the INVITEs the room sends and their
//! RTP sessions (by [`OfferId`]), the room subscriptions — and runs one loop: wait in one
//! `select!` for the first of a room message, the caller cancelling, a directory change (queued
//! only), the machine's deadline or a media event; turn it into an [`Event`] for the
//! [`RoomMachine`]; carry out the [`Effect`]s (`effects.rs`) until the machine says the room ended.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agentphone_media::session::RtpSession;
use agentphone_protocol::supervisor::SupervisorCall;
use agentphone_protocol::RoomState;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::sdp::Sdp;
use tokio::sync::{mpsc, watch};

use super::machine::{Dest, Event, RoomMachine, TxId};
use super::offer::Offeree;
use super::outgoing::{offer_input, Outgoing};
use super::room_sub::RoomSub;
use super::{Destination, LegId, RoomSetup};
use crate::context::Ctx;
use crate::directory::Binding;
use crate::ids::OfferId;
use crate::media_engine::{MediaCmd, MediaEvent, MediaEventKind};
use crate::room_handle::{OfferEvent, RoomHandle, RoomMsg};
use crate::security::queue_order::Turn;
use crate::security::setup_gate::QueuedMark;
use crate::security::srtp::SrtpRules;

/// How long the caller may take to ACK our 2xx before the call ends as if it had hung up: 8 × T1
/// (the 2xx is sent at 0, 0.5, 1.5 and 3.5 s). RFC 3261 §13.3.1.4 allows 64 × T1, but a caller
/// that gave up without a CANCEL (a trunk's or sipp's time-out) would hold the agent who
/// answered for that long, and under overload such calls are the backlog (issue 7).
pub(super) const CALLER_ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(4);

/// A queued call asks the directory again at most this often: every directory change wakes every
/// queued room, and with hundreds queued the asks alone took the server's CPU (issue 7).
const QUEUE_RECHECK: std::time::Duration = std::time::Duration::from_millis(200);

/// A queued call looks at its turn (`security/queue_order.rs`) at least this often, directory
/// changes or not: a call whose turn came after the last change, or that waited past the
/// overload bound, must not wait for the next change.
const QUEUE_LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// Resolves when the caller CANCELs `invite`; never without one.
async fn caller_cancelled(invite: Option<&ServerTransaction>) {
    match invite {
        Some(tx) => tx.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `deadline`; never without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// A leg's SIP side: its dialog and our SDP towards it.
pub(super) struct LegIo {
    pub dialog: Dialog,
    /// Our current SDP towards this party; its version grows on every change.
    pub local_sdp: Sdp,
    /// What decides SRTP on this leg (re-INVITEs are answered by the same rules).
    pub srtp: SrtpRules,
    /// An agent (sees the room as a focus) rather than a customer.
    pub is_agent: bool,
}

/// An INVITE the room sent: the transaction, the media it would join with, its 2xx.
pub(super) struct OfferIo {
    pub to: Offeree,
    pub out: Outgoing,
    /// The RTP session offered (None once cancelled).
    pub session: Option<RtpSession>,
    pub sdp: Sdp,
    /// What decides SRTP for the answer.
    pub srtp: SrtpRules,
    /// The 2xx, kept for the machine's `Join` or `HangUpLate`.
    pub answer: Option<rsip::Response>,
    /// The party's BYE that arrived before their 2xx (`early_bye.rs`).
    pub early_bye: Option<ServerTransaction>,
}

/// A server transaction waiting for the machine's answer (`ok`: the positive answer, when the
/// driver built it ahead, e.g. a re-INVITE's SDP answer).
pub(super) struct PendingTx {
    pub tx: ServerTransaction,
    pub ok: Option<rsip::Response>,
    pub expires: std::time::Duration,
}

/// The driver of one room.
pub(super) struct Room {
    pub ctx: Arc<Ctx>,
    pub handle: RoomHandle,
    rx: mpsc::UnboundedReceiver<RoomMsg>,
    media_rx: mpsc::UnboundedReceiver<MediaEvent>,
    pub machine: RoomMachine,
    /// Directory changes (wake a queued call).
    pub changes: watch::Receiver<u64>,
    /// Call record id (for logs).
    pub record_id: String,
    /// The caller's INVITE transaction, kept while the room lives (2xx retransmission, ACK).
    pub caller_invite: Option<ServerTransaction>,
    /// The caller's SDP offer (until answered early).
    pub caller_offer: Option<Sdp>,
    /// The call's place in the overload gate (until the caller is answered early or finally).
    pub setup: Option<crate::security::setup_gate::SetupPending>,
    /// Our To tag towards the caller and its leg.
    pub caller_tag: String,
    pub caller_leg: LegId,
    pub caller_is_agent: bool,
    /// What decides SRTP on the caller's leg (its account's or its team's policy).
    pub caller_srtp: SrtpRules,
    /// The outbound call's target.
    pub external: Option<(rsip::Uri, Peer)>,
    pub legs: HashMap<LegId, LegIo>,
    pub txs: HashMap<TxId, PendingTx>,
    next_tx: u64,
    pub offers: HashMap<OfferId, OfferIo>,
    /// Agents the directory reserved, until their INVITE is built.
    pub reserved: HashMap<String, Binding>,
    /// SDP session id for all our SDP in this room.
    pub session_id: u64,
    /// The room's URI (`sip:room-ID@IP:PORT`): our Contact towards agents, the target of room
    /// subscriptions, INFO and REFER.
    pub room_uri: rsip::Uri,
    /// Room state subscribers.
    pub subs: Vec<RoomSub>,
    /// The state last NOTIFYed.
    pub last_state: Option<RoomState>,
    /// Events the effects produced (the outcome of an early answer, a join, a directory ask).
    pub follow_ups: VecDeque<Event>,
    pub ended: bool,
    /// The call as last shown to supervisors (V1).
    shown_call: Option<SupervisorCall>,
    /// Held while the machine has the call queued (the overload gate counts queued calls).
    queued_mark: Option<QueuedMark>,
    /// When the caller must have ACKed our 2xx (None: not answered yet, or ACKed).
    pub caller_ack_due: Option<Instant>,
    /// Queued: when the directory was last asked again, and a pending re-ask after a change.
    last_recheck: Option<Instant>,
    recheck_at: Option<Instant>,
    /// Queued: when to look at the call's turn again without a change, and whether the last
    /// look said to wait (then a look that says ask asks; else the last change's ask stands).
    look_at: Option<Instant>,
    waited_turn: bool,
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
    let room_uri = rsip::Uri::try_from(ctx.local_contact.to_string().replacen(
        "agentphone@",
        &format!("room-{}@", handle.id()),
        1,
    ))
    .unwrap_or_else(|_| ctx.local_contact.clone());
    let record_id = format!("{:016x}", rand::random::<u64>());
    let wall_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let machine = RoomMachine::new(
        ctx.config.clone(),
        handle.id(),
        record_id.clone(),
        (Instant::now(), wall_ms),
    );
    let RoomSetup {
        invite,
        caller,
        offer,
        destination,
        setup,
    } = setup;
    let policy = match (caller.agent(), &destination) {
        (Some(agent), _) => ctx.config.agent_srtp(agent),
        (None, Destination::Agent(agent)) => ctx.config.agent_srtp(agent),
        (None, Destination::Team(team)) => ctx.config.team_srtp(team),
        (None, Destination::External { .. }) => ctx.config.srtp,
    };
    let caller_srtp = super::leg::srtp_rules(&ctx, policy, invite.peer);
    let (dest, external) = match destination {
        Destination::Team(t) => (Dest::Team(t), None),
        Destination::Agent(a) => (Dest::Agent(a), None),
        Destination::External { uri, peer } => (Dest::External(uri.to_string()), Some((uri, peer))),
    };
    let mut room = Room {
        changes: ctx.directory.changes(),
        ctx,
        handle,
        rx,
        media_rx,
        machine,
        record_id,
        caller_invite: Some(invite),
        caller_offer: Some(offer),
        setup,
        caller_tag: String::new(),
        caller_leg: 0,
        caller_is_agent: caller.agent().is_some(),
        caller_srtp,
        external,
        legs: HashMap::new(),
        txs: HashMap::new(),
        next_tx: 0,
        offers: HashMap::new(),
        reserved: HashMap::new(),
        session_id: rand::random::<u32>() as u64,
        room_uri,
        subs: Vec::new(),
        last_state: None,
        follow_ups: VecDeque::new(),
        ended: false,
        shown_call: None,
        queued_mark: None,
        caller_ack_due: None,
        last_recheck: None,
        recheck_at: None,
        look_at: None,
        waited_turn: false,
    };
    room.feed(Event::Start { caller, dest }).await;
    while !room.ended {
        if let Some(event) = room.next_event().await {
            room.feed(event).await;
        }
    }
}

impl Room {
    /// Hand an event to the machine and carry out what it says, then the follow-ups.
    async fn feed(&mut self, event: Event) {
        self.follow_ups.push_back(event);
        while let Some(event) = self.follow_ups.pop_front() {
            if self.ended {
                break;
            }
            let effects = self.machine.handle(event, Instant::now());
            for effect in effects {
                self.carry_out(effect).await;
            }
        }
        self.show_call();
        if self.machine.queued() != self.queued_mark.is_some() {
            let team = self.machine.queued_team().filter(|_| !self.ended);
            self.queued_mark = team.map(|t| self.ctx.setup_gate.queued(t));
            self.look_at = None;
        }
    }

    /// Tell the supervisor view when this call looks different (gone once the room ended).
    fn show_call(&mut self) {
        let call = if self.ended {
            None
        } else {
            self.machine.supervisor_call()
        };
        if call != self.shown_call {
            self.shown_call = call.clone();
            self.ctx.directory.call(self.handle.id(), call);
        }
    }

    /// Keep a server transaction until the machine answers it.
    pub fn keep_tx(&mut self, tx: ServerTransaction, ok: Option<rsip::Response>) -> TxId {
        self.keep_tx_for(tx, ok, std::time::Duration::ZERO)
    }

    pub fn keep_tx_for(
        &mut self,
        tx: ServerTransaction,
        ok: Option<rsip::Response>,
        expires: std::time::Duration,
    ) -> TxId {
        self.next_tx += 1;
        let id = TxId(self.next_tx);
        self.txs.insert(id, PendingTx { tx, ok, expires });
        id
    }

    /// Wait for the next thing that happens; the event for the machine (None: handled here).
    async fn next_event(&mut self) -> Option<Event> {
        if self.machine.phase() == super::machine::Phase::Connected {
            self.lapse_subscriptions();
        }
        let establishing = self.machine.establishing();
        let queued = self.machine.queued();
        let deadline = self.machine.deadline();
        // A CANCEL also counts once our 2xx is out and not ACKed: it crossed the 2xx.
        let ack_due = self.caller_ack_due;
        let invite = self
            .caller_invite
            .as_ref()
            .filter(|_| establishing || ack_due.is_some());
        if !queued {
            self.recheck_at = None;
            self.look_at = None;
        } else if self.look_at.is_none() {
            self.look_at = Some(Instant::now() + QUEUE_LOOK);
        }
        let recheck_at = self.recheck_at;
        let look_at = self.look_at;
        tokio::select! {
            msg = self.rx.recv() => self.message(msg).await,
            _ = caller_cancelled(invite) => Some(if establishing {
                Event::CallerCancelled
            } else {
                self.caller_ack_due = None;
                tracing::info!(room = %self.handle.id(), "CANCEL crossed our 2xx: the caller is gone");
                Event::NoAck { leg: self.caller_leg }
            }),
            changed = self.changes.changed(), if queued && recheck_at.is_none() => match changed {
                Ok(()) => self.directory_changed(),
                Err(_) => Some(Event::Shutdown("server shutting down")),
            },
            _ = sleep_until(recheck_at), if recheck_at.is_some() => {
                self.recheck_at = None;
                // The changes up to now are what this ask sees.
                let _ = self.changes.borrow_and_update();
                self.queue_turn(true)
            }
            _ = sleep_until(look_at), if queued && recheck_at.is_none() => self.queue_turn(false),
            _ = sleep_until(ack_due), if ack_due.is_some() => {
                self.caller_ack_due = None;
                tracing::info!(room = %self.handle.id(), "no ACK for our 2xx: the caller is gone");
                Some(Event::NoAck { leg: self.caller_leg })
            }
            _ = sleep_until(deadline) => Some(Event::Tick),
            ev = self.media_rx.recv() => Some(match ev {
                None => Event::Shutdown("media engine stopped"),
                Some(MediaEvent { leg, kind }) => {
                    if let MediaEventKind::Dtmf(digit) = kind {
                        tracing::debug!(room = %self.handle.id(), leg, %digit, "DTMF relayed");
                    }
                    if kind == MediaEventKind::RtpTimeout {
                        let secs = self.ctx.config.rtp_timeout.as_secs();
                        tracing::info!(room = %self.handle.id(), leg, "no RTP for {secs} s: leg gone");
                    }
                    Event::Media { leg, kind }
                }
            }),
        }
    }

    /// The directory changed while queued: ask again now, or once `QUEUE_RECHECK` has passed
    /// since the last time.
    fn directory_changed(&mut self) -> Option<Event> {
        let now = Instant::now();
        match self.last_recheck.map(|at| at + QUEUE_RECHECK) {
            Some(due) if due > now => {
                self.recheck_at = Some(due);
                None
            }
            _ => self.queue_turn(true),
        }
    }

    /// The queued call's turn now (`changed`: the directory changed since its last ask): ask
    /// the directory, wait (others come first) or be shed.
    fn queue_turn(&mut self, changed: bool) -> Option<Event> {
        let now = Instant::now();
        self.look_at = Some(now + QUEUE_LOOK);
        let turn = self
            .queued_mark
            .as_ref()
            .map_or(Turn::Ask, QueuedMark::turn);
        let waited = std::mem::replace(&mut self.waited_turn, turn == Turn::Wait);
        match turn {
            Turn::Ask if changed || waited => {
                self.last_recheck = Some(now);
                Some(Event::DirectoryChanged)
            }
            Turn::Ask | Turn::Wait => None,
            Turn::Shed => {
                tracing::info!(room = %self.handle.id(), "queued past the overload bound: shed");
                Some(Event::QueueShed)
            }
        }
    }

    /// A room message as an event.
    async fn message(&mut self, msg: Option<RoomMsg>) -> Option<Event> {
        match msg {
            None | Some(RoomMsg::Shutdown) => Some(Event::Shutdown("server shutting down")),
            Some(RoomMsg::InDialog { leg, tx }) => self.in_dialog(leg, tx).await,
            Some(RoomMsg::EarlyBye { offer, tx }) => self.early_bye(offer, tx).await,
            Some(RoomMsg::Offer { offer, event }) => {
                let input = offer_input(&event);
                match event {
                    OfferEvent::Response(resp) => {
                        let code = u16::from(resp.status_code.clone());
                        if (200..300).contains(&code) {
                            if let Some(o) = self.offers.get_mut(&offer) {
                                o.answer = Some(resp);
                            }
                        } else if code >= 300 {
                            self.offer_failed(offer).await;
                        }
                    }
                    OfferEvent::Failed(_) => self.offer_failed(offer).await,
                }
                Some(Event::Offer { offer, input })
            }
            Some(RoomMsg::Subscribe { user, expires, tx }) => {
                let expires_zero = expires.is_zero();
                let tx = self.keep_tx_for(tx, None, expires);
                Some(Event::Subscribe {
                    tx,
                    user,
                    expires_zero,
                })
            }
            Some(RoomMsg::Supervise { user, mode, tx }) => {
                let tx = self.keep_tx(tx, None);
                Some(Event::Supervise { tx, user, mode })
            }
            Some(RoomMsg::Resubscribe {
                call_id,
                expires,
                tx,
            }) => {
                self.resubscribe(&call_id, expires, tx).await;
                None
            }
        }
    }
}
