//! The agents' live state (registration, voice channel, ringing, on a call, idle since) and what
//! follows from it: each agent's derived status, the next team member to offer a call to, and the
//! directory entries subscribers see — rebuilt only for the agents touched since the last
//! publication, their teams' counts kept up to date by what each agent adds to them, and the
//! next status change that happens by itself (a registration lapsing, a wrap-up ending) kept in
//! an index, so a change costs the same with 10 agents or 5 000. Plain data: time is a
//! parameter.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentphone_protocol::agent_state::MISSED_CALL;
use agentphone_protocol::{
    AgentStateRequest, AgentStatus, DirectoryAgent, DirectoryState, DirectoryTeam,
};
use agentphone_sip::endpoint::Peer;

use super::effect::Changes;
use crate::config::Config;
use crate::routing::{next_to_offer, MemberView};

/// Where an agent's phone is reachable: its Contact and the address/transport its REGISTER came from.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The Contact URI (request-URI for requests to the agent).
    pub contact: rsip::Uri,
    /// Where to send (symmetric response routing).
    pub peer: Peer,
    /// When the registration lapses.
    pub expires_at: Instant,
}

/// An agent registered through another node, as that node last wrote her in the shared
/// directory (cluster mode): what this node's subscribers see of her while she has no binding
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteView {
    /// Her status there.
    pub status: AgentStatus,
    /// Voice channel on.
    pub voice: bool,
    /// Idle since (ms since the epoch).
    pub idle_since_ms: u64,
}

/// Something that happened to one agent.
#[derive(Debug)]
pub enum AgentChange {
    /// Cluster mode: her entry on another node (None: no other node has her).
    Remote(Option<RemoteView>),
    /// Registered (Some) or unregistered (None).
    Register(Option<Box<Binding>>),
    /// Voice channel on/off (PUBLISH presence).
    SetVoice(bool),
    /// Another node reserved the agent for its call (cluster mode, the shared directory): she
    /// rings, whatever this node thought of her.
    Offered,
    /// A reserved agent was not connected (declined, no answer, cancelled).
    Release,
    /// A reserved agent answered: ringing → on a call.
    Answered,
    /// The agent started a call themselves (dialled out).
    CallStarted,
    /// A call of the agent ended: idle from now, after-call work for their team's `wrap_up_s`.
    CallEnded,
    /// A supervisor left a call they listened to, whispered in or barged into (V2): off the
    /// call, but it was not theirs to handle — no after-call work, the idle time stays.
    MonitorEnded,
    /// The agent set their state (S1): available (ends away and after-call work) or away.
    SetState(AgentStateRequest),
    /// An offered call rang out (released separately): away, `missed call` (S2, RONA).
    RangOut,
    /// The phone stopped (false) or started again (true) answering keepalive OPTIONS (issue 11
    /// §6): an unreachable agent counts as offline, keeping their voice channel and state.
    Reachable(bool),
}

#[derive(Debug)]
struct AgentState {
    binding: Option<Binding>,
    voice_active: bool,
    ringing: u32,
    calls: u32,
    idle_since: Instant,
    /// Away, and why (set by the agent, or `missed call`).
    away: Option<String>,
    /// After-call work until then.
    wrap_up_until: Option<Instant>,
    /// The status last published and since when (the time in state, V1). Taken when the
    /// document is built, so a flap within one coalescing window is no change.
    shown: (AgentStatus, Instant),
    /// The phone answers keepalives (`liveness`); a new registration says it does.
    reachable: bool,
    /// Its place in the configured order.
    position: usize,
    /// Its teams (indices into the configured teams).
    teams: Vec<usize>,
    /// Its directory entry as last published.
    entry: Option<DirectoryAgent>,
    /// Cluster mode: her state on the node she is registered through, when not this one.
    remote: Option<RemoteView>,
    /// Her [`next_change`](AgentState::next_change) as `Agents::lapses` holds it.
    indexed: Option<Instant>,
    /// What she adds to her teams' counts as last published.
    counted: Counted,
}

/// What one agent adds to each of her teams' counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counted {
    available: bool,
    active: bool,
}

impl AgentState {
    fn status(&mut self, now: Instant) -> AgentStatus {
        if self.binding.as_ref().is_some_and(|b| b.expires_at <= now) {
            // Registration lapsed: offline, and the voice channel and chosen state go with it.
            self.log_out();
        }
        if self.wrap_up_until.is_some_and(|at| at <= now) {
            self.wrap_up_until = None;
        }
        if self.binding.is_none() {
            self.remote.map_or(AgentStatus::Offline, |r| r.status)
        } else if !self.reachable {
            AgentStatus::Offline
        } else if self.calls > 0 {
            AgentStatus::OnCall
        } else if self.ringing > 0 {
            AgentStatus::Ringing
        } else if !self.voice_active {
            AgentStatus::Inactive
        } else if self.away.is_some() {
            AgentStatus::Away
        } else if self.wrap_up_until.is_some() {
            AgentStatus::AfterCallWork
        } else {
            AgentStatus::Available
        }
    }

