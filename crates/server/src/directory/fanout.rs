//! The directory's subscribers as a plain machine (`handle(event, now) -> effects`, time a
//! parameter), run by the fan-out task (`notifier.rs`), never by the task routing waits on.
//!
//! Events in: [`FanoutEvent::Changes`] (entries that changed, from the directory machine — or,
//! in a cluster, from a shared store's change feed), subscriptions coming, refreshed and going,
//! and each NOTIFY's outcome ([`FanoutEvent::Delivered`], [`FanoutEvent::Gone`]). Effects out:
//! the NOTIFYs to send ([`Effect::Notify`], bodies shared between subscribers) and the dialogs
//! to forget ([`Effect::Forget`]).
//!
//! The rules:
//! - A new subscriber gets the whole state, every later NOTIFY a delta: the agents and teams
//!   that changed since the version it last got (`base`). Each entry remembers the version it
//!   last changed in, so a delta from any base is one scan.
//! - Per subscriber, one document at a time: while its NOTIFYs wait for their answers, changes
//!   accumulate and go as one delta once they are all answered (RFC 6665 §4.2.2). A slow
//!   subscriber costs one document of memory, not one per change.
//! - Serialised once per version: every subscriber at the same base on the same kind of
//!   transport gets the same bytes (cached until the next version).
//! - Too big for a datagram (a subscriber on UDP): split in parts of at most
//!   [`DATAGRAM_BODY`] bytes, at most [`WINDOW`] of them in flight; over TCP/TLS one NOTIFY.
//! - Scope `self` (`Event: agentphone-directory;scope=self`): only the subscriber's own entry
//!   (and the away reasons, ring timeout): an agent's own state without the whole directory.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::directory_parts::{encode, DATAGRAM_BODY};
use agentphone_protocol::{DirectoryState, DirectoryTeam};

use super::effect::{Changes, Effect, SubState};

/// NOTIFYs of one subscriber waiting for their answers at most (parts of one document): enough
/// to fill a round trip, few enough not to overflow a phone's socket buffer.
pub const WINDOW: usize = 16;

/// What a subscription shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every agent and team.
    All,
    /// Only this agent's own entry.
    Own(String),
}

/// How the subscriber's NOTIFYs travel: by datagram (split to fit) or by stream (whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// UDP: bodies of at most [`DATAGRAM_BODY`] bytes.
    Datagram,
    /// TCP or TLS: one NOTIFY per document.
    Stream,
}

impl Carrier {
    fn budget(self) -> usize {
        match self {
            Carrier::Datagram => DATAGRAM_BODY,
            Carrier::Stream => usize::MAX,
        }
    }
}

/// Something the fan-out learns.
#[derive(Debug)]
pub enum FanoutEvent {
    /// Entries changed (unchanged ones among them are ignored).
    Changes(Changes),
    /// A new subscription (its 200 is sent).
    Subscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// What it shows.
        scope: Scope,
        /// How its NOTIFYs travel.
        carrier: Carrier,
        /// Granted lifetime.
        expires: Duration,
    },
    /// Refresh (Some) or end (None: final NOTIFY `terminated`) a subscription.
    Resubscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// New lifetime.
        expires: Option<Duration>,
    },
    /// One NOTIFY of the subscription was answered 2xx.
    Delivered {
        /// The subscription dialog's Call-ID.
        id: String,
    },
    /// A NOTIFY was refused (404/481) or never answered: the subscriber is gone.
    Gone {
        /// The subscription dialog's Call-ID.
        id: String,
    },
    /// The deadline ([`Fanout::deadline`]) passed.
    Timer,
}

struct Sub {
    scope: Scope,
    carrier: Carrier,
    lapses: Instant,
    /// The version it has, or will have once the NOTIFYs under way are answered.
    sent: Option<u64>,
    /// NOTIFYs sent and not answered yet.
    in_flight: usize,
    /// Parts of its current document not sent yet.
    queue: VecDeque<Arc<[u8]>>,
}

/// Serialised documents of the current version, by (base, carrier).
type Cache = HashMap<(Option<u64>, Carrier), Arc<[Arc<[u8]>]>>;

/// Same counts and inbound number (members aside).
fn same_counts(a: &DirectoryTeam, b: &DirectoryTeam) -> bool {
    a.available == b.available && a.active == b.active && a.inbound == b.inbound
}

/// The directory document and its subscribers.
pub struct Fanout {
    doc: DirectoryState,
    agent_at: HashMap<String, usize>,
    team_at: HashMap<String, usize>,
    /// The version each agent's entry last changed in (same order as `doc.agents`).
    agent_changed: Vec<u64>,
    team_changed: Vec<u64>,
    subs: BTreeMap<String, Sub>,
    /// Subscribers of scope `All`.
    all: BTreeSet<String>,
    /// Subscribers of scope `Own`, by agent.
    own: HashMap<String, BTreeSet<String>>,
    cache: Cache,
}

