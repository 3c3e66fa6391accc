//! The fan-out task: sends the directory's NOTIFYs, so the directory task (which routing waits
//! on) never does. It owns the subscription dialogs (their CSeq) by Call-ID; a subscriber whose
//! NOTIFY is refused (404/481) or never answered is reported back as gone.
//!
//! At most one NOTIFY per subscriber is in flight: while one waits for its response, newer
//! documents replace each other and only the latest follows (RFC 6665 §4.2.2 lets a notifier
//! skip intermediate states). A subscriber slower than the change rate then costs one request
//! of memory, not one per change — at 300 calls/s a NOTIFY of the whole directory every 20 ms
//! to each of 100 agents held hundreds of MB while the agents caught up.

use std::collections::HashMap;
use std::sync::Arc;

use agentphone_protocol::supervisor;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::Endpoint;
use tokio::sync::mpsc;

use super::machine::{Effect, Event, SubState};
use super::Cmd;
use crate::notify;

/// The directory package's `Event` and body type.
const DIRECTORY: (&str, &str) = (super::machine::EVENT, super::machine::CONTENT_TYPE);
/// The supervisor package's.
const SUPERVISOR: (&str, &str) = (supervisor::EVENT, supervisor::CONTENT_TYPE);

/// A NOTIFY's event package.
type Package = (&'static str, &'static str);

/// Work queued for the fan-out task (one message per directory step, not per subscriber).
const QUEUE: usize = 256;

/// What the directory hands over.
pub enum Fanout {
    /// A new subscription's dialog (before its first NOTIFY).
    Add(Box<Dialog>),
    /// NOTIFYs to send and dialogs to forget, in order.
    Effects(Vec<Effect>),
}

/// Start the task; NOTIFY failures go back to the directory through `directory`.
pub fn spawn(endpoint: Endpoint, directory: mpsc::UnboundedSender<Cmd>) -> mpsc::Sender<Fanout> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(endpoint, rx, directory));
    tx
}

/// One subscription as the fan-out task keeps it.
struct Subscriber {
    dialog: Dialog,
    /// A NOTIFY waits for its response.
    in_flight: bool,
    /// The latest NOTIFY to send once it has one.
    next: Option<Pending>,
    /// The directory forgot it: drop it once nothing is in flight or queued.
    forgotten: bool,
}

/// A NOTIFY to send: its state, body and package.
type Pending = (SubState, Arc<[u8]>, Package);

/// A NOTIFY's outcome: its subscription and whether the subscriber is gone.
type Done = (String, bool);

async fn run(
    endpoint: Endpoint,
    mut rx: mpsc::Receiver<Fanout>,
    directory: mpsc::UnboundedSender<Cmd>,
) {
    let mut subs: HashMap<String, Subscriber> = HashMap::new();
    // Bounded by the subscriptions: each has at most one NOTIFY in flight.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Fanout::Add(dialog)) => {
                    let sub = Subscriber {
                        dialog: *dialog,
                        in_flight: false,
                        next: None,
                        forgotten: false,
                    };
                    subs.insert(sub.dialog.call_id.clone(), sub);
                }
                Some(Fanout::Effects(effects)) => {
                    for effect in effects {
                        apply(&endpoint, &done_tx, &mut subs, effect);
                    }
                }
                None => break,
            },
            Some((id, gone)) = done_rx.recv() => {
                if gone {
                    let _ = directory.send(Cmd::Subscription(Event::Gone { id: id.clone() }));
                }
                let Some(sub) = subs.get_mut(&id) else { continue };
                sub.in_flight = false;
                match sub.next.take() {
                    Some(next) if !gone => send(&endpoint, &done_tx, &id, sub, next),
                    _ if sub.forgotten || gone => drop(subs.remove(&id)),
                    _ => {}
                }
            }
        }
    }
}

fn apply(
    endpoint: &Endpoint,
    done: &mpsc::UnboundedSender<Done>,
    subs: &mut HashMap<String, Subscriber>,
    effect: Effect,
) {
    match effect {
        Effect::Notify { id, state, body } => {
            queue(endpoint, done, subs, id, (state, body, DIRECTORY))
        }
        Effect::NotifySupervisor { id, state, body } => {
            queue(endpoint, done, subs, id, (state, body, SUPERVISOR))
        }
        Effect::Forget { id } => {
            let busy = subs.get(&id).is_some_and(|s| s.in_flight);
            match subs.get_mut(&id) {
                Some(sub) if busy => sub.forgotten = true,
                _ => drop(subs.remove(&id)),
            }
        }
        Effect::Changed => {}
    }
}

/// Send `next` now, or after the NOTIFY in flight (replacing what waited).
fn queue(
    endpoint: &Endpoint,
    done: &mpsc::UnboundedSender<Done>,
    subs: &mut HashMap<String, Subscriber>,
    id: String,
    next: Pending,
) {
    let Some(sub) = subs.get_mut(&id) else {
        return;
    };
    if sub.in_flight {
        sub.next = Some(next);
    } else {
        send(endpoint, done, &id, sub, next);
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
    sub.in_flight = true;
    let (done, id) = (done.clone(), id.to_string());
    tokio::spawn(async move {
        let gone = match tx.final_response().await {
            Ok(resp) => matches!(u16::from(resp.status_code), 404 | 481),
            Err(_) => true,
        };
        let _ = done.send((id, gone));
    });
}
