//! Routing across nodes (cluster mode with `[cluster] redis` and `edge`): this node's side of
//! the shared directory in Redis (`shared_directory.rs`).
//!
//! - **Publishing**: every change of the entry of an agent registered through this node (the
//!   directory's published changes, [`ClusterRouting::feed`]) is written to Redis: her state,
//!   whether she can take a call and since when she is idle, so every node sees her in her
//!   teams' queues.
//! - **Reserving**: a room asks here instead of its own directory: the Lua script takes the
//!   next member out of every queue atomically (two nodes never ring the same agent). An agent
//!   of this node is then reserved in the local directory as before (and her binding used); an
//!   agent of another node is reached **through Kamailio** (`edge`): the INVITE goes there with
//!   `sip:<agent>@<domain>` and Kamailio's copy of the bindings (`lookup("location")`) relays it
//!   to her phone — the phone keeps talking to the one address it registered with (NAT, TLS),
//!   and no node needs another node's bindings.
//! - **Her state**: the node she is registered through stays the authority on her state. The
//!   node that owns the call tells it what happens (she rings, answered, the offer ended, the
//!   call ended) on its channel `ap:node:<node>`; that node's directory applies it and publishes
//!   her new entry like any other change.
//! - **Releasing**: an offer that ends unanswered puts her back in the queues (if her node still
//!   says she is available); an answered one keeps her out until her node says she is free.
//! - **A node that dies**: every node renews `ap:alive:<node>` (its instance, expiring after the
//!   lease) every lease / 3, and remembers which of its agents ring or talk in calls of which
//!   other node instance. When that instance is no longer alive, its parts end here: the offers
//!   are released (in Redis too) and the calls ended, so those agents are free again. In the
//!   same tick every node sweeps the entries of dead nodes' agents offline (`sweep.lua`): no
//!   call is offered to an agent through a dead node until her phone registers again. A node
//!   that finds its own key had run out (it could not reach Redis for a lease, and may have
//!   been swept) writes its agents' entries again.
//!
//! Redis is used from two plain threads (blocking client): one makes the writes and
//! reservations in order, one listens to the channels. Rooms wait for a reservation on a
//! oneshot; nothing else waits for Redis.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentphone_protocol::{AgentStatus, DirectoryAgent};
use agentphone_sip::endpoint::{Peer, TransportKind};
use tokio::sync::oneshot;

use super::config::SharedSettings;
use super::shared_directory::{node_channel, AgentEntry, Requeue, SharedDirectory, CHANNEL};
use crate::directory::{Binding, DirectoryHandle, Feed, RemoteView, MAX_REGISTRATION};

/// What the node that owns a call tells the node an agent is registered through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Reserved for a call of another node: she rings.
    Offered,
    /// The offer ended unanswered.
    Release,
    /// The offer rang out (after `Release`): away, missed call.
    RangOut,
    /// She answered: on a call.
    Answered,
    /// She dialled out.
    CallStarted,
    /// Her call ended.
    CallEnded,
    /// A call she monitored ended.
    MonitorEnded,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Offered => "offered",
            Op::Release => "release",
            Op::RangOut => "rang-out",
            Op::Answered => "answered",
            Op::CallStarted => "call-started",
            Op::CallEnded => "call-ended",
            Op::MonitorEnded => "monitor-ended",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        [
            Op::Offered,
            Op::Release,
            Op::RangOut,
            Op::Answered,
            Op::CallStarted,
            Op::CallEnded,
            Op::MonitorEnded,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }

    /// Apply it to this node's directory.
    fn apply(self, dir: &DirectoryHandle, user: &str) {
        match self {
            Op::Offered => dir.offered(user),
            Op::Release => dir.release(user),
            Op::RangOut => dir.ring_timed_out(user),
            Op::Answered => dir.answered(user),
            Op::CallStarted => dir.call_started(user),
            Op::CallEnded => dir.call_ended(user),
            Op::MonitorEnded => dir.monitor_ended(user),
        }
    }
}

/// Redis could not be asked (down, or the writer thread is gone): the room routes on this
/// node's own agents meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreachable;

