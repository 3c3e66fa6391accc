//! The directory's decisions as a plain machine: agents change, subscribers come and go, and
//! [`Directory::handle`] says what to NOTIFY whom (`handle(event, now) -> effects`). A change is
//! published [`COALESCE`] after the first change of a burst, serialised once for every
//! subscriber, and only when the document differs from the last one published. The tokio task
//! (`super::run`) only feeds events and carries the effects out; time is a parameter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::supervisor::SupervisorCall;
use agentphone_protocol::{AgentStatus, DirectoryState, RoomId};

use super::agents::{wall_ms, AgentChange, Agents, Binding};
pub use super::effect::{Effect, SubState};
use super::supervisor_feed::SupervisorFeed;

use crate::config::Config;
use crate::records::TeamDay;
pub use agentphone_protocol::directory::{CONTENT_TYPE, EVENT};

/// How long after the first change of a burst the state is published (protocol: within 200 ms).
pub const COALESCE: Duration = Duration::from_millis(20);

/// Something the directory learns.
#[derive(Debug)]
pub enum Event {
    /// An agent's state changed.
    Agent {
        /// Who.
        user: String,
        /// What.
        change: AgentChange,
    },
    /// A new subscription (its 200 is sent), by Call-ID.
    Subscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// Granted lifetime.
        expires: Duration,
    },
    /// A new supervisor subscription (its 200 is sent), by Call-ID (V1).
    SubscribeSupervisor {
        /// The subscription dialog's Call-ID.
        id: String,
        /// Granted lifetime.
        expires: Duration,
    },
    /// A room's call as the supervisor view shows it changed (None: the room ended).
    Call {
        /// Which room.
        room: RoomId,
        /// Its call now.
        call: Option<Box<SupervisorCall>>,
    },
    /// Today's calls and abandoned calls per team from the call records (read at start-up).
    TeamDay(TeamDay),
    /// Refresh (Some) or end (None) a subscription (either package).
    Resubscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// New lifetime; None ends it.
        expires: Option<Duration>,
    },
    /// A NOTIFY was refused (404/481) or never answered: the subscriber is gone.
    Gone {
        /// The subscription dialog's Call-ID.
        id: String,
    },
    /// The deadline ([`Directory::deadline`]) passed.
    Timer,
}

/// The directory machine.
pub struct Directory {
    agents: Agents,
    /// Subscribers by Call-ID, with when they lapse (ordered, so effects are deterministic).
    subs: BTreeMap<String, Instant>,
    /// The last document published (numbered) and its serialised form.
    last: Option<DirectoryState>,
    body: Arc<[u8]>,
    version: u64,
    /// When the pending change is published.
    publish_at: Option<Instant>,
    /// The supervisors' view (V1).
    supervisors: SupervisorFeed,
}

impl Directory {
    /// Everyone offline, no subscriber.
    pub fn new(config: Arc<Config>, now: Instant) -> Directory {
        Directory {
            agents: Agents::new(config, now),
            subs: BTreeMap::new(),
            last: None,
            body: Arc::from(Vec::new()),
            version: 0,
            publish_at: None,
            supervisors: SupervisorFeed::default(),
        }
    }

