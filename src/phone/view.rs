//! The phone's folded state, typed: what a UI shows and what a script's `expect` checks. The
//! engine folds every event it emits into its [`PhoneView`] and the driver publishes it (a
//! `watch` channel: a UI always sees the latest whole state). The wire's documents (the protocol
//! crate's types, SIP URIs) are read here, so no UI needs to know them.

use std::time::{Duration, Instant};

use super::event::{CallState, PhoneEvent, TransferState};
use agentphone_protocol::history::HistoryCall;
use agentphone_protocol::room::{ParticipantState, Role as WireRole, TransferPhase};
use agentphone_protocol::{DirectoryAgent, DirectoryTeam, RoomState};

/// Everything a UI shows about the phone.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneView {
    /// Our user name.
    pub user: String,
    /// Where the registration stands.
    pub registration: Registration,
    /// Voice channel active (as the server accepted it).
    pub voice_active: bool,
    /// My microphone is muted.
    pub muted: bool,
    /// The call ringing here, not answered yet.
    pub incoming: Option<IncomingOffer>,
    /// The call I am in (or dialling), with everyone in it.
    pub call: Option<CallView>,
    /// Agents and teams with live status (while the directory is watched; the last one seen
    /// otherwise).
    pub directory: Directory,
    /// My own entry as the server last told it (my agent state), and the directory version it
    /// is of: the own subscription's or the whole directory's, whichever is newer.
    pub own: Option<DirectoryAgent>,
    own_version: u64,
    /// The floor, when this phone watches it (a supervisor, V1).
    pub floor: Option<agentphone_protocol::SupervisorState>,
    /// My call history as last fetched (None: not fetched yet).
    pub history: Option<History>,
    /// The last thing worth telling the user that has no other place.
    pub notice: Option<Notice>,
    /// Counts notices set (or cleared) so far: the same notice happening again is news too.
    pub notice_seq: u64,
    /// The target of the transfer under way when my call ended (`completed` comes after).
    ended_transfer: Option<String>,
}

/// The registration with the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Not registered (yet, or on request).
    NotRegistered,
    /// Registered.
    Online,
    /// The server is unreachable; the next attempt is at `retry_at`.
    Offline {
        /// When the next REGISTER goes out.
        retry_at: Instant,
    },
    /// Refused (wrong credentials…): no retry until asked.
    Refused {
        /// SIP status code.
        code: u16,
        /// The server's reason phrase.
        reason: String,
    },
}

/// A call ringing here (R2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingOffer {
    /// Call id.
    pub call: String,
    /// The caller's URI.
    pub uri: String,
    /// The caller's display name, when sent.
    pub display: Option<String>,
    /// The team that was called.
    pub team: Option<String>,
    /// The reason given with a transfer.
    pub reason: Option<String>,
    /// The agent transferring the call to me.
    pub transferred_by: Option<String>,
    /// I am added as a listener only.
    pub listen_only: bool,
    /// The caller is a customer (a team call, or a caller who is no agent of the directory).
    pub customer: bool,
    /// When it began to ring here.
    pub since: Instant,
    /// Since when the customer waits (the server's figure taken back from when it rang here).
    pub waiting_since: Option<Instant>,
}

impl IncomingOffer {
    /// The caller's name to show: display name, else the URI.
    pub fn caller(&self) -> &str {
        self.display.as_deref().unwrap_or(&self.uri)
    }
}

/// The call I am in.
#[derive(Clone, Debug, PartialEq)]
pub struct CallView {
    /// Call id.
    pub id: String,
    /// Where it stands.
    pub state: CallState,
    /// It rang here and I answered it here.
    pub answered_here: bool,
    /// When it began here (for the timer).
    pub started_at: Instant,
    /// The customer's name, when there is a customer.
    pub customer: Option<String>,
    /// Everyone in the call, me included (the room's list once it is known).
    pub parties: Vec<Party>,
    /// The room's state has come: its list of parties is the authority on who is held.
    pub room_known: bool,
    /// The room reports each party's speaking level.
    pub room_levels: bool,
    /// The transfer under way, or how the last one ended.
    pub transfer: TransferView,
    /// Live quality of my leg.
    pub quality: Option<Quality>,
    /// The room's timeline (milliseconds since the Unix epoch, text).
    pub timeline: Vec<(u64, String)>,
    /// The reason given for the transfer that brought the call to me.
    pub reason: Option<String>,
}

