//! Which queued customer calls ask for a free agent, and which are shed, under overload (issue 7).
//!
//! In normal load a team's queue is served oldest first (SPEC R1). While the server is
//! overloaded — the set-up gate refused a call within the last `overload_hold` — it is served
//! newest first and a call that has been queued for `overload_wait` is shed (503): the "adaptive
//! LIFO" and CoDel-like bound of Facebook's "Fail at scale". Why: past an overload the queue holds
//! the calls that waited longest, whose callers are the likeliest to have hung up (a CANCEL lost
//! or crossing our answer); served oldest first, the agents answered dead calls while every live
//! caller behind them gave up too, and the server stayed failed after the load dropped (the
//! metastable loop of session 9). Newest first, the agents answer callers who are still there;
//! the bound makes room in the bounded queue for them and empties it of the dead.
//!
//! Only the first `window` calls in serving order ask the directory when it changes (the others
//! wait their turn): a free agent goes to one of them, and a change no longer wakes every queued
//! call into an ask. Sans-IO: a plain table, `now` passed in; `setup_gate.rs` shares it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The queue policy's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Calls of a team that ask the directory on a change (the head in serving order).
    pub window: usize,
    /// While overloaded, a call queued this long is shed (zero: never).
    pub overload_wait: Duration,
    /// How long after the gate's last refusal the server counts as overloaded.
    pub overload_hold: Duration,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            window: 128,
            overload_wait: Duration::from_secs(10),
            overload_hold: Duration::from_secs(2),
        }
    }
}

/// What a queued call does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// Ask the directory for a free agent.
    Ask,
    /// Wait: others come first.
    Wait,
    /// End the call (503): overloaded, and it has waited `overload_wait`.
    Shed,
}

/// A call's place in its team's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    team: Box<str>,
    seq: u64,
}

/// The queued calls of every team, in arrival order.
#[derive(Debug)]
pub struct QueueOrder {
    limits: QueueLimits,
    /// Per team: ticket number (grows with time) → when the call queued.
    teams: HashMap<Box<str>, BTreeMap<u64, Instant>>,
    next: u64,
    /// When the last refusal was seen.
    last_refusal: Option<Instant>,
}

impl QueueOrder {
    /// An empty table under `limits`.
    pub fn new(limits: QueueLimits) -> QueueOrder {
        QueueOrder {
            limits,
            teams: HashMap::new(),
            next: 0,
            last_refusal: None,
        }
    }

    /// A call of `team` queues at `now`.
    pub fn enter(&mut self, team: &str, now: Instant) -> Ticket {
        self.next += 1;
        let calls = match self.teams.get_mut(team) {
            Some(calls) => calls,
            None => self.teams.entry(team.into()).or_default(),
        };
        calls.insert(self.next, now);
        Ticket {
            team: team.into(),
            seq: self.next,
        }
    }

    /// The call left the queue (offered, cancelled, shed, ended).
    pub fn leave(&mut self, ticket: &Ticket) {
        if let Some(calls) = self.teams.get_mut(&ticket.team) {
            calls.remove(&ticket.seq);
            if calls.is_empty() {
                self.teams.remove(&ticket.team);
            }
        }
    }

    /// The set-up gate refused a call at `now`.
    pub fn refused(&mut self, now: Instant) {
        self.last_refusal = Some(now);
    }

    /// Whether the server counts as overloaded at `now`.
    pub fn overloaded(&self, now: Instant) -> bool {
        self.last_refusal
            .is_some_and(|at| now.saturating_duration_since(at) < self.limits.overload_hold)
    }

    /// What the call holding `ticket` does at `now`.
    pub fn turn(&self, ticket: &Ticket, now: Instant) -> Turn {
        let Some(calls) = self.teams.get(&ticket.team) else {
            return Turn::Ask;
        };
        let Some(&queued_at) = calls.get(&ticket.seq) else {
            return Turn::Ask;
        };
        let overloaded = self.overloaded(now);
        let waited = now.saturating_duration_since(queued_at);
        if overloaded && !self.limits.overload_wait.is_zero() && waited >= self.limits.overload_wait
        {
            return Turn::Shed;
        }
        // Calls served before this one: older ones in normal load, newer ones when overloaded.
        let ahead = if overloaded {
            calls
                .range(ticket.seq + 1..)
                .take(self.limits.window)
                .count()
        } else {
            calls.range(..ticket.seq).take(self.limits.window).count()
        };
        if ahead < self.limits.window {
            Turn::Ask
        } else {
            Turn::Wait
        }
    }

