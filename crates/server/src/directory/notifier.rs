//! The fan-out task: runs the [`Fanout`] machine (directory subscribers: deltas, parts,
//! serialised once per version) and sends every NOTIFY, so the directory task (which routing
//! waits on) never builds or sends one. It owns the subscription dialogs (their CSeq) by
//! Call-ID; a subscriber whose NOTIFY is refused (404/481) or never answered is gone.
//!
//! Supervisor NOTIFYs come ready-made from the directory task; for them at most one is in
//! flight per subscriber, newer documents replacing each other while it waits (RFC 6665
//! §4.2.2). Directory NOTIFYs go as the machine says (it keeps its own window).
//!
//! Each NOTIFY is written as bytes from its dialog's template (the body, serialised once per
//! version, is shared by every subscriber) and sent as a tagged client transaction: its final
//! outcome comes back on the task's one outcome queue, tagged with the subscriber's key — no
//! request object, channel or task per NOTIFY (docs/architecture.md, directory fan-out). The
//! NOTIFYs of one step leave as one burst (`sendmmsg`); the outcomes are awaited only while a
//! NOTIFY waits for one, else read whenever the task wakes anyway.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_protocol::supervisor;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Endpoint, Outcome, TaggedBurst};
use agentphone_sip::rsip;
use agentphone_sip::template::RequestTemplate;
use tokio::sync::{mpsc, watch};

use super::fanout::{Carrier, Fanout, FanoutEvent, Scope};
use super::machine::{Changes, Effect, Event, SubState};
use super::Cmd;
use crate::lazy_read::{sleep_until, take_ready};
use crate::notify;

/// The directory package's `Event` and body type.
const DIRECTORY: (&str, &str) = (super::machine::EVENT, super::machine::CONTENT_TYPE);
/// The supervisor package's.
const SUPERVISOR: (&str, &str) = (supervisor::EVENT, supervisor::CONTENT_TYPE);

/// A NOTIFY's event package.
type Package = (&'static str, &'static str);

/// Work queued for the fan-out task (one message per directory step or subscription request).
const QUEUE: usize = 1024;

/// NOTIFYs in flight at most (all subscribers): each has its place in the outcome queue from
/// the moment it is sent. The machine's window (16 per directory subscriber, 1 per supervisor)
/// keeps far below it; a NOTIFY past it is not sent and its subscriber is treated as gone.
/// (The queue allocates its slots as they are used, not up front.)
const IN_FLIGHT: usize = 65_536;

/// Outcomes taken from the queue in one go.
const OUTCOME_BATCH: usize = 256;

/// Longest an answer waits unread while no NOTIFY depends on it (so a subscriber's end, a 481
/// or Timer F, is noticed within it).
const LAZY_READ: Duration = Duration::from_millis(100);

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
    let (outcomes, outcomes_rx) = mpsc::channel(IN_FLIGHT);
    let task = Task {
        endpoint,
        fanout,
        directory,
        counts,
        dialogs: HashMap::new(),
        keys: HashMap::new(),
        next_key: 0,
        outcomes,
        refused: Vec::new(),
        unread: 0,
    };
    tokio::spawn(task.run(rx, outcomes_rx));
    tx
}

/// One subscription's dialog as the task keeps it.
struct Subscriber {
    dialog: Dialog,
    /// Its NOTIFY less what changes per request (built once, for its event package).
    template: RequestTemplate,
    /// Its tag on the outcome queue.
    key: u64,
    /// NOTIFYs waiting for their response.
    in_flight: usize,
    /// Supervisors: the latest NOTIFY to send once the one in flight is answered.
    next: Option<Pending>,
    /// Forgotten: drop it once nothing is in flight.
    forgotten: bool,
}

/// A NOTIFY to send: its state and body (the package is the subscriber's).
type Pending = (SubState, Arc<[u8]>);