/// One person in the call.
#[derive(Clone, Debug, PartialEq)]
pub struct Party {
    /// User name (agents) or URI (customer).
    pub user: String,
    /// Name to show.
    pub name: String,
    /// Customer or agent.
    pub role: Role,
    /// What they are doing.
    pub state: PartyState,
    /// Their microphone is muted.
    pub muted: bool,
    /// Speaking level the room measured (0.0–1.0), when it does.
    pub level: Option<f32>,
    /// On hold since then, by the server's figure (the room's `held_ms` counted back from when
    /// its NOTIFY arrived); None when not held or the room does not say.
    pub held_since: Option<Instant>,
}

/// A party's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The outside caller.
    Customer,
    /// One of us.
    Agent,
}

/// A party's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyState {
    /// In the conversation.
    Talking,
    /// Being rung.
    Ringing,
    /// On hold.
    OnHold,
    /// Listen only.
    Listening,
    /// A supervisor whispering: heard by the agents only.
    Whispering,
}

/// Where a transfer stands, as the agents in the call see it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TransferView {
    /// None under way.
    #[default]
    None,
    /// The target rings.
    Ringing {
        /// Who is rung (name, else user or team).
        target: String,
        /// User name of who asked for it.
        by: String,
    },
    /// The target joined.
    Consulting {
        /// Who joined.
        target: String,
        /// User name of who asked for it.
        by: String,
    },
    /// Refused or failed; the call is back as before.
    Failed {
        /// Who was tried.
        target: String,
        /// Why, when known.
        reason: Option<String>,
    },
    /// I cancelled it.
    Cancelled {
        /// Who was tried.
        target: String,
    },
    /// Completed: `from` left, `to` stays.
    Completed {
        /// Who transferred.
        from: String,
        /// Who took the call.
        to: String,
    },
}

/// Quality figures of my leg.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    /// Jitter in ms.
    pub jitter_ms: f32,
    /// Loss in percent.
    pub loss_pct: f32,
    /// Round trip in ms.
    pub rtt_ms: Option<f32>,
}

/// Agents and teams.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Directory {
    /// Every agent with status.
    pub agents: Vec<DirectoryAgent>,
    /// Every team with availability.
    pub teams: Vec<DirectoryTeam>,
    /// The reasons I may give for being away (the server's list).
    pub away_reasons: Vec<String>,
    /// How long an offered call rings here before it is missed.
    pub ring_timeout_s: Option<u32>,
}

impl Directory {
    /// The agent named by `uri`'s user part, if any.
    pub fn agent_of(&self, uri: &str) -> Option<&DirectoryAgent> {
        let user = super::sip_util::uri_user(uri).unwrap_or_else(|| uri.to_string());
        self.agents.iter().find(|a| a.username == user)
    }
}

/// My call history (the server's call records) and the disposition codes I may set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct History {
    /// The server's disposition codes, in its order.
    pub codes: Vec<String>,
    /// My calls, newest first.
    pub calls: Vec<HistoryCall>,
}

/// Something to tell the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// An error of the engine (media, a subscription…).
    Error(String),
    /// A room command was refused.
    CommandFailed {
        /// The command (`hold`, `cancel_transfer`, …).
        command: String,
        /// The server's words.
        reason: String,
    },
    /// The call ended.
    CallEnded {
        /// Why, as the engine says it.
        reason: Option<String>,
    },
    /// A call ended before it was connected (a dial that failed).
    NotConnected {
        /// Why.
        reason: String,
    },
    /// My call ended because I transferred it to `target`.
    TransferredTo {
        /// Who took it.
        target: String,
    },
}

impl PhoneView {
    /// Tell the user something (or clear the line with `None`).
    fn set_notice(&mut self, notice: Option<Notice>) {
        self.notice = notice;
        self.notice_seq = self.notice_seq.wrapping_add(1);
    }

    /// Nothing happened yet.
    pub fn new(user: &str) -> Self {
        PhoneView {
            user: user.to_string(),
            registration: Registration::NotRegistered,
            voice_active: false,
            muted: false,
            incoming: None,
            call: None,
            directory: Directory::default(),
            own: None,
            own_version: 0,
            floor: None,
            history: None,
            notice: None,
            notice_seq: 0,
            ended_transfer: None,
        }
    }

