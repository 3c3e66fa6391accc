//! Sending SUBSCRIBEs (with digest credentials, like every agent request), their responses, and
//! the NOTIFYs that come back: directory, room state, and REFER progress in the call's dialog.

use agentphone_protocol::history::HistoryState;
use agentphone_protocol::{decode, DecodeError, DirectoryState, RoomState, SupervisorState};
use agentphone_sip::endpoint::{Peer, TxError};
use agentphone_sip::rsip;

use super::command::PhoneError;
use super::engine::Engine;
use super::event::PhoneEvent;
use super::machine::Incoming;
use super::sip_util;
use super::subscription::{event_package, subscription_state, SubKind, SubState, Subscription};
use super::transactions::Purpose;

/// How many ended subscriptions we remember, to answer their last NOTIFYs 200 instead of 481.
const ENDED_KEPT: usize = 8;

impl Engine {
    fn subscription_mut(&mut self, kind: SubKind) -> Option<&mut Subscription> {
        match kind {
            SubKind::Directory => self.directory.sub.as_mut(),
            SubKind::Own => self.own.sub.as_mut(),
            SubKind::Floor => self.floor.sub.as_mut(),
            SubKind::Room => self.call.as_mut().and_then(|c| c.room.sub.as_mut()),
            SubKind::History => self.history.sub.as_mut(),
        }
    }

    /// Send the subscription's next SUBSCRIBE asking for `expires` seconds (0 ends it).
    pub(super) fn send_subscribe(&mut self, kind: SubKind, expires: u32) -> Result<(), PhoneError> {
        let contact = self.contact_uri();
        let aor = self.cfg.aor();
        let display = self.cfg.display.clone();
        let peer = match kind {
            SubKind::Directory | SubKind::Own | SubKind::Floor | SubKind::History => {
                self.server_peer()?
            }
            SubKind::Room => self
                .call
                .as_ref()
                .map(|c| c.peer)
                .ok_or(PhoneError::NoCall)?,
        };
        let sub = self.subscription_mut(kind).ok_or(PhoneError::NoCall)?;
        let req = sub
            .request(&aor, display.as_deref(), &contact, expires)
            .map_err(PhoneError::Invalid)?;
        let call_id = sub.call_id.clone();
        self.send_subscribe_request(req, peer, kind, call_id, expires);
        Ok(())
    }

    fn send_subscribe_request(
        &mut self,
        mut req: rsip::Request,
        peer: Peer,
        kind: SubKind,
        call_id: String,
        expires: u32,
    ) {
        let purpose = Purpose::Subscribe {
            kind,
            call_id,
            expires,
        };
        let uri = req.uri.to_string();
        self.digest.authorize(&mut req.headers, "SUBSCRIBE", &uri);
        self.send_request(req, peer, purpose);
    }

    /// A registration-long subscription ended before the notifier answered: keep it until its
    /// 2xx (then `end_confirmed_late`) or until newer ones push it out.
    pub(super) fn end_when_confirmed(&mut self, sub: Subscription) {
        if self.ending_unconfirmed.len() >= ENDED_KEPT {
            self.ending_unconfirmed.pop_front();
        }
        self.ending_unconfirmed.push_back(sub);
    }

    /// The 2xx of a subscription ended before it came: end it now, in the dialog it gives.
    /// False when `call_id` is not such a subscription.
    fn end_confirmed_late(&mut self, kind: SubKind, call_id: &str, resp: &rsip::Response) -> bool {
        let Some(at) = self
            .ending_unconfirmed
            .iter()
            .position(|s| s.call_id == call_id)
        else {
            return false;
        };
        let Some(mut sub) = self.ending_unconfirmed.remove(at) else {
            return false;
        };
        sub.learn_dialog(&rsip::SipMessage::Response(resp.clone()));
        let (contact, aor, display) =
            (self.contact_uri(), self.cfg.aor(), self.cfg.display.clone());
        let built = self
            .server_peer()
            .map_err(|e| e.to_string())
            .and_then(|peer| Ok((peer, sub.request(&aor, display.as_deref(), &contact, 0)?)));
        match built {
            Ok((peer, req)) => self.send_subscribe_request(req, peer, kind, sub.call_id.clone(), 0),
            Err(e) => tracing::debug!("{} unsubscribe: {e}", kind.event()),
        }
        true
    }

