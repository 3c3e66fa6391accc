//! The directory: agents' live state (registration, voice channel, ringing, on a call, idle since)
//! and its event package, behind one owner task. Rooms and routing ask it through
//! [`DirectoryHandle`]; because one task answers in turn, "pick the next available member and
//! mark them ringing" is atomic and two rooms never ring the same agent.
//!
//! The decisions are a plain machine ([`machine::Directory`], tested in virtual time); this task
//! only feeds it and carries its effects out. Subscribers are another machine
//! ([`fanout::Fanout`]: deltas, parts, serialised once) in another task ([`notifier`]), so
//! routing never waits for the fan-out to subscribers.

mod agents;
mod board;
mod effect;
mod fanout;
mod machine;
#[cfg(test)]
mod machine_tests;
mod notifier;
mod supervisor_feed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::Endpoint;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::ids::RoomId;
use agentphone_protocol::supervisor::SupervisorCall;
use agents::AgentChange;
use fanout::{Fanout, Scope};
use machine::{Directory, Effect, Event};
use notifier::ToFanout;

pub use agentphone_protocol::{AgentStateRequest, AgentStatus};
pub use agents::Binding;

/// How long a registration may last at most, and what we grant when none is asked for.
pub const MAX_REGISTRATION: Duration = Duration::from_secs(3600);

/// A SIP answer for a caller who wanted an agent of this status but cannot have them.
pub fn unavailable_reply(status: AgentStatus) -> (u16, &'static str) {
    match status {
        AgentStatus::Ringing | AgentStatus::OnCall => (486, "Busy Here"),
        _ => (480, "Temporarily Unavailable"),
    }
}

enum Cmd {
    Agent {
        user: String,
        change: AgentChange,
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
    Status {
        user: String,
        reply: oneshot::Sender<Option<AgentStatus>>,
    },
    /// A new directory subscription (its 200 is sent): the fan-out NOTIFYs it at once, after
    /// any change still being coalesced (so the newcomer's first state is the latest).
    Subscribe {
        dialog: Box<Dialog>,
        scope: Scope,
        expires: Duration,
    },
    /// A new supervisor subscription (its 200 is sent): NOTIFY it at once.
    SubscribeSupervisor {
        dialog: Box<Dialog>,
        expires: Duration,
    },
    /// A subscription event by Call-ID (refresh, end, subscriber gone).
    Subscription(Event),
    /// Something changed elsewhere (another node's agent, cluster mode): queued calls look again.
    Poke,
}

/// Where the entries that changed go besides the subscribers (cluster mode: the shared
/// directory in Redis), each with whether she is registered through this server. Called on the
/// directory task: it must not block.
pub type Feed = Box<dyn Fn(Vec<(agentphone_protocol::DirectoryAgent, bool)>) + Send>;

pub use agents::RemoteView;

/// Asks the directory task. Cheap to clone.
#[derive(Clone)]
pub struct DirectoryHandle {
    tx: mpsc::UnboundedSender<Cmd>,
    changes: watch::Receiver<u64>,
    subscribers: watch::Receiver<(usize, usize)>,
}

impl DirectoryHandle {
    /// Start the owner task; with an endpoint, subscribers get NOTIFYs (the event package).
    pub fn spawn(config: Arc<Config>, endpoint: Option<Endpoint>) -> DirectoryHandle {
        DirectoryHandle::spawn_with_feed(config, endpoint, None)
    }

    /// [`spawn`](Self::spawn), handing every published change of agents' entries to `feed` too.
    pub fn spawn_with_feed(
        config: Arc<Config>,
        endpoint: Option<Endpoint>,
        feed: Option<Feed>,
    ) -> DirectoryHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let (changed, changes) = watch::channel(0);
        let (counts, subscribers) = watch::channel((0, 0));
        let dir = Directory::new(config, Instant::now());
        let fanout =
            endpoint.map(|e| notifier::spawn(e, Fanout::new(dir.document()), tx.clone(), counts));
        tokio::spawn(run(dir, rx, fanout, changed, feed));
        DirectoryHandle {
            tx,
            changes,
            subscribers,
        }
    }

    /// A receiver that sees a new value after every change of any agent's status (for the queue).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// How many directory subscriptions there are: (whole directory, own entry only).
    pub fn subscribers(&self) -> (usize, usize) {
        *self.subscribers.borrow()
    }

    /// A directory subscription was accepted (200 sent): NOTIFY it now and after every change
    /// (`own`: only that agent's entry).
    pub fn subscribe(&self, dialog: Dialog, expires: Duration, own: Option<String>) {
        let _ = self.tx.send(Cmd::Subscribe {
            dialog: Box::new(dialog),
            scope: own.map_or(Scope::All, Scope::Own),
            expires,
        });
    }

