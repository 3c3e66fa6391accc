//! The fan-out task: runs the [`Fanout`] machine (directory subscribers: deltas, parts,
//! serialised once per version) and sends every NOTIFY, so the directory task (which routing
//! waits on) never builds or sends one. It owns the subscription dialogs (their CSeq) by
//! Call-ID; a subscriber whose NOTIFY is refused (404/481) or never answered is gone.
//!
//! Supervisor NOTIFYs come ready-made from the directory task; for them at most one is in
//! flight per subscriber, newer documents replacing each other while it waits (RFC 6665
//! §4.2.2). Directory NOTIFYs go as the machine says (it keeps its own window).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::supervisor;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Endpoint, TransportKind};
use tokio::sync::{mpsc, watch};

use super::fanout::{Carrier, Fanout, FanoutEvent, Scope};
use super::machine::{Changes, Effect, Event, SubState};
use super::Cmd;
use crate::notify;

/// The directory package's `Event` and body type.
const DIRECTORY: (&str, &str) = (super::machine::EVENT, super::machine::CONTENT_TYPE);
/// The supervisor package's.
const SUPERVISOR: (&str, &str) = (supervisor::EVENT, supervisor::CONTENT_TYPE);

/// A NOTIFY's event package.
type Package = (&'static str, &'static str);

/// Work queued for the fan-out task (one message per directory step or subscription request).
const QUEUE: usize = 1024;

/// What the directory task and the SUBSCRIBE handler hand over.
pub enum ToFanout {
    /// A new directory subscription (its 200 is sent).
    Subscribe {
        /// Its dialog.
        dialog: Box<Dialog>,
        /// What it shows.
        scope: Scope,
        /// Granted lifetime.
        expires: Duration,
    },
    /// A new supervisor subscription's dialog (before its first NOTIFY).
    AddSupervisor(Box<Dialog>),
    /// Refresh (Some) or end (None) a directory subscription (other ids are ignored).
    Resubscribe {
        /// The subscription dialog's Call-ID.
        id: String,
        /// New lifetime.
        expires: Option<Duration>,
    },
    /// Directory entries that changed.
    Changes(Box<Changes>),
    /// Supervisor NOTIFYs to send and dialogs to forget, in order.
    Effects(Vec<Effect>),
}

/// Start the task from the directory's first document; supervisor NOTIFY failures go back to
/// the directory through `directory`. `counts` shows the subscriptions (all, own).
pub fn spawn(
    endpoint: Endpoint,
    fanout: Fanout,
    directory: mpsc::UnboundedSender<Cmd>,
    counts: watch::Sender<(usize, usize)>,
) -> mpsc::Sender<ToFanout> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = Task {
        endpoint,
        fanout,
        directory,
        counts,
        dialogs: HashMap::new(),
    };
    tokio::spawn(task.run(rx));
    tx
}

/// One subscription's dialog as the task keeps it.
struct Subscriber {
    dialog: Dialog,
    /// NOTIFYs waiting for their response.
    in_flight: usize,
    /// Supervisors: the latest NOTIFY to send once the one in flight is answered.
    next: Option<Pending>,
    /// Forgotten: drop it once nothing is in flight.
    forgotten: bool,
}

/// A NOTIFY to send: its state, body and package.
type Pending = (SubState, Arc<[u8]>, Package);

/// A NOTIFY's outcome: its subscription and whether the subscriber is gone.
type Done = (String, bool);