/// Who a reservation got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// An agent registered through this node: reserve her in the local directory.
    Here(String),
    /// An agent registered through another node (already told): reach her through the edge.
    There(String),
}

impl Reserved {
    /// Her name.
    pub fn name(&self) -> &str {
        match self {
            Reserved::Here(n) | Reserved::There(n) => n,
        }
    }
}

enum Job {
    Directory(DirectoryHandle),
    /// Changed entries, each with whether she is registered through this node.
    Entries(Vec<(DirectoryAgent, bool)>),
    /// An agent's entry changed in Redis: show it here if another node has her.
    Changed(String),
    /// Read every agent's entry (after (re)connecting to the change feed).
    ChangedAll,
    ReserveTeam {
        team: String,
        call: String,
        exclude: Vec<String>,
        reply: oneshot::Sender<Result<Option<Reserved>, Unreachable>>,
    },
    ReserveAgent {
        agent: String,
        call: String,
        reply: oneshot::Sender<Result<Result<Reserved, AgentStatus>, Unreachable>>,
    },
    Release {
        agent: String,
        call: String,
    },
    Op {
        agent: String,
        op: Op,
    },
    /// An operation another node sent about one of our agents.
    Remote {
        agent: String,
        op: Op,
        owner: Option<Owner>,
    },
}

/// A running node: its name and the instance started under it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Owner {
    node: String,
    instance: String,
}

/// What an agent of ours has in the calls of one other node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Parts {
    ringing: u32,
    calls: u32,
}

impl Parts {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Offered => self.ringing += 1,
            Op::Release => self.ringing = self.ringing.saturating_sub(1),
            Op::Answered => {
                self.ringing = self.ringing.saturating_sub(1);
                self.calls += 1;
            }
            Op::CallStarted => self.calls += 1,
            Op::CallEnded | Op::MonitorEnded => self.calls = self.calls.saturating_sub(1),
            Op::RangOut => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.ringing == 0 && self.calls == 0
    }
}

/// `<op> <agent> [<owner node> <owner instance>]`, as sent on `ap:node:<node>`.
fn parse_message(payload: &str) -> Option<(Op, String, Option<Owner>)> {
    let mut words = payload.split_whitespace();
    let op = Op::parse(words.next()?)?;
    let agent = words.next()?.to_string();
    let owner = match (words.next(), words.next()) {
        (Some(node), Some(instance)) => Some(Owner {
            node: node.into(),
            instance: instance.into(),
        }),
        _ => None,
    };
    Some((op, agent, owner))
}

/// This node's handle on the shared directory. Cheap to clone.
#[derive(Clone)]
pub struct ClusterRouting {
    jobs: mpsc::Sender<Job>,
    node: String,
    edge: SocketAddr,
}

/// A name for this run of the node, different at every start.
fn new_instance() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