struct Task {
    endpoint: Endpoint,
    fanout: Fanout,
    directory: mpsc::UnboundedSender<Cmd>,
    counts: watch::Sender<(usize, usize)>,
    dialogs: HashMap<String, Subscriber>,
    /// Subscription (Call-ID) by outcome tag.
    keys: HashMap<u64, String>,
    next_key: u64,
    /// Where the NOTIFYs' outcomes go (the receiver is in `run`).
    outcomes: mpsc::Sender<Outcome>,
    /// Subscribers whose NOTIFY the outcome queue had no room for (handled as gone).
    refused: Vec<u64>,
    /// NOTIFYs sent whose outcome has not been read yet.
    unread: usize,
}

/// What woke the fan-out task.
enum Wake {
    Msg(ToFanout),
    /// Answers to read (already in the batch, or due to be read lazily).
    Answers,
    Timer,
}

impl Task {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<ToFanout>,
        mut outcomes: mpsc::Receiver<Outcome>,
    ) {
        let mut batch = Vec::with_capacity(OUTCOME_BATCH);
        loop {
            let deadline = self.fanout.deadline();
            // The answers are awaited only when one would let a NOTIFY go at once; otherwise
            // they are read when the task wakes anyway (the next change), at the latest after
            // LAZY_READ: no wake-up per answer (2 000 a second in the directory bench).
            let eager = self.waits_for_answers();
            let lazy = (!eager && self.unread > 0).then(|| Instant::now() + LAZY_READ);
            let wake = tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => Wake::Msg(msg),
                    None => break,
                },
                // The task holds a sender: never closed while it runs.
                _ = outcomes.recv_many(&mut batch, OUTCOME_BATCH), if eager => Wake::Answers,
                () = sleep_until(deadline) => Wake::Timer,
                () = sleep_until(lazy) => Wake::Answers,
            };
            // Whatever woke the task, the answers that came meanwhile go first.
            self.read_answers(&mut batch, &mut outcomes);
            match wake {
                Wake::Msg(msg) => self.take(msg),
                Wake::Timer => self.step(FanoutEvent::Timer),
                Wake::Answers => {}
            }
            while let Some(key) = self.refused.pop() {
                self.done(key, true);
            }
            self.counts.send_if_modified(|c| {
                let now = self.fanout.subscribers();
                std::mem::replace(c, now) != now
            });
        }
    }

    /// Whether a NOTIFY waits for an answer: the directory machine's, or a supervisor's next
    /// document.
    fn waits_for_answers(&self) -> bool {
        self.fanout.waits_for_answers() || self.dialogs.values().any(|s| s.next.is_some())
    }

    /// Take every answer that has come (those in `batch` first), without waiting.
    fn read_answers(&mut self, batch: &mut Vec<Outcome>, outcomes: &mut mpsc::Receiver<Outcome>) {
        while take_ready(batch, outcomes, OUTCOME_BATCH) {
            for Outcome { tag, result } in batch.drain(..) {
                self.unread = self.unread.saturating_sub(1);
                // 404/481: the subscription is gone there (RFC 6665 §4.2.2); no answer (Timer
                // F) or a transport error: the subscriber is.
                let gone = result.map_or(true, |code| matches!(code, 404 | 481));
                self.done(tag, gone);
            }
        }
    }

    fn take(&mut self, msg: ToFanout) {
        match msg {
            ToFanout::Subscribe {
                dialog,
                scope,
                expires,
            } => {
                let id = dialog.call_id.clone();
                let carrier = if dialog.peer.transport.is_stream() {
                    Carrier::Stream
                } else {
                    Carrier::Datagram
                };
                self.add(*dialog, DIRECTORY);
                let event = FanoutEvent::Subscribe {
                    id,
                    scope,
                    carrier,
                    expires,
                };
                self.step(event);
            }
            ToFanout::AddSupervisor(dialog) => self.add(*dialog, SUPERVISOR),
            ToFanout::Resubscribe { id, expires } => {
                if self.fanout.has(&id) {
                    self.step(FanoutEvent::Resubscribe { id, expires });
                }
            }
            ToFanout::Changes(changes) => self.step(FanoutEvent::Changes(*changes)),
            ToFanout::Effects(effects) => self.carry_out(effects),
        }
    }

    fn add(&mut self, dialog: Dialog, (event, content_type): Package) {
        // A new dialog under a Call-ID still held keeps its tag: outcomes go by subscription.
        let key = match self.dialogs.get(&dialog.call_id) {
            Some(old) => old.key,
            None => {
                self.next_key += 1;
                self.next_key
            }
        };
        let template = dialog.template(
            rsip::Method::Notify,
            Some(content_type),
            &[("Event", event)],
        );
        let sub = Subscriber {
            dialog,
            template,
            key,
            in_flight: 0,
            next: None,
            forgotten: false,
        };
        let id = sub.dialog.call_id.clone();
        self.keys.insert(key, id.clone());
        self.dialogs.insert(id, sub);
    }

    /// Forget subscription `id` (and its tag).
    fn remove(&mut self, id: &str) {
        if let Some(sub) = self.dialogs.remove(id) {
            self.keys.remove(&sub.key);
        }
    }

    fn step(&mut self, event: FanoutEvent) {
        let effects = self.fanout.handle(event, Instant::now());
        self.carry_out(effects);
    }

    /// Send a NOTIFY in subscription `id`'s dialog (a full outcome queue: it counts as gone).
    fn send(&mut self, burst: &mut TaggedBurst<'_>, id: &str, pending: Pending) {
        if let Some(sub) = self.dialogs.get_mut(id) {
            if send(burst, &self.outcomes, sub, pending) {
                self.unread += 1;
            } else {
                self.refused.push(sub.key);
            }
        }
    }

    /// Carry out the machine's effects; their NOTIFYs leave together (one `sendmmsg` per shard).
    fn carry_out(&mut self, effects: Vec<Effect>) {
        let endpoint = self.endpoint.clone();
        let mut burst = endpoint.tagged_burst();
        for effect in effects {
            match effect {
                // The machine keeps the directory's window: send at once.
                Effect::Notify { id, state, body } => self.send(&mut burst, &id, (state, body)),
                Effect::NotifySupervisor { id, state, body } => {
                    self.queue_supervisor(&mut burst, id, (state, body))
                }
                Effect::Forget { id } => match self.dialogs.get_mut(&id) {
                    Some(sub) if sub.in_flight > 0 => sub.forgotten = true,
                    _ => self.remove(&id),
                },
                Effect::Changed | Effect::Publish(_) => {}
            }
        }
    }

    /// A NOTIFY was answered (or not): tell whoever decides for that subscription.
    fn done(&mut self, key: u64, gone: bool) {
        let Some(id) = self.keys.get(&key).cloned() else {
            return;
        };
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
            self.step(event);
        } else if gone {
            let _ = self
                .directory
                .send(Cmd::Subscription(Event::Gone { id: id.clone() }));
        } else if let (Some(next), false) = (next, forgotten) {
            let endpoint = self.endpoint.clone();
            self.send(&mut endpoint.tagged_burst(), &id, next);
            return;
        }
        if (gone || forgotten) && idle {
            self.remove(&id);
        }
    }

    /// A supervisor NOTIFY: now, or after the one in flight (replacing what waited).
    fn queue_supervisor(&mut self, burst: &mut TaggedBurst<'_>, id: String, next: Pending) {
        let Some(sub) = self.dialogs.get_mut(&id) else {
            return;
        };
        if sub.in_flight > 0 {
            sub.next = Some(next);
        } else {
            self.send(burst, &id, next);
        }
    }
}

/// Write the next NOTIFY of `sub` from its template and send it; false when the outcome queue
/// had no room (nothing sent).
fn send(
    burst: &mut TaggedBurst<'_>,
    outcomes: &mpsc::Sender<Outcome>,
    sub: &mut Subscriber,
    (state, body): Pending,
) -> bool {
    let state = match state {
        SubState::Active { expires } => notify::active(expires),
        SubState::Terminated => "terminated;reason=timeout".to_string(),
    };
    let cseq = sub.dialog.next_cseq();
    let headers = [("Subscription-State", state.as_str())];
    let write = |via: &str| sub.template.write(via, cseq, &headers, &body);
    let (call_id, peer) = (&sub.dialog.call_id, sub.dialog.peer);
    let sent = burst.request_tagged(
        (call_id, rsip::Method::Notify, peer),
        write,
        sub.key,
        outcomes,
    );
    sub.in_flight += 1; // a refusal is handled as this NOTIFY's outcome
    sent.is_ok()
}
