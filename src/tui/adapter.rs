//! The engine adapter: folds [`PhoneEvent`]s into the TUI's [`Model`] and turns the user's
//! [`Action`]s into [`PhoneCommand`]s. Pure data in, data out — the async wiring is in
//! [`super::wiring`], so every mapping here is unit-tested without sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::action::{Action, TransferTarget};
use super::model::{
    AgentEntry, AgentStatus, CallView, Connection, Directory, IncomingCall, Model, Participant,
    ParticipantState, Quality, Role, TeamEntry, TimeOfDay, TimelineEntry, TransferStatus,
};
use super::strings;
use crate::phone::protocol::room as wire;
use crate::phone::{self, CallState, PhoneCommand, PhoneEvent, RoomState, TransferState};

/// Who is on the other end of the current (or ringing) call, as far as the engine told us.
#[derive(Clone, Debug, Default)]
struct Peer {
    /// Call id.
    call: String,
    /// URI or user name.
    uri: String,
    /// Name to show.
    name: String,
    /// True when the peer is a customer (a team call or a call out to a non-agent).
    customer: bool,
    /// Transfer reason that came with the call.
    reason: Option<String>,
}

/// Keeps the model and the little call context the events alone do not carry.
#[derive(Debug)]
pub struct Adapter {
    model: Model,
    server: Option<SocketAddr>,
    peer: Option<Peer>,
    voice_requested: bool,
    /// The transfer target of the call that just ended: the engine reports `completed` after
    /// the call's end.
    ended_with_target: Option<String>,
    /// The server's room state carries each party's level, so the speaker meter no longer
    /// stands in for the others' meters.
    room_levels: bool,
}

impl Adapter {
    /// An adapter for `user` (display name `display`) talking to `server`.
    pub fn new(user: &str, display: &str, server: Option<SocketAddr>) -> Self {
        Adapter {
            model: Model::new(user, display),
            server,
            peer: None,
            voice_requested: false,
            ended_with_target: None,
            room_levels: false,
        }
    }

    /// The current model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model to change directly (audio status, demo hint, levels).
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

    /// Fold one engine event into the model. Returns true when the model changed.
    pub fn apply(&mut self, event: &PhoneEvent, now: Instant) -> bool {
        let before = self.model.clone();
        match event {
            PhoneEvent::Ready { .. } | PhoneEvent::Dtmf { .. } => {}
            PhoneEvent::Registered { .. } => {
                self.model.connection = Connection::Online;
            }
            PhoneEvent::RegistrationFailed { code, reason } => {
                // 408/503 mean "nobody answered": an Offline event with the retry follows.
                if !matches!(code, 408 | 503) {
                    self.model.connection = Connection::Refused {
                        reason: format!("{code} {reason}"),
                    };
                }
            }
            PhoneEvent::Offline { retry_in_s } => {
                self.model.connection = Connection::Offline {
                    retry_at: now + Duration::from_secs(*retry_in_s),
                };
            }
            PhoneEvent::Unregistered { .. } => self.model.connection = Connection::Registering,
            PhoneEvent::Voice { active } => self.model.voice_active = *active,
            PhoneEvent::IncomingCall {
                call,
                from,
                display,
                team,
                reason,
                transferred_by,
                listen_only,
            } => {
                self.incoming(call, from, display.as_deref(), team.as_deref(), reason);
                if let Some(inc) = self.model.incoming.as_mut() {
                    inc.transferred_by = transferred_by.clone();
                    if *listen_only {
                        inc.reason = Some(strings::listen_only_reason(inc.reason.as_deref()));
                    }
                }
            }
            PhoneEvent::CallState {
                call,
                state,
                reason,
            } => self.call_state(call, *state, reason.as_deref(), now),
            PhoneEvent::Mute { muted } => {
                let me = self.model.me.user.clone();
                if let Some(p) = self.my_participant_mut(&me) {
                    p.muted = *muted;
                }
            }
            PhoneEvent::Quality {
                jitter_ms,
                loss_pct,
                rtt_ms,
            } => {
                if let Some(call) = self.model.call.as_mut() {
                    call.quality.jitter_ms = Some(*jitter_ms);
                    call.quality.loss_pct = Some(*loss_pct);
                    call.quality.rtt_ms = *rtt_ms;
                }
            }
            PhoneEvent::Directory { agents, teams, .. } => {
                self.model.directory = directory(agents, teams);
                // No --display given: take my name from the server's directory.
                if self.model.me.display == self.model.me.user {
                    if let Some(mine) = self
                        .model
                        .directory
                        .agents
                        .iter()
                        .find(|a| a.user == self.model.me.user)
                    {
                        self.model.me.display = mine.display.clone();
                    }
                }
            }
            PhoneEvent::Room { room } => self.room(room, now),
            // The room event that comes with each entry carries the whole timeline.
            PhoneEvent::Timeline { .. } => {}
            PhoneEvent::Transfer {
                state,
                reason,
                target,
                ..
            } => self.transfer(*state, reason.as_deref(), target.as_deref()),
            PhoneEvent::CommandFailed {
                command, reason, ..
            } => self.model.notice = Some(strings::command_failed(command, reason)),
            PhoneEvent::Error { message } => self.model.notice = Some(message.clone()),
        }
        self.model != before
    }

