//! The shared directory in Redis (issue 12): what every node must agree on to route calls to
//! agents registered through other nodes. Keys:
//!
//! - `ap:agent:<name>` (hash): `node` she is registered through, her `contact`, `voice` (0/1),
//!   `state`, `available` (0/1) and, while a call is offered to her, `offered` (its call id);
//! - `ap:teams:<name>` (set): her teams;
//! - `ap:idle:<team>` (sorted set): the team's members available for a call, scored by the ms
//!   since which they are idle — the longest idle first;
//! - channel `ap:directory`: the name of each agent whose entry changed, for every node to turn
//!   into its own subscribers' NOTIFYs.
//!
//! Every change is one Lua script (`set_agent.lua`, `reserve.lua`, `release.lua`): Redis runs a
//! script alone, so "reserve the next available member" takes her out of all her teams' idle
//! sets before any other node can look — two nodes never offer her a call at once.
//!
//! - channel `ap:node:<node>`: operations on the agents registered through that node, sent by
//!   the node that owns the call (`routing.rs`: she rings, answered, the call ended, …);
//! - `ap:alive:<node>` (string, expires): the instance of that node that is running, renewed
//!   while it runs — when it is gone, the nodes whose agents were in its calls end their parts;
//! - `ap:nodes` (set): the nodes that ever said they are alive; `ap:members:<node>` (set): the
//!   agents whose entry that node wrote last — when its `ap:alive` is gone, any survivor puts
//!   them offline (`sweep.lua`).
//!
//! Blocking client (`redis` crate, synchronous connection): used by a node's cluster thread
//! (`routing.rs`), never by a tokio task directly.

use redis::{Commands, Connection, Script};

/// The pub/sub channel of directory changes.
pub const CHANNEL: &str = "ap:directory";

/// The pub/sub channel of operations on the agents registered through `node`.
pub fn node_channel(node: &str) -> String {
    format!("ap:node:{node}")
}

/// What the end of an offer does to the agent's place in her teams' queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// She took the call: out until her node says she is available again.
    Out,
    /// Declined, rang out, withdrawn: back if available, idle since her node last said.
    Stored,
    /// Back if available, idle since this (ms since the epoch).
    At(i64),
}

/// An agent's entry as the node she is registered through sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentEntry {
    pub name: String,
    pub node: String,
    pub contact: String,
    pub voice: bool,
    pub state: String,
    /// Registered, voice channel on and state available: may be offered a call.
    pub available: bool,
    /// Idle since (ms since the epoch): her place in the teams' queues.
    pub idle_since_ms: i64,
    pub teams: Vec<String>,
}

/// A connection to the shared directory.
pub struct SharedDirectory {
    conn: Connection,
    set_agent: Script,
    reserve: Script,
    reserve_agent: Script,
    release: Script,
    sweep: Script,
}

impl SharedDirectory {
    /// Connect to Redis at `url` (`redis://127.0.0.1:6379/`).
    pub fn connect(url: &str) -> redis::RedisResult<SharedDirectory> {
        let conn = redis::Client::open(url)?.get_connection()?;
        Ok(SharedDirectory {
            conn,
            set_agent: Script::new(include_str!("set_agent.lua")),
            reserve: Script::new(include_str!("reserve.lua")),
            reserve_agent: Script::new(include_str!("reserve_agent.lua")),
            release: Script::new(include_str!("release.lua")),
            sweep: Script::new(include_str!("sweep.lua")),
        })
    }

    /// Write an agent's entry (and publish the change). An offline entry from a node she is not
    /// registered through is ignored (false).
    pub fn set_agent(&mut self, a: &AgentEntry) -> redis::RedisResult<bool> {
        let mut call = self.set_agent.prepare_invoke();
        call.arg(&a.name)
            .arg(&a.node)
            .arg(&a.contact)
            .arg(u8::from(a.voice))
            .arg(&a.state)
            .arg(u8::from(a.available))
            .arg(a.idle_since_ms);
        for team in &a.teams {
            call.arg(team);
        }
        call.invoke::<i64>(&mut self.conn).map(|done| done == 1)
    }

    /// Reserve the longest-idle available member of `team` for `call`; None when nobody is.
    pub fn reserve(&mut self, team: &str, call: &str) -> redis::RedisResult<Option<String>> {
        self.reserve_except(team, call, &[])
    }

    /// [`reserve`](Self::reserve), skipping the members in `exclude`.
    pub fn reserve_except(
        &mut self,
        team: &str,
        call: &str,
        exclude: &[String],
    ) -> redis::RedisResult<Option<String>> {
        let mut invocation = self.reserve.key(format!("ap:idle:{team}"));
        invocation.arg(call);
        for name in exclude {
            invocation.arg(name);
        }
        invocation.invoke(&mut self.conn)
    }

