//! The live directory, and for a supervisor the floor (SPEC V1): subscribed after every
//! successful registration, refreshed before they lapse, re-made after the server lost them,
//! ended on unregister. Each directory NOTIFY's whole state goes out as a `Directory` event, each
//! floor NOTIFY's as a `Floor` event.

use std::time::Duration;

use std::time::Instant;

use super::engine::Engine;
use super::event::PhoneEvent;
use super::subscription::{SubKind, Subscription};
use agentphone_protocol::supervisor::URI_USER as FLOOR_USER;
use agentphone_protocol::{DirectoryState, SupervisorState};

/// Wait before subscribing again after the server refused, did not answer or ended it.
const RETRY: Duration = Duration::from_secs(5);

/// One of the engine's registration-long subscriptions (the directory, the floor).
#[derive(Debug, Default)]
pub struct DirectoryLink {
    /// The subscription, while there is one.
    pub sub: Option<Subscription>,
    /// When to try again (after a failure).
    pub retry_at: Option<Instant>,
}

impl DirectoryLink {
    /// The next refresh or retry.
    pub fn deadline(&self) -> Option<Instant> {
        self.sub
            .as_ref()
            .and_then(|s| s.refresh_at)
            .or(self.retry_at)
    }
}

impl Engine {
    /// The link of a registration-long subscription (`Directory` or `Floor`).
    pub(super) fn link_mut(&mut self, kind: SubKind) -> Option<&mut DirectoryLink> {
        match kind {
            SubKind::Directory => Some(&mut self.directory),
            SubKind::Floor => Some(&mut self.floor),
            SubKind::Room | SubKind::History => None,
        }
    }

    /// After a registration: subscribe anew (a server that made us register again may have lost
    /// the subscription; a fresh one costs one NOTIFY). An old subscription is ended first, in
    /// case the server still has it. The floor too, when this phone watches it.
    pub(super) fn subscribe_directory(&mut self) {
        self.subscribe_link(SubKind::Directory);
        if self.floor_wanted {
            self.subscribe_link(SubKind::Floor);
        }
    }

    /// Start watching the floor (a supervisor, V1) or stop.
    pub(super) fn watch_floor(&mut self, on: bool) {
        self.floor_wanted = on;
        if !on {
            self.unsubscribe_link(SubKind::Floor);
        } else if self.is_registered() {
            self.subscribe_link(SubKind::Floor);
        }
    }

    fn subscribe_link(&mut self, kind: SubKind) {
        self.unsubscribe_link(kind);
        let user = match kind {
            SubKind::Floor => FLOOR_USER,
            _ => agentphone_protocol::directory::URI_USER,
        };
        let uri = format!("sip:{user}@{}", self.cfg.domain());
        if let Some(link) = self.link_mut(kind) {
            link.sub = Some(Subscription::new(kind, uri));
        }
        if let Err(e) = self.send_subscribe(kind, kind.expires()) {
            if let Some(link) = self.link_mut(kind) {
                link.sub = None;
            }
            self.emit(PhoneEvent::Error {
                message: format!("{} subscription: {e}", kind.event()),
            });
        }
    }

    /// On unregister: end the subscriptions (`Expires: 0`).
    pub(super) fn unsubscribe_directory(&mut self) {
        self.unsubscribe_link(SubKind::Directory);
        self.unsubscribe_link(SubKind::Floor);
    }

    fn unsubscribe_link(&mut self, kind: SubKind) {
        let Some(link) = self.link_mut(kind) else {
            return;
        };
        link.retry_at = None;
        if link.sub.is_some() {
            if let Err(e) = self.send_subscribe(kind, 0) {
                tracing::debug!("{} unsubscribe: {e}", kind.event());
            }
        }
        if let Some(old) = self.link_mut(kind).and_then(|l| l.sub.take()) {
            self.forget_subscription(&old);
        }
    }

    /// A subscription failed or was ended by the server: with `retry`, try again later while
    /// we are registered (after an outage the next registration subscribes anyway).
    pub(super) fn directory_lost(&mut self, kind: SubKind, retry: bool) {
        if let Some(old) = self.link_mut(kind).and_then(|l| l.sub.take()) {
            self.forget_subscription(&old);
        }
        let at = (retry && self.is_registered()).then(|| self.now + RETRY);
        if let Some(link) = self.link_mut(kind) {
            link.retry_at = at;
        }
    }

    /// Refresh or retry time of either link.
    pub(super) fn on_directory_timer(&mut self, now: Instant) {
        for kind in [SubKind::Directory, SubKind::Floor] {
            let due = self
                .link_mut(kind)
                .and_then(|l| l.deadline())
                .is_some_and(|d| d <= now);
            if due {
                self.on_link_timer(kind);
            }
        }
    }

    fn on_link_timer(&mut self, kind: SubKind) {
        let has_sub = self.link_mut(kind).is_some_and(|l| l.sub.is_some());
        if has_sub {
            if let Some(sub) = self.link_mut(kind).and_then(|l| l.sub.as_mut()) {
                sub.refresh_at = None;
                sub.auth_rounds = 0;
            }
            if let Err(e) = self.send_subscribe(kind, kind.expires()) {
                self.emit(PhoneEvent::Error {
                    message: format!("{} refresh: {e}", kind.event()),
                });
                self.directory_lost(kind, true);
            }
        } else if self.is_registered() && (kind == SubKind::Directory || self.floor_wanted) {
            self.subscribe_link(kind);
        } else if let Some(link) = self.link_mut(kind) {
            link.retry_at = None;
        }
    }

    /// A directory NOTIFY's state (already answered).
    pub(super) fn on_directory_state(&mut self, state: DirectoryState) {
        if !self.newer(SubKind::Directory, state.version) {
            return;
        }
        self.emit(PhoneEvent::Directory {
            version: state.version,
            agents: state.agents,
            teams: state.teams,
            away_reasons: state.away_reasons,
            ring_timeout_s: state.ring_timeout_s,
        });
    }

    /// A floor NOTIFY's state (already answered).
    pub(super) fn on_floor_state(&mut self, state: SupervisorState) {
        if self.newer(SubKind::Floor, state.version) {
            self.emit(PhoneEvent::Floor {
                floor: Box::new(state),
            });
        }
    }

    /// Is `version` newer than the last one of this subscription (remembered when it is)?
    fn newer(&mut self, kind: SubKind, version: u64) -> bool {
        let Some(sub) = self.link_mut(kind).and_then(|l| l.sub.as_mut()) else {
            return false;
        };
        if version > 0 && sub.last_version.is_some_and(|v| version <= v) {
            return false; // an older state overtaken on the way
        }
        sub.last_version = Some(version);
        true
    }
}