    /// Set the level meters (from the audio devices): the call's mic/speaker meters and my own
    /// row; the others' rows too when the server does not report levels. Returns true when they
    /// changed visibly.
    pub fn set_levels(&mut self, mic: f32, speaker: f32) -> bool {
        let Some(call) = self.model.call.as_mut() else {
            return false;
        };
        let visible = |a: f32, b: f32| (a - b).abs() >= 0.02;
        let changed =
            visible(call.quality.mic_level, mic) || visible(call.quality.speaker_level, speaker);
        if changed {
            call.quality.mic_level = mic;
            call.quality.speaker_level = speaker;
            let me = self.model.me.user.clone();
            for p in &mut call.participants {
                if p.user == me {
                    p.level = mic;
                } else if !self.room_levels {
                    p.level = speaker;
                }
            }
        }
        changed
    }

    fn incoming(
        &mut self,
        call: &str,
        from: &str,
        display: Option<&str>,
        team: Option<&str>,
        reason: &Option<String>,
    ) {
        let name = display.map_or_else(|| from.to_string(), str::to_string);
        self.peer = Some(Peer {
            call: call.to_string(),
            uri: from.to_string(),
            name: name.clone(),
            customer: team.is_some() || !self.is_agent(from),
            reason: reason.clone(),
        });
        self.model.incoming = Some(IncomingCall {
            from: name,
            uri: from.to_string(),
            team: team.map(str::to_string),
            transferred_by: None,
            reason: reason.clone(),
        });
        self.model.notice = None;
    }

    fn call_state(&mut self, call: &str, state: CallState, reason: Option<&str>, now: Instant) {
        match state {
            CallState::Ended => {
                self.model.incoming = None;
                if let Some(call) = self.model.call.take() {
                    self.ended_with_target = match &call.transfer {
                        TransferStatus::Ringing { target, .. }
                        | TransferStatus::Consulting { target, .. } => Some(target.clone()),
                        _ => None,
                    };
                    self.model.notice = Some(match call.transfer {
                        TransferStatus::Completed { to, .. } => strings::transferred_to(&to),
                        _ => strings::call_ended(reason),
                    });
                } else if let Some(reason) = reason {
                    self.model.notice = Some(strings::call_not_connected(reason));
                }
                self.peer = None;
            }
            CallState::Ringing if self.model.incoming.is_some() => {}
            CallState::Calling | CallState::Ringing | CallState::Early => {
                self.ensure_call(call, now);
                self.set_peer_state(ParticipantState::Ringing);
            }
            CallState::Connected => {
                let answered_here = self.model.incoming.take().is_some();
                self.ensure_call(call, now);
                if answered_here {
                    if let Some(c) = self.model.call.as_mut() {
                        c.started_at = now;
                        let text = format!("{} answered", self.model.me.display);
                        c.timeline.push(TimelineEntry {
                            at: time_of_day(),
                            text,
                        });
                    }
                }
                self.set_peer_state(ParticipantState::Talking);
                self.set_my_state(ParticipantState::Talking);
            }
            CallState::Held => self.set_peer_state(ParticipantState::OnHold),
            CallState::RemoteHeld => self.set_my_state(ParticipantState::OnHold),
        }
    }