    /// The engine starts dialling `uri` (the events do not carry it): the call to come is with
    /// that party.
    pub fn dialled(&mut self, call: &str, uri: &str, now: Instant) {
        self.call = None;
        self.ensure_call(call, uri, None, now);
    }

    /// Fold one event in at `now`.
    pub fn apply(&mut self, event: &PhoneEvent, now: Instant) {
        match event {
            PhoneEvent::Ready { .. } | PhoneEvent::Dtmf { .. } | PhoneEvent::Timeline { .. } => {}
            PhoneEvent::Registered { .. } => {
                self.registration = Registration::Online;
                // A restarted server numbers from 1 again: the next entry counts whatever it says.
                self.own_version = 0;
            }
            // 408/503 mean nobody answered: an Offline event with the retry follows.
            PhoneEvent::RegistrationFailed {
                code: 408 | 503, ..
            } => {}
            PhoneEvent::RegistrationFailed { code, reason } => {
                self.registration = Registration::Refused {
                    code: *code,
                    reason: reason.clone(),
                }
            }
            PhoneEvent::Offline { retry_in_s } => {
                self.registration = Registration::Offline {
                    retry_at: now + Duration::from_secs(*retry_in_s),
                }
            }
            PhoneEvent::Unregistered { .. } => self.registration = Registration::NotRegistered,
            PhoneEvent::Voice { active } => self.voice_active = *active,
            PhoneEvent::IncomingCall {
                call,
                from,
                display,
                team,
                reason,
                transferred_by,
                listen_only,
                waited_ms,
            } => {
                let customer = team.is_some() || self.directory.agent_of(from).is_none();
                self.incoming = Some(IncomingOffer {
                    call: call.clone(),
                    uri: from.clone(),
                    display: display.clone(),
                    team: team.clone(),
                    reason: reason.clone(),
                    transferred_by: transferred_by.clone(),
                    listen_only: *listen_only,
                    customer,
                    since: now,
                    waiting_since: waited_ms
                        .map(|ms| now.checked_sub(Duration::from_millis(ms)).unwrap_or(now)),
                });
                self.set_notice(None);
            }
            PhoneEvent::CallState {
                call,
                state,
                reason,
            } => self.call_state(call, *state, reason.as_deref(), now),
            PhoneEvent::Mute { muted } => {
                self.muted = *muted;
                let me = self.user.clone();
                if let Some(p) = self.party_mut(&me) {
                    p.muted = *muted;
                }
            }
            PhoneEvent::Quality {
                jitter_ms,
                loss_pct,
                rtt_ms,
            } => {
                if let Some(call) = self.call.as_mut() {
                    call.quality = Some(Quality {
                        jitter_ms: *jitter_ms,
                        loss_pct: *loss_pct,
                        rtt_ms: *rtt_ms,
                    });
                }
            }
            PhoneEvent::Directory {
                version,
                agents,
                teams,
                away_reasons,
                ring_timeout_s,
            } => {
                // Both subscriptions number by the same sequence: the newer says who I am.
                if *version > self.own_version {
                    if let Some(mine) = agents.iter().find(|a| a.username == self.user) {
                        self.own = Some(mine.clone());
                        self.own_version = *version;
                    }
                }
                self.directory = Directory {
                    agents: agents.clone(),
                    teams: teams.clone(),
                    away_reasons: away_reasons.clone(),
                    ring_timeout_s: *ring_timeout_s,
                }
            }
            PhoneEvent::Me {
                version,
                me,
                away_reasons,
                ring_timeout_s,
            } => {
                if *version >= self.own_version {
                    self.own = me.clone();
                    self.own_version = *version;
                }
                self.directory.away_reasons = away_reasons.clone();
                self.directory.ring_timeout_s = *ring_timeout_s;
            }
            PhoneEvent::Floor { floor } => self.floor = Some((**floor).clone()),
            PhoneEvent::Room { room } => self.room(room, now),
            PhoneEvent::History { codes, calls } => {
                self.history = Some(History {
                    codes: codes.clone(),
                    calls: calls.clone(),
                })
            }
            PhoneEvent::Transfer {
                state,
                code,
                reason,
                target,
            } => {
                // The server's sipfrag carries SIP reason phrases: say what happened instead.
                let name = target.as_deref().map(|t| self.name_of(t));
                let words = match (state, code) {
                    (TransferState::Failed, Some(code)) => Some(failure_words(
                        *code,
                        name.as_deref().unwrap_or("The target"),
                    )),
                    _ => reason.clone(),
                };
                self.transfer(*state, words.as_deref(), name.as_deref())
            }
            PhoneEvent::CommandFailed {
                command, reason, ..
            } => self.set_notice(Some(Notice::CommandFailed {
                command: command.clone(),
                reason: reason.clone(),
            })),
            PhoneEvent::Error { message } => self.set_notice(Some(Notice::Error(message.clone()))),
        }
    }

