//! The room state event package (`agentphone-room`, JSON): participants with their state, whether
//! the customer is held, the transfer under way and the timeline. Parties of the room subscribe to
//! the room URI; every change is NOTIFYed (the whole state, a growing version).

use std::time::{Duration, Instant};

use agentphone_protocol::room::{
    Customer, Participant, ParticipantState, Role as WireRole, RoomState, Transfer as WireTransfer,
    TransferKind, TransferPhase as WireTransferPhase,
};
use agentphone_protocol::{ParticipantId, TransferId};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;

use super::actor::Room;
use super::leg::Role;
use super::room_sub::RoomSub;
use crate::dialog_table::SubOwner;
use crate::media_engine::level::MAX_LEVEL;
use crate::media_engine::LegMode;
use crate::notify;
use crate::sip_reply;

pub use agentphone_protocol::room::{CONTENT_TYPE, EVENT};

impl Room {
    /// The room's state (version 0: the caller numbers it).
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
            self.handle.id(),
            u32::try_from(self.ctx.config.max_participants).unwrap_or(u32::MAX),
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
                    LegMode::Mixed | LegMode::Ringback => ParticipantState::Connected,
                },
                muted: leg.muted,
                level: Some(level),
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

    /// Take `state` as the last one when it differs from it (numbered with the next version).
    /// True when it did.
    fn remember_state(&mut self, mut state: RoomState) -> bool {
        if self
            .last_state
            .as_ref()
            .is_some_and(|last| last.same_content(&state))
        {
            return false;
        }
        self.state_version += 1;
        state.version = self.state_version;
        self.last_state = Some(state);
        true
    }

    /// NOTIFY every subscriber when the state changed since the last NOTIFY; lapsed
    /// subscriptions end.
    pub fn publish_state(&mut self) {
        let now = Instant::now();
        let lapsed: Vec<String> = self
            .subs
            .iter()
            .filter(|s| s.expires_at <= now)
            .map(|s| s.dialog.call_id.clone())
            .collect();
        for id in lapsed {
            self.end_subscription(&id, "timeout");
        }
        let state = self.room_state();
        if !self.remember_state(state) {
            return;
        }
        for i in 0..self.subs.len() {
            self.notify_sub(i, None);
        }
    }

    /// A party subscribes to the room (403 for anyone else, T11).
    pub async fn subscribe(&mut self, user: String, expires: Duration, tx: ServerTransaction) {
        if !self
            .legs
            .iter()
            .any(|l| l.role.agent() == Some(user.as_str()))
        {
            sip_reply::refuse(&tx, 403, "Forbidden", "You are not in this call").await;
            return;
        }
        let tag = message::new_tag();
        let Some(dialog) = Dialog::from_uas(&tx.request, &tag, &self.room_uri, tx.peer) else {
            sip_reply::reply(&tx, 400, "Bad Request (cannot form a dialog)").await;
            return;
        };
        let mut ok = message::response(&tx.request, 200, "OK", Some(&tag));
        sip_reply::add_header(&mut ok, "Contact", format!("<{}>;isfocus", self.room_uri));
        sip_reply::add_header(&mut ok, "Expires", expires.as_secs().to_string());
        sip_reply::send(&tx, ok).await;
        if expires.is_zero() {
            return;
        }
        self.ctx
            .dialogs
            .bind_subscription(&dialog.call_id, SubOwner::Room(self.handle.id()));
        self.subs.push(RoomSub {
            user,
            dialog,
            expires_at: Instant::now() + expires,
        });
        if self.last_state.is_none() {
            let state = self.room_state();
            self.remember_state(state);
        }
        self.notify_sub(self.subs.len() - 1, None);
    }

    /// A refresh (or end, `Expires: 0`) in a room subscription's dialog.
    pub async fn resubscribe(&mut self, call_id: &str, expires: Duration, tx: ServerTransaction) {
        let Some(sub) = self.subs.iter_mut().find(|s| s.dialog.call_id == call_id) else {
            sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            return;
        };
        let mut ok = sip_reply::build(&tx, 200, "OK");
        sip_reply::add_header(&mut ok, "Expires", expires.as_secs().to_string());
        sip_reply::send(&tx, ok).await;
        if expires.is_zero() {
            self.end_subscription(call_id, "timeout");
        } else {
            sub.expires_at = Instant::now() + expires;
        }
    }

    /// End one subscription with a final NOTIFY.
    pub fn end_subscription(&mut self, call_id: &str, reason: &str) {
        if let Some(i) = self.subs.iter().position(|s| s.dialog.call_id == call_id) {
            self.notify_sub(i, Some(reason));
            self.subs.remove(i);
        }
        self.ctx.dialogs.unbind_subscription(call_id);
    }

    /// End the subscriptions of an agent who left (or all, for `None`, when the room ends).
    pub fn end_subscriptions_of(&mut self, user: Option<&str>) {
        let state = self.room_state();
        let changed = self.remember_state(state);
        let ids: Vec<String> = self
            .subs
            .iter()
            .filter(|s| user.is_none_or(|u| s.user == u))
            .map(|s| s.dialog.call_id.clone())
            .collect();
        for id in ids {
            self.end_subscription(&id, "noresource");
        }
        // The ones who stay see the change too (publish_state will find nothing new to send).
        if changed {
            for i in 0..self.subs.len() {
                self.notify_sub(i, None);
            }
        }
    }

    fn notify_sub(&mut self, i: usize, terminated: Option<&str>) {
        let body = self
            .last_state
            .as_ref()
            .and_then(|s| serde_json::to_vec(s).ok())
            .unwrap_or_default();
        let Some(sub) = self.subs.get_mut(i) else {
            return;
        };
        let state = match terminated {
            Some(reason) => format!("terminated;reason={reason}"),
            None => notify::active(
                sub.expires_at
                    .saturating_duration_since(Instant::now())
                    .as_secs(),
            ),
        };
        let req = notify::request(&mut sub.dialog, EVENT, &state, CONTENT_TYPE, body);
        let tx = self.ctx.endpoint.request(req, sub.dialog.peer);
        tokio::spawn(async move {
            let _ = tx.final_response().await;
        });
    }
}
