//! The directory: agents' live state (registration, voice channel, ringing, on a call, idle since)
//! behind one owner task. Rooms and routing ask it through [`DirectoryHandle`]; because one task
//! answers in turn, "pick the next available member and mark them ringing" is atomic and two rooms
//! never ring the same agent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Endpoint, Peer};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::directory_view::{self, DirectorySubs};
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

pub use agentphone_protocol::AgentStatus;

/// A SIP answer for a caller who wanted an agent of this status but cannot have them.
pub fn unavailable_reply(status: AgentStatus) -> (u16, &'static str) {
    match status {
        AgentStatus::Ringing | AgentStatus::OnCall => (486, "Busy Here"),
        _ => (480, "Temporarily Unavailable"),
    }
}

#[derive(Debug)]
pub(crate) struct AgentState {
    pub(crate) binding: Option<Binding>,
    pub(crate) voice_active: bool,
    ringing: u32,
    calls: u32,
    pub(crate) idle_since: Instant,
}

impl AgentState {
    pub(crate) fn status(&mut self, now: Instant) -> AgentStatus {
        if self.binding.as_ref().is_some_and(|b| b.expires_at <= now) {
            // Registration lapsed: offline, and the voice channel goes with it.
            self.binding = None;
            self.voice_active = false;
        }
        if self.binding.is_none() {
            AgentStatus::Offline
        } else if self.calls > 0 {
            AgentStatus::OnCall
        } else if self.ringing > 0 {
            AgentStatus::Ringing
        } else if !self.voice_active {
            AgentStatus::Inactive
        } else {
            AgentStatus::Available
        }
    }
}

pub(crate) enum Cmd {
    Register {
        user: String,
        binding: Option<Binding>,
    },
    SetVoice {
        user: String,
        active: bool,
    },
    Reserve {
        user: String,
        reply: oneshot::Sender<Result<Binding, AgentStatus>>,
    },
    ReserveForTeam {
        team: String,
        exclude: Vec<String>,
        reply: oneshot::Sender<Option<(String, Binding)>>,
    },
    Binding {
        user: String,
        reply: oneshot::Sender<Option<Binding>>,
    },
    #[allow(dead_code)]
    Status {
        user: String,
        reply: oneshot::Sender<Option<AgentStatus>>,
    },
    Release {
        user: String,
    },
    Answered {
        user: String,
    },
    CallStarted {
        user: String,
    },
    CallEnded {
        user: String,
    },
    /// A new directory subscription (its 200 is sent): NOTIFY it at once.
    Subscribe {
        dialog: Box<Dialog>,
        expires: Duration,
    },
    /// Refresh (Some) or end (None) a subscription, by Call-ID.
    Resubscribe {
        call_id: String,
        expires: Option<Duration>,
    },
    /// A NOTIFY was refused (481) or unanswered: forget that subscriber.
    Drop {
        call_id: String,
    },
}

/// Asks the directory task. Cheap to clone.
#[derive(Clone)]
pub struct DirectoryHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    changes: watch::Receiver<u64>,
}