    /// Remember an ended subscription so its final NOTIFY is answered 200.
    pub(super) fn forget_subscription(&mut self, sub: &Subscription) {
        if self.ended_subs.len() >= ENDED_KEPT {
            self.ended_subs.pop_front();
        }
        self.ended_subs.push_back(sub.call_id.clone());
    }

    /// A response to a SUBSCRIBE.
    pub(super) fn on_subscribe_response(
        &mut self,
        kind: SubKind,
        call_id: &str,
        expires: u32,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        if expires == 0 && kind != SubKind::History {
            return; // an unsubscribe: nothing more to do whatever the answer
        }
        if let Ok(resp) = &result {
            if (200..300).contains(&resp.status_code.code())
                && self.end_confirmed_late(kind, call_id, resp)
            {
                return;
            }
        }
        let stale = self
            .subscription_mut(kind)
            .is_none_or(|s| s.call_id != call_id);
        if stale {
            return;
        }
        let failure = match result {
            Ok(resp) => {
                let code = resp.status_code.code();
                match code {
                    100..=199 => return,
                    // A fetch: its one NOTIFY is what counts; nothing to refresh.
                    200..=299 if kind == SubKind::History => return,
                    200..=299 => {
                        let now = self.now;
                        if let Some(sub) = self.subscription_mut(kind) {
                            sub.on_accepted(&resp, expires, now);
                        }
                        return;
                    }
                    401 | 407 => {
                        let rounds = self.subscription_mut(kind).map_or(0, |s| s.auth_rounds);
                        if rounds < 2
                            && self.digest.on_challenge(&resp)
                            && (rounds == 0 || self.digest.last_was_stale())
                        {
                            if let Some(sub) = self.subscription_mut(kind) {
                                sub.auth_rounds += 1;
                            }
                            match self.send_subscribe(kind, expires) {
                                Ok(()) => return,
                                Err(e) => e.to_string(),
                            }
                        } else {
                            sip_util::refusal_reason(&resp)
                        }
                    }
                    // A server without the history (or unable to read it now): no history shown,
                    // nothing to tell the user.
                    300..=699 if kind == SubKind::History => {
                        tracing::info!("history not fetched: {}", sip_util::refusal_reason(&resp));
                        return self.subscription_lost(kind, false);
                    }
                    403 | 404 if kind == SubKind::Room && self.room_subscription_refused(code) => {
                        return;
                    }
                    // The notifier lost the subscription (e.g. restarted): make a new one.
                    481 => return self.subscription_lost(kind, true),
                    // Refused for good (e.g. 489 from a server without the package): no
                    // retries until the next registration asks again.
                    400..=499 | 600..=699 => {
                        self.emit(PhoneEvent::Error {
                            message: format!(
                                "{} subscription: {}",
                                kind.event(),
                                sip_util::refusal_reason(&resp)
                            ),
                        });
                        return self.subscription_lost(kind, false);
                    }
                    _ => sip_util::refusal_reason(&resp),
                }
            }
            Err(e) => {
                // The server is gone: the registration notices and reports it (offline), and
                // subscribes again once it is back.
                tracing::warn!("{} subscription not answered ({e})", kind.event());
                return self.subscription_lost(kind, true);
            }
        };
        self.emit(PhoneEvent::Error {
            message: format!("{} subscription: {failure}", kind.event()),
        });
        self.subscription_lost(kind, true);
    }

    /// The subscription is over; the directory's is made again later when `retry`.
    fn subscription_lost(&mut self, kind: SubKind, retry: bool) {
        match kind {
            SubKind::Directory | SubKind::Own | SubKind::Floor => self.directory_lost(kind, retry),
            SubKind::Room => {
                if let Some(sub) = self.call.as_mut().and_then(|c| c.room.sub.take()) {
                    self.forget_subscription(&sub);
                }
            }
            SubKind::History => self.history_fetched(),
        }
    }

