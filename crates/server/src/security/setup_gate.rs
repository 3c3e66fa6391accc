//! Overload shedding for new calls (issue 7): "answer 503 rather than grow". Every call the
//! server admits costs a room, RTP sockets, a media leg per party and directory work; when the
//! server is already slower than a caller waits (sipp gives up after 2 s, a trunk after a few),
//! a call admitted now only fails later, keeps its room and media until a time-out and makes the
//! next calls slower still — the server collapses and stays collapsed after the load drops.
//!
//! Two signals. The server's own set-up work: from an INVITE's admission to the caller's early
//! answer (100 + 183 with ringback, or a final answer), which involves no other party (a queued
//! call or an agent's ringing time do not count). And the queue: customers waiting for a free
//! agent — a caller who gave up without a CANCEL (a trunk's time-out, a lost connection) stays
//! queued until `queue_timeout_s` and later ties an agent up until its 2xx goes unACKed, so an
//! unbounded queue turns a burst into minutes of calls that fail. A new INVITE is refused (`503`
//! with `Retry-After`) while `max_pending` calls wait for their early answer, while the oldest
//! of them has waited `max_delay`, or (customer calls) while `max_queued` calls are queued.
//! A refusal also tells the queue (`queue_order.rs`) that the server is overloaded: it then serves
//! the newest queued calls first and sheds those queued for `overload_queue_wait`. Sans-IO:
//! [`SetupGate`] and [`QueueOrder`] are plain tables with `now` passed in; [`SharedSetupGate`]
//! puts them behind locks with guards that mark the answer or the queue's end on drop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::queue_order::{QueueLimits, QueueOrder, Ticket, Turn};

/// The bounds (`[security]` `max_calls_in_setup`, `max_setup_delay_ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetupLimits {
    /// Calls admitted but not yet answered early, at most.
    pub max_pending: u32,
    /// How long the oldest of them may have waited before new calls are refused (zero: the
    /// wait rule is off and only `max_pending` bounds the table).
    pub max_delay: Duration,
    /// Customer calls queued for a free agent, at most, before new customer calls are refused.
    pub max_queued: u32,
    /// While overloaded, a call queued this long is shed (zero: never; `queue_order.rs`).
    pub overload_queue_wait: Duration,
}

impl Default for SetupLimits {
    fn default() -> Self {
        SetupLimits {
            max_pending: 500,
            max_delay: Duration::from_millis(250),
            max_queued: 500,
            overload_queue_wait: QueueLimits::default().overload_wait,
        }
    }
}

/// Why a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overload {
    /// `max_pending` calls wait for their early answer.
    Pending,
    /// The oldest waiting call has waited `max_delay`.
    Delay,
    /// `max_queued` customer calls wait for a free agent.
    Queue,
}

/// An entry older than this is forgotten (a room that never answers early must not shed every
/// later call; it still ends, and its guard's `answered` is then a no-op).
const FORGET_AFTER: Duration = Duration::from_secs(30);

/// Calls between admission and early answer, oldest first (ids grow with time).
#[derive(Debug)]
pub struct SetupGate {
    limits: SetupLimits,
    pending: BTreeMap<u64, Instant>,
    next: u64,
    refused: u64,
}

impl SetupGate {
    /// An empty gate under `limits`.
    pub fn new(limits: SetupLimits) -> SetupGate {
        SetupGate {
            limits,
            pending: BTreeMap::new(),
            next: 0,
            refused: 0,
        }
    }

    /// Admit a new call at `now` while `queued` customer calls wait for an agent (0 for a call
    /// that would not queue: an agent's) — its id, for [`SetupGate::answered`] — or say why not.
    pub fn admit(&mut self, now: Instant, queued: usize) -> Result<u64, Overload> {
        while let Some((&id, &at)) = self.pending.first_key_value() {
            if now.saturating_duration_since(at) < FORGET_AFTER {
                break;
            }
            self.pending.remove(&id);
        }
        let verdict = if self.pending.len() >= self.limits.max_pending as usize {
            Err(Overload::Pending)
        } else if queued >= self.limits.max_queued as usize {
            Err(Overload::Queue)
        } else if !self.limits.max_delay.is_zero() && self.oldest_wait(now) >= self.limits.max_delay
        {
            Err(Overload::Delay)
        } else {
            Ok(())
        };
        if let Err(why) = verdict {
            self.refused += 1;
            return Err(why);
        }
        self.next += 1;
        self.pending.insert(self.next, now);
        Ok(self.next)
    }

