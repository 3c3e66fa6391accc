//! The directory's decisions as a plain machine: agents change, rooms report their calls,
//! supervisors come and go, and [`Directory::handle`] says what to publish
//! (`handle(event, now) -> effects`). A change is published [`COALESCE`] after the first change
//! of a burst, as the entries that differ from the last publication ([`Effect::Publish`]); the
//! fan-out (`fanout.rs`, another task) turns them into NOTIFYs, so routing never waits for
//! them. The tokio task (`super::run`) only feeds events and carries the effects out; time is a
//! parameter.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::supervisor::SupervisorCall;
use agentphone_protocol::{AgentStatus, DirectoryState, RoomId};

use super::agents::{wall_ms, AgentChange, Agents, Binding};
pub use super::effect::{Changes, Effect, SubState};
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
    /// Refresh (Some) or end (None) a supervisor subscription (unknown ids are ignored).
    Resubscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// New lifetime; None ends it.
        expires: Option<Duration>,
    },
    /// A supervisor NOTIFY was refused (404/481) or never answered: the subscriber is gone.
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
    /// When the pending change is published.
    publish_at: Option<Instant>,
    /// The supervisors' view (V1).
    supervisors: SupervisorFeed,
}

impl Directory {
    /// Everyone offline, no subscriber.
    pub fn new(config: Arc<Config>, now: Instant) -> Directory {
        let mut agents = Agents::new(config, now);
        agents.refresh(now);
        Directory {
            agents,
            publish_at: None,
            supervisors: SupervisorFeed::default(),
        }
    }

    /// The whole directory as last published (version 0): where the fan-out starts from.
    pub fn document(&self) -> DirectoryState {
        self.agents.document()
    }

    /// When [`Event::Timer`] is due: a publication, a supervisor subscription or a registration
    /// lapsing, a wrap-up ending.
    pub fn deadline(&self) -> Option<Instant> {
        [
            self.publish_at,
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
            Event::Resubscribe { id, expires } => match expires {
                Some(e) => self.supervisors.refresh(&id, e, now),
                None => self.supervisors.end(&id, &mut effects),
            },
            Event::Gone { id } => {
                if self.supervisors.remove(&id) {
                    effects.push(Effect::Forget { id });
                }
            }
            Event::Timer => {
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

    /// Is the agent registered through this server (cluster mode: not another node)?
    pub fn is_local(&self, user: &str) -> bool {
        self.agents.is_local(user)
    }

    /// An agent's derived status; None for an unknown user.
    pub fn status(&mut self, user: &str, now: Instant) -> Option<AgentStatus> {
        self.agents.status(user, now)
    }

    /// Publish now whatever is still being coalesced (a subscriber comes: its first state must
    /// be the latest).
    pub fn flush(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.publish_at = None;
        self.publish(now, &mut effects);
        effects
    }

    /// Something may have changed: publish after the coalescing delay.
    fn changed(&mut self, now: Instant) {
        self.publish_at.get_or_insert(now + COALESCE);
    }

    /// Publish the entries that changed since the last publication (and the floor, when
    /// supervisors watch it).
    fn publish(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let changes = self.agents.refresh(now);
        if self.supervisors.watched() {
            let document = self.agents.document();
            self.supervisors
                .publish(&document, wall_ms(now), now, effects);
        }
        if changes.is_empty() {
            return;
        }
        if !changes.agents.is_empty() {
            effects.push(Effect::Changed);
        }
        effects.push(Effect::Publish(Box::new(changes)));
    }
}
