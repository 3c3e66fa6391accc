//! Supervisors in a call (SPEC V2, V3): a supervisor's INVITE to the room joins them as a leg
//! that listens (hears everyone, heard by no one), whispers (heard by the agent only) or barges
//! (a full party), within `max_participants`; the room command `supervise` switches between the
//! three. A listening or whispering supervisor is not in the conversation, like a listen-only
//! agent: their hold holds nobody and they never keep a call going. What the supervisor view
//! shows of this call comes from [`RoomMachine::supervisor_call`].

use agentphone_protocol::room::Role as WireRole;
use agentphone_protocol::supervisor::{CallParty, CallPhase, SupervisorCall};
use agentphone_protocol::{SuperviseMode, TimelineKind};
use agentphone_sip::sdp::Direction;

use super::super::leg::Role;
use super::super::LegId;
use super::io::{DirOp, Effect, Reply, TxId};
use super::{LegState, Phase, RoomMachine};
use crate::media_engine::LegMode;

/// What a supervisor's mode is called in the timeline.
fn doing(mode: SuperviseMode) -> &'static str {
    match mode {
        SuperviseMode::Listen => "is listening",
        SuperviseMode::Whisper => "is whispering to the agent",
        SuperviseMode::Barge => "joined the conversation",
    }
}

impl RoomMachine {
    /// A supervisor asks to join (the handler checked the role): accepted as a new leg, or
    /// refused with the reason.
    pub(super) fn supervise_request(&mut self, tx: TxId, user: String, mode: SuperviseMode) {
        match self.supervise_refusal(&user) {
            Some((code, phrase, why)) => self.respond(tx, Reply::Refuse(code, phrase, why)),
            None => {
                let leg = self.new_leg_id();
                self.supervisor_joining = Some((leg, user, mode));
                self.emit(Effect::AcceptSupervisor { tx, leg });
            }
        }
    }

    /// Why a supervisor cannot join now, if they cannot.
    fn supervise_refusal(&self, user: &str) -> Option<(u16, &'static str, String)> {
        match self.phase {
            Phase::Connected => {}
            Phase::Ending => return Some((404, "Not Found", "The call has ended".into())),
            Phase::Establishing | Phase::Queued { .. } => {
                return Some((409, "Conflict", "The call is not answered yet".into()))
            }
        }
        let in_call = self.legs.iter().any(|l| l.role.agent() == Some(user));
        if in_call || self.supervisor_joining.is_some() {
            let why = if in_call {
                "You are already in this call"
            } else {
                "Another supervisor is joining this call"
            };
            return Some((409, "Conflict", why.into()));
        }
        let ringing = usize::from(self.transfer.as_ref().is_some_and(|t| t.is_ringing()));
        let joining = usize::from(self.joining.is_some());
        let parties = self.legs.len() + ringing + joining;
        let max = self.config.max_participants;
        (parties >= max).then(|| {
            let why = format!("The call is full: {parties} of {max}");
            (486, "Busy Here", why)
        })
    }

    /// The supervisor's leg is answered (its media direction) or could not be (the driver
    /// refused the INVITE itself).
    pub(super) fn supervisor_joined(&mut self, leg: LegId, result: Result<Direction, ()>) {
        let joining = self.supervisor_joining.take();
        let Some((_, user, mode)) = joining.filter(|(l, _, _)| *l == leg) else {
            if result.is_ok() {
                self.emit(Effect::DropLeg { leg, bye: true });
            }
            return;
        };
        let Ok(direction) = result else {
            return;
        };
        self.legs.push(LegState {
            id: leg,
            role: Role::Agent(user.clone()),
            direction,
            listen_only: mode != SuperviseMode::Barge,
            muted: false,
            level: 0,
            confirmed: true,
        });
        self.supervisors.push((leg, mode));
        self.directory(DirOp::CallStarted(user.clone()));
        self.emit(Effect::WatchTimeout {
            leg,
            on: matches!(direction, Direction::SendRecv | Direction::SendOnly),
        });
        let name = self.agent_name(&user);
        self.note(
            TimelineKind::Supervisor,
            format!("Supervisor {name} {}", doing(mode)),
        );
        self.apply_modes();
    }

