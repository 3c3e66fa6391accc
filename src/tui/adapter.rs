//! The engine adapter: presents the engine's [`PhoneView`] as the TUI's [`Model`] (names,
//! words, colours' states, the local level meters) and turns the user's [`Action`]s into
//! [`PhoneCommand`]s. The phone's state is folded once, by the engine; here is presentation only,
//! so every mapping is unit-tested without sockets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::action::{Action, TransferTarget};
use super::model::{
    AgentEntry, CallView, Connection, Directory, IncomingCall, Model, MyState, Participant,
    Quality, TeamEntry, TimeOfDay, TimelineEntry,
};
use super::strings;
use crate::phone::{self, Notice, PartyState, PhoneCommand, PhoneView, Registration};

/// Keeps the model and what only the screen needs (level meters, the local answer's time).
#[derive(Debug)]
pub struct Adapter {
    model: Model,
    server: Option<SocketAddr>,
    /// The display name given at start (the directory's is used when it is only the user name).
    display: String,
    voice_requested: bool,
    /// The view shown last (level meters are laid over it).
    shown: PhoneView,
    /// The notice count of the view shown last: a new notice (even an equal one) replaces a
    /// local notice; an old one cleared by an action does not come back.
    shown_notice: u64,
    /// Microphone and speaker levels from the audio devices.
    levels: (f32, f32),
    /// When the call answered here was answered (wall clock, for its timeline line).
    answered_at: Option<(String, TimeOfDay)>,
    /// The last wrap-up end seen (wall ms) and the instant it was taken as.
    wrap_up_end: Option<(u64, Instant)>,
    /// The call's first timeline entry (wall ms) and the instant it was taken as.
    call_start: Option<(u64, Instant)>,
    /// Held parties (by user) and since when.
    held_since: HashMap<String, Instant>,
}

/// A wall-clock time (ms since the Unix epoch, as the server writes it) as an instant of this
/// process's clock.
pub(super) fn instant_of_wall_ms(ms: u64) -> Instant {
    let now = Instant::now();
    let wall_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if ms >= wall_now {
        now + Duration::from_millis(ms - wall_now)
    } else {
        now.checked_sub(Duration::from_millis(wall_now - ms))
            .unwrap_or(now)
    }
}

impl Adapter {
    /// An adapter for `user` (display name `display`) talking to `server`.
    pub fn new(user: &str, display: &str, server: Option<SocketAddr>) -> Self {
        Adapter {
            model: Model::new(user, display),
            server,
            display: display.to_string(),
            voice_requested: false,
            shown: PhoneView::new(user),
            shown_notice: 0,
            levels: (0.0, 0.0),
            answered_at: None,
            wrap_up_end: None,
            call_start: None,
            held_since: HashMap::new(),
        }
    }

    /// The current model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model to change directly (audio status, demo hint).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// True the first time we are registered: the wiring then switches the voice channel on, so
    /// an agent who opens the softphone gets calls (the header's switch turns it off).
    pub fn take_first_registration(&mut self) -> bool {
        if matches!(self.model.connection, Connection::Online) && !self.voice_requested {
            self.voice_requested = true;
            return true;
        }
        false
    }