    fn call_state(&mut self, call: &str, state: CallState, reason: Option<&str>, now: Instant) {
        match state {
            CallState::Ended => {
                if self.incoming.as_ref().is_some_and(|i| i.call == call) {
                    self.incoming = None;
                }
                match self.call.take() {
                    Some(c) if c.id == call || c.id.is_empty() => {
                        self.muted = false;
                        self.set_notice(Some(match &c.transfer {
                            TransferView::Completed { to, .. } => {
                                Notice::TransferredTo { target: to.clone() }
                            }
                            _ => Notice::CallEnded {
                                reason: reason.map(str::to_string),
                            },
                        }));
                        // Completed may be reported after my call ended.
                        self.ended_transfer = match c.transfer {
                            TransferView::Ringing { target, .. }
                            | TransferView::Consulting { target, .. } => Some(target),
                            _ => None,
                        };
                    }
                    Some(other) => self.call = Some(other),
                    None => {
                        if let Some(reason) = reason {
                            self.set_notice(Some(Notice::NotConnected {
                                reason: reason.to_string(),
                            }));
                        }
                    }
                }
            }
            CallState::Ringing if self.incoming.as_ref().is_some_and(|i| i.call == call) => {}
            CallState::Calling | CallState::Ringing | CallState::Early => {
                self.ensure_call(call, "", None, now);
                self.set_others(PartyState::Ringing);
                self.set_state(state);
            }
            CallState::Connected => {
                let offer = self.incoming.take().filter(|i| i.call == call);
                let answered_here = offer.is_some();
                if let Some(offer) = offer {
                    self.call = None;
                    self.ensure_call(call, &offer.uri, Some(&offer), now);
                } else {
                    self.ensure_call(call, "", None, now);
                }
                if let Some(c) = self.call.as_mut() {
                    if answered_here {
                        c.answered_here = true;
                        c.started_at = now;
                    }
                }
                self.set_others(PartyState::Talking);
                let me = self.user.clone();
                if let Some(p) = self.party_mut(&me) {
                    p.state = PartyState::Talking;
                }
                self.set_state(state);
            }
            CallState::Held => {
                self.set_others(PartyState::OnHold);
                self.set_state(state);
            }
            CallState::RemoteHeld => {
                let me = self.user.clone();
                if let Some(p) = self.party_mut(&me) {
                    p.state = PartyState::OnHold;
                }
                self.set_state(state);
            }
        }
    }

    fn set_state(&mut self, state: CallState) {
        if let Some(c) = self.call.as_mut() {
            c.state = state;
        }
    }

