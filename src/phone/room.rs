//! A call that is a room on our server (protocol.md "Room state"): how we recognise one, the room
//! state subscription that follows the call, and the timeline entries reported one by one.

use std::time::Duration;

use agentphone_sip::message;
use agentphone_sip::rsip;
use std::time::Instant;

use super::engine::Engine;
use super::event::PhoneEvent;
use super::subscription::{SubKind, Subscription};
use super::transfer::TransferProgress;
use agentphone_protocol::{RoomState, TimelineEntry};

/// The Info-Package of room commands (also what `Recv-Info` names).
pub use agentphone_protocol::command::INFO_PACKAGE;

/// An answered call subscribes when the server's ACK shows the room has us as a party; if the
/// ACK is lost, this long after answering.
const SUBSCRIBE_WITHOUT_ACK: Duration = Duration::from_secs(1);
/// A room that does not know us yet (403/404 before our answer reached it) is asked again after
/// this long, a few times.
const SUBSCRIBE_RETRY: Duration = Duration::from_millis(500);
const SUBSCRIBE_ATTEMPTS: u32 = 4;

/// What a call knows about the server room it is in.
#[derive(Clone, Debug, Default)]
pub struct RoomLink {
    /// The remote side is a server room that takes room commands (INFO): hold and mute go there.
    pub takes_commands: bool,
    /// The room's URI to subscribe to (`sip:room-ID@HOST`), when the call is a server room.
    pub focus: Option<String>,
    /// The room state subscription, once sent.
    pub sub: Option<Subscription>,
    /// Timeline entries already reported.
    pub timeline: Vec<TimelineEntry>,
    /// My INFO `hold` was accepted and no resume since (the call shows `held`).
    pub held_by_me: bool,
    /// The transfer I asked for, while it runs.
    pub transfer: Option<TransferProgress>,
    /// When to subscribe (answered, waiting for the ACK; or retrying).
    pub subscribe_at: Option<Instant>,
    /// Subscriptions refused so far.
    pub refusals: u32,
}

impl RoomLink {
    /// Read the remote side's INVITE or 2xx. A server room's Contact is its room URI: marked
    /// `;isfocus` (RFC 4579), or named `room-…` in a dialog whose remote sent
    /// `Recv-Info: agentphone-room` (one of our phones sends Recv-Info too, but is no room).
    pub fn from_message(msg: &rsip::SipMessage, domain: &str) -> RoomLink {
        let recv_info = message::header_values(msg, "Recv-Info").iter().any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case(INFO_PACKAGE))
        });
        let isfocus = message::header_values(msg, "Contact").iter().any(|v| {
            v.split(';')
                .skip(1)
                .any(|p| p.trim().eq_ignore_ascii_case("isfocus"))
        });
        let contact = message::contact_uri(msg);
        let user = contact.as_ref().and_then(|u| u.user().map(str::to_string));
        // The focus is where the Contact says (RFC 4579: host and port of the node that has the
        // room — behind a cluster's edge, the phone's server is not that node), without its
        // parameters; the request still goes to the dialog's peer.
        let host = contact
            .as_ref()
            .map(|u| u.host_with_port.to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| domain.to_string());
        let named_room = user.as_deref().is_some_and(|u| u.starts_with("room-"));
        let is_room = isfocus || (recv_info && named_room);
        RoomLink {
            takes_commands: is_room && recv_info,
            focus: match (is_room, user) {
                (true, Some(user)) => Some(format!("sip:{user}@{host}")),
                _ => None,
            },
            ..RoomLink::default()
        }
    }
}

/// The timeline entries of `now` not yet reported in `seen`. The timeline only grows, so they
/// are normally the tail; if the history differs (a new room state after a gap), every entry not
/// seen before counts.
pub fn new_timeline_entries<'a>(
    seen: &[TimelineEntry],
    now: &'a [TimelineEntry],
) -> Vec<&'a TimelineEntry> {
    let common = seen.iter().zip(now).take_while(|(a, b)| a == b).count();
    if common == seen.len() {
        now.iter().skip(common).collect()
    } else {
        now.iter().filter(|e| !seen.contains(e)).collect()
    }
}

impl Engine {
    /// I answered a room's call: subscribe once the ACK comes (or a moment later without it).
    pub(super) fn subscribe_room_soon(&mut self) {
        if let Some(call) = self.call.as_mut().filter(|c| c.room.focus.is_some()) {
            call.room.subscribe_at = Some(self.now + SUBSCRIBE_WITHOUT_ACK);
        }
    }

    /// The room refused the subscription: ask again shortly if it may just not know us yet.
    /// Returns false when we give up.
    pub(super) fn room_subscription_refused(&mut self, code: u16) -> bool {
        let Some(call) = self.call.as_mut() else {
            return false;
        };
        let unconfirmed = call.room.sub.as_ref().is_some_and(|s| !s.confirmed());
        if !(unconfirmed && matches!(code, 403 | 404) && call.room.refusals < SUBSCRIBE_ATTEMPTS) {
            return false;
        }
        call.room.refusals += 1;
        call.room.sub = None;
        call.room.subscribe_at = Some(self.now + SUBSCRIBE_RETRY);
        true
    }

    /// When the room subscription needs the timer (subscribe or refresh).
    pub(super) fn room_deadline(&self) -> Option<Instant> {
        let room = &self.call.as_ref()?.room;
        room.subscribe_at
            .or_else(|| room.sub.as_ref().and_then(|s| s.refresh_at))
    }

