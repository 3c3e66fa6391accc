//! The room state event package (`agentphone-room`, JSON), the driver's side: the machine builds
//! the state (`machine/view.rs`) and says when it changed; here the subscriptions' dialogs live,
//! are accepted, refreshed, lapse, and get their NOTIFYs (the whole state, a growing version).

use std::time::{Duration, Instant};

use agentphone_protocol::RoomState;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;

use super::actor::Room;
use super::machine::{Ends, TxId};
use super::room_sub::RoomSub;
use crate::dialog_table::SubOwner;
use crate::notify;
use crate::sip_reply;

pub use agentphone_protocol::room::{CONTENT_TYPE, EVENT};

impl Room {
    /// Subscriptions not refreshed in time end.
    pub(super) fn lapse_subscriptions(&mut self) {
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
    }

    /// The machine accepted a subscription (`state`: a first state to remember).
    pub(super) async fn accept_subscription(
        &mut self,
        id: TxId,
        user: String,
        state: Option<Box<RoomState>>,
    ) {
        if let Some(s) = state {
            self.last_state = Some(*s);
        }
        let Some(pending) = self.txs.remove(&id) else {
            return;
        };
        let (tx, expires) = (pending.tx, pending.expires);
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
        self.notify_sub(self.subs.len() - 1, None);
    }

    /// A refresh (or end, `Expires: 0`) in a room subscription's dialog.
    pub(super) async fn resubscribe(
        &mut self,
        call_id: &str,
        expires: Duration,
        tx: ServerTransaction,
    ) {
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

    /// The state changed (`state`) and/or subscriptions end: the ending ones get a final NOTIFY,
    /// then the others the new state.
    pub(super) fn notify_state(&mut self, state: Option<Box<RoomState>>, end: Option<Ends>) {
        let changed = state.is_some();
        if let Some(s) = state {
            self.last_state = Some(*s);
        }
        if let Some(end) = end {
            let ids: Vec<String> = self
                .subs
                .iter()
                .filter(|s| match &end {
                    Ends::All => true,
                    Ends::User(u) => &s.user == u,
                })
                .map(|s| s.dialog.call_id.clone())
                .collect();
            for id in ids {
                self.end_subscription(&id, "noresource");
            }
        }
        if changed {
            for i in 0..self.subs.len() {
                self.notify_sub(i, None);
            }
        }
    }

    /// End one subscription with a final NOTIFY.
    fn end_subscription(&mut self, call_id: &str, reason: &str) {
        if let Some(i) = self.subs.iter().position(|s| s.dialog.call_id == call_id) {
            self.notify_sub(i, Some(reason));
            self.subs.remove(i);
        }
        self.ctx.dialogs.unbind_subscription(call_id);
    }

    fn notify_sub(&mut self, i: usize, terminated: Option<&str>) {
        // The elapsed figures (hold time) as of now, whenever this subscriber gets the state.
        let body = self
            .last_state
            .as_ref()
            .and_then(|s| {
                let mut s = s.clone();
                s.stamp_elapsed(wall_now_ms());
                serde_json::to_vec(&s).ok()
            })
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

/// The wall clock in ms since the Unix epoch (the room state's clock).
fn wall_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
