//! What the room looks like: who hears what (`call_rules::modes`) and the room state package
//! (participants with their state, the customer held, the transfer, the timeline) — published
//! as [`Effect::NotifyState`] whenever it changed.

use agentphone_protocol::room::{
    Customer, Participant, ParticipantState, Role as WireRole, RoomState, Transfer as WireTransfer,
    TransferKind, TransferPhase as WireTransferPhase,
};
use agentphone_protocol::{ParticipantId, TransferId};

use super::super::call_rules;
use super::super::hold::LegView;
use super::super::leg::Role;
use super::super::LegId;
use super::io::{Effect, Ends};
use super::RoomMachine;
use crate::media_engine::level::MAX_LEVEL;
use crate::media_engine::LegMode;

impl RoomMachine {
    /// The legs as the rules see them.
    pub(super) fn leg_views(&self) -> Vec<LegView<'_>> {
        self.legs
            .iter()
            .map(|l| LegView {
                id: l.id,
                role: &l.role,
                holding: l.is_holding(),
                listen_only: l.listen_only,
            })
            .collect()
    }

    /// What every leg hears now.
    pub(super) fn current_modes(&self) -> Vec<(LegId, LegMode)> {
        let mut modes = call_rules::modes(
            &self.leg_views(),
            self.command_hold,
            self.transfer_view(),
            self.config.hold_customer_on_transfer,
        );
        self.whisper_modes(&mut modes);
        modes
    }

    /// Tell the media engine what every leg hears.
    pub(super) fn apply_modes(&mut self) {
        for (leg, mode) in self.current_modes() {
            self.set_mode(leg, mode);
        }
    }

    /// The room's state (version 0: numbered when remembered).
    pub fn room_state(&self) -> RoomState {
        let modes = self.current_modes();
        let mode_of = |id| {
            modes
                .iter()
                .find(|(l, _)| *l == id)
                .map(|(_, m)| *m)
                .unwrap_or(LegMode::Mixed)
        };
        let mut state = RoomState::new(
            self.room,
            u32::try_from(self.config.max_participants).unwrap_or(u32::MAX),
        );
        state.participants.reserve(self.legs.len() + 1);
        for leg in &self.legs {
            let mode = mode_of(leg.id);
            let (role, username) = match &leg.role {
                Role::Customer { uri, display } => {
                    state.customer_held = mode == LegMode::Held;
                    state.customer = Some(Customer {
                        display: display.clone(),
                        uri: uri.clone(),
                    });
                    (WireRole::Customer, None)
                }
                Role::Agent(user) => (WireRole::Agent, Some(user.clone())),
            };
            // What the room hears of this party: nothing while muted, held or listening.
            let level = if leg.muted || !mode.is_heard() {
                0.0
            } else {
                f32::from(leg.level) / f32::from(MAX_LEVEL)
            };
            state.participants.push(Participant {
                id: ParticipantId::Leg(leg.id),
                role,
                username,
                name: self.name_of(&leg.role),
                state: match mode {
                    LegMode::Held => ParticipantState::Held,
                    LegMode::ListenOnly => ParticipantState::Listening,
                    LegMode::Whisper { .. } => ParticipantState::Whispering,
                    LegMode::Mixed | LegMode::Ringback => ParticipantState::Connected,
                },
                muted: leg.muted,
                level: Some(level),
                held_since_ms: self.held_since_ms(leg.id),
                held_ms: None,
            });
        }
        if let Some(t) = &self.transfer {
            let (target, r) = (t.target_user(), &t.req);
            if t.is_ringing() {
                state.participants.push(Participant {
                    id: ParticipantId::Ringing(TransferId(r.id)),
                    role: WireRole::Agent,
                    username: Some(target.to_string()),
                    name: self.agent_name(target),
                    state: ParticipantState::Ringing,
                    muted: false,
                    level: Some(0.0),
                    held_since_ms: None,
                    held_ms: None,
                });
            }
            state.transfer = Some(WireTransfer {
                id: TransferId(r.id),
                state: if t.is_ringing() {
                    WireTransferPhase::Ringing
                } else {
                    WireTransferPhase::Consulting
                },
                kind: if r.team.is_some() {
                    TransferKind::Team
                } else {
                    TransferKind::Agent
                },
                target: Some(target.to_string()),
                target_name: Some(self.agent_name(target)),
                team: r.team.clone(),
                by: r.by.clone(),
                reason: r.reason.clone(),
                listen_only: r.listen_only,
            });
        }
        state.timeline = self.timeline.clone();
        state
    }

    /// Take `state` as the last one when it differs from it, numbered with the next version:
    /// that state, or None when nothing changed.
    pub(super) fn remember_state(&mut self, mut state: RoomState) -> Option<Box<RoomState>> {
        if self
            .last_state
            .as_ref()
            .is_some_and(|last| last.same_content(&state))
        {
            return None;
        }
        self.state_version += 1;
        state.version = self.state_version;
        self.last_state = Some(state.clone());
        Some(Box::new(state))
    }

    /// Tell the subscribers when the state changed.
    pub(super) fn publish_state(&mut self) {
        self.track_holds();
        let state = self.room_state();
        if let Some(state) = self.remember_state(state) {
            self.emit(Effect::NotifyState {
                state: Some(state),
                end: None,
            });
        }
    }

    /// End the subscriptions of an agent who left (or all): they get the state as it is now,
    /// and so do the others when it changed.
    pub(super) fn end_subscriptions(&mut self, ends: Ends) {
        self.track_holds();
        let state = self.room_state();
        let state = self.remember_state(state);
        self.emit(Effect::NotifyState {
            state,
            end: Some(ends),
        });
    }
}