impl Fanout {
    /// Start from `doc` (the whole directory, numbered 1), nobody subscribed.
    pub fn new(mut doc: DirectoryState) -> Fanout {
        doc.version = 1;
        doc.base = None;
        let agent_at = doc
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.username.clone(), i))
            .collect();
        let team_at = doc
            .teams
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Fanout {
            agent_changed: vec![1; doc.agents.len()],
            team_changed: vec![1; doc.teams.len()],
            doc,
            agent_at,
            team_at,
            subs: BTreeMap::new(),
            all: BTreeSet::new(),
            own: HashMap::new(),
            cache: HashMap::new(),
        }
    }

    /// How many subscriptions there are (both scopes).
    pub fn subscribers(&self) -> (usize, usize) {
        (self.all.len(), self.subs.len() - self.all.len())
    }

    /// Is `id` a directory subscription?
    pub fn has(&self, id: &str) -> bool {
        self.subs.contains_key(id)
    }

    /// Whether an answer to a NOTIFY under way would let the machine send more at once: a
    /// subscriber with parts of its document still queued, or behind the current version. The
    /// fan-out task reads the answers eagerly only then; otherwise on its next wake-up.
    pub fn waits_for_answers(&self) -> bool {
        self.subs
            .values()
            .any(|s| s.in_flight > 0 && (!s.queue.is_empty() || self.behind(s)))
    }

    /// When the first subscription lapses.
    pub fn deadline(&self) -> Option<Instant> {
        self.subs.values().map(|s| s.lapses).min()
    }

    /// Take in one event.
    pub fn handle(&mut self, event: FanoutEvent, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            FanoutEvent::Changes(changes) => self.take_changes(changes, now, &mut effects),
            FanoutEvent::Subscribe {
                id,
                scope,
                carrier,
                expires,
            } => {
                self.remove(&id); // the same dialog again: start over
                let ids = match &scope {
                    Scope::All => &mut self.all,
                    Scope::Own(user) => self.own.entry(user.clone()).or_default(),
                };
                ids.insert(id.clone());
                let sub = Sub {
                    scope,
                    carrier,
                    lapses: now + expires,
                    sent: None,
                    in_flight: 0,
                    queue: VecDeque::new(),
                };
                self.subs.insert(id.clone(), sub);
                self.pump(&id, now, &mut effects);
            }
            FanoutEvent::Resubscribe { id, expires } => match expires {
                Some(e) => {
                    if let Some(sub) = self.subs.get_mut(&id) {
                        sub.lapses = now + e;
                    }
                }
                None => self.end(&id, &mut effects),
            },
            FanoutEvent::Delivered { id } => {
                if let Some(sub) = self.subs.get_mut(&id) {
                    sub.in_flight = sub.in_flight.saturating_sub(1);
                    self.pump(&id, now, &mut effects);
                }
            }
            FanoutEvent::Gone { id } => {
                if self.remove(&id) {
                    effects.push(Effect::Forget { id });
                }
            }
            FanoutEvent::Timer => {
                let lapsed: Vec<String> = self
                    .subs
                    .iter()
                    .filter(|(_, s)| s.lapses <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in lapsed {
                    self.end(&id, &mut effects);
                }
            }
        }
        effects
    }

    /// Take in changed entries: a new version when any differs, then each concerned subscriber
    /// that has nothing under way gets its delta.
    fn take_changes(&mut self, changes: Changes, now: Instant, effects: &mut Vec<Effect>) {
        let next = self.doc.version + 1;
        let mut touched = Vec::new();
        for a in changes.agents {
            match self.agent_at.get(&a.username) {
                Some(&i) if self.doc.agents[i] == a => continue,
                Some(&i) => {
                    self.doc.agents[i] = a;
                    self.agent_changed[i] = next;
                    touched.push(i);
                }
                None => {
                    self.agent_at
                        .insert(a.username.clone(), self.doc.agents.len());
                    touched.push(self.doc.agents.len());
                    self.doc.agents.push(a);
                    self.agent_changed.push(next);
                }
            }
        }
        let mut teams_changed = false;
        for t in changes.teams {
            match self.team_at.get(&t.name) {
                Some(&i) => {
                    let known = &mut self.doc.teams[i];
                    // Empty members: not given (they change with the configuration only).
                    let members = !t.members.is_empty() && known.members != t.members;
                    if !members && same_counts(known, &t) {
                        continue;
                    }
                    known.available = t.available;
                    known.active = t.active;
                    known.inbound = t.inbound;
                    if members {
                        known.members = t.members;
                    }
                    self.team_changed[i] = next;
                }
                None => {
                    self.team_at.insert(t.name.clone(), self.doc.teams.len());
                    self.doc.teams.push(t);
                    self.team_changed.push(next);
                }
            }
            teams_changed = true;
        }
        if touched.is_empty() && !teams_changed {
            return;
        }
        self.doc.version = next;
        self.cache.clear();
        let mut ids: Vec<String> = self.all.iter().cloned().collect();
        for i in touched {
            if let Some(own) = self.own.get(&self.doc.agents[i].username) {
                ids.extend(own.iter().cloned());
            }
        }
        for id in ids {
            self.pump(&id, now, effects);
        }
    }

    /// Send what the subscriber may have now: more parts of its document, or — when all are
    /// answered and something it shows changed since — its next document.
    fn pump(&mut self, id: &str, now: Instant, effects: &mut Vec<Effect>) {
        let Some(sub) = self.subs.get(id) else {
            return;
        };
        if sub.in_flight == 0 && sub.queue.is_empty() && self.behind(sub) {
            let (scope, carrier, base) = (sub.scope.clone(), sub.carrier, sub.sent);
            let parts = self.document(&scope, carrier, base);
            let version = self.doc.version;
            if let Some(sub) = self.subs.get_mut(id) {
                sub.queue.extend(parts.iter().cloned());
                sub.sent = Some(version);
            }
        }
        let Some(sub) = self.subs.get_mut(id) else {
            return;
        };
        let expires = sub.lapses.saturating_duration_since(now).as_secs();
        while sub.in_flight < WINDOW {
            let Some(body) = sub.queue.pop_front() else {
                break;
            };
            sub.in_flight += 1;
            effects.push(Effect::Notify {
                id: id.to_string(),
                state: SubState::Active { expires },
                body,
            });
        }
    }

    /// Has something the subscriber shows changed since the version it has?
    fn behind(&self, sub: &Sub) -> bool {
        let Some(sent) = sub.sent else {
            return true;
        };
        match &sub.scope {
            Scope::All => sent < self.doc.version,
            Scope::Own(user) => self
                .agent_at
                .get(user)
                .is_some_and(|&i| self.agent_changed[i] > sent),
        }
    }

    /// The NOTIFY bodies taking a subscriber of `scope` from `base` (None: nothing) to now.
    fn document(&mut self, scope: &Scope, carrier: Carrier, base: Option<u64>) -> Arc<[Arc<[u8]>]> {
        let doc = match scope {
            Scope::All => {
                if let Some(hit) = self.cache.get(&(base, carrier)) {
                    return hit.clone();
                }
                let parts = match base {
                    None => encode(&self.doc, carrier.budget()),
                    Some(b) => encode(&self.delta(b), carrier.budget()),
                };
                let parts: Arc<[Arc<[u8]>]> = parts.into_iter().map(Arc::from).collect();
                self.cache.insert((base, carrier), parts.clone());
                return parts;
            }
            Scope::Own(user) => {
                let me: Vec<_> = self
                    .agent_at
                    .get(user)
                    .map(|&i| self.doc.agents[i].clone())
                    .into_iter()
                    .collect();
                match base {
                    None => {
                        let mut d = DirectoryState::new(self.doc.version, me, Vec::new());
                        d.away_reasons = self.doc.away_reasons.clone();
                        d.ring_timeout_s = self.doc.ring_timeout_s;
                        d
                    }
                    Some(b) => DirectoryState::delta(b, self.doc.version, me, Vec::new()),
                }
            }
        };
        encode(&doc, carrier.budget())
            .into_iter()
            .map(Arc::from)
            .collect()
    }

    /// What changed since version `base`.
    fn delta(&self, base: u64) -> DirectoryState {
        let agents = self
            .doc
            .agents
            .iter()
            .zip(&self.agent_changed)
            .filter(|(_, v)| **v > base)
            .map(|(a, _)| a.clone())
            .collect();
        let teams = self
            .doc
            .teams
            .iter()
            .zip(&self.team_changed)
            .filter(|(_, v)| **v > base)
            // Members change only with the configuration: a delta leaves them out.
            .map(|(t, _)| DirectoryTeam {
                members: Vec::new(),
                ..t.clone()
            })
            .collect();
        DirectoryState::delta(base, self.doc.version, agents, teams)
    }

    /// End a subscription: its final NOTIFY (no body), then forget it.
    fn end(&mut self, id: &str, effects: &mut Vec<Effect>) {
        if self.remove(id) {
            effects.push(Effect::Notify {
                id: id.to_string(),
                state: SubState::Terminated,
                body: Arc::from(Vec::new()),
            });
            effects.push(Effect::Forget { id: id.to_string() });
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(sub) = self.subs.remove(id) else {
            return false;
        };
        match sub.scope {
            Scope::All => {
                self.all.remove(id);
            }
            Scope::Own(user) => {
                if let Some(own) = self.own.get_mut(&user) {
                    own.remove(id);
                    if own.is_empty() {
                        self.own.remove(&user);
                    }
                }
            }
        }
        true
    }
}
