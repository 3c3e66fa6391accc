//! The live directory: subscribed after every successful registration, refreshed before it
//! lapses, re-made after the server lost it, ended on unregister. Each NOTIFY's whole state goes
//! out as a `Directory` event.

use std::time::Duration;

use std::time::Instant;

use super::engine::Engine;
use super::event::PhoneEvent;
use super::subscription::{SubKind, Subscription};
use agentphone_protocol::DirectoryState;

/// Wait before subscribing again after the server refused, did not answer or ended it.
const RETRY: Duration = Duration::from_secs(5);

/// The engine's directory subscription.
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
    /// After a registration: subscribe anew (a server that made us register again may have lost
    /// the subscription; a fresh one costs one NOTIFY). An old subscription is ended first, in
    /// case the server still has it.
    pub(super) fn subscribe_directory(&mut self) {
        self.unsubscribe_directory();
        let uri = format!("sip:directory@{}", self.cfg.domain());
        self.directory.sub = Some(Subscription::new(SubKind::Directory, uri));
        if let Err(e) = self.send_subscribe(SubKind::Directory, SubKind::Directory.expires()) {
            self.directory.sub = None;
            self.emit(PhoneEvent::Error {
                message: format!("directory subscription: {e}"),
            });
        }
    }

    /// On unregister: end the subscription (`Expires: 0`).
    pub(super) fn unsubscribe_directory(&mut self) {
        self.directory.retry_at = None;
        if self.directory.sub.is_some() {
            if let Err(e) = self.send_subscribe(SubKind::Directory, 0) {
                tracing::debug!("directory unsubscribe: {e}");
            }
        }
        if let Some(old) = self.directory.sub.take() {
            self.forget_subscription(&old);
        }
    }

    /// The directory subscription failed or was ended by the server: with `retry`, try again
    /// later while we are registered (after an outage the next registration subscribes anyway).
    pub(super) fn directory_lost(&mut self, retry: bool) {
        if let Some(old) = self.directory.sub.take() {
            self.forget_subscription(&old);
        }
        self.directory.retry_at = (retry && self.is_registered()).then(|| self.now + RETRY);
    }

    /// Refresh or retry time.
    pub(super) fn on_directory_timer(&mut self) {
        if self.directory.sub.is_some() {
            if let Some(sub) = self.directory.sub.as_mut() {
                sub.refresh_at = None;
                sub.auth_rounds = 0;
            }
            if let Err(e) = self.send_subscribe(SubKind::Directory, SubKind::Directory.expires()) {
                self.emit(PhoneEvent::Error {
                    message: format!("directory refresh: {e}"),
                });
                self.directory_lost(true);
            }
        } else if self.is_registered() {
            self.subscribe_directory();
        } else {
            self.directory.retry_at = None;
        }
    }

    /// A directory NOTIFY's state (already answered).
    pub(super) fn on_directory_state(&mut self, state: DirectoryState) {
        let Some(sub) = self.directory.sub.as_mut() else {
            return;
        };
        if state.version > 0 && sub.last_version.is_some_and(|v| state.version <= v) {
            return; // an older state overtaken on the way
        }
        sub.last_version = Some(state.version);
        self.emit(PhoneEvent::Directory {
            version: state.version,
            agents: state.agents,
            teams: state.teams,
            away_reasons: state.away_reasons,
            ring_timeout_s: state.ring_timeout_s,
        });
    }
}