    /// Offline: a new login starts available, with the voice channel off until published.
    fn log_out(&mut self) {
        self.binding = None;
        self.voice_active = false;
        self.away = None;
        self.wrap_up_until = None;
    }

    /// The next instant its status changes by itself (registration lapse, wrap-up end).
    fn next_change(&self) -> Option<Instant> {
        let lapse = self.binding.as_ref().map(|b| b.expires_at);
        lapse.into_iter().chain(self.wrap_up_until).min()
    }

    /// What she adds to her teams' counts with this status: available; voice-active (here, or
    /// on the node she is registered through).
    fn counted(&self, status: AgentStatus) -> Counted {
        let remote_voice = self.binding.is_none() && self.remote.is_some_and(|r| r.voice);
        Counted {
            available: status == AgentStatus::Available,
            active: (self.binding.is_some() && self.voice_active) || remote_voice,
        }
    }
}

/// How far apart two agents' idle times are at least, in the order their calls ended: the
/// document shows milliseconds, and two ends the directory takes in within one millisecond would
/// otherwise show the same `idle_since_ms` although routing (which compares instants) already
/// prefers the first — subscribers must see the order routing uses (R1, T3).
const IDLE_STEP: Duration = Duration::from_millis(1);

/// Every configured agent's state.
pub struct Agents {
    config: Arc<Config>,
    table: HashMap<String, AgentState>,
    /// The latest idle time given to anyone (see [`IDLE_STEP`]).
    last_idle: Option<Instant>,
    /// Agents touched since the last [`refresh`](Agents::refresh) (their entry may differ).
    dirty: BTreeSet<String>,
    /// Each team's entry as last published, in configured order (its counts are kept up to
    /// date by [`refresh`](Agents::refresh) from what each member adds).
    team_entries: Vec<Option<DirectoryTeam>>,
    /// Agents whose status will change by itself, by when (and their position).
    lapses: BTreeSet<(Instant, usize)>,
}