impl ClusterRouting {
    /// Start the writer thread (the listener starts with [`listen`](Self::listen), once the
    /// directory exists). `lease`: how long this node counts as alive after each renewal.
    pub fn start(
        node: &str,
        settings: &SharedSettings,
        lease: Duration,
        agents: Vec<String>,
    ) -> ClusterRouting {
        let (jobs, rx) = mpsc::channel();
        let mut writer = Writer {
            url: settings.redis.clone(),
            me: Owner {
                node: node.to_string(),
                instance: new_instance(),
            },
            edge: settings.edge,
            conn: None,
            mine: HashMap::new(),
            held: HashMap::new(),
            parts: HashMap::new(),
            agents,
            dir: None,
            last_error: None,
        };
        let renew = lease / 3;
        std::thread::Builder::new()
            .name("cluster-writer".into())
            .spawn(move || {
                let mut next_tick = Instant::now();
                loop {
                    let wait = next_tick.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(job) => writer.handle(job),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                    // Checked after every job too: a long queue never delays the renewal.
                    if Instant::now() >= next_tick {
                        writer.tick(lease);
                        next_tick = Instant::now() + renew;
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the cluster writer"));
        ClusterRouting {
            jobs,
            node: node.to_string(),
            edge: settings.edge,
        }
    }

    /// The directory's feed: its published changes go to Redis.
    pub fn feed(&self) -> Feed {
        let jobs = self.jobs.clone();
        Box::new(move |agents: Vec<(DirectoryAgent, bool)>| {
            let _ = jobs.send(Job::Entries(agents));
        })
    }

    /// The directory exists: give it to the writer and start listening to the channels.
    pub fn listen(&self, url: &str, dir: DirectoryHandle) {
        let _ = self.jobs.send(Job::Directory(dir.clone()));
        let (url, node, jobs) = (url.to_string(), self.node.clone(), self.jobs.clone());
        std::thread::Builder::new()
            .name("cluster-listener".into())
            .spawn(move || listen(&url, &node, &dir, &jobs))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the cluster listener"));
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The key of a room's call in the shared directory.
    pub fn call_key(&self, room: impl std::fmt::Display) -> String {
        format!("{}/{room}", self.node)
    }

    /// Where an agent of another node is reached: through the edge, by her address of record.
    pub fn edge_binding(&self, agent: &str, domain: &str) -> Binding {
        let contact = rsip::Uri::try_from(format!("sip:{agent}@{domain}"))
            .or_else(|_| rsip::Uri::try_from(format!("sip:{agent}@{}", self.edge)))
            .unwrap_or_default();
        Binding {
            contact,
            peer: Peer {
                addr: self.edge,
                transport: TransportKind::Udp,
            },
            expires_at: Instant::now() + MAX_REGISTRATION,
        }
    }

    /// Reserve the next member of `team` for `call`, skipping `exclude`; None when nobody is
    /// available.
    pub async fn reserve_for_team(
        &self,
        team: &str,
        call: &str,
        exclude: &[String],
    ) -> Result<Option<Reserved>, Unreachable> {
        let (reply, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::ReserveTeam {
            team: team.into(),
            call: call.into(),
            exclude: exclude.to_vec(),
            reply,
        });
        rx.await.unwrap_or(Err(Unreachable))
    }

    /// Reserve `agent` for `call`, or why she cannot take it.
    pub async fn reserve(
        &self,
        agent: &str,
        call: &str,
    ) -> Result<Result<Reserved, AgentStatus>, Unreachable> {
        let (reply, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::ReserveAgent {
            agent: agent.into(),
            call: call.into(),
            reply,
        });
        rx.await.unwrap_or(Err(Unreachable))
    }

    /// A reservation this node made is not used after all (the local directory refused her).
    pub fn release(&self, agent: &str, call: &str) {
        let _ = self.jobs.send(Job::Release {
            agent: agent.into(),
            call: call.into(),
        });
    }

    /// Something happened to `agent` in a call of this node: her node (this one or another)
    /// applies it; the end of an offer also ends its reservation.
    pub fn op(&self, agent: &str, op: Op) {
        let _ = self.jobs.send(Job::Op {
            agent: agent.into(),
            op,
        });
    }
}

/// The writer thread's state.
struct Writer {
    url: String,
    /// This node and this run of it.
    me: Owner,
    edge: SocketAddr,
    conn: Option<SharedDirectory>,
    /// Agents whose entry this node wrote last as registered here, and that entry.
    mine: HashMap<String, AgentEntry>,
    /// Reservations this node holds: agent → call.
    held: HashMap<String, String>,
    /// What our agents have in other nodes' calls, by node instance.
    parts: HashMap<Owner, HashMap<String, Parts>>,
    /// Every configured agent.
    agents: Vec<String>,
    dir: Option<DirectoryHandle>,
    /// When an error was last logged (one a second at most).
    last_error: Option<Instant>,
}

impl Writer {
    fn handle(&mut self, job: Job) {
        match job {
            Job::Directory(dir) => self.dir = Some(dir),
            Job::Entries(agents) => {
                for (a, local) in agents {
                    self.write_entry(&a, local);
                }
            }
            Job::Changed(agent) => self.show_remote(&agent),
            Job::ChangedAll => {
                for agent in self.agents.clone() {
                    self.show_remote(&agent);
                }
            }
            Job::ReserveTeam {
                team,
                call,
                exclude,
                reply,
            } => {
                let answer = match self.redis(|d| d.reserve_except(&team, &call, &exclude)) {
                    Some(got) => Ok(got.map(|agent| self.reserved(agent, &call))),
                    None => Err(Unreachable),
                };
                let _ = reply.send(answer);
            }
            Job::ReserveAgent { agent, call, reply } => {
                let answer = match self.redis(|d| d.reserve_agent(&agent, &call)) {
                    Some(Ok(())) => Ok(Ok(self.reserved(agent, &call))),
                    Some(Err(state)) => Ok(Err(status_of(&state))),
                    None => Err(Unreachable),
                };
                let _ = reply.send(answer);
            }
            Job::Release { agent, call } => {
                self.held.remove(&agent);
                self.redis(|d| d.release_as(&agent, &call, Requeue::Stored));
            }
            Job::Op { agent, op } => {
                let requeue = match op {
                    Op::Release => Some(Requeue::Stored),
                    Op::Answered => Some(Requeue::Out),
                    _ => None,
                };
                if let Some(requeue) = requeue {
                    if let Some(call) = self.held.remove(&agent) {
                        self.redis(|d| d.release_as(&agent, &call, requeue));
                    }
                }
                self.forward(&agent, op);
            }
            Job::Remote { agent, op, owner } => {
                if let Some(owner) = owner {
                    let agents = self.parts.entry(owner.clone()).or_default();
                    let parts = agents.entry(agent.clone()).or_default();
                    parts.apply(op);
                    if parts.is_empty() {
                        agents.remove(&agent);
                    }
                    if agents.is_empty() {
                        self.parts.remove(&owner);
                    }
                }
                if let Some(dir) = &self.dir {
                    op.apply(dir, &agent);
                }
            }
        }
    }

    /// Renew this node's `ap:alive`; end our agents' parts in calls of node instances that are
    /// no longer alive.
    fn tick(&mut self, lease: Duration) {
        let me = self.me.clone();
        let before = self.redis(|d| d.set_alive(&me.node, &me.instance, lease));
        if let Some(before) = before {
            if before.as_deref() != Some(me.instance.as_str()) && !self.mine.is_empty() {
                tracing::warn!(
                    agents = self.mine.len(),
                    "this node's lease had run out in the shared directory: writing its agents again"
                );
                let entries: Vec<AgentEntry> = self.mine.values().cloned().collect();
                for entry in entries {
                    self.redis(|d| d.set_agent(&entry));
                }
            }
        }
        if let Some(swept) = self.redis(|d| d.sweep(&me.node)).filter(|n| *n > 0) {
            tracing::warn!(
                agents = swept,
                "a node is gone: its agents are offline in the shared directory"
            );
        }
        let owners: Vec<Owner> = self.parts.keys().cloned().collect();
        for owner in owners {
            let Some(alive) = self.redis(|d| d.alive(&owner.node)) else {
                continue; // Redis unreachable: decide nothing
            };
            if alive.as_deref() == Some(owner.instance.as_str()) {
                continue;
            }
            let agents = self.parts.remove(&owner).unwrap_or_default();
            tracing::warn!(
                node = %owner.node,
                agents = agents.len(),
                "a node is gone: its calls' parts of our agents end"
            );
            let prefix = format!("{}/", owner.node);
            for (agent, parts) in agents {
                if parts.ringing > 0 {
                    let offered = self.redis(|d| d.offered(&agent)).flatten();
                    if let Some(call) = offered.filter(|c| c.starts_with(&prefix)) {
                        self.redis(|d| d.release_as(&agent, &call, Requeue::Stored));
                    }
                }
                if let Some(dir) = &self.dir {
                    for _ in 0..parts.ringing {
                        dir.release(&agent);
                    }
                    for _ in 0..parts.calls {
                        dir.call_ended(&agent);
                    }
                }
            }
        }
    }

    /// Redis reserved `agent` for `call`: ours, or tell her node she rings.
    fn reserved(&mut self, agent: String, call: &str) -> Reserved {
        self.held.insert(agent.clone(), call.to_string());
        let home = self.redis(|d| d.node_of(&agent)).flatten();
        match home {
            Some(home) if home != self.me.node => {
                let message = self.message(Op::Offered, &agent);
                self.redis(|d| d.send_to_node(&home, &message));
                Reserved::There(agent)
            }
            _ => Reserved::Here(agent),
        }
    }

    /// Apply `op` where `agent` is registered.
    fn forward(&mut self, agent: &str, op: Op) {
        match self.redis(|d| d.node_of(agent)).flatten() {
            Some(home) if home != self.me.node => {
                let message = self.message(op, agent);
                self.redis(|d| d.send_to_node(&home, &message));
            }
            _ => {
                if let Some(dir) = &self.dir {
                    op.apply(dir, agent);
                }
            }
        }
    }

    /// An operation for another node: `<op> <agent> <our node> <our instance>`.
    fn message(&self, op: Op, agent: &str) -> String {
        format!(
            "{} {agent} {} {}",
            op.name(),
            self.me.node,
            self.me.instance
        )
    }

    /// Write one agent's entry: while registered here, and once, offline, when she no longer is
    /// (ignored by Redis if she is registered through another node by then).
    fn write_entry(&mut self, a: &DirectoryAgent, local: bool) {
        let offline = !local || a.status == AgentStatus::Offline;
        if offline && self.mine.remove(&a.username).is_none() {
            return; // not ours: some other node's (or nobody's) to say
        }
        let status = if offline {
            AgentStatus::Offline
        } else {
            a.status
        };
        let entry = AgentEntry {
            name: a.username.clone(),
            node: self.me.node.clone(),
            contact: format!("sip:{}@{}", a.username, self.edge),
            voice: !matches!(status, AgentStatus::Offline | AgentStatus::Inactive),
            state: state_name(status),
            available: status == AgentStatus::Available,
            idle_since_ms: a
                .idle_since_ms
                .and_then(|ms| i64::try_from(ms).ok())
                .unwrap_or(0),
            teams: a.teams.clone(),
        };
        if !offline {
            self.mine.insert(a.username.clone(), entry.clone());
        }
        self.redis(|d| d.set_agent(&entry));
    }

    /// Show another node's agent here as that node wrote her (offline: as nobody's).
    fn show_remote(&mut self, agent: &str) {
        let Some(entry) = self.redis(|d| d.entry(agent)) else {
            return;
        };
        let view = match entry {
            Some(e) if e.node == self.me.node => {
                // Ours: our directory knows better. An entry left from before this node
                // (re)started, for an agent not registered here now, is put right.
                if !self.mine.contains_key(agent) && e.state != state_name(AgentStatus::Offline) {
                    let stale = AgentEntry {
                        voice: false,
                        state: state_name(AgentStatus::Offline),
                        available: false,
                        ..e
                    };
                    self.redis(|d| d.set_agent(&stale));
                }
                return;
            }
            Some(e) if e.state != "offline" => Some(RemoteView {
                status: status_of(&e.state),
                voice: e.voice,
                idle_since_ms: u64::try_from(e.idle_since_ms).unwrap_or(0),
            }),
            _ => None,
        };
        if let Some(dir) = &self.dir {
            dir.remote(agent, view);
        }
    }

    /// Run `f` on the connection (connecting first if needed); None (logged) on an error, and
    /// the connection is made again next time.
    fn redis<T>(
        &mut self,
        f: impl FnOnce(&mut SharedDirectory) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if self.conn.is_none() {
            match SharedDirectory::connect(&self.url) {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    self.log_error(&e);
                    return None;
                }
            }
        }
        let conn = self.conn.as_mut()?;
        match f(conn) {
            Ok(v) => Some(v),
            Err(e) => {
                self.log_error(&e);
                if e.is_io_error() || e.is_connection_dropped() {
                    self.conn = None;
                }
                None
            }
        }
    }

    fn log_error(&mut self, e: &redis::RedisError) {
        let now = Instant::now();
        if self
            .last_error
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.last_error = Some(now);
            tracing::error!(error = %e, "shared directory (Redis)");
        }
    }
}

/// The listener thread: directory changes wake queued calls; operations on this node's agents
/// go to its directory. Reconnects after an error.
fn listen(url: &str, node: &str, dir: &DirectoryHandle, jobs: &mpsc::Sender<Job>) {
    let own = node_channel(node);
    loop {
        let result = (|| -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let mut pubsub = conn.as_pubsub();
            pubsub.subscribe(CHANNEL)?;
            pubsub.subscribe(&own)?;
            // Changes made while we were not listening: look again.
            dir.poke();
            let _ = jobs.send(Job::ChangedAll);
            loop {
                let msg = pubsub.get_message()?;
                if msg.get_channel_name() == CHANNEL {
                    dir.poke();
                    if let Ok(agent) = msg.get_payload::<String>() {
                        let _ = jobs.send(Job::Changed(agent));
                    }
                    continue;
                }
                let payload: String = msg.get_payload()?;
                match parse_message(&payload) {
                    // Through the writer: it keeps count of what each other node holds.
                    Some((op, agent, owner)) => {
                        let _ = jobs.send(Job::Remote { agent, op, owner });
                    }
                    None => tracing::warn!(%payload, "unknown cluster operation"),
                }
            }
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "shared directory listener (Redis): reconnecting in 1 s");
        }
        // Wait before reconnecting to a Redis that is down (not a settle: a retry interval).
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn state_name(status: AgentStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "offline".into())
}

fn status_of(state: &str) -> AgentStatus {
    serde_json::from_value(serde_json::Value::String(state.to_string()))
        .unwrap_or(AgentStatus::Offline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_and_states_round_trip() {
        for op in [
            Op::Offered,
            Op::Release,
            Op::RangOut,
            Op::Answered,
            Op::CallStarted,
            Op::CallEnded,
            Op::MonitorEnded,
        ] {
            assert_eq!(Op::parse(op.name()), Some(op));
        }
        assert_eq!(Op::parse("nonsense"), None);
        for s in [
            AgentStatus::Available,
            AgentStatus::OnCall,
            AgentStatus::AfterCallWork,
            AgentStatus::Away,
        ] {
            assert_eq!(status_of(&state_name(s)), s);
        }
        assert_eq!(status_of("???"), AgentStatus::Unknown);
    }

    #[test]
    fn messages_name_the_owner_and_parts_count_what_it_holds() {
        let (op, agent, owner) = parse_message("answered a3 node2 77-123").expect("parsed");
        assert_eq!((op, agent.as_str()), (Op::Answered, "a3"));
        assert_eq!(
            owner,
            Some(Owner {
                node: "node2".into(),
                instance: "77-123".into()
            })
        );
        assert_eq!(
            parse_message("release a3").map(|m| m.2),
            Some(None),
            "an owner is optional"
        );
        assert!(parse_message("bogus a3").is_none());
        assert!(parse_message("release").is_none());

        // Table: operations in order → what is left.
        let cases: &[(&[Op], Parts)] = &[
            (
                &[Op::Offered],
                Parts {
                    ringing: 1,
                    calls: 0,
                },
            ),
            (&[Op::Offered, Op::Release, Op::RangOut], Parts::default()),
            (
                &[Op::Offered, Op::Answered],
                Parts {
                    ringing: 0,
                    calls: 1,
                },
            ),
            (
                &[Op::Offered, Op::Answered, Op::CallEnded],
                Parts::default(),
            ),
            (&[Op::CallStarted, Op::MonitorEnded], Parts::default()),
            (&[Op::Release, Op::CallEnded], Parts::default()),
        ];
        for (ops, left) in cases {
            let mut parts = Parts::default();
            for op in *ops {
                parts.apply(*op);
            }
            assert_eq!(parts, *left, "{ops:?}");
        }
    }
}
