//! The room state event package (`agentphone-room`, JSON): participants with their state, whether
//! the customer is held, the transfer under way and the timeline. Parties of the room subscribe to
//! the room URI; every change is NOTIFYed (the whole state, a growing version).

use std::time::{Duration, Instant};

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use serde_json::{json, Value};

use super::actor::Room;
use super::leg::Role;
use super::room_sub::RoomSub;
use crate::dialog_table::SubOwner;
use crate::media_engine::level::MAX_LEVEL;
use crate::media_engine::LegMode;
use crate::notify;
use crate::sip_reply;

/// The event package name.
pub const EVENT: &str = "agentphone-room";
/// The NOTIFY body type.
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.room+json";

impl Room {
    /// The room's state as JSON, without the version.
    pub fn state_json(&self) -> Value {
        let modes = self.current_modes();
        let mode_of = |id| {
            modes
                .iter()
                .find(|(l, _)| *l == id)
                .map(|(_, m)| *m)
                .unwrap_or(LegMode::Mixed)
        };
        let mut customer = Value::Null;
        let mut customer_held = false;
        let mut participants: Vec<Value> = Vec::with_capacity(self.legs.len() + 1);
        for leg in &self.legs {
            let mode = mode_of(leg.id);
            let state = match mode {
                LegMode::Held => "held",
                LegMode::ListenOnly => "listening",
                LegMode::Mixed | LegMode::Ringback => "connected",
            };
            let name = self.name_of(&leg.role);
            let id = format!("L{}", leg.id);
            // What the room hears of this party: nothing while muted, held or listening.
            let level = if leg.muted || !mode.is_heard() {
                0.0
            } else {
                f32::from(leg.level) / f32::from(MAX_LEVEL)
            };
            match &leg.role {
                Role::Customer { uri, display } => {
                    customer_held = mode == LegMode::Held;
                    customer = json!({"display": display, "uri": uri});
                    participants.push(json!({"id": id, "role": "customer", "name": name,
                        "state": state, "muted": leg.muted, "level": level}));
                }
                Role::Agent(user) => {
                    participants.push(json!({"id": id, "role": "agent", "username": user,
                        "name": name, "state": state, "muted": leg.muted, "level": level}));
                }
            }
        }
        let transfer = match &self.transfer {
            None => Value::Null,
            Some(t) => {
                let (target, r) = (t.target_user(), &t.req);
                if t.is_ringing() {
                    participants.push(json!({"id": format!("T{}", r.id), "role": "agent",
                        "username": target, "name": self.agent_name(target),
                        "state": "ringing", "muted": false, "level": 0.0}));
                }
                let state = if t.is_ringing() {
                    "ringing"
                } else {
                    "consulting"
                };
                json!({"id": r.id, "state": state, "kind": if r.team.is_some() { "team" } else { "agent" },
                    "target": target, "target_name": self.agent_name(target),
                    "team": r.team, "by": r.by, "reason": r.reason, "listen_only": r.listen_only})
            }
        };
        json!({"room": self.handle.id().to_string(),
            "max_participants": self.ctx.config.max_participants,
            "customer_held": customer_held, "customer": customer,
            "participants": participants, "transfer": transfer, "timeline": self.timeline})
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
        let state = self.state_json();
        if state == self.last_state {
            return;
        }
        self.last_state = state;
        self.state_version += 1;
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
        if self.last_state.is_null() {
            self.last_state = self.state_json();
            self.state_version += 1;
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
        let state = self.state_json();
        let changed = state != self.last_state;
        if changed {
            self.last_state = state;
            self.state_version += 1;
        }
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
        let mut body = self.last_state.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("version".into(), json!(self.state_version));
        }
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
        let req = notify::request(
            &mut sub.dialog,
            EVENT,
            &state,
            CONTENT_TYPE,
            body.to_string().into_bytes(),
        );
        let tx = self.ctx.endpoint.request(req, sub.dialog.peer);
        tokio::spawn(async move {
            let _ = tx.final_response().await;
        });
    }
}