    /// A supervisor subscription was accepted (200 sent): NOTIFY it now and after every change.
    pub fn subscribe_supervisor(&self, dialog: Dialog, expires: Duration) {
        let _ = self.tx.send(Cmd::SubscribeSupervisor {
            dialog: Box::new(dialog),
            expires,
        });
    }

    /// A room's call changed (Some) or the room ended (None): the supervisor view.
    pub fn call(&self, room: RoomId, call: Option<SupervisorCall>) {
        let _ = self.tx.send(Cmd::Subscription(Event::Call {
            room,
            call: call.map(Box::new),
        }));
    }

    /// Today's counts per team from the call records: the supervisor view starts from them.
    pub fn team_day(&self, counts: crate::records::TeamDay) {
        let _ = self.tx.send(Cmd::Subscription(Event::TeamDay(counts)));
    }

    /// Refresh (Some) or end (None, final NOTIFY `terminated`) a subscription (either package:
    /// the directory task hands it to the fan-out too, after any subscription before it).
    pub fn resubscribe(&self, call_id: &str, expires: Option<Duration>) {
        let _ = self.tx.send(Cmd::Subscription(Event::Resubscribe {
            id: call_id.into(),
            expires,
        }));
    }

    fn agent(&self, user: &str, change: AgentChange) {
        let _ = self.tx.send(Cmd::Agent {
            user: user.into(),
            change,
        });
    }

    /// Set (Some) or remove (None) an agent's registration.
    pub fn register(&self, user: &str, binding: Option<Binding>) {
        self.agent(user, AgentChange::Register(binding.map(Box::new)));
    }

    /// The agent's phone stopped (false) or started again (true) answering keepalives.
    pub fn set_reachable(&self, user: &str, reachable: bool) {
        self.agent(user, AgentChange::Reachable(reachable));
    }

