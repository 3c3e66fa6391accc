//! The room as a sans-IO state machine (SPEC T1–T11, R1–R3, C3–C5, B3): [`RoomMachine::handle`]
//! takes one [`Event`] at a time with the time it happened and returns the [`Effect`]s the driver
//! (`room/actor.rs`) carries out. No tokio, no sockets, no clock inside: the whole call logic runs
//! in virtual time in the flow tests (`tests/`).
//!
//! One [`Phase`]: establishing (`setup.rs`: the caller waits with ringback while the hunt offers
//! the call one party at a time), queued (R1), connected (`connected.rs`: requests, room
//! commands, media events, parties leaving; `transfer.rs`: T1–T10), ending. Every party is
//! offered the call by the same offer machine (`offer.rs`), whoever rings it.

mod connected;
mod history;
mod hold_clock;
pub mod io;
mod setup;
mod supervise;
mod transfer;
mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use agentphone_protocol::{RoomState, TimelineEntry, TimelineKind};
use agentphone_sip::sdp::Direction;

use super::hunt::{Decision, Hunt};
use super::leg::Role;
use super::offer::Offer;
use super::transfer_state::Transfer;
use super::{LegId, RoomId};
use crate::config::Config;
use crate::ids::OfferId;
use crate::media_engine::LegMode;
use crate::records::RecordOp;
pub use io::{
    Ask, CallerReply, Dest, DirOp, DirReply, Effect, Ends, Event, InviteInfo, Reply, Request, TxId,
    Unusable,
};
use transfer::Pending;

/// Where the room is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The caller has 183 with ringback; candidates are rung one at a time.
    Establishing,
    /// A customer waits with music for a team member to free up (R1), until `until`.
    Queued { until: Instant },
    /// Answered: in-dialog requests, room commands, transfers, media events.
    Connected,
    /// Over.
    Ending,
}

/// One party in the room, as the call logic sees it (the driver keeps its dialog and SDP).
#[derive(Clone, Debug)]
pub(super) struct LegState {
    pub id: LegId,
    pub role: Role,
    /// The direction the party last asked for (sendonly / inactive: it holds the others).
    pub direction: Direction,
    /// Hears everyone, heard by no one (M5).
    pub listen_only: bool,
    /// Said it is muted (C2).
    pub muted: bool,
    /// Speaking level 0..=4.
    pub level: u8,
    /// Its dialog is confirmed (leaving means a BYE).
    pub confirmed: bool,
}

impl LegState {
    fn is_holding(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
    }
    fn sends_media(&self) -> bool {
        matches!(self.direction, Direction::SendRecv | Direction::SendOnly)
    }
}

/// The establishing phase: the call, the hunt for who answers it, the offer ringing now.
#[derive(Debug)]
struct Setup {
    caller: Role,
    caller_leg: LegId,
    dest: Dest,
    team: Option<String>,
    hunt: Hunt,
    /// The hunt's decision to carry out next (None: waiting for an event).
    next: Option<Decision>,
    /// Agents offered the call so far (and the calling agent).
    tried: Vec<String>,
    /// The agent the directory reserved for the next ring.
    reserved: Option<String>,
    /// The offer ringing now (answered: until it joined).
    ringing: Option<Offer>,
    /// When the caller's INVITE arrived (the customer's wait counts from here).
    started: Instant,
}

/// A room's call logic.
pub struct RoomMachine {
    config: Arc<Config>,
    room: RoomId,
    record_id: String,
    /// A moment and the wall clock (ms since the epoch) then: timeline times from `now`.
    epoch: (Instant, u64),
    now: Instant,
    phase: Phase,
    setup: Option<Setup>,
    legs: Vec<LegState>,
    transfer: Option<Transfer>,
    /// Waiting for the directory's answer for this.
    pending: Option<Pending>,
    /// An offer answered and joining as this leg (until [`Event::Joined`]).
    joining: Option<(OfferId, LegId)>,
    /// Held by a `hold` command (C3): the customer, or (no customer) everyone but this leg.
    command_hold: Option<LegId>,
    timeline: Vec<TimelineEntry>,
    /// The leg that completed the transfer just now (it leaves as `transferred`).
    transferred_out: Option<LegId>,
    /// Held legs and since when (wall ms), kept by `hold_clock.rs`.
    held_since: Vec<(LegId, u64)>,
    last_state: Option<RoomState>,
    state_version: u64,
    /// Room subscriptions that came before the call was connected.
    early_subs: Vec<(TxId, String, bool)>,
    /// Supervisors in the call (their legs) and how they are in it (V2).
    supervisors: Vec<(LegId, agentphone_protocol::SuperviseMode)>,
    /// A supervisor being answered as this leg (until [`Event::SupervisorJoined`]).
    supervisor_joining: Option<(LegId, String, agentphone_protocol::SuperviseMode)>,
    /// The team the call came for, once connected (the supervisor view).
    team: Option<String>,
    /// When the call was answered (ms since the Unix epoch).
    answered_ms: Option<u64>,
    next_leg: LegId,
    next_offer: u64,
    next_transfer: u64,
    /// Why the last party to go left when it was not a BYE (`media timeout`): the end reason
    /// the record gets if its going ends the room (issue 11 §7).
    last_departure: Option<&'static str>,
    out: Vec<Effect>,
}