    /// The call view, made the first time the call shows up: me and the other party.
    fn ensure_call(&mut self, id: &str, uri: &str, offer: Option<&IncomingOffer>, now: Instant) {
        if let Some(c) = self.call.as_mut() {
            if c.id.is_empty() {
                c.id = id.to_string();
            }
            return;
        }
        let agent = self.directory.agent_of(uri);
        let customer = match offer {
            Some(o) => o.customer,
            None => agent.is_none(),
        };
        let name = match (offer, agent) {
            (Some(o), _) => o.caller().to_string(),
            (None, Some(a)) if !a.display_name.is_empty() => a.display_name.clone(),
            (None, _) if uri.is_empty() => "unknown".to_string(),
            (None, _) => uri.to_string(),
        };
        let other_user = match agent {
            Some(a) => a.username.clone(),
            None if uri.is_empty() => "unknown".to_string(),
            None => uri.to_string(),
        };
        let me = Party {
            user: self.user.clone(),
            name: self.user.clone(),
            role: Role::Agent,
            state: PartyState::Talking,
            muted: self.muted,
            level: None,
            held_since: None,
        };
        let other = Party {
            user: other_user,
            name: name.clone(),
            role: if customer {
                Role::Customer
            } else {
                Role::Agent
            },
            state: PartyState::Ringing,
            muted: false,
            level: None,
            held_since: None,
        };
        self.call = Some(CallView {
            id: id.to_string(),
            state: CallState::Calling,
            answered_here: false,
            started_at: now,
            customer: customer.then_some(name),
            parties: vec![me, other],
            room_known: false,
            room_levels: false,
            transfer: TransferView::None,
            quality: None,
            timeline: Vec::new(),
            reason: offer.and_then(|o| o.reason.clone()),
        });
    }

    /// Guess the other parties' state from my call's state — only until the room says it: in a
    /// room, holding holds the customer, not the other agents (issue 10 #2).
    fn set_others(&mut self, state: PartyState) {
        let me = self.user.clone();
        if let Some(call) = self.call.as_mut().filter(|c| !c.room_known) {
            for p in call.parties.iter_mut().filter(|p| p.user != me) {
                p.state = state;
            }
        }
    }

    fn party_mut(&mut self, user: &str) -> Option<&mut Party> {
        self.call
            .as_mut()?
            .parties
            .iter_mut()
            .find(|p| p.user == user)
    }

    /// The room's state replaces what the call events guessed.
    fn room(&mut self, room: &RoomState, now: Instant) {
        self.ensure_call("", "", None, now);
        let me = self.user.clone();
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if let Some(c) = &room.customer {
            call.customer = Some(c.display.clone().unwrap_or_else(|| c.uri.clone()));
        }
        call.room_known = true;
        call.room_levels |= room.participants.iter().any(|p| p.level.is_some());
        let old = std::mem::take(&mut call.parties);
        call.parties = room
            .participants
            .iter()
            .map(|p| {
                let customer = p.role == WireRole::Customer;
                let user = match (&p.username, customer) {
                    (Some(u), _) => u.clone(),
                    (None, true) => room
                        .customer
                        .as_ref()
                        .map_or_else(|| p.id.to_string(), |c| c.uri.clone()),
                    (None, false) => p.id.to_string(),
                };
                Party {
                    name: if p.name.is_empty() {
                        user.clone()
                    } else {
                        p.name.clone()
                    },
                    role: if customer {
                        Role::Customer
                    } else {
                        Role::Agent
                    },
                    state: match p.state {
                        ParticipantState::Ringing => PartyState::Ringing,
                        ParticipantState::Held => PartyState::OnHold,
                        ParticipantState::Listening => PartyState::Listening,
                        ParticipantState::Whispering => PartyState::Whispering,
                        ParticipantState::Connected | ParticipantState::Unknown => {
                            PartyState::Talking
                        }
                    },
                    muted: p.muted,
                    level: p.level.map(|l| l.clamp(0.0, 1.0)),
                    held_since: p.held_ms.map(|ms| held_since(&old, &user, ms, now)),
                    user,
                }
            })
            .collect();
        if !call.parties.iter().any(|p| p.user == me) {
            // The room lists me by username; keep me visible even if it did not.
            if let Some(mine) = old.into_iter().find(|p| p.user == me) {
                call.parties.insert(0, mine);
            }
        }
        call.transfer = match &room.transfer {
            Some(t) => {
                let target = t
                    .target_name
                    .clone()
                    .or_else(|| t.target.clone())
                    .or_else(|| t.team.clone())
                    .unwrap_or_default();
                if t.state == TransferPhase::Consulting {
                    TransferView::Consulting {
                        target,
                        by: t.by.clone(),
                    }
                } else {
                    TransferView::Ringing {
                        target,
                        by: t.by.clone(),
                    }
                }
            }
            // Keep how the last transfer ended; a finished one is no longer under way.
            None => match &call.transfer {
                TransferView::Ringing { .. } | TransferView::Consulting { .. } => {
                    TransferView::None
                }
                other => other.clone(),
            },
        };
        call.timeline = room
            .timeline
            .iter()
            .map(|e| (e.at_ms, e.text.clone()))
            .collect();
    }

