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
//!
//! Redis is used from two plain threads (blocking client): one makes the writes and
//! reservations in order, one listens to the channels. Rooms wait for a reservation on a
//! oneshot; nothing else waits for Redis.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentphone_protocol::{AgentStatus, DirectoryAgent};
use agentphone_sip::endpoint::{Peer, TransportKind};
use tokio::sync::oneshot;

use super::config::SharedSettings;
use super::shared_directory::{node_channel, AgentEntry, Requeue, SharedDirectory, CHANNEL};
use crate::directory::{Binding, DirectoryHandle, Feed, MAX_REGISTRATION};

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
    Entries(Vec<DirectoryAgent>),
    ReserveTeam {
        team: String,
        call: String,
        exclude: Vec<String>,
        reply: oneshot::Sender<Option<Reserved>>,
    },
    ReserveAgent {
        agent: String,
        call: String,
        reply: oneshot::Sender<Result<Reserved, AgentStatus>>,
    },
    Release {
        agent: String,
        call: String,
    },
    Op {
        agent: String,
        op: Op,
    },
}

/// This node's handle on the shared directory. Cheap to clone.
#[derive(Clone)]
pub struct ClusterRouting {
    jobs: mpsc::Sender<Job>,
    node: String,
    edge: SocketAddr,
}

impl ClusterRouting {
    /// Start the writer thread (the listener starts with [`listen`](Self::listen), once the
    /// directory exists).
    pub fn start(node: &str, settings: &SharedSettings) -> ClusterRouting {
        let (jobs, rx) = mpsc::channel();
        let mut writer = Writer {
            url: settings.redis.clone(),
            node: node.to_string(),
            edge: settings.edge,
            conn: None,
            mine: HashSet::new(),
            held: HashMap::new(),
            dir: None,
            last_error: None,
        };
        std::thread::Builder::new()
            .name("cluster-writer".into())
            .spawn(move || {
                for job in rx {
                    writer.handle(job);
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
        Box::new(move |agents: &[DirectoryAgent]| {
            let _ = jobs.send(Job::Entries(agents.to_vec()));
        })
    }

    /// The directory exists: give it to the writer and start listening to the channels.
    pub fn listen(&self, url: &str, dir: DirectoryHandle) {
        let _ = self.jobs.send(Job::Directory(dir.clone()));
        let (url, node) = (url.to_string(), self.node.clone());
        std::thread::Builder::new()
            .name("cluster-listener".into())
            .spawn(move || listen(&url, &node, &dir))
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

    /// Reserve the next member of `team` for `call`, skipping `exclude`; None when nobody (or
    /// Redis cannot be reached).
    pub async fn reserve_for_team(
        &self,
        team: &str,
        call: &str,
        exclude: &[String],
    ) -> Option<Reserved> {
        let (reply, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::ReserveTeam {
            team: team.into(),
            call: call.into(),
            exclude: exclude.to_vec(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// Reserve `agent` for `call`, or why she cannot take it.
    pub async fn reserve(&self, agent: &str, call: &str) -> Result<Reserved, AgentStatus> {
        let (reply, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::ReserveAgent {
            agent: agent.into(),
            call: call.into(),
            reply,
        });
        rx.await.unwrap_or(Err(AgentStatus::Offline))
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
    node: String,
    edge: SocketAddr,
    conn: Option<SharedDirectory>,
    /// Agents whose entry this node wrote last as registered here.
    mine: HashSet<String>,
    /// Reservations this node holds: agent → call.
    held: HashMap<String, String>,
    dir: Option<DirectoryHandle>,
    /// When an error was last logged (one a second at most).
    last_error: Option<Instant>,
}

impl Writer {
    fn handle(&mut self, job: Job) {
        match job {
            Job::Directory(dir) => self.dir = Some(dir),
            Job::Entries(agents) => {
                for a in agents {
                    self.write_entry(&a);
                }
            }
            Job::ReserveTeam {
                team,
                call,
                exclude,
                reply,
            } => {
                let got = self
                    .redis(|d| d.reserve_except(&team, &call, &exclude))
                    .flatten();
                let _ = reply.send(got.map(|agent| self.reserved(agent, &call)));
            }
            Job::ReserveAgent { agent, call, reply } => {
                let answer = match self.redis(|d| d.reserve_agent(&agent, &call)) {
                    Some(Ok(())) => Ok(self.reserved(agent, &call)),
                    Some(Err(state)) => Err(status_of(&state)),
                    None => Err(AgentStatus::Offline),
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
        }
    }

    /// Redis reserved `agent` for `call`: ours, or tell her node she rings.
    fn reserved(&mut self, agent: String, call: &str) -> Reserved {
        self.held.insert(agent.clone(), call.to_string());
        let home = self.redis(|d| d.node_of(&agent)).flatten();
        match home {
            Some(home) if home != self.node => {
                let message = format!("{} {agent}", Op::Offered.name());
                self.redis(|d| d.send_to_node(&home, &message));
                Reserved::There(agent)
            }
            _ => Reserved::Here(agent),
        }
    }

    /// Apply `op` where `agent` is registered.
    fn forward(&mut self, agent: &str, op: Op) {
        match self.redis(|d| d.node_of(agent)).flatten() {
            Some(home) if home != self.node => {
                let message = format!("{} {agent}", op.name());
                self.redis(|d| d.send_to_node(&home, &message));
            }
            _ => {
                if let Some(dir) = &self.dir {
                    op.apply(dir, agent);
                }
            }
        }
    }

    /// Write one agent's entry: while registered here, and once more when she goes offline.
    fn write_entry(&mut self, a: &DirectoryAgent) {
        let offline = a.status == AgentStatus::Offline;
        if offline && !self.mine.remove(&a.username) {
            return; // not ours: some other node's (or nobody's) to say
        }
        if !offline {
            self.mine.insert(a.username.clone());
        }
        let entry = AgentEntry {
            name: a.username.clone(),
            node: self.node.clone(),
            contact: format!("sip:{}@{}", a.username, self.edge),
            voice: !matches!(a.status, AgentStatus::Offline | AgentStatus::Inactive),
            state: state_name(a.status),
            available: a.status == AgentStatus::Available,
            idle_since_ms: a
                .idle_since_ms
                .and_then(|ms| i64::try_from(ms).ok())
                .unwrap_or(0),
            teams: a.teams.clone(),
        };
        self.redis(|d| d.set_agent(&entry));
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
fn listen(url: &str, node: &str, dir: &DirectoryHandle) {
    let own = node_channel(node);
    loop {
        let result = (|| -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url)?.get_connection()?;
            let mut pubsub = conn.as_pubsub();
            pubsub.subscribe(CHANNEL)?;
            pubsub.subscribe(&own)?;
            // Changes made while we were not listening: look again.
            dir.poke();
            loop {
                let msg = pubsub.get_message()?;
                if msg.get_channel_name() == CHANNEL {
                    dir.poke();
                    continue;
                }
                let payload: String = msg.get_payload()?;
                match payload
                    .split_once(' ')
                    .and_then(|(op, agent)| Some((Op::parse(op)?, agent)))
                {
                    Some((op, agent)) => op.apply(dir, agent),
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
}