impl RoomMachine {
    /// A room `room` writing call record `record_id`; `epoch`: an instant and the wall clock
    /// (ms since the Unix epoch) at it.
    pub fn new(
        config: Arc<Config>,
        room: RoomId,
        record_id: String,
        epoch: (Instant, u64),
    ) -> RoomMachine {
        RoomMachine {
            config,
            room,
            record_id,
            now: epoch.0,
            epoch,
            phase: Phase::Establishing,
            setup: None,
            legs: Vec::new(),
            transfer: None,
            pending: None,
            joining: None,
            command_hold: None,
            timeline: Vec::new(),
            held_since: Vec::new(),
            transferred_out: None,
            last_state: None,
            state_version: 0,
            early_subs: Vec::new(),
            supervisors: Vec::new(),
            supervisor_joining: None,
            team: None,
            answered_ms: None,
            next_leg: 1,
            next_offer: 0,
            next_transfer: 0,
            last_departure: None,
            out: Vec::new(),
        }
    }

    /// Take one event at `now`; the effects to carry out, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        self.now = now;
        self.last_departure = None;
        let event = match event {
            // Only a connected call takes a supervisor; the others say why.
            Event::Supervise { tx, user, mode } if self.phase != Phase::Connected => {
                self.supervise_request(tx, user, mode);
                return std::mem::take(&mut self.out);
            }
            Event::SupervisorJoined { leg, result } if self.phase != Phase::Connected => {
                self.supervisor_joining = None;
                if result.is_ok() {
                    self.emit(Effect::DropLeg { leg, bye: true });
                }
                return std::mem::take(&mut self.out);
            }
            other => other,
        };
        match self.phase {
            // What was under way at the end is given back.
            Phase::Ending => match event {
                Event::Directory(DirReply::Reserved(user)) => {
                    self.directory(DirOp::Release(user));
                }
                Event::Joined { offer, result } => {
                    if let Some((_, leg)) = self.joining.take().filter(|(o, _)| *o == offer) {
                        self.orphan_join(leg, &result);
                    }
                }
                _ => {}
            },
            Phase::Establishing | Phase::Queued { .. } => self.setup_event(event),
            Phase::Connected => self.connected_event(event),
        }
        if self.phase == Phase::Connected {
            self.publish_state();
            if let Some(reason) = self.end_reason() {
                self.end(reason);
            }
        }
        std::mem::take(&mut self.out)
    }

    /// Where the room is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the machine must get [`Event::Tick`] even if nothing happens: the ring timeout of
    /// the offer ringing (establishing, or a transfer's), or the end of the queue wait.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Establishing => self
                .setup
                .as_ref()
                .and_then(|s| s.ringing.as_ref())
                .filter(|o| o.is_pending())
                .map(|o| o.deadline),
            Phase::Queued { until } => Some(until),
            Phase::Connected => self.transfer.as_ref().and_then(Transfer::deadline),
            Phase::Ending => None,
        }
    }

    /// Does the caller's CANCEL matter (establishing or queued)?
    pub fn establishing(&self) -> bool {
        matches!(self.phase, Phase::Establishing | Phase::Queued { .. })
    }

    /// Do directory changes matter (queued)?
    pub fn queued(&self) -> bool {
        matches!(self.phase, Phase::Queued { .. })
    }

    /// The team whose queue the call is in (None: not queued).
    pub fn queued_team(&self) -> Option<&str> {
        self.setup
            .as_ref()
            .filter(|_| self.queued())
            .and_then(|s| s.team.as_deref())
    }

    fn emit(&mut self, effect: Effect) {
        self.out.push(effect);
    }

    fn respond(&mut self, tx: TxId, reply: Reply) {
        self.emit(Effect::Respond { tx, reply });
    }

    fn directory(&mut self, op: DirOp) {
        self.emit(Effect::Directory(op));
    }

    fn record(&mut self, state: &'static str, detail: Option<String>) {
        self.emit(Effect::Record(RecordOp::State {
            call: self.record_id.clone(),
            state,
            detail,
        }));
    }

    fn new_leg_id(&mut self) -> LegId {
        let id = self.next_leg;
        self.next_leg += 1;
        id
    }

    fn new_offer_id(&mut self) -> OfferId {
        self.next_offer += 1;
        OfferId(self.next_offer)
    }

    /// Add a timeline entry and write it to the call record.
    fn note(&mut self, kind: TimelineKind, text: String) {
        self.record(kind.as_str(), Some(text.clone()));
        self.note_in_memory(kind, text);
    }

    /// Add a timeline entry the call record already has in another form (answered, ended).
    fn note_in_memory(&mut self, kind: TimelineKind, text: String) {
        let at_ms = self.wall_ms();
        self.timeline.push(TimelineEntry { at_ms, kind, text });
    }

    /// Now, in ms since the Unix epoch.
    fn wall_ms(&self) -> u64 {
        let since = self.now.saturating_duration_since(self.epoch.0).as_millis();
        self.epoch.1 + u64::try_from(since).unwrap_or(u64::MAX)
    }

    /// How a party is named in the timeline.
    fn name_of(&self, role: &Role) -> String {
        match role {
            Role::Agent(user) => self.agent_name(user),
            Role::Customer { display, uri } => display.clone().unwrap_or_else(|| uri.clone()),
        }
    }

    /// An agent's display name (the user name for an unknown one).
    fn agent_name(&self, user: &str) -> String {
        super::transfer_rules::display_name(&self.config, user)
    }

    fn leg(&self, id: LegId) -> Option<&LegState> {
        self.legs.iter().find(|l| l.id == id)
    }

    /// A party joined for an offer the room gave up on meanwhile: hung up at once.
    fn orphan_join(&mut self, leg: LegId, result: &Result<Direction, Unusable>) {
        if result.is_ok() {
            self.emit(Effect::DropLeg { leg, bye: true });
        }
    }

    fn set_mode(&mut self, leg: LegId, mode: LegMode) {
        self.emit(Effect::SetMode { leg, mode });
    }
}