    /// Show a refusal or failure in the notice line.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.model.notice = Some(text.into());
    }

    /// The user did something new: an old notice has had its say (issue 10 #6).
    pub fn clear_notice(&mut self) {
        self.model.notice = None;
    }

    /// My state from my directory entry; the wrap-up's end (wall clock on the wire) as an
    /// instant, converted once per value so the model does not change on every view.
    fn my_state(&mut self, view: &PhoneView) -> MyState {
        let me = view.me();
        let wrap_up_until = me
            .and_then(|m| m.wrap_up_until_ms)
            .map(|ms| match self.wrap_up_end {
                Some((seen, at)) if seen == ms => at,
                _ => {
                    let at = instant_of_wall_ms(ms);
                    self.wrap_up_end = Some((ms, at));
                    at
                }
            });
        MyState {
            status: me.map(|m| m.status),
            away_reason: me.and_then(|m| m.away_reason.clone()),
            wrap_up_until,
            away_reasons: view.directory.away_reasons.clone(),
        }
    }

    /// When the conversation began: the room's first timeline entry (so the target of a transfer
    /// sees the customer's whole call, not 00:01), else when it began here. Converted once.
    fn call_start(&mut self, call: &phone::CallView) -> Instant {
        let Some(first) = call.timeline.iter().map(|(at, _)| *at).min() else {
            return call.started_at;
        };
        let at = match self.call_start {
            Some((ms, at)) if ms == first => at,
            _ => {
                let at = instant_of_wall_ms(first);
                self.call_start = Some((first, at));
                at
            }
        };
        at.min(call.started_at)
    }

    /// Since when each held party is held, for the hold timer: the server's figure when the room
    /// gives one (issue 10), else since this screen first saw the hold.
    fn hold_timers(&mut self, participants: &mut [Participant]) {
        let now = Instant::now();
        self.held_since.retain(|user, _| {
            participants
                .iter()
                .any(|p| &p.user == user && p.state == PartyState::OnHold)
        });
        for p in participants
            .iter_mut()
            .filter(|p| p.state == PartyState::OnHold)
        {
            let guess = *self.held_since.entry(p.user.clone()).or_insert(now);
            p.held_since = Some(p.held_since.unwrap_or(guess));
        }
    }

    /// Show the engine's view. Returns true when the model changed.
    pub fn show(&mut self, view: &PhoneView) -> bool {
        let before = self.model.clone();
        self.shown.clone_from(view);
        self.model.connection = match &view.registration {
            Registration::NotRegistered => Connection::Registering,
            Registration::Online => Connection::Online,
            Registration::Offline { retry_at } => Connection::Offline {
                retry_at: *retry_at,
            },
            Registration::Refused { code, reason } => Connection::Refused {
                reason: format!("{code} {reason}"),
            },
        };
        self.model.voice_active = view.voice_active;
        self.model.directory = directory(&view.directory);
        self.model.state = self.my_state(view);
        if self.display == view.user {
            // No display name given: take mine from my entry of the server's directory.
            if let Some(mine) = view.me().filter(|m| !m.display_name.is_empty()) {
                self.model.me.display = mine.display_name.clone();
            }
        }
        self.model.incoming = view.incoming.as_ref().map(|i| IncomingCall {
            from: i.caller().to_string(),
            uri: i.uri.clone(),
            team: i.team.as_ref().map(|t| team_name(&view.directory, t)),
            transferred_by: i
                .transferred_by
                .as_ref()
                .map(|by| display_of(&view.directory, by)),
            waiting_since: i.waiting_since,
            rings_out_at: view
                .directory
                .ring_timeout_s
                .map(|s| i.since + Duration::from_secs(u64::from(s))),
            reason: if i.listen_only {
                Some(strings::listen_only_reason(i.reason.as_deref()))
            } else {
                i.reason.clone()
            },
        });
        self.model.call = view.call.as_ref().map(|c| self.call(c));
        self.model.history = view.history.as_ref().map(super::history_rows::history_list);
        self.model.floor = view.floor.as_ref().map(super::supervisor_adapter::floor);
        if view.notice_seq != self.shown_notice {
            self.shown_notice = view.notice_seq;
            self.model.notice = view.notice.as_ref().map(notice);
        }
        self.model != before
    }

    /// The call component's data for the engine's call.
    fn call(&mut self, call: &phone::CallView) -> CallView {
        let me = &self.model.me;
        let participants = call
            .parties
            .iter()
            .map(|p| Participant {
                user: p.user.clone(),
                name: if p.user == me.user && p.name == me.user {
                    me.display.clone()
                } else {
                    p.name.clone()
                },
                role: p.role,
                state: p.state,
                muted: p.muted,
                level: 0.0,
                held_since: p.held_since,
            })
            .collect::<Vec<Participant>>();
        let mut participants = participants;
        self.hold_timers(&mut participants);
        let mut timeline: Vec<TimelineEntry> = call
            .timeline
            .iter()
            .map(|(at_ms, text)| TimelineEntry {
                at: TimeOfDay(((at_ms / 1000) % 86_400) as u32),
                text: text.clone(),
            })
            .collect();
        if timeline.is_empty() && call.answered_here {
            // Until the room's timeline arrives, the answer here is the first line.
            let at = match &self.answered_at {
                Some((id, at)) if *id == call.id => *at,
                _ => {
                    let at = time_of_day();
                    self.answered_at = Some((call.id.clone(), at));
                    at
                }
            };
            timeline.push(TimelineEntry {
                at,
                text: format!("{} answered", self.model.me.display),
            });
        }
        let mut view = CallView {
            customer: call.customer.clone(),
            started_at: self.call_start(call),
            participants,
            transfer: call.transfer.clone(),
            quality: Quality {
                mic_level: self.levels.0,
                speaker_level: self.levels.1,
                jitter_ms: call.quality.map(|q| q.jitter_ms),
                loss_pct: call.quality.map(|q| q.loss_pct),
                rtt_ms: call.quality.and_then(|q| q.rtt_ms),
            },
            timeline,
            reason: call.reason.clone(),
        };
        fill_levels(&mut view, call, &self.model.me.user, self.levels);
        view
    }

    /// Set the level meters (from the audio devices): the call's mic/speaker meters and my own
    /// row; the others' rows too when the server does not report levels. Returns true when they
    /// changed visibly.
    pub fn set_levels(&mut self, mic: f32, speaker: f32) -> bool {
        let (Some(call), Some(shown)) = (self.model.call.as_mut(), self.shown.call.as_ref()) else {
            return false;
        };
        let visible = |a: f32, b: f32| (a - b).abs() >= 0.02;
        let changed = visible(self.levels.0, mic) || visible(self.levels.1, speaker);
        if changed {
            self.levels = (mic, speaker);
            call.quality.mic_level = mic;
            call.quality.speaker_level = speaker;
            fill_levels(call, shown, &self.model.me.user, self.levels);
        }
        changed
    }

    /// Fold one event into a view of the adapter's own and show it: lets the tests drive the
    /// presentation with the same events the engine emits.
    #[cfg(test)]
    pub fn apply(&mut self, event: &crate::phone::PhoneEvent, now: std::time::Instant) -> bool {
        let mut view = self.shown.clone();
        view.apply(event, now);
        self.show(&view)
    }

    /// The view shown last.
    pub fn shown(&self) -> &PhoneView {
        &self.shown
    }

    /// The engine commands an action asks for, in order; `Err` carries a notice for actions the
    /// engine cannot carry out.
    pub fn commands_for(&self, action: &Action) -> Result<Vec<PhoneCommand>, String> {
        Ok(match action {
            Action::Mute(on) => vec![PhoneCommand::Mute(*on)],
            Action::Hold(true) => vec![PhoneCommand::Hold],
            Action::Hold(false) => vec![PhoneCommand::Resume],
            Action::Dtmf(c) => vec![PhoneCommand::Dtmf(c.to_string())],
            Action::Dial(target) => vec![PhoneCommand::Dial(dial_uri(target, self.server)?)],
            Action::Answer => vec![PhoneCommand::Answer],
            Action::Decline => vec![PhoneCommand::Decline],
            Action::Hangup => vec![PhoneCommand::Hangup],
            Action::SetVoice(on) => vec![PhoneCommand::SetVoice(*on)],
            Action::SetState(state) => vec![PhoneCommand::SetState(state.clone())],
            Action::SetDisposition { code, note } => vec![PhoneCommand::SetDisposition {
                code: code.clone(),
                note: Some(note.trim().to_string()).filter(|n| !n.is_empty()),
            }],
            Action::Quit => {
                let mut cmds = Vec::new();
                if self.model.call.is_some() {
                    cmds.push(PhoneCommand::Hangup);
                } else if self.model.incoming.is_some() {
                    cmds.push(PhoneCommand::Decline);
                }
                if matches!(self.model.connection, Connection::Online) {
                    cmds.push(PhoneCommand::Unregister);
                }
                cmds
            }
            Action::Transfer {
                target,
                reason,
                listen_only,
            } => vec![PhoneCommand::Transfer {
                target: match target {
                    TransferTarget::Agent(a) => phone::TransferTarget::Agent(a.clone()),
                    TransferTarget::Team(t) => phone::TransferTarget::Team(t.clone()),
                },
                reason: reason.clone().filter(|r| !r.trim().is_empty()),
                listen_only: *listen_only,
            }],
            Action::CancelTransfer => vec![PhoneCommand::CancelTransfer],
            Action::CompleteTransfer => vec![PhoneCommand::CompleteTransfer],
            Action::WatchDirectory(on) => vec![PhoneCommand::WatchDirectory(*on)],
            Action::Explain(why) => return Err(why.clone()),
            Action::Supervise { .. } => super::supervisor_adapter::command(action)
                .into_iter()
                .collect(),
            Action::OpenTransfer
            | Action::OpenDial
            | Action::OpenStateMenu
            | Action::OpenHistory
            | Action::Help
            | Action::ClosePopup => Vec::new(),
        })
    }
}