    /// The server room's state replaces what the call events guessed: participants, hold, the
    /// transfer under way, the timeline.
    fn room(&mut self, room: &RoomState, now: Instant) {
        self.ensure_call("", now);
        let me = self.model.me.user.clone();
        let Some(call) = self.model.call.as_mut() else {
            return;
        };
        if let Some(c) = &room.customer {
            call.customer = Some(c.display.clone().unwrap_or_else(|| c.uri.clone()));
        }
        let old = std::mem::take(&mut call.participants);
        self.room_levels |= room.participants.iter().any(|p| p.level.is_some());
        call.participants = room
            .participants
            .iter()
            .map(|p| {
                let customer = p.role == wire::Role::Customer;
                let user = match (&p.username, customer) {
                    (Some(u), _) => u.clone(),
                    (None, true) => room
                        .customer
                        .as_ref()
                        .map_or_else(|| p.id.to_string(), |c| c.uri.clone()),
                    (None, false) => p.id.to_string(),
                };
                // My row shows my own mic; the others' what the server measured.
                let old_level = old.iter().find(|o| o.user == user).map_or(0.0, |o| o.level);
                let level = match p.level {
                    Some(l) if user != me => l.clamp(0.0, 1.0),
                    _ => old_level,
                };
                Participant {
                    name: if p.name.is_empty() {
                        user.clone()
                    } else {
                        p.name.clone()
                    },
                    user,
                    role: if customer {
                        Role::Customer
                    } else {
                        Role::Agent
                    },
                    state: participant_state(p.state),
                    muted: p.muted,
                    level,
                }
            })
            .collect();
        if !call.participants.iter().any(|p| p.user == me) {
            // The room lists me by username; keep me visible even if it did not.
            if let Some(mine) = old.into_iter().find(|p| p.user == me) {
                call.participants.insert(0, mine);
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
                if t.state == wire::TransferPhase::Consulting {
                    TransferStatus::Consulting {
                        target,
                        by: t.by.clone(),
                    }
                } else {
                    TransferStatus::Ringing {
                        target,
                        by: t.by.clone(),
                    }
                }
            }
            // Keep how the last transfer ended; a finished one is no longer "under way".
            None => match &call.transfer {
                TransferStatus::Ringing { .. } | TransferStatus::Consulting { .. } => {
                    TransferStatus::None
                }
                other => other.clone(),
            },
        };
        call.timeline = room
            .timeline
            .iter()
            .map(|e| TimelineEntry {
                at: TimeOfDay(((e.at_ms / 1000) % 86_400) as u32),
                text: e.text.clone(),
            })
            .collect();
    }

    /// Progress of the transfer I asked for.
    fn transfer(&mut self, state: TransferState, reason: Option<&str>, target: Option<&str>) {
        let me = self.model.me.user.clone();
        let Some(call) = self.model.call.as_mut() else {
            if state == TransferState::Completed {
                if let Some(to) = target.map(str::to_string).or(self.ended_with_target.take()) {
                    self.model.notice = Some(strings::transferred_to(&to));
                }
            }
            return;
        };
        let target = target
            .map(str::to_string)
            .unwrap_or_else(|| match &call.transfer {
                TransferStatus::Ringing { target, .. }
                | TransferStatus::Consulting { target, .. }
                | TransferStatus::Failed { target, .. } => target.clone(),
                TransferStatus::Completed { to, .. } => to.clone(),
                TransferStatus::None => String::new(),
            });
        let reason = reason.unwrap_or_default().to_string();
        call.transfer = match state {
            TransferState::Trying | TransferState::Ringing => {
                TransferStatus::Ringing { target, by: me }
            }
            TransferState::Answered => TransferStatus::Consulting { target, by: me },
            TransferState::Refused | TransferState::Failed => {
                let reason = if reason.is_empty() {
                    strings::TRANSFER_FAILED.to_string()
                } else {
                    reason
                };
                TransferStatus::Failed { target, reason }
            }
            TransferState::Cancelled => TransferStatus::Failed {
                target,
                reason: strings::TRANSFER_CANCELLED.to_string(),
            },
            TransferState::Completed => TransferStatus::Completed {
                from: me,
                to: target,
            },
        };
    }

    /// Create the call view the first time a call shows up.
    fn ensure_call(&mut self, call: &str, now: Instant) {
        if self.model.call.is_some() {
            return;
        }
        let peer = match &self.peer {
            Some(p) if p.call == call || p.call.is_empty() => p.clone(),
            _ => Peer {
                call: call.to_string(),
                uri: "unknown".to_string(),
                name: "unknown".to_string(),
                customer: true,
                reason: None,
            },
        };
        self.peer = Some(Peer {
            call: call.to_string(),
            ..peer.clone()
        });
        let me = &self.model.me;
        let participants = vec![
            Participant {
                user: me.user.clone(),
                name: me.display.clone(),
                role: Role::Agent,
                state: ParticipantState::Talking,
                muted: false,
                level: 0.0,
            },
            Participant {
                user: peer.uri.clone(),
                name: peer.name.clone(),
                role: if peer.customer {
                    Role::Customer
                } else {
                    Role::Agent
                },
                state: ParticipantState::Ringing,
                muted: false,
                level: 0.0,
            },
        ];
        self.model.call = Some(CallView {
            customer: peer.customer.then(|| peer.name.clone()),
            started_at: now,
            participants,
            transfer: TransferStatus::None,
            quality: Quality::default(),
            timeline: Vec::new(),
            reason: peer.reason.clone(),
        });
    }