    /// The room command `supervise`: a supervisor in the call switches mode.
    pub(super) fn supervise_switch(
        &mut self,
        leg: LegId,
        mode: SuperviseMode,
    ) -> Result<(), (u16, String)> {
        let Some(entry) = self.supervisors.iter_mut().find(|(l, _)| *l == leg) else {
            return Err((
                403,
                "Only a supervisor who joined the call can listen, whisper or barge".into(),
            ));
        };
        if entry.1 == mode {
            return Ok(());
        }
        entry.1 = mode;
        let mut user = None;
        if let Some(l) = self.legs.iter_mut().find(|l| l.id == leg) {
            l.listen_only = mode != SuperviseMode::Barge;
            user = l.role.agent().map(str::to_string);
        }
        let name = self.agent_name(user.as_deref().unwrap_or_default());
        self.note(
            TimelineKind::Supervisor,
            format!("Supervisor {name} {}", doing(mode)),
        );
        self.apply_modes();
        Ok(())
    }

    /// A leg left: forget it as a supervisor; true when it was one.
    pub(super) fn supervisor_left(&mut self, leg: LegId) -> bool {
        let before = self.supervisors.len();
        self.supervisors.retain(|(l, _)| *l != leg);
        self.supervisors.len() != before
    }

    /// A whispering supervisor is heard by the agent in the conversation: the first agent leg
    /// that is heard by the room (none: they only listen).
    pub(super) fn whisper_modes(&self, modes: &mut [(LegId, LegMode)]) {
        let agent = modes
            .iter()
            .find(|(id, mode)| {
                mode.is_heard()
                    && self
                        .leg(*id)
                        .is_some_and(|l| l.role.agent().is_some() && !self.is_supervisor(*id))
            })
            .map(|(id, _)| *id);
        for (id, mode) in modes.iter_mut() {
            let whispers = self
                .supervisors
                .iter()
                .any(|(l, m)| l == id && *m == SuperviseMode::Whisper);
            if whispers && *mode == LegMode::ListenOnly {
                if let Some(to) = agent {
                    *mode = LegMode::Whisper { to };
                }
            }
        }
    }

    fn is_supervisor(&self, leg: LegId) -> bool {
        self.supervisors.iter().any(|(l, _)| *l == leg)
    }

    /// This call as the supervisor view lists it: waiting (the caller, while a team member rings
    /// or it is queued) or connected (every party); None for a call being set up otherwise or
    /// over.
    pub fn supervisor_call(&self) -> Option<SupervisorCall> {
        let since_ms = self.epoch.1;
        match self.phase {
            Phase::Ending => None,
            Phase::Establishing | Phase::Queued { .. } => {
                let setup = self.setup.as_ref()?;
                let name = self.name_of(&setup.caller);
                let customer = setup.caller.is_customer().then(|| name.clone());
                let state = if matches!(self.phase, Phase::Queued { .. }) {
                    agentphone_protocol::ParticipantState::Held
                } else {
                    agentphone_protocol::ParticipantState::Connected
                };
                Some(SupervisorCall {
                    room: self.room,
                    team: setup.team.clone(),
                    phase: CallPhase::Waiting,
                    customer,
                    parties: vec![CallParty {
                        role: if setup.caller.is_customer() {
                            WireRole::Customer
                        } else {
                            WireRole::Agent
                        },
                        username: setup.caller.agent().map(str::to_string),
                        name,
                        state,
                    }],
                    since_ms,
                    answered_ms: None,
                })
            }
            Phase::Connected => {
                let state = self.last_state.as_ref()?;
                let parties = state
                    .participants
                    .iter()
                    .map(|p| CallParty {
                        role: p.role,
                        username: p.username.clone(),
                        name: p.name.clone(),
                        state: p.state,
                    })
                    .collect();
                let customer = state
                    .customer
                    .as_ref()
                    .map(|c| c.display.clone().unwrap_or_else(|| c.uri.clone()));
                Some(SupervisorCall {
                    room: self.room,
                    team: self.team.clone(),
                    phase: CallPhase::Connected,
                    customer,
                    parties,
                    since_ms,
                    answered_ms: self.answered_ms,
                })
            }
        }
    }
}