/// Each row's meter: mine shows my microphone, the others what the room measured — or, from a
/// server that does not measure, the speaker.
fn fill_levels(view: &mut CallView, call: &phone::CallView, me: &str, (mic, speaker): (f32, f32)) {
    for (row, party) in view.participants.iter_mut().zip(&call.parties) {
        row.level = if row.user == me {
            mic
        } else if call.room_levels {
            party.level.unwrap_or(0.0)
        } else {
            speaker
        };
    }
}

/// The notice line for the engine's notice.
fn notice(notice: &Notice) -> String {
    match notice {
        Notice::Error(message) => message.clone(),
        Notice::CommandFailed { command, reason } => strings::command_failed(command, reason),
        Notice::CallEnded { reason } => strings::call_ended(reason.as_deref()),
        Notice::NotConnected { reason } => strings::call_not_connected(reason),
        Notice::TransferredTo { target } => strings::transferred_to(target),
    }
}

/// An agent's display name (else the user name): messages name people, not accounts.
fn display_of(d: &phone::Directory, user: &str) -> String {
    d.agents
        .iter()
        .find(|a| a.username == user && !a.display_name.is_empty())
        .map_or_else(|| user.to_string(), |a| a.display_name.clone())
}

/// A team's name as configured ("Support") for the address a call came in on (`support`, what
/// the server's Call-Info names); the address itself when the directory does not know it.
fn team_name(d: &phone::Directory, address: &str) -> String {
    d.teams
        .iter()
        .find(|t| t.inbound.as_deref() == Some(address))
        .or_else(|| d.teams.iter().find(|t| t.name == address))
        .map_or_else(|| address.to_string(), |t| t.name.clone())
}

