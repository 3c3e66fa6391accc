//! The server's registration-long subscriptions: my own entry of the directory (my agent state,
//! always), the whole directory (only while watched: a transfer modal is open) and for a
//! supervisor the floor (SPEC V1, while watched). Each is subscribed after every successful
//! registration (or when watching starts), refreshed before it lapses, re-made after the server
//! lost it, ended (`Expires: 0`) when no longer watched and on unregister.
//!
//! The directory comes whole first, then as deltas, a big document in parts: the parts are put
//! together, each version applied to the state kept here, and a delta that does not follow it
//! (a gap) makes a new subscription — a fresh whole state. Each directory version goes out as a
//! `Directory` event (the whole state), each change of my own entry as a `Me` event, each floor
//! NOTIFY as a `Floor` event.

use std::time::Duration;

use std::time::Instant;

use super::engine::Engine;
use super::event::PhoneEvent;
use super::subscription::{SubKind, Subscription};
use agentphone_protocol::directory_parts::Assembler;
use agentphone_protocol::supervisor::URI_USER as FLOOR_USER;
use agentphone_protocol::{DirectoryState, SupervisorState};

/// Wait before subscribing again after the server refused, did not answer or ended it.
const RETRY: Duration = Duration::from_secs(5);

/// One of the engine's registration-long subscriptions (the directory, the floor).
#[derive(Debug)]
pub struct DirectoryLink {
    /// The subscription, while there is one.
    pub sub: Option<Subscription>,
    /// When to try again (after a failure).
    pub retry_at: Option<Instant>,
    /// The directory as put together from this subscription's NOTIFYs.
    pub state: DirectoryState,
    /// Parts of the version under way.
    pub parts: Assembler,
}

impl Default for DirectoryLink {
    fn default() -> Self {
        DirectoryLink {
            sub: None,
            retry_at: None,
            state: DirectoryState::new(0, Vec::new(), Vec::new()),
            parts: Assembler::default(),
        }
    }
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
            SubKind::Own => Some(&mut self.own),
            SubKind::Floor => Some(&mut self.floor),
            SubKind::Room | SubKind::History => None,
        }
    }

    /// After a registration: subscribe anew (a server that made us register again may have lost
    /// the subscription; a fresh one costs one NOTIFY). An old subscription is ended first, in
    /// case the server still has it. My own entry always; the directory and the floor when this
    /// phone watches them.
    pub(super) fn subscribe_directory(&mut self) {
        for kind in [SubKind::Own, SubKind::Directory, SubKind::Floor] {
            if self.wanted(kind) {
                self.subscribe_link(kind);
            }
        }
    }

    /// Is this registration-long subscription wanted now?
    fn wanted(&self, kind: SubKind) -> bool {
        match kind {
            SubKind::Own => true,
            SubKind::Directory => self.directory_wanted,
            SubKind::Floor => self.floor_wanted,
            SubKind::Room | SubKind::History => false,
        }
    }

    /// Start watching the whole directory (a transfer modal opens) or stop (`Expires: 0`).
    pub(super) fn watch_directory(&mut self, on: bool) {
        if std::mem::replace(&mut self.directory_wanted, on) == on {
            return;
        }
        if !on {
            self.unsubscribe_link(SubKind::Directory);
        } else if self.is_registered() {
            self.subscribe_link(SubKind::Directory);
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
            link.parts = Assembler::default();
            link.state = DirectoryState::new(0, Vec::new(), Vec::new());
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
        self.unsubscribe_link(SubKind::Own);
        self.unsubscribe_link(SubKind::Directory);
        self.unsubscribe_link(SubKind::Floor);
    }

    fn unsubscribe_link(&mut self, kind: SubKind) {
        let Some(link) = self.link_mut(kind) else {
            return;
        };
        link.retry_at = None;
        // Without the notifier's tag an `Expires: 0` would be a new subscription of its own and
        // leave this one running at the server: it is ended once its 2xx gives the dialog.
        let confirmed = link.sub.as_ref().map(Subscription::confirmed);
        if confirmed == Some(true) {
            if let Err(e) = self.send_subscribe(kind, 0) {
                tracing::debug!("{} unsubscribe: {e}", kind.event());
            }
        }
        if let Some(old) = self.link_mut(kind).and_then(|l| l.sub.take()) {
            self.forget_subscription(&old);
            if confirmed == Some(false) {
                self.end_when_confirmed(old);
            }
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
        for kind in [SubKind::Own, SubKind::Directory, SubKind::Floor] {
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
        } else if self.is_registered() && self.wanted(kind) {
            self.subscribe_link(kind);
        } else if let Some(link) = self.link_mut(kind) {
            link.retry_at = None;
        }
    }

    /// A directory NOTIFY's document (already answered): a whole state, a delta or a part.
    pub(super) fn on_directory_state(&mut self, kind: SubKind, doc: DirectoryState) {
        let me = self.cfg.user.clone();
        let Some(link) = self.link_mut(kind) else {
            return;
        };
        let Some(whole) = link.parts.add(doc) else {
            return; // more parts to come
        };
        if whole.base.is_none() && whole.version > 0 && whole.version <= link.state.version {
            return; // an older state overtaken on the way
        }
        if let Err(gap) = link.state.apply(whole) {
            // A delta we cannot apply: ask for the whole state again.
            tracing::info!("{}: {gap}: subscribing again", kind.event());
            return self.subscribe_link(kind);
        }
        let state = &link.state;
        let event = match kind {
            SubKind::Own => PhoneEvent::Me {
                version: state.version,
                me: state.agents.iter().find(|a| a.username == me).cloned(),
                away_reasons: state.away_reasons.clone(),
                ring_timeout_s: state.ring_timeout_s,
            },
            _ => PhoneEvent::Directory {
                version: state.version,
                agents: state.agents.clone(),
                teams: state.teams.clone(),
                away_reasons: state.away_reasons.clone(),
                ring_timeout_s: state.ring_timeout_s,
            },
        };
        self.emit(event);
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