impl DirectoryHandle {
    /// Start the owner task; with an endpoint, subscribers get NOTIFYs (the event package).
    pub fn spawn(config: Arc<Config>, endpoint: Option<Endpoint>) -> DirectoryHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let (changed, changes) = watch::channel(0);
        let subs = DirectorySubs::new(endpoint, tx.clone());
        tokio::spawn(run(config, rx, subs, changed));
        DirectoryHandle { tx, changes }
    }

    /// A receiver that sees a new value after every change of any agent's status (for the queue).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// A directory subscription was accepted (200 sent): NOTIFY it now and after every change.
    pub fn subscribe(&self, dialog: Dialog, expires: Duration) {
        let _ = self.tx.send(Cmd::Subscribe {
            dialog: Box::new(dialog),
            expires,
        });
    }

    /// Refresh (Some) or end (None, final NOTIFY `terminated`) a subscription.
    pub fn resubscribe(&self, call_id: &str, expires: Option<Duration>) {
        let _ = self.tx.send(Cmd::Resubscribe {
            call_id: call_id.into(),
            expires,
        });
    }

    /// Set (Some) or remove (None) an agent's registration.
    pub fn register(&self, user: &str, binding: Option<Binding>) {
        let _ = self.tx.send(Cmd::Register {
            user: user.into(),
            binding,
        });
    }

    /// Voice channel on/off (PUBLISH presence).
    pub fn set_voice(&self, user: &str, active: bool) {
        let _ = self.tx.send(Cmd::SetVoice {
            user: user.into(),
            active,
        });
    }

    /// Reserve one agent for a call: Ok(binding) and the agent is now ringing, or why not.
    pub async fn reserve(&self, user: &str) -> Result<Binding, AgentStatus> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Reserve {
            user: user.into(),
            reply,
        });
        rx.await.unwrap_or(Err(AgentStatus::Offline))
    }

    /// The next member of `team` in offer order (SPEC T3), not in `exclude`, now marked ringing.
    pub async fn reserve_for_team(
        &self,
        team: &str,
        exclude: &[String],
    ) -> Option<(String, Binding)> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::ReserveForTeam {
            team: team.into(),
            exclude: exclude.to_vec(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// An agent's current binding (any status).
    pub async fn binding(&self, user: &str) -> Option<Binding> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Binding {
            user: user.into(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// An agent's derived status; None for an unknown user.
    #[allow(dead_code)] // for tests now; the directory event package (next issue) reads it too
    pub async fn status(&self, user: &str) -> Option<AgentStatus> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Status {
            user: user.into(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// A reserved agent was not connected (declined, no answer, cancelled).
    pub fn release(&self, user: &str) {
        let _ = self.tx.send(Cmd::Release { user: user.into() });
    }

    /// A reserved agent answered: ringing → on a call.
    pub fn answered(&self, user: &str) {
        let _ = self.tx.send(Cmd::Answered { user: user.into() });
    }

    /// An agent started a call themselves (dialled out).
    pub fn call_started(&self, user: &str) {
        let _ = self.tx.send(Cmd::CallStarted { user: user.into() });
    }

    /// An agent's call ended: idle from now.
    pub fn call_ended(&self, user: &str) {
        let _ = self.tx.send(Cmd::CallEnded { user: user.into() });
    }
}

async fn run(
    config: Arc<Config>,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    mut subs: DirectorySubs,
    changed: watch::Sender<u64>,
) {
    let start = Instant::now();
    let mut agents: HashMap<String, AgentState> = config
        .agents
        .iter()
        .map(|a| {
            let state = AgentState {
                binding: None,
                voice_active: false,
                ringing: 0,
                calls: 0,
                idle_since: start,
            };
            (a.username.clone(), state)
        })
        .collect();
    // Changes are published COALESCE after the first one of a burst (well within the 200 ms of
    // the protocol); a slow tick catches registrations that lapse without a message.
    const COALESCE: Duration = Duration::from_millis(20);
    let mut publish_at: Option<tokio::time::Instant> = None;
    let mut lapse_check = tokio::time::interval(Duration::from_secs(1));
    loop {
        let cmd = tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => cmd,
                None => break,
            },
            _ = async {
                match publish_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                publish_at = None;
                let snapshot = directory_view::snapshot(&config, &mut agents, Instant::now());
                if subs.publish(snapshot) {
                    changed.send_modify(|v| *v += 1);
                }
                continue;
            }
            _ = lapse_check.tick() => {
                subs.expire(Instant::now());
                publish_at.get_or_insert_with(|| tokio::time::Instant::now() + COALESCE);
                continue;
            }
        };
        let now = Instant::now();
        let mutates = !matches!(
            cmd,
            Cmd::Binding { .. } | Cmd::Status { .. } | Cmd::Resubscribe { .. } | Cmd::Drop { .. }
        );
        apply(&config, &mut agents, &mut subs, cmd, now);
        if mutates {
            publish_at.get_or_insert_with(|| tokio::time::Instant::now() + COALESCE);
        }
    }
}

fn apply(
    config: &Config,
    agents: &mut HashMap<String, AgentState>,
    subs: &mut DirectorySubs,
    cmd: Cmd,
    now: Instant,
) {
    match cmd {
        Cmd::Register { user, binding } => {
            if let Some(a) = agents.get_mut(&user) {
                if binding.is_none() {
                    a.voice_active = false;
                }
                a.binding = binding;
            }
        }
        Cmd::SetVoice { user, active } => {
            if let Some(a) = agents.get_mut(&user) {
                a.voice_active = active;
            }
        }
        Cmd::Reserve { user, reply } => {
            let result = match agents.get_mut(&user) {
                None => Err(AgentStatus::Offline),
                Some(a) => match (a.status(now), &a.binding) {
                    (AgentStatus::Available, Some(b)) => {
                        a.ringing += 1;
                        Ok(b.clone())
                    }
                    (status, _) => Err(status),
                },
            };
            let _ = reply.send(result);
        }
        Cmd::ReserveForTeam {
            team,
            exclude,
            reply,
        } => {
            let picked = next_in_team(config, agents, &team, &exclude, now);
            let _ = reply.send(picked);
        }
        Cmd::Binding { user, reply } => {
            let b = agents.get_mut(&user).and_then(|a| {
                a.status(now);
                a.binding.clone()
            });
            let _ = reply.send(b);
        }
        Cmd::Status { user, reply } => {
            let _ = reply.send(agents.get_mut(&user).map(|a| a.status(now)));
        }
        Cmd::Release { user } => {
            if let Some(a) = agents.get_mut(&user) {
                a.ringing = a.ringing.saturating_sub(1);
            }
        }
        Cmd::Answered { user } => {
            if let Some(a) = agents.get_mut(&user) {
                a.ringing = a.ringing.saturating_sub(1);
                a.calls += 1;
            }
        }
        Cmd::CallStarted { user } => {
            if let Some(a) = agents.get_mut(&user) {
                a.calls += 1;
            }
        }
        Cmd::CallEnded { user } => {
            if let Some(a) = agents.get_mut(&user) {
                a.calls = a.calls.saturating_sub(1);
                if a.calls == 0 {
                    a.idle_since = now;
                }
            }
        }
        Cmd::Subscribe { dialog, expires } => {
            let snapshot = directory_view::snapshot(config, agents, now);
            subs.add(*dialog, expires, snapshot, now);
        }
        Cmd::Resubscribe { call_id, expires } => subs.refresh(&call_id, expires, now),
        Cmd::Drop { call_id } => subs.forget(&call_id),
    }
}

/// The next member of `team` to offer a call to (order: `routing::next_to_offer`), marked ringing.
fn next_in_team(
    config: &Config,
    agents: &mut HashMap<String, AgentState>,
    team: &str,
    exclude: &[String],
    now: Instant,
) -> Option<(String, Binding)> {
    let team = config.team(team)?;
    let mut views = Vec::with_capacity(team.members.len());
    for member in &team.members {
        let Some(a) = agents.get_mut(member) else {
            continue;
        };
        let available = a.status(now) == AgentStatus::Available && !exclude.contains(member);
        views.push(MemberView {
            name: member,
            available,
            idle_since: a.idle_since,
        });
    }
    let name = next_to_offer(views)?;
    let a = agents.get_mut(name)?;
    a.ringing += 1;
    Some((name.to_string(), a.binding.clone()?))
}

/// How long a registration may last at most, and what we grant when none is asked for.
pub const MAX_REGISTRATION: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_sip::endpoint::TransportKind;
    use std::net::SocketAddr;

    fn config() -> Arc<Config> {
        let text = r#"
[[agents]]
username = "alice"
password = "a"
[[agents]]
username = "bob"
password = "b"
[[agents]]
username = "carol"
password = "c"
[[teams]]
name = "support"
members = ["alice", "bob", "carol"]
"#;
        Arc::new(Config::from_toml_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}")))
    }

    fn binding() -> Binding {
        let addr: SocketAddr = "127.0.0.1:5099".parse().unwrap_or_else(|e| panic!("{e}"));
        let contact = rsip::Uri::try_from("sip:x@127.0.0.1:5099").unwrap_or_else(|e| panic!("{e}"));
        Binding {
            contact,
            peer: Peer {
                addr,
                transport: TransportKind::Udp,
            },
            expires_at: Instant::now() + Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn team_offer_order_skips_inactive_busy_and_ringing_then_prefers_longest_idle() {
        let d = DirectoryHandle::spawn(config(), None);
        for u in ["alice", "bob", "carol"] {
            d.register(u, Some(binding()));
        }
        d.set_voice("bob", true);
        d.set_voice("carol", true);
        // alice is inactive: bob first (tie on idle time, member order), then carol.
        assert_eq!(
            d.reserve_for_team("support", &[]).await.map(|p| p.0),
            Some("bob".into())
        );
        // bob is ringing now, so carol is next even without excluding bob.
        assert_eq!(
            d.reserve_for_team("support", &[]).await.map(|p| p.0),
            Some("carol".into())
        );
        assert!(d.reserve_for_team("support", &[]).await.is_none());
        // bob answers and hangs up: he is idle for less time than carol will be once released.
        d.answered("bob");
        d.call_ended("bob");
        d.release("carol");
        assert_eq!(
            d.reserve_for_team("support", &[]).await.map(|p| p.0),
            Some("carol".into())
        );
        d.release("carol");
        assert_eq!(d.status("alice").await, Some(AgentStatus::Inactive));
        d.register("carol", None);
        assert_eq!(d.status("carol").await, Some(AgentStatus::Offline));
        assert_eq!(
            d.reserve_for_team("support", &[]).await.map(|p| p.0),
            Some("bob".into())
        );
        assert_eq!(d.reserve("bob").await.err(), Some(AgentStatus::Ringing));
    }
}