    /// Reserve `agent` for `call`: Ok, or Err(her state) when she cannot take it (`offline`
    /// when no node has her, `ringing` while another call is offered to her).
    pub fn reserve_agent(
        &mut self,
        agent: &str,
        call: &str,
    ) -> redis::RedisResult<Result<(), String>> {
        let answer: String = self
            .reserve_agent
            .arg(agent)
            .arg(call)
            .invoke(&mut self.conn)?;
        Ok(if answer == "ok" { Ok(()) } else { Err(answer) })
    }

    /// The offer of `call` to `agent` is over; if she is still available she is idle again since
    /// `idle_since_ms`. False when that offer was not (or no longer) hers.
    pub fn release(
        &mut self,
        agent: &str,
        call: &str,
        idle_since_ms: i64,
    ) -> redis::RedisResult<bool> {
        self.release_as(agent, call, Requeue::At(idle_since_ms))
    }

    /// The offer of `call` to `agent` is over, back in the queues as `requeue` says. False when
    /// that offer was not (or no longer) hers.
    pub fn release_as(
        &mut self,
        agent: &str,
        call: &str,
        requeue: Requeue,
    ) -> redis::RedisResult<bool> {
        let how = match requeue {
            Requeue::Out => "out".to_string(),
            Requeue::Stored => "stored".to_string(),
            Requeue::At(ms) => ms.to_string(),
        };
        let done: i64 = self
            .release
            .arg(agent)
            .arg(call)
            .arg(how)
            .invoke(&mut self.conn)?;
        Ok(done == 1)
    }

    /// The node `agent` is registered through (the last to write her entry).
    pub fn node_of(&mut self, agent: &str) -> redis::RedisResult<Option<String>> {
        self.conn.hget(format!("ap:agent:{agent}"), "node")
    }

    /// This node (`node`, started as `instance`) is alive for `ttl` more. Returns the instance
    /// the key named until now (None: it had run out — or this is the first time).
    pub fn set_alive(
        &mut self,
        node: &str,
        instance: &str,
        ttl: std::time::Duration,
    ) -> redis::RedisResult<Option<String>> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let (before,): (Option<String>,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(format!("ap:alive:{node}"))
            .arg(instance)
            .arg("PX")
            .arg(ms)
            .arg("GET")
            .cmd("SADD")
            .arg("ap:nodes")
            .arg(node)
            .ignore()
            .query(&mut self.conn)?;
        Ok(before)
    }

    /// Put offline the agents of every node but `me` that is no longer alive (`sweep.lua`);
    /// how many there were.
    pub fn sweep(&mut self, me: &str) -> redis::RedisResult<u64> {
        self.sweep.arg(me).invoke(&mut self.conn)
    }

    /// The instance of `node` that is alive, if any.
    pub fn alive(&mut self, node: &str) -> redis::RedisResult<Option<String>> {
        self.conn.get(format!("ap:alive:{node}"))
    }

    /// Send an operation to the node `node` (on its channel).
    pub fn send_to_node(&mut self, node: &str, message: &str) -> redis::RedisResult<()> {
        self.conn.publish(node_channel(node), message)
    }

    /// The team's available members, longest idle first.
    pub fn idle(&mut self, team: &str) -> redis::RedisResult<Vec<String>> {
        self.conn.zrange(format!("ap:idle:{team}"), 0, -1)
    }

    /// An agent's entry as last written (None: no node ever wrote her).
    pub fn entry(&mut self, agent: &str) -> redis::RedisResult<Option<AgentEntry>> {
        let map: std::collections::HashMap<String, String> =
            self.conn.hgetall(format!("ap:agent:{agent}"))?;
        let Some(node) = map.get("node") else {
            return Ok(None);
        };
        let teams: Vec<String> = self.conn.smembers(format!("ap:teams:{agent}"))?;
        let field = |k: &str| map.get(k).cloned().unwrap_or_default();
        Ok(Some(AgentEntry {
            name: agent.to_string(),
            node: node.clone(),
            contact: field("contact"),
            voice: field("voice") == "1",
            state: field("state"),
            available: field("available") == "1",
            idle_since_ms: field("idle").parse().unwrap_or(0),
            teams,
        }))
    }

    /// The call offered to `agent`, if any.
    pub fn offered(&mut self, agent: &str) -> redis::RedisResult<Option<String>> {
        self.conn.hget(format!("ap:agent:{agent}"), "offered")
    }
}