    /// When [`Event::Timer`] is due: a publication, a subscription or a registration lapsing, a
    /// wrap-up ending.
    pub fn deadline(&self) -> Option<Instant> {
        [
            self.publish_at,
            self.subs.values().min().copied(),
            self.supervisors.next_lapse(),
            self.agents.next_lapse(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Take in one event.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Agent { user, change } => {
                self.agents.apply(&user, change, now);
                self.changed(now);
            }
            Event::Subscribe { id, expires } => {
                self.subs.insert(id.clone(), now + expires);
                // The current state, at once. If it differs from the last one published (a
                // change still being coalesced), it goes to EVERY subscriber now: numbering it
                // for the newcomer alone would make the pending publication find "no change"
                // and the others would never hear of it (issue 8's lost directory update).
                self.publish(now, &mut effects);
                if !effects
                    .iter()
                    .any(|e| matches!(e, Effect::Notify { id: to, .. } if *to == id))
                {
                    effects.push(self.notify(&id, now));
                }
            }
            Event::SubscribeSupervisor { id, expires } => {
                self.supervisors.subscribe(id.clone(), expires, now);
                self.publish(now, &mut effects);
                if !effects
                    .iter()
                    .any(|e| matches!(e, Effect::NotifySupervisor { id: to, .. } if *to == id))
                {
                    effects.push(self.supervisors.notify(&id, now));
                }
            }
            Event::Call { room, call } => {
                self.supervisors
                    .update_call(room, call.map(|c| *c), wall_ms(now));
                self.changed(now);
            }
            Event::TeamDay(counts) => {
                self.supervisors.seed_counts(&counts, wall_ms(now));
                self.changed(now);
            }
            Event::Resubscribe { id, expires } if self.supervisors.has(&id) => match expires {
                Some(e) => self.supervisors.refresh(&id, e, now),
                None => self.supervisors.end(&id, &mut effects),
            },
            Event::Resubscribe { id, expires } => match expires {
                Some(e) => {
                    if let Some(at) = self.subs.get_mut(&id) {
                        *at = now + e;
                    }
                }
                None => self.end(&id, &mut effects),
            },
            Event::Gone { id } => {
                if self.subs.remove(&id).is_some() || self.supervisors.remove(&id) {
                    effects.push(Effect::Forget { id });
                }
            }
            Event::Timer => {
                let lapsed: Vec<String> = self
                    .subs
                    .iter()
                    .filter(|(_, at)| **at <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in lapsed {
                    self.end(&id, &mut effects);
                }
                for id in self.supervisors.lapsed(now) {
                    self.supervisors.end(&id, &mut effects);
                }
                // A registration lapsed or a wrap-up ended: the status changed by itself.
                let lapsed = self.agents.next_lapse().is_some_and(|at| at <= now);
                let due = self.publish_at.is_some_and(|at| at <= now);
                if due || lapsed {
                    self.publish_at = None;
                    self.publish(now, &mut effects);
                }
            }
        }
        effects
    }

    /// Reserve one agent for a call: Ok(binding) and the agent is now ringing, or why not.
    pub fn reserve(&mut self, user: &str, now: Instant) -> Result<Binding, AgentStatus> {
        let result = self.agents.reserve(user, now);
        self.changed(now);
        result
    }

    /// The next member of `team` in offer order (SPEC T3), not in `exclude`, now ringing.
    pub fn reserve_for_team(
        &mut self,
        team: &str,
        exclude: &[String],
        now: Instant,
    ) -> Option<(String, Binding)> {
        let picked = self.agents.reserve_for_team(team, exclude, now);
        self.changed(now);
        picked
    }

    /// An agent's current binding (any status).
    pub fn binding(&mut self, user: &str, now: Instant) -> Option<Binding> {
        self.agents.binding(user, now)
    }

    /// An agent's derived status; None for an unknown user.
    pub fn status(&mut self, user: &str, now: Instant) -> Option<AgentStatus> {
        self.agents.status(user, now)
    }

    /// The current document, unnumbered (for the fan-out baseline measurement).
    #[cfg(test)]
    pub fn snapshot_for_tests(&mut self, now: Instant) -> DirectoryState {
        self.agents.snapshot(now)
    }

    /// Something may have changed: publish after the coalescing delay.
    fn changed(&mut self, now: Instant) {
        self.publish_at.get_or_insert(now + COALESCE);
    }

    /// Publish the current state to every subscriber if it differs from the last one.
    fn publish(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let snapshot = self.agents.snapshot(now);
        self.supervisors
            .publish(&snapshot, wall_ms(now), now, effects);
        if !self.remember(snapshot) {
            return;
        }
        effects.push(Effect::Changed);
        let ids: Vec<String> = self.subs.keys().cloned().collect();
        for id in ids {
            effects.push(self.notify(&id, now));
        }
    }

    /// Take `snapshot` as the last document when its content differs (the next version,
    /// serialised once for every subscriber). True when it did.
    fn remember(&mut self, mut snapshot: DirectoryState) -> bool {
        if self
            .last
            .as_ref()
            .is_some_and(|last| last.same_content(&snapshot))
        {
            return false;
        }
        self.version += 1;
        snapshot.version = self.version;
        self.body = serde_json::to_vec(&snapshot).unwrap_or_default().into();
        self.last = Some(snapshot);
        true
    }

    /// The last document to one active subscriber.
    fn notify(&self, id: &str, now: Instant) -> Effect {
        let expires = self
            .subs
            .get(id)
            .map_or(0, |at| at.saturating_duration_since(now).as_secs());
        Effect::Notify {
            id: id.to_string(),
            state: SubState::Active { expires },
            body: self.body.clone(),
        }
    }

    /// End a subscription: its final NOTIFY, then forget it.
    fn end(&mut self, id: &str, effects: &mut Vec<Effect>) {
        if self.subs.remove(id).is_some() {
            effects.push(Effect::Notify {
                id: id.to_string(),
                state: SubState::Terminated,
                body: self.body.clone(),
            });
            effects.push(Effect::Forget { id: id.to_string() });
        }
    }
}