struct Task {
    endpoint: Endpoint,
    fanout: Fanout,
    directory: mpsc::UnboundedSender<Cmd>,
    counts: watch::Sender<(usize, usize)>,
    dialogs: HashMap<String, Subscriber>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<ToFanout>) {
        // Bounded by the subscriptions' windows.
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        loop {
            let deadline = self.fanout.deadline();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => self.take(msg, &done_tx),
                    None => break,
                },
                Some((id, gone)) = done_rx.recv() => self.done(id, gone, &done_tx),
                _ = async {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => self.step(FanoutEvent::Timer, &done_tx),
            }
            self.counts.send_if_modified(|c| {
                let now = self.fanout.subscribers();
                std::mem::replace(c, now) != now
            });
        }
    }

    fn take(&mut self, msg: ToFanout, done: &mpsc::UnboundedSender<Done>) {
        match msg {
            ToFanout::Subscribe {
                dialog,
                scope,
                expires,
            } => {
                let id = dialog.call_id.clone();
                let carrier = match dialog.peer.transport {
                    TransportKind::Udp => Carrier::Datagram,
                    TransportKind::Tcp => Carrier::Stream,
                };
                self.add(*dialog);
                let event = FanoutEvent::Subscribe {
                    id,
                    scope,
                    carrier,
                    expires,
                };
                self.step(event, done);
            }
            ToFanout::AddSupervisor(dialog) => self.add(*dialog),
            ToFanout::Resubscribe { id, expires } => {
                if self.fanout.has(&id) {
                    self.step(FanoutEvent::Resubscribe { id, expires }, done);
                }
            }
            ToFanout::Changes(changes) => self.step(FanoutEvent::Changes(*changes), done),
            ToFanout::Effects(effects) => self.carry_out(effects, done),
        }
    }

    fn add(&mut self, dialog: Dialog) {
        let sub = Subscriber {
            dialog,
            in_flight: 0,
            next: None,
            forgotten: false,
        };
        self.dialogs.insert(sub.dialog.call_id.clone(), sub);
    }

    fn step(&mut self, event: FanoutEvent, done: &mpsc::UnboundedSender<Done>) {
        let effects = self.fanout.handle(event, Instant::now());
        self.carry_out(effects, done);
    }

    fn carry_out(&mut self, effects: Vec<Effect>, done: &mpsc::UnboundedSender<Done>) {
        for effect in effects {
            match effect {
                Effect::Notify { id, state, body } => {
                    // The machine keeps the directory's window: send at once.
                    if let Some(sub) = self.dialogs.get_mut(&id) {
                        send(&self.endpoint, done, &id, sub, (state, body, DIRECTORY));
                    }
                }
                Effect::NotifySupervisor { id, state, body } => {
                    self.queue_supervisor(done, id, (state, body, SUPERVISOR))
                }
                Effect::Forget { id } => match self.dialogs.get_mut(&id) {
                    Some(sub) if sub.in_flight > 0 => sub.forgotten = true,
                    _ => drop(self.dialogs.remove(&id)),
                },
                Effect::Changed | Effect::Publish(_) => {}
            }
        }
    }

    /// A NOTIFY was answered (or not): tell whoever decides for that subscription.
    fn done(&mut self, id: String, gone: bool, done: &mpsc::UnboundedSender<Done>) {
        let Some(sub) = self.dialogs.get_mut(&id) else {
            return;
        };
        sub.in_flight = sub.in_flight.saturating_sub(1);
        let next = sub.next.take();
        let (idle, forgotten) = (sub.in_flight == 0, sub.forgotten);
        if self.fanout.has(&id) {
            let event = if gone {
                FanoutEvent::Gone { id: id.clone() }
            } else {
                FanoutEvent::Delivered { id: id.clone() }
            };
            self.step(event, done);
        } else if gone {
            let _ = self
                .directory
                .send(Cmd::Subscription(Event::Gone { id: id.clone() }));
        } else if let (Some(next), false) = (next, forgotten) {
            if let Some(sub) = self.dialogs.get_mut(&id) {
                send(&self.endpoint, done, &id, sub, next);
            }
            return;
        }
        if (gone || forgotten) && idle {
            self.dialogs.remove(&id);
        }
    }

    /// A supervisor NOTIFY: now, or after the one in flight (replacing what waited).
    fn queue_supervisor(&mut self, done: &mpsc::UnboundedSender<Done>, id: String, next: Pending) {
        let Some(sub) = self.dialogs.get_mut(&id) else {
            return;
        };
        if sub.in_flight > 0 {
            sub.next = Some(next);
        } else {
            send(&self.endpoint, done, &id, sub, next);
        }
    }
}

fn send(
    endpoint: &Endpoint,
    done: &mpsc::UnboundedSender<Done>,
    id: &str,
    sub: &mut Subscriber,
    (state, body, (event, content_type)): Pending,
) {
    let state = match state {
        SubState::Active { expires } => notify::active(expires),
        SubState::Terminated => "terminated;reason=timeout".to_string(),
    };
    let req = notify::request(&mut sub.dialog, event, &state, content_type, body.to_vec());
    let tx = endpoint.request(req, sub.dialog.peer);
    sub.in_flight += 1;
    let (done, id) = (done.clone(), id.to_string());
    tokio::spawn(async move {
        let gone = match tx.final_response().await {
            Ok(resp) => matches!(u16::from(resp.status_code), 404 | 481),
            Err(_) => true,
        };
        let _ = done.send((id, gone));
    });
}