impl Agents {
    /// Everyone offline, idle since `now`.
    pub fn new(config: Arc<Config>, now: Instant) -> Agents {
        let table = config
            .agents
            .iter()
            .enumerate()
            .map(|(position, a)| {
                let teams = config
                    .teams
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.members.contains(&a.username))
                    .map(|(i, _)| i)
                    .collect();
                let state = AgentState {
                    binding: None,
                    voice_active: false,
                    ringing: 0,
                    calls: 0,
                    idle_since: now,
                    away: None,
                    wrap_up_until: None,
                    shown: (AgentStatus::Offline, now),
                    reachable: true,
                    position,
                    teams,
                    entry: None,
                    remote: None,
                    indexed: None,
                    counted: Counted::default(),
                };
                (a.username.clone(), state)
            })
            .collect();
        let dirty = config.agents.iter().map(|a| a.username.clone()).collect();
        let team_entries = vec![None; config.teams.len()];
        Agents {
            config,
            table,
            last_idle: None,
            dirty,
            team_entries,
            lapses: BTreeSet::new(),
        }
    }

    /// Keep `lapses` right for `user` after her state may have changed.
    fn reindex(&mut self, user: &str) {
        let Some(a) = self.table.get_mut(user) else {
            return;
        };
        let next = a.next_change();
        if next != a.indexed {
            if let Some(at) = a.indexed {
                self.lapses.remove(&(at, a.position));
            }
            if let Some(at) = next {
                self.lapses.insert((at, a.position));
            }
            a.indexed = next;
        }
    }

    /// An agent's status now. A lapse it applies on the way (her registration, her wrap-up)
    /// is a change like any other: she is refreshed at the next publication.
    fn current(&mut self, user: &str, now: Instant) -> Option<AgentStatus> {
        let a = self.table.get_mut(user)?;
        let due = a.next_change().is_some_and(|at| at <= now);
        let status = a.status(now);
        if due {
            self.dirty.insert(user.to_string());
            self.reindex(user);
        }
        Some(status)
    }

    /// Apply one change (unknown users are ignored).
    pub fn apply(&mut self, user: &str, change: AgentChange, now: Instant) {
        let Some(a) = self.table.get_mut(user) else {
            return;
        };
        self.dirty.insert(user.to_string());
        match change {
            AgentChange::Remote(view) => a.remote = view,
            AgentChange::Register(None) => a.log_out(),
            AgentChange::Register(Some(binding)) => {
                a.binding = Some(*binding);
                a.reachable = true;
            }
            AgentChange::Reachable(reachable) => a.reachable = reachable,
            AgentChange::SetVoice(active) => a.voice_active = active,
            AgentChange::Offered => a.ringing += 1,
            AgentChange::Release => a.ringing = a.ringing.saturating_sub(1),
            AgentChange::Answered => {
                a.ringing = a.ringing.saturating_sub(1);
                a.calls += 1;
            }
            AgentChange::CallStarted => a.calls += 1,
            AgentChange::CallEnded => {
                a.calls = a.calls.saturating_sub(1);
                if a.calls == 0 {
                    let at = self.last_idle.map_or(now, |last| now.max(last + IDLE_STEP));
                    self.last_idle = Some(at);
                    a.idle_since = at;
                    let wrap_up = self.config.wrap_up_of(user);
                    a.wrap_up_until = (!wrap_up.is_zero()).then(|| now + wrap_up);
                }
            }
            AgentChange::MonitorEnded => a.calls = a.calls.saturating_sub(1),
            AgentChange::SetState(AgentStateRequest::Available) => {
                a.away = None;
                a.wrap_up_until = None;
            }
            AgentChange::SetState(AgentStateRequest::Away { reason }) => {
                a.away = Some(reason);
                a.wrap_up_until = None;
            }
            AgentChange::RangOut => a.away = Some(MISSED_CALL.to_string()),
        }
        self.reindex(user);
    }

    /// Reserve one agent for a call: Ok(binding) and the agent is now ringing, or why not.
    pub fn reserve(&mut self, user: &str, now: Instant) -> Result<Binding, AgentStatus> {
        let Some(status) = self.current(user, now) else {
            return Err(AgentStatus::Offline);
        };
        let Some(a) = self.table.get_mut(user) else {
            return Err(AgentStatus::Offline);
        };
        match (status, &a.binding) {
            (AgentStatus::Available, Some(b)) => {
                a.ringing += 1;
                self.dirty.insert(user.to_string());
                Ok(b.clone())
            }
            (status, _) => Err(status),
        }
    }

    /// The next member of `team` to offer a call to (order: `routing::next_to_offer`), not in
    /// `exclude`, now marked ringing.
    pub fn reserve_for_team(
        &mut self,
        team: &str,
        exclude: &[String],
        now: Instant,
    ) -> Option<(String, Binding)> {
        let config = self.config.clone();
        let team = config.team(team)?;
        let mut views = Vec::with_capacity(team.members.len());
        for member in &team.members {
            let Some(status) = self.current(member, now) else {
                continue;
            };
            let Some(a) = self.table.get(member) else {
                continue;
            };
            let available = status == AgentStatus::Available
                && a.binding.is_some()
                && !exclude.contains(member);
            views.push(MemberView {
                name: member,
                available,
                idle_since: a.idle_since,
            });
        }
        let name = next_to_offer(views)?;
        let a = self.table.get_mut(name)?;
        a.ringing += 1;
        self.dirty.insert(name.to_string());
        Some((name.to_string(), a.binding.clone()?))
    }

    /// An agent's current binding (any status).
    pub fn binding(&mut self, user: &str, now: Instant) -> Option<Binding> {
        self.current(user, now)?;
        self.table.get(user)?.binding.clone()
    }

    /// Is the agent registered through this server (a binding here)?
    pub fn is_local(&self, user: &str) -> bool {
        self.table.get(user).is_some_and(|a| a.binding.is_some())
    }

    /// An agent's derived status; None for an unknown user.
    pub fn status(&mut self, user: &str, now: Instant) -> Option<AgentStatus> {
        self.current(user, now)
    }

    /// When the next status changes by itself (a registration lapses, a wrap-up ends).
    pub fn next_lapse(&self) -> Option<Instant> {
        self.lapses.first().map(|(at, _)| *at)
    }

    /// Bring the published entries up to date: those of the agents touched since the last call
    /// and of agents whose status changed by itself (a registration lapsed, a wrap-up ended), and
    /// of their teams. Returns the entries that differ from what was published before.
    pub fn refresh(&mut self, now: Instant) -> Changes {
        let mut users = std::mem::take(&mut self.dirty);
        let config = self.config.clone();
        users.extend(
            self.lapses
                .range(..=(now, usize::MAX))
                .filter_map(|(_, p)| config.agents.get(*p).map(|a| a.username.clone())),
        );
        let mut touched: Vec<(usize, &String)> = users
            .iter()
            .filter_map(|u| self.table.get(u).map(|a| (a.position, u)))
            .collect();
        touched.sort_unstable();
        let mut changes = Changes::default();
        let mut teams = BTreeSet::new();
        // Before the first refresh nothing was published: every team, with its members.
        let first = self.team_entries.iter().any(Option::is_none);
        for (t, entry) in self.team_entries.iter_mut().enumerate() {
            if entry.is_none() {
                *entry = config.teams.get(t).map(|team| DirectoryTeam {
                    name: team.name.clone(),
                    members: team.members.clone(),
                    available: 0,
                    active: 0,
                    inbound: team.inbound.clone(),
                });
                teams.insert(t);
            }
        }
        for (position, user) in touched {
            let entry = self.entry(position, user, now);
            self.reindex(user);
            let Some(a) = self.table.get_mut(user) else {
                continue;
            };
            let counted = a.counted(entry.status);
            if counted != a.counted {
                for &t in &a.teams {
                    if let Some(Some(team)) = self.team_entries.get_mut(t) {
                        count(&mut team.available, a.counted.available, counted.available);
                        count(&mut team.active, a.counted.active, counted.active);
                        teams.insert(t);
                    }
                }
                a.counted = counted;
            }
            if a.entry.as_ref() != Some(&entry) {
                a.entry = Some(entry.clone());
                changes.agents.push(entry);
            }
        }
        for t in teams {
            if let Some(Some(team)) = self.team_entries.get(t) {
                // Members change only with the configuration: published once.
                let members = if first {
                    team.members.clone()
                } else {
                    Vec::new()
                };
                changes.teams.push(DirectoryTeam {
                    name: team.name.clone(),
                    members,
                    available: team.available,
                    active: team.active,
                    inbound: team.inbound.clone(),
                });
            }
        }
        changes
    }

    /// One agent's entry now (the time in state starts when its status is first seen changed).
    fn entry(&mut self, position: usize, user: &str, now: Instant) -> DirectoryAgent {
        let config = self.config.clone();
        let (display_name, teams) = config.agents.get(position).map_or_else(
            || (String::new(), Vec::new()),
            |a| {
                let teams = self.table.get(user).map_or_else(Vec::new, |s| {
                    s.teams
                        .iter()
                        .filter_map(|&t| config.teams.get(t).map(|t| t.name.clone()))
                        .collect()
                });
                (a.display_name.clone(), teams)
            },
        );
        let Some(state) = self.table.get_mut(user) else {
            return DirectoryAgent {
                username: user.to_string(),
                display_name,
                status: AgentStatus::Offline,
                teams,
                idle_since_ms: None,
                away_reason: None,
                wrap_up_until_ms: None,
                status_since_ms: None,
            };
        };
        let status = state.status(now);
        if status != state.shown.0 {
            state.shown = (status, now);
        }
        DirectoryAgent {
            username: user.to_string(),
            display_name,
            status,
            teams,
            idle_since_ms: Some(match (&state.binding, state.remote) {
                (None, Some(r)) => r.idle_since_ms,
                _ => wall_ms(state.idle_since),
            }),
            away_reason: (status == AgentStatus::Away)
                .then(|| state.away.clone())
                .flatten(),
            wrap_up_until_ms: (status == AgentStatus::AfterCallWork)
                .then(|| state.wrap_up_until.map(wall_ms))
                .flatten(),
            status_since_ms: Some(wall_ms(state.shown.1)),
        }
    }

    /// The whole document as last refreshed (version 0): agents and teams in config order.
    pub fn document(&self) -> DirectoryState {
        let mut agents: Vec<(usize, DirectoryAgent)> = self
            .table
            .values()
            .filter_map(|a| a.entry.clone().map(|e| (a.position, e)))
            .collect();
        agents.sort_unstable_by_key(|(p, _)| *p);
        let teams = self.team_entries.iter().flatten().cloned().collect();
        let mut state = DirectoryState::new(0, agents.into_iter().map(|(_, a)| a).collect(), teams);
        state.away_reasons = self.config.away_reasons.clone();
        state.ring_timeout_s = u32::try_from(self.config.ring_timeout.as_secs()).ok();
        state
    }
}

/// Add (`now` and not `before`) or take away (`before` and not `now`) one member from a count.
fn count(n: &mut u32, before: bool, now: bool) {
    match (before, now) {
        (false, true) => *n = n.saturating_add(1),
        (true, false) => *n = n.saturating_sub(1),
        _ => {}
    }
}

/// An instant as milliseconds since the Unix epoch, from one fixed pairing of the two clocks (so
/// the same instant always gives the same number and the snapshot does not flicker), rounded
/// down on both sides of the pairing: instants 1 ms apart or more never give the same number.
pub fn wall_ms(at: Instant) -> u64 {
    static EPOCH: OnceLock<(Instant, u64)> = OnceLock::new();
    let (base, base_ms) = *EPOCH.get_or_init(|| {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        (Instant::now(), ms)
    });
    if at >= base {
        base_ms + at.duration_since(base).as_millis() as u64
    } else {
        let before = base.duration_since(at);
        let ceil_ms = before.as_millis() as u64 + u64::from(before.subsec_nanos() % 1_000_000 != 0);
        base_ms.saturating_sub(ceil_ms)
    }
}