    /// An incoming NOTIFY: REFER progress in the call's dialog, or a subscription's state.
    pub(super) fn on_notify(&mut self, st: &Incoming) {
        let msg = rsip::SipMessage::Request(st.request.clone());
        let package = event_package(&msg);
        let in_call_dialog = self
            .call
            .as_ref()
            .and_then(|c| c.dialog.as_ref())
            .is_some_and(|d| d.matches(&msg));
        if in_call_dialog {
            if package == "refer" {
                return self.on_refer_notify(st);
            }
            return self.respond(st, 489, "Bad Event", None);
        }
        let kind = if self.directory.sub.as_ref().is_some_and(|s| s.owns(&msg)) {
            SubKind::Directory
        } else if self.own.sub.as_ref().is_some_and(|s| s.owns(&msg)) {
            SubKind::Own
        } else if self.floor.sub.as_ref().is_some_and(|s| s.owns(&msg)) {
            SubKind::Floor
        } else if self
            .call
            .as_ref()
            .and_then(|c| c.room.sub.as_ref())
            .is_some_and(|s| s.owns(&msg))
        {
            SubKind::Room
        } else if self.history.sub.as_ref().is_some_and(|s| s.owns(&msg)) {
            SubKind::History
        } else {
            let call_id = agentphone_sip::message::call_id(&msg).unwrap_or_default();
            if self.ended_subs.contains(&call_id) {
                return self.respond(st, 200, "OK", None);
            }
            return self.respond(st, 481, "Subscription Does Not Exist", None);
        };
        if package != kind.event() {
            return self.respond(st, 489, "Bad Event", None);
        }
        let body = &st.request.body;
        let parsed = match kind {
            _ if body.is_empty() => Ok(None),
            SubKind::Directory | SubKind::Own => {
                decode::<DirectoryState>(body).map(|s| Some(Notified::Directory(s)))
            }
            SubKind::Room => decode::<RoomState>(body).map(|s| Some(Notified::Room(Box::new(s)))),
            SubKind::Floor => {
                decode::<SupervisorState>(body).map(|s| Some(Notified::Floor(Box::new(s))))
            }
            SubKind::History => decode::<HistoryState>(body).map(|s| Some(Notified::History(s))),
        };
        let state = match parsed {
            Ok(state) => state,
            // Answered 200 all the same: the subscription is fine, only its documents are not
            // for this phone (and a refusal would make the server retry or drop us).
            Err(DecodeError::TooNew { found }) => {
                self.report_too_new(kind, found);
                None
            }
            Err(e) => return self.bad_body(st, kind, &e),
        };
        self.respond(st, 200, "OK", None);
        if let Some(sub) = self.subscription_mut(kind) {
            sub.learn_dialog(&msg);
        }
        match state {
            Some(Notified::Directory(s)) => self.on_directory_state(kind, s),
            Some(Notified::Room(s)) => self.on_room_state(*s),
            Some(Notified::Floor(s)) => self.on_floor_state(*s),
            Some(Notified::History(s)) => self.on_history_state(s),
            None => {}
        }
        if subscription_state(&msg) == SubState::Terminated {
            self.subscription_lost(kind, true);
        }
    }
}

impl Engine {
    /// A document in a newer format than this phone reads: say so once per subscription.
    fn report_too_new(&mut self, kind: SubKind, found: u32) {
        let Some(sub) = self.subscription_mut(kind) else {
            return;
        };
        if std::mem::replace(&mut sub.too_new_reported, true) {
            return;
        }
        let e = DecodeError::TooNew { found };
        self.emit(PhoneEvent::Error {
            message: format!("{}: {e}", kind.event()),
        });
    }
}

/// A NOTIFY's parsed body.
enum Notified {
    Directory(DirectoryState),
    Room(Box<RoomState>),
    Floor(Box<SupervisorState>),
    History(HistoryState),
}

impl Engine {
    fn bad_body(&mut self, st: &Incoming, kind: SubKind, e: &DecodeError) {
        tracing::warn!("{} NOTIFY with a bad body: {e}", kind.event());
        self.respond(st, 400, "Bad Request (body is not the expected JSON)", None);
    }
}