    fn set_peer_state(&mut self, state: ParticipantState) {
        let me = self.model.me.user.clone();
        if let Some(call) = self.model.call.as_mut() {
            for p in call.participants.iter_mut().filter(|p| p.user != me) {
                p.state = state;
            }
        }
    }

    fn set_my_state(&mut self, state: ParticipantState) {
        let me = self.model.me.user.clone();
        if let Some(p) = self.my_participant_mut(&me) {
            p.state = state;
        }
    }

    fn my_participant_mut(&mut self, me: &str) -> Option<&mut Participant> {
        self.model
            .call
            .as_mut()?
            .participants
            .iter_mut()
            .find(|p| p.user == me)
    }

    /// True when `uri`'s user part names an agent of the directory.
    fn is_agent(&self, uri: &str) -> bool {
        let user = user_part(uri);
        self.model.directory.agents.iter().any(|a| a.user == user)
    }

    /// The engine commands an action asks for, in order; `Err` carries a notice for actions the
    /// engine cannot carry out.
    pub fn commands_for(&mut self, action: &Action) -> Result<Vec<PhoneCommand>, String> {
        Ok(match action {
            Action::Mute(on) => vec![PhoneCommand::Mute(*on)],
            Action::Hold(true) => vec![PhoneCommand::Hold],
            Action::Hold(false) => vec![PhoneCommand::Resume],
            Action::Dtmf(c) => vec![PhoneCommand::Dtmf(c.to_string())],
            Action::Dial(target) => {
                let uri = dial_uri(target, self.server)?;
                let is_agent = self.is_agent(&uri);
                self.peer = Some(Peer {
                    call: String::new(),
                    uri: uri.clone(),
                    name: target.trim().to_string(),
                    customer: !is_agent,
                    reason: None,
                });
                vec![PhoneCommand::Dial(uri)]
            }
            Action::Answer => vec![PhoneCommand::Answer],
            Action::Decline => vec![PhoneCommand::Decline],
            Action::Hangup => vec![PhoneCommand::Hangup],
            Action::SetVoice(on) => vec![PhoneCommand::SetVoice(*on)],
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
            Action::OpenTransfer | Action::OpenDial | Action::Help | Action::ClosePopup => {
                Vec::new()
            }
        })
    }
}

/// The directory as the transfer modal shows it.
fn directory(agents: &[phone::DirectoryAgent], teams: &[phone::DirectoryTeam]) -> Directory {
    Directory {
        agents: agents
            .iter()
            .map(|a| AgentEntry {
                user: a.username.clone(),
                display: if a.display_name.is_empty() {
                    a.username.clone()
                } else {
                    a.display_name.clone()
                },
                status: match a.status {
                    phone::AgentStatus::Offline | phone::AgentStatus::Unknown => {
                        AgentStatus::Offline
                    }
                    phone::AgentStatus::Inactive => AgentStatus::Inactive,
                    phone::AgentStatus::Available => AgentStatus::Available,
                    phone::AgentStatus::Ringing => AgentStatus::Ringing,
                    phone::AgentStatus::OnCall => AgentStatus::OnCall,
                },
            })
            .collect(),
        teams: teams
            .iter()
            .map(|t| TeamEntry {
                name: t.name.clone(),
                available: t.available,
                active: t.active,
            })
            .collect(),
    }
}

/// A room participant's state word as the model's state.
fn participant_state(state: wire::ParticipantState) -> ParticipantState {
    match state {
        wire::ParticipantState::Ringing => ParticipantState::Ringing,
        wire::ParticipantState::Held => ParticipantState::OnHold,
        wire::ParticipantState::Listening => ParticipantState::ListenOnly,
        wire::ParticipantState::Connected | wire::ParticipantState::Unknown => {
            ParticipantState::Talking
        }
    }
}

/// What to dial for what the user typed: a SIP URI as is, a bare name or number as
/// `sip:NAME@SERVER`.
pub fn dial_uri(target: &str, server: Option<SocketAddr>) -> Result<String, String> {
    let target = target.trim();
    if target.is_empty() {
        return Err(strings::DIAL_EMPTY.to_string());
    }
    if target.starts_with("sip:") || target.starts_with("sips:") {
        return Ok(target.to_string());
    }
    if target.contains('@') {
        return Ok(format!("sip:{target}"));
    }
    match server {
        Some(server) => Ok(format!("sip:{target}@{server}")),
        None => Err(strings::DIAL_NO_SERVER.to_string()),
    }
}

/// `alice` of `sip:alice@host:5060;transport=udp` (or of a bare `alice`).
fn user_part(uri: &str) -> &str {
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))
        .unwrap_or(uri);
    rest.split(['@', ';', '>']).next().unwrap_or(rest)
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