    /// Call `id` was answered early (or finally, or its room ended).
    pub fn answered(&mut self, id: u64) {
        self.pending.remove(&id);
    }

    /// How long the oldest call waiting for its early answer has waited.
    pub fn oldest_wait(&self, now: Instant) -> Duration {
        self.pending
            .first_key_value()
            .map_or(Duration::ZERO, |(_, &at)| now.saturating_duration_since(at))
    }

    /// Calls waiting for their early answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Calls refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

/// The gate shared by the INVITE handlers and the rooms.
pub struct SharedSetupGate {
    gate: Mutex<SetupGate>,
    /// Customer calls queued now, per team, in arrival order (rooms hold a [`QueuedMark`]).
    order: Mutex<QueueOrder>,
    /// How many (read without the lock by every INVITE).
    queued: AtomicUsize,
}

/// A room's call is queued; dropping it takes the call out of the queue.
pub struct QueuedMark {
    gate: Arc<SharedSetupGate>,
    ticket: Ticket,
}

/// A call waiting for its early answer; dropping it (or [`SetupPending::answered`]) ends the wait.
pub struct SetupPending {
    gate: Arc<SharedSetupGate>,
    id: u64,
}

impl SharedSetupGate {
    /// A gate under `limits`.
    pub fn new(limits: SetupLimits) -> Arc<SharedSetupGate> {
        let queue = QueueLimits {
            overload_wait: limits.overload_queue_wait,
            ..QueueLimits::default()
        };
        Arc::new(SharedSetupGate {
            gate: Mutex::new(SetupGate::new(limits)),
            order: Mutex::new(QueueOrder::new(queue)),
            queued: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SetupGate> {
        // Single inserts and removes: a panic elsewhere leaves the table consistent.
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn order(&self) -> MutexGuard<'_, QueueOrder> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit a new call now (`may_queue`: a customer's, which would queue), or say why not.
    pub fn admit(self: &Arc<Self>, may_queue: bool) -> Result<SetupPending, Overload> {
        let queued = if may_queue {
            self.queued.load(Ordering::Relaxed)
        } else {
            0
        };
        let now = Instant::now();
        let verdict = self.lock().admit(now, queued);
        let id = verdict.inspect_err(|_| self.order().refused(now))?;
        Ok(SetupPending {
            gate: self.clone(),
            id,
        })
    }

    /// A call of `team` enters the queue (until the mark is dropped).
    pub fn queued(self: &Arc<Self>, team: &str) -> QueuedMark {
        let ticket = self.order().enter(team, Instant::now());
        self.queued.fetch_add(1, Ordering::Relaxed);
        QueuedMark {
            gate: self.clone(),
            ticket,
        }
    }

    /// Whether a refusal within the last `overload_hold` marks the server as overloaded.
    pub fn overloaded(&self) -> bool {
        self.order().overloaded(Instant::now())
    }

    /// (calls waiting for their early answer, the oldest's wait, calls queued, calls refused).
    pub fn snapshot(&self) -> (usize, Duration, usize, u64) {
        let gate = self.lock();
        (
            gate.pending(),
            gate.oldest_wait(Instant::now()),
            self.queued.load(Ordering::Relaxed),
            gate.refused(),
        )
    }
}

impl SetupPending {
    /// The caller was answered early (or finally).
    pub fn answered(self) {}
}

impl QueuedMark {
    /// Whether the queued call asks the directory now, waits its turn or is shed.
    pub fn turn(&self) -> Turn {
        self.gate.order().turn(&self.ticket, Instant::now())
    }
}

impl Drop for QueuedMark {
    fn drop(&mut self) {
        self.gate.order().leave(&self.ticket);
        self.gate.queued.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for SetupPending {
    fn drop(&mut self) {
        self.gate.lock().answered(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn gate(max_pending: u32, max_delay_ms: u64) -> SetupGate {
        SetupGate::new(SetupLimits {
            max_pending,
            max_delay: MS * max_delay_ms as u32,
            max_queued: 3,
            overload_queue_wait: Duration::from_secs(10),
        })
    }

    /// One step of a table: at `at_ms`, `admit` a call (with this many queued) or mark call
    /// number `answer` (1-based, in admission order) answered; what `admit` must say.
    enum Step {
        Admit(u64, Result<(), Overload>),
        AdmitQueued(u64, usize, Result<(), Overload>),
        Answer(usize),
    }

    fn run(mut g: SetupGate, steps: &[Step]) {
        let t0 = Instant::now();
        let mut ids = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Admit(at, want) | Step::AdmitQueued(at, _, want) => {
                    let queued = match step {
                        Step::AdmitQueued(_, q, _) => *q,
                        _ => 0,
                    };
                    let got = g.admit(t0 + MS * *at as u32, queued);
                    assert_eq!(got.map(|_| ()), *want, "step {i} (t = {at} ms)");
                    if let Ok(id) = got {
                        ids.push(id);
                    }
                }
                Step::Answer(n) => g.answered(ids[n - 1]),
            }
        }
    }

    #[test]
    fn sheds_on_the_oldest_wait_and_admits_again_once_it_is_answered() {
        use Step::*;
        run(
            gate(100, 250),
            &[
                Admit(0, Ok(())),
                Admit(100, Ok(())),
                Admit(249, Ok(())),
                Admit(250, Err(Overload::Delay)), // call 1 has waited 250 ms
                Admit(300, Err(Overload::Delay)),
                Answer(1), // at 310 ms: now call 2 (t = 100) is the oldest: 210 ms
                Admit(310, Ok(())),
                Admit(350, Err(Overload::Delay)),
                Answer(2),
                Answer(3),
                Answer(4),
                Admit(360, Ok(())),
            ],
        );
    }

    #[test]
    fn bounds_the_calls_in_set_up() {
        use Step::*;
        run(
            gate(2, 1000),
            &[
                Admit(0, Ok(())),
                Admit(1, Ok(())),
                Admit(2, Err(Overload::Pending)),
                Answer(2),
                Admit(3, Ok(())),
                Admit(4, Err(Overload::Pending)),
            ],
        );
    }

    #[test]
    fn bounds_the_queue_for_calls_that_would_queue() {
        use Step::*;
        run(
            gate(100, 250),
            &[
                AdmitQueued(0, 2, Ok(())),
                AdmitQueued(1, 3, Err(Overload::Queue)),
                Admit(2, Ok(())), // an agent's call does not queue
                AdmitQueued(3, 2, Ok(())),
            ],
        );
    }

    #[test]
    fn a_zero_delay_turns_the_wait_rule_off_but_keeps_the_bound() {
        use Step::*;
        run(
            gate(2, 0),
            &[
                Admit(0, Ok(())),
                Admit(10_000, Ok(())),
                Admit(20_000, Err(Overload::Pending)),
            ],
        );
    }

    #[test]
    fn a_call_never_answered_is_forgotten_after_30_s() {
        use Step::*;
        run(
            gate(1, 250),
            &[
                Admit(0, Ok(())),
                Admit(29_999, Err(Overload::Pending)),
                Admit(30_000, Ok(())),
            ],
        );
    }

    #[test]
    fn counts_refusals_and_reports_the_oldest_wait() {
        let t0 = Instant::now();
        let mut g = gate(10, 100);
        let a = g.admit(t0, 0);
        assert!(a.is_ok());
        assert_eq!(g.oldest_wait(t0 + MS * 40), MS * 40);
        assert_eq!(g.admit(t0 + MS * 100, 0), Err(Overload::Delay));
        assert_eq!(g.refused(), 1);
        assert_eq!(g.pending(), 1);
        if let Ok(id) = a {
            g.answered(id);
            g.answered(id); // twice: a no-op
        }
        assert_eq!(g.pending(), 0);
        assert_eq!(g.oldest_wait(t0 + MS * 200), Duration::ZERO);
    }

    #[test]
    fn the_shared_gate_frees_the_entry_when_the_guard_drops() {
        let shared = SharedSetupGate::new(SetupLimits {
            max_pending: 1,
            max_delay: Duration::from_secs(10),
            max_queued: 1,
            overload_queue_wait: Duration::from_secs(10),
        });
        let first = shared.admit(true);
        assert!(first.is_ok());
        assert_eq!(shared.admit(true).err(), Some(Overload::Pending));
        drop(first);
        assert!(shared.overloaded(), "a refusal marks the overload");
        let mark = shared.queued("support");
        assert_eq!(mark.turn(), Turn::Ask);
        assert_eq!(shared.admit(true).err(), Some(Overload::Queue));
        assert!(shared.admit(false).is_ok(), "not a call that would queue");
        drop(mark);
        assert!(shared.admit(true).is_ok());
        assert_eq!(shared.snapshot().0, 0, "the guards dropped at once");
        assert_eq!(shared.snapshot().2, 0);
        assert_eq!(shared.snapshot().3, 2);
    }
}