    /// Calls queued, all teams.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.teams.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    fn order(window: usize) -> QueueOrder {
        QueueOrder::new(QueueLimits {
            window,
            overload_wait: S * 10,
            overload_hold: S * 2,
        })
    }

    /// The turns of `tickets` at `now`, as a string: A(sk) W(ait) S(hed).
    fn turns(o: &QueueOrder, tickets: &[Ticket], now: Instant) -> String {
        tickets
            .iter()
            .map(|t| match o.turn(t, now) {
                Turn::Ask => 'A',
                Turn::Wait => 'W',
                Turn::Shed => 'S',
            })
            .collect()
    }

    #[test]
    fn serves_the_oldest_first_in_normal_load_and_the_newest_first_when_overloaded() {
        let t0 = Instant::now();
        let mut o = order(2);
        let calls: Vec<Ticket> = (0..5u32).map(|i| o.enter("support", t0 + S * i)).collect();
        // (what happens, at ms, the turns of calls 1..5 after it)
        let table: &[(&str, u64, &str)] = &[
            ("normal load: the two oldest ask", 5_000, "AAWWW"),
            ("a refusal: overloaded, the two newest ask", 5_000, "WWWAA"),
            ("1.999 s later: still overloaded", 6_999, "WWWAA"),
            ("2 s after the refusal: oldest first again", 7_000, "AAWWW"),
        ];
        for (i, &(what, at_ms, want)) in table.iter().enumerate() {
            let now = t0 + MS * at_ms as u32;
            if i == 1 {
                o.refused(now);
            }
            assert_eq!(turns(&o, &calls, now), want, "{what}");
        }
    }

    #[test]
    fn a_call_leaving_lets_the_next_one_ask() {
        let t0 = Instant::now();
        let mut o = order(2);
        let calls: Vec<Ticket> = (0..4u32).map(|i| o.enter("support", t0 + MS * i)).collect();
        let now = t0 + S;
        assert_eq!(turns(&o, &calls, now), "AAWW");
        o.leave(&calls[0]);
        assert_eq!(turns(&o, &calls[1..], now), "AAW");
        o.refused(now);
        o.leave(&calls[3]);
        assert_eq!(turns(&o, &calls[1..3], now), "AA", "newest first");
        o.leave(&calls[1]);
        o.leave(&calls[2]);
        assert_eq!(o.len(), 0);
        assert!(o.teams.is_empty(), "an empty team's entry is gone");
    }

    #[test]
    fn overloaded_a_call_queued_for_the_bound_is_shed() {
        let t0 = Instant::now();
        let mut o = order(10);
        let old = o.enter("support", t0);
        let young = o.enter("support", t0 + S * 5);
        // (refusal at s or none, look at s, turns of old and young)
        let table: &[(Option<u32>, u32, &str)] = &[
            (None, 9, "AA"),
            (None, 30, "AA"), // normal load: queue_timeout (the room's) is the only bound
            (Some(31), 31, "SS"),
            (None, 32, "SS"),
            (None, 33, "AA"), // the overload is over
        ];
        for &(refusal, at, want) in table {
            if let Some(r) = refusal {
                o.refused(t0 + S * r);
            }
            assert_eq!(
                turns(&o, &[old.clone(), young.clone()], t0 + S * at),
                want,
                "at {at} s"
            );
        }
        let mut o = order(10);
        let old = o.enter("support", t0);
        let young = o.enter("support", t0 + S * 5);
        o.refused(t0 + S * 10);
        assert_eq!(
            turns(&o, &[old, young], t0 + S * 10),
            "SA",
            "10 s and 5 s queued"
        );
    }

    #[test]
    fn teams_queue_apart() {
        let t0 = Instant::now();
        let mut o = order(1);
        let a1 = o.enter("support", t0);
        let b1 = o.enter("sales", t0 + MS);
        let a2 = o.enter("support", t0 + MS * 2);
        assert_eq!(turns(&o, &[a1.clone(), b1, a2.clone()], t0 + S), "AAW");
        o.leave(&a1);
        assert_eq!(o.turn(&a2, t0 + S), Turn::Ask);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn a_zero_wait_bound_never_sheds() {
        let t0 = Instant::now();
        let mut o = QueueOrder::new(QueueLimits {
            window: 1,
            overload_wait: Duration::ZERO,
            overload_hold: S,
        });
        let old = o.enter("support", t0);
        let young = o.enter("support", t0 + S);
        o.refused(t0 + S * 100);
        assert_eq!(turns(&o, &[old, young], t0 + S * 100), "WA");
    }

    #[test]
    fn an_unknown_ticket_asks() {
        let t0 = Instant::now();
        let mut o = order(1);
        let t = o.enter("support", t0);
        o.leave(&t);
        o.leave(&t); // twice: a no-op
        assert_eq!(o.turn(&t, t0), Turn::Ask);
    }
}