    /// Voice channel on/off (PUBLISH presence).
    pub fn set_voice(&self, user: &str, active: bool) {
        self.agent(user, AgentChange::SetVoice(active));
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
    #[allow(dead_code)] // for tests
    pub async fn status(&self, user: &str) -> Option<AgentStatus> {
        let (reply, rx) = oneshot::channel();
        let _ = self.tx.send(Cmd::Status {
            user: user.into(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// Cluster mode: the agent's entry on the node she is registered through (None: nowhere
    /// else); shown while she has no binding here.
    pub fn remote(&self, user: &str, view: Option<RemoteView>) {
        self.agent(user, AgentChange::Remote(view));
    }

    /// Another node reserved this node's agent for its call (cluster mode): she rings.
    pub fn offered(&self, user: &str) {
        self.agent(user, AgentChange::Offered);
    }

    /// Something changed on another node: calls waiting in a queue look for an agent again.
    pub fn poke(&self) {
        let _ = self.tx.send(Cmd::Poke);
    }

    /// A reserved agent was not connected (declined, no answer, cancelled).
    pub fn release(&self, user: &str) {
        self.agent(user, AgentChange::Release);
    }

    /// A reserved agent answered: ringing → on a call.
    pub fn answered(&self, user: &str) {
        self.agent(user, AgentChange::Answered);
    }

    /// An agent started a call themselves (dialled out).
    pub fn call_started(&self, user: &str) {
        self.agent(user, AgentChange::CallStarted);
    }

    /// An agent's call ended: idle from now, and after-call work (S1).
    pub fn call_ended(&self, user: &str) {
        self.agent(user, AgentChange::CallEnded);
    }

    /// A supervisor left a call they monitored: free again, without after-call work (V2).
    pub fn monitor_ended(&self, user: &str) {
        self.agent(user, AgentChange::MonitorEnded);
    }

    /// The agent set their state (PUBLISH `agentphone-agent-state`).
    pub fn set_state(&self, user: &str, state: AgentStateRequest) {
        self.agent(user, AgentChange::SetState(state));
    }

    /// An offered call rang out at `user` (after [`release`](Self::release)): they are away,
    /// `missed call`, until they say they are back (S2, RONA).
    pub fn ring_timed_out(&self, user: &str) {
        self.agent(user, AgentChange::RangOut);
    }
}

/// The owner task: feeds the machine, answers queries, hands changes to the fan-out task.
async fn run(
    mut dir: Directory,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    fanout: Option<mpsc::Sender<ToFanout>>,
    changed: watch::Sender<u64>,
    feed: Option<Feed>,
) {
    loop {
        let deadline = dir.deadline();
        let cmd = tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => Some(cmd),
                None => break,
            },
            _ = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            } => None,
        };
        let now = Instant::now();
        let effects = match cmd {
            None => dir.handle(Event::Timer, now),
            Some(Cmd::Agent { user, change }) => dir.handle(Event::Agent { user, change }, now),
            Some(Cmd::Reserve { user, reply }) => {
                let _ = reply.send(dir.reserve(&user, now));
                Vec::new()
            }
            Some(Cmd::ReserveForTeam {
                team,
                exclude,
                reply,
            }) => {
                let _ = reply.send(dir.reserve_for_team(&team, &exclude, now));
                Vec::new()
            }
            Some(Cmd::Binding { user, reply }) => {
                let _ = reply.send(dir.binding(&user, now));
                Vec::new()
            }
            Some(Cmd::Status { user, reply }) => {
                let _ = reply.send(dir.status(&user, now));
                Vec::new()
            }
            Some(Cmd::Subscribe {
                dialog,
                scope,
                expires,
            }) => {
                let pending = dir.flush(now);
                feed_changes(&feed, &pending, &dir);
                carry_out(pending, &fanout, &changed).await;
                let msg = ToFanout::Subscribe {
                    dialog,
                    scope,
                    expires,
                };
                send(&fanout, msg).await;
                Vec::new()
            }
            Some(Cmd::Subscription(Event::Resubscribe { id, expires })) => {
                let msg = ToFanout::Resubscribe {
                    id: id.clone(),
                    expires,
                };
                send(&fanout, msg).await;
                dir.handle(Event::Resubscribe { id, expires }, now)
            }
            Some(Cmd::SubscribeSupervisor { dialog, expires }) => {
                let id = dialog.call_id.clone();
                // The dialog first: the fan-out task must know it before the first NOTIFY.
                send(&fanout, ToFanout::AddSupervisor(dialog)).await;
                dir.handle(Event::SubscribeSupervisor { id, expires }, now)
            }
            Some(Cmd::Subscription(event)) => dir.handle(event, now),
            Some(Cmd::Poke) => {
                changed.send_modify(|v| *v += 1);
                Vec::new()
            }
        };
        feed_changes(&feed, &effects, &dir);
        carry_out(effects, &fanout, &changed).await;
    }
}

/// Hand the agents' entries that changed to the feed (cluster mode).
fn feed_changes(feed: &Option<Feed>, effects: &[Effect], dir: &Directory) {
    let Some(feed) = feed else {
        return;
    };
    for effect in effects {
        if let Effect::Publish(changes) = effect {
            if !changes.agents.is_empty() {
                let local = |a: &agentphone_protocol::DirectoryAgent| dir.is_local(&a.username);
                feed(
                    changes
                        .agents
                        .iter()
                        .map(|a| (a.clone(), local(a)))
                        .collect(),
                );
            }
        }
    }
}

/// The machine's effects: the queue's signal, changes and supervisor NOTIFYs to the fan-out.
async fn carry_out(
    effects: Vec<Effect>,
    fanout: &Option<mpsc::Sender<ToFanout>>,
    changed: &watch::Sender<u64>,
) {
    let mut notifies = Vec::with_capacity(effects.len());
    for effect in effects {
        match effect {
            Effect::Changed => changed.send_modify(|v| *v += 1),
            Effect::Publish(changes) => send(fanout, ToFanout::Changes(changes)).await,
            other => notifies.push(other),
        }
    }
    if !notifies.is_empty() {
        send(fanout, ToFanout::Effects(notifies)).await;
    }
}

/// Hand work to the fan-out task. Its queue is bounded; it is only full when the fan-out falls
/// far behind (it takes one message per 20 ms publication), and then the directory waits
/// (back-pressure) rather than grow or drop a change.
async fn send(fanout: &Option<mpsc::Sender<ToFanout>>, msg: ToFanout) {
    if let Some(tx) = fanout {
        let _ = tx.send(msg).await;
    }
}

#[cfg(test)]
mod tests {
    use super::machine_tests::{binding as binding_until, config};
    use super::*;

    fn binding() -> Binding {
        binding_until(Instant::now() + Duration::from_secs(60))
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

    #[tokio::test]
    async fn another_nodes_agent_is_shown_as_that_node_says_but_never_reserved_here() {
        let d = DirectoryHandle::spawn(config(), None);
        let view = |status| RemoteView {
            status,
            voice: true,
            idle_since_ms: 1,
        };
        d.remote("bob", Some(view(AgentStatus::Available)));
        assert_eq!(d.status("bob").await, Some(AgentStatus::Available));
        assert!(
            d.reserve_for_team("support", &[]).await.is_none(),
            "no binding here: routed by the shared directory, not by this node"
        );
        d.remote("bob", Some(view(AgentStatus::OnCall)));
        assert_eq!(d.status("bob").await, Some(AgentStatus::OnCall));
        // She registers here: this node's state wins.
        d.register("bob", Some(binding()));
        assert_eq!(d.status("bob").await, Some(AgentStatus::Inactive));
        d.register("bob", None);
        assert_eq!(d.status("bob").await, Some(AgentStatus::OnCall));
        d.remote("bob", None);
        assert_eq!(d.status("bob").await, Some(AgentStatus::Offline));
    }
}
