//! Who the establishing phase offers the call to next (SPEC R1, R3, T3): a team's members one at
//! a time, queueing a customer with music while nobody is free (until `queue_timeout`, then 480);
//! a direct call's one agent; an outbound call's one URI. Pure: the directory's answer and the
//! clock come in as inputs, `establish.rs` carries out the decision, `hunt_tests.rs` checks it.

use std::time::{Duration, Instant};

use crate::directory::AgentStatus;

/// What the call is for, as the hunt sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A team; `queues`: a customer waits with music when nobody is free (R1).
    Team { queues: bool },
    /// One agent (`self_call`: the caller dialled themselves).
    Agent { self_call: bool },
    /// An outside URI.
    External,
}

/// What the directory answered when asked for the next one to ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Someone is reserved for this call.
    Reserved,
    /// A team has nobody available now.
    NobodyFree,
    /// The one agent cannot take it (their status).
    Unavailable(AgentStatus),
}

/// What the room does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Ask the directory for the next one (a team member, or the agent).
    Ask,
    /// Ring the one reserved (`from_queue`: the caller was hearing music and hears ringback again).
    Ring { from_queue: bool },
    /// Wait with music until the directory changes or `until` (`first`: the call just queued).
    Queue { until: Instant, first: bool },
    /// Give the caller this final status.
    Fail(u16, String),
}

/// The hunt's memory over one establishing phase.
#[derive(Clone, Debug)]
pub struct Hunt {
    target: Target,
    queue_timeout: Duration,
    /// Offers made so far.
    pub attempts: u32,
    /// Queued until (set when the call first queues).
    pub queued_until: Option<Instant>,
    /// The status a direct or outbound call fails with (the last miss's).
    last: (u16, String),
}

impl Hunt {
    /// A new hunt.
    pub fn new(target: Target, queue_timeout: Duration) -> Hunt {
        Hunt {
            target,
            queue_timeout,
            attempts: 0,
            queued_until: None,
            last: unavailable(),
        }
    }

    /// The first step: a self-call is refused at once; an outbound call rings; else ask.
    pub fn start(&mut self) -> Decision {
        match self.target {
            Target::Agent { self_call: true } => Decision::Fail(486, "Busy Here".into()),
            Target::External => {
                self.attempts += 1;
                Decision::Ring { from_queue: false }
            }
            _ => Decision::Ask,
        }
    }

    /// The directory answered at `now`.
    pub fn found(&mut self, found: Found, now: Instant) -> Decision {
        match (found, &self.target) {
            (Found::Reserved, _) => {
                self.attempts += 1;
                Decision::Ring {
                    from_queue: self.queued_until.is_some(),
                }
            }
            (Found::NobodyFree, Target::Team { queues: true })
                if self.attempts == 0 || self.queued_until.is_some() =>
            {
                let first = self.queued_until.is_none();
                let until = *self.queued_until.get_or_insert(now + self.queue_timeout);
                if now >= until {
                    return self.give_up_queue();
                }
                Decision::Queue { until, first }
            }
            // A team with nobody (else) to ring: 480, whatever the last one said.
            (Found::NobodyFree, _) => self.give_up_queue(),
            (Found::Unavailable(status), _) => {
                let (code, phrase) = crate::directory::unavailable_reply(status);
                Decision::Fail(code, phrase.into())
            }
        }
    }

    /// The one rung did not take the call (the status the caller would get): a team goes on,
    /// a direct or outbound call fails with it.
    pub fn missed(&mut self, code: u16, phrase: String) -> Decision {
        self.last = (code, phrase);
        match self.target {
            Target::Team { .. } => Decision::Ask,
            _ => Decision::Fail(self.last.0, self.last.1.clone()),
        }
    }

    /// While queued: the directory changed (`changed`) or the clock moved to `now`.
    pub fn queue_event(&mut self, changed: bool, now: Instant) -> Decision {
        match self.queued_until {
            Some(until) if now >= until => self.give_up_queue(),
            Some(until) if !changed => Decision::Queue {
                until,
                first: false,
            },
            _ => Decision::Ask,
        }
    }

    fn give_up_queue(&mut self) -> Decision {
        let (code, phrase) = unavailable();
        Decision::Fail(code, phrase)
    }
}

fn unavailable() -> (u16, String) {
    (480, "Temporarily Unavailable".into())
}

#[cfg(test)]
#[path = "hunt_tests.rs"]
mod tests;