/// The directory as the transfer modal shows it.
fn directory(d: &phone::Directory) -> Directory {
    Directory {
        agents: d
            .agents
            .iter()
            .map(|a| AgentEntry {
                user: a.username.clone(),
                display: if a.display_name.is_empty() {
                    a.username.clone()
                } else {
                    a.display_name.clone()
                },
                status: a.status,
                away_reason: a.away_reason.clone(),
            })
            .collect(),
        teams: d
            .teams
            .iter()
            .map(|t| TeamEntry {
                name: t.name.clone(),
                available: t.available,
                active: t.active,
            })
            .collect(),
    }
}

/// What to dial for what the user typed (the phone knows how a name becomes a SIP URI).
pub fn dial_uri(target: &str, server: Option<SocketAddr>) -> Result<String, String> {
    phone::dial_uri(target, server).map_err(|e| match e {
        phone::DialError::Empty => strings::DIAL_EMPTY.to_string(),
        phone::DialError::NoServer => strings::DIAL_NO_SERVER.to_string(),
    })
}

/// The local wall-clock time of day (UTC; the timeline only orders entries).
fn time_of_day() -> TimeOfDay {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    TimeOfDay((secs % 86_400) as u32)
}

#[cfg(test)]
#[path = "adapter_tests.rs"]
mod tests;