    /// The call is connected: subscribe to its room, if it is one and not subscribed yet.
    pub(super) fn subscribe_room(&mut self) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.room.subscribe_at = None;
        if call.room.sub.is_some() {
            return;
        }
        let Some(uri) = call.room.focus.clone() else {
            return;
        };
        let tell_muted = call.room.takes_commands && self.muted;
        call.room.sub = Some(Subscription::new(SubKind::Room, uri));
        if let Err(e) = self.send_subscribe(SubKind::Room, SubKind::Room.expires()) {
            self.emit(PhoneEvent::Error {
                message: format!("room subscription: {e}"),
            });
        }
        if tell_muted {
            // Muted before the call was answered: the room learns it now.
            if let Err(e) =
                self.send_room_command(super::room_commands::RoomCommand::Mute { on: true })
            {
                tracing::debug!("mute INFO: {e}");
            }
        }
    }

    /// Refresh the room subscription when it is due.
    pub(super) fn on_room_timer(&mut self, now: Instant) {
        let subscribe_due = self
            .call
            .as_ref()
            .and_then(|c| c.room.subscribe_at)
            .is_some_and(|d| d <= now);
        if subscribe_due {
            return self.subscribe_room();
        }
        let Some(sub) = self.call.as_mut().and_then(|c| c.room.sub.as_mut()) else {
            return;
        };
        if sub.refresh_at.is_none_or(|d| d > now) {
            return;
        }
        sub.refresh_at = None;
        sub.auth_rounds = 0;
        if let Err(e) = self.send_subscribe(SubKind::Room, SubKind::Room.expires()) {
            tracing::warn!("room subscription refresh: {e}");
        }
    }

    /// The call ends: end its room subscription too.
    pub(super) fn unsubscribe_room(&mut self) {
        let subscribed = self.call.as_ref().is_some_and(|c| c.room.sub.is_some());
        if !subscribed {
            return;
        }
        if let Err(e) = self.send_subscribe(SubKind::Room, 0) {
            tracing::debug!("room unsubscribe: {e}");
        }
        if let Some(sub) = self.call.as_mut().and_then(|c| c.room.sub.take()) {
            self.forget_subscription(&sub);
        }
    }

    /// A NOTIFY of the room subscription (already answered): report the room and new timeline.
    pub(super) fn on_room_state(&mut self, state: RoomState) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        let Some(sub) = call.room.sub.as_mut() else {
            return;
        };
        if state.version > 0 && sub.last_version.is_some_and(|v| state.version <= v) {
            return; // an older state overtaken on the way
        }
        sub.last_version = Some(state.version);
        let fresh: Vec<TimelineEntry> = new_timeline_entries(&call.room.timeline, &state.timeline)
            .into_iter()
            .cloned()
            .collect();
        call.room.timeline = state.timeline.clone();
        // Someone resumed the customer I held: my call is no longer on hold.
        let resumed = call.room.held_by_me && !state.customer_held;
        if resumed {
            call.room.held_by_me = false;
        }
        self.emit(PhoneEvent::Room {
            room: Box::new(state),
        });
        for e in fresh {
            self.emit(PhoneEvent::Timeline {
                at_ms: e.at_ms,
                kind: e.kind,
                text: e.text,
            });
        }
        if resumed {
            let state = self.connected_state();
            self.set_call_state(state, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: u64, kind: &str) -> TimelineEntry {
        TimelineEntry {
            at_ms,
            kind: serde_json::from_value(serde_json::json!(kind)).unwrap(),
            text: String::new(),
        }
    }

    #[test]
    fn new_entries_are_the_tail() {
        let seen = vec![entry(1, "answered")];
        let now = vec![entry(1, "answered"), entry(2, "held"), entry(3, "resumed")];
        let kinds: Vec<&str> = new_timeline_entries(&seen, &now)
            .iter()
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(kinds, ["held", "resumed"]);
        assert!(new_timeline_entries(&now, &now).is_empty());
    }

    #[test]
    fn a_different_history_reports_what_was_not_seen() {
        let seen = vec![entry(1, "answered"), entry(5, "held")];
        let now = vec![entry(1, "answered"), entry(4, "left"), entry(5, "held")];
        let fresh = new_timeline_entries(&seen, &now);
        assert_eq!(fresh, vec![&entry(4, "left")]);
    }

    fn invite_with(headers: &[(&str, &str)]) -> rsip::SipMessage {
        let mut b = message::RequestBuilder::new(rsip::Method::Invite, "sip:alice@127.0.0.1")
            .unwrap()
            .from(None, "sip:x@h", "t")
            .to(None, "sip:alice@h", None)
            .call_id("c")
            .cseq(1);
        for (n, v) in headers {
            b = b.header(n, v);
        }
        rsip::SipMessage::Request(b.build().unwrap())
    }

    #[test]
    fn a_room_is_recognised_by_isfocus_or_by_name_and_recv_info() {
        let focus = invite_with(&[("Contact", "<sip:room-7@10.0.0.1:5060>;isfocus")]);
        let link = RoomLink::from_message(&focus, "10.0.0.1");
        assert_eq!(link.focus.as_deref(), Some("sip:room-7@10.0.0.1:5060"));
        assert!(!link.takes_commands, "no Recv-Info: re-INVITE for hold");

        let named = invite_with(&[
            ("Contact", "<sip:room-9@10.0.0.1:5060>"),
            ("Recv-Info", "agentphone-room"),
        ]);
        let link = RoomLink::from_message(&named, "h");
        assert_eq!(link.focus.as_deref(), Some("sip:room-9@10.0.0.1:5060"));
        assert!(link.takes_commands);

        // Another phone of ours: Recv-Info, but its Contact is no room.
        let phone = invite_with(&[
            ("Contact", "<sip:bob@10.0.0.2:5070>"),
            ("Recv-Info", "agentphone-room"),
        ]);
        let link = RoomLink::from_message(&phone, "h");
        assert!(link.focus.is_none() && !link.takes_commands);
    }
}