    /// Progress of the transfer I asked for.
    fn transfer(&mut self, state: TransferState, reason: Option<&str>, target: Option<&str>) {
        let me = self.user.clone();
        let Some(call) = self.call.as_mut() else {
            if state == TransferState::Completed {
                if let Some(to) = target.map(str::to_string).or(self.ended_transfer.take()) {
                    self.set_notice(Some(Notice::TransferredTo { target: to }));
                }
            }
            return;
        };
        let target = target
            .map(str::to_string)
            .unwrap_or_else(|| match &call.transfer {
                TransferView::Ringing { target, .. }
                | TransferView::Consulting { target, .. }
                | TransferView::Failed { target, .. }
                | TransferView::Cancelled { target } => target.clone(),
                TransferView::Completed { to, .. } => to.clone(),
                TransferView::None => String::new(),
            });
        let reason = reason.filter(|r| !r.is_empty()).map(str::to_string);
        call.transfer = match state {
            TransferState::Trying | TransferState::Ringing => {
                TransferView::Ringing { target, by: me }
            }
            TransferState::Answered => TransferView::Consulting { target, by: me },
            TransferState::Refused | TransferState::Failed => {
                TransferView::Failed { target, reason }
            }
            TransferState::Cancelled => TransferView::Cancelled { target },
            TransferState::Completed => TransferView::Completed {
                from: me,
                to: target,
            },
        };
    }

    /// My own entry of the directory: my state (S1) as the server has it.
    pub fn me(&self) -> Option<&DirectoryAgent> {
        self.own.as_ref().or_else(|| {
            self.directory
                .agents
                .iter()
                .find(|a| a.username == self.user)
        })
    }

    /// An agent's display name from the directory (else what was given: a team, a URI).
    fn name_of(&self, user: &str) -> String {
        self.directory
            .agents
            .iter()
            .find(|a| a.username == user && !a.display_name.is_empty())
            .map_or_else(|| user.to_string(), |a| a.display_name.clone())
    }

    /// Registered with the server now.
    pub fn is_registered(&self) -> bool {
        self.registration == Registration::Online
    }

    /// No call, nothing ringing.
    pub fn is_idle(&self) -> bool {
        self.call.is_none() && self.incoming.is_none()
    }

    /// An incoming call rings here.
    pub fn is_ringing(&self) -> bool {
        self.incoming.is_some()
    }

    /// We dialled and nobody answered yet.
    pub fn is_calling(&self) -> bool {
        self.current_state().is_some_and(|s| {
            matches!(
                s,
                CallState::Calling | CallState::Ringing | CallState::Early
            )
        })
    }

    /// In a call (including the far end holding us).
    pub fn is_connected(&self) -> bool {
        self.current_state()
            .is_some_and(|s| matches!(s, CallState::Connected | CallState::RemoteHeld))
    }

    /// I hold the call.
    pub fn is_held(&self) -> bool {
        self.current_state() == Some(CallState::Held)
    }

    fn current_state(&self) -> Option<CallState> {
        self.call.as_ref().map(|c| c.state)
    }
}

/// Since when a party is held: `held_ms` before `now`, or the instant already shown for it when
/// that is within a second (a later NOTIFY's figure differs by its trip; the timer must not jump).
fn held_since(old: &[Party], user: &str, held_ms: u64, now: Instant) -> Instant {
    let since = now
        .checked_sub(Duration::from_millis(held_ms))
        .unwrap_or(now);
    let shown = old
        .iter()
        .find(|p| p.user == user)
        .and_then(|p| p.held_since);
    match shown {
        Some(at) if at.max(since) - at.min(since) < Duration::from_secs(1) => at,
        _ => since,
    }
}

/// A transfer's failure (its sipfrag status) in plain words (issue 10, plain words).
fn failure_words(code: u16, name: &str) -> String {
    match code {
        408 | 480 => format!("{name} did not answer"),
        486 | 600 => format!("{name} is busy"),
        603 => format!("{name} declined"),
        487 => "the transfer was cancelled".into(),
        488 => format!("{name} has no usable audio"),
        _ => format!("{name} could not be reached"),
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
