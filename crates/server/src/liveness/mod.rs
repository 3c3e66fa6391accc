//! Agent liveness (issue 11 §6): OPTIONS keepalives to registered agents' phones every
//! `[security] keepalive_interval_s`; the rule of when a phone is unreachable is the sans-IO
//! [`machine::Liveness`]; this task only sends the probes and tells the directory, which then
//! counts the agent as offline (skipped by routing) until the phone answers again.
//!
//! A probe is written as bytes and sent as a tagged client transaction (its outcome comes back
//! on the task's one queue): with thousands of agents, no request object, channel or task per
//! probe (docs/architecture.md, directory fan-out).

mod machine;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agentphone_sip::endpoint::{Endpoint, Outcome, Peer, TaggedBurst};
use agentphone_sip::message::{self, uri_text};
use tokio::sync::mpsc;

use crate::lazy_read::{sleep_until, take_ready};

use crate::directory::DirectoryHandle;
use machine::{Input, Liveness, Output};

/// Inputs waiting for the task (REGISTERs, answers); beyond it they are dropped (a refresh comes
/// again, a lost answer only delays "reachable").
const QUEUE: usize = 4096;

/// Probes waiting for their outcome at most (one per registered phone per interval); a probe
/// past it is not sent, which counts as unanswered.
const IN_FLIGHT: usize = 65_536;

/// Outcomes taken from the queue in one go.
const OUTCOME_BATCH: usize = 256;

/// Probes due within this of the last tick wait for the next one (sent together).
const TICK_GRAIN: Duration = Duration::from_millis(100);

/// Longest a probe's outcome waits unread.
const LAZY_READ: Duration = Duration::from_millis(100);

/// Feeds the liveness task. Disabled (does nothing) when the interval is zero.
#[derive(Clone)]
pub struct LivenessHandle {
    tx: Option<mpsc::Sender<Input>>,
}

impl LivenessHandle {
    /// Start probing every `interval` (None: never) from `endpoint` as `local_contact`.
    pub fn spawn(
        interval: Option<Duration>,
        endpoint: Endpoint,
        directory: DirectoryHandle,
        local_contact: rsip::Uri,
    ) -> LivenessHandle {
        let Some(interval) = interval else {
            return LivenessHandle { tx: None };
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let (outcomes, outcomes_rx) = mpsc::channel(IN_FLIGHT);
        let driver = Driver {
            machine: Liveness::new(interval),
            interval,
            endpoint,
            directory,
            local_contact: uri_text(&local_contact),
            outcomes,
            waiting: HashMap::new(),
            next_tag: 0,
        };
        tokio::spawn(driver.run(rx, outcomes_rx));
        LivenessHandle { tx: Some(tx) }
    }

    /// An agent registered (or refreshed) from `peer` with `contact`.
    pub fn registered(&self, user: &str, peer: Peer, contact: rsip::Uri) {
        self.send(Input::Registered {
            user: user.into(),
            peer,
            contact,
        });
    }

    /// An agent unregistered.
    pub fn unregistered(&self, user: &str) {
        self.send(Input::Unregistered { user: user.into() });
    }

    fn send(&self, input: Input) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(input);
        }
    }
}

struct Driver {
    machine: Liveness,
    interval: Duration,
    endpoint: Endpoint,
    directory: DirectoryHandle,
    /// Our Contact URI as written on the wire.
    local_contact: String,
    /// Where the probes' outcomes go (the receiver is in `run`).
    outcomes: mpsc::Sender<Outcome>,
    /// Probes in flight by tag: whose phone, sent when.
    waiting: HashMap<u64, (String, Instant)>,
    next_tag: u64,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>, mut outcomes: mpsc::Receiver<Outcome>) {
        let mut batch = Vec::with_capacity(OUTCOME_BATCH);
        let mut last_tick = Instant::now();
        loop {
            // Probes due within TICK_GRAIN go out together, and answers are read when the task
            // wakes anyway (at the latest after LAZY_READ): with 5 000 phones, ≈ 10 wake-ups a
            // second instead of one per probe and one per answer.
            let deadline = self
                .machine
                .deadline()
                .map(|at| at.max(last_tick + TICK_GRAIN));
            let lazy = (!self.waiting.is_empty()).then(|| Instant::now() + LAZY_READ);
            let tick = tokio::select! {
                input = rx.recv() => match input {
                    Some(i) => Some(i),
                    None => break,
                },
                () = sleep_until(deadline) => Some(Input::Tick),
                () = sleep_until(lazy) => None,
            };
            // The answers first: one that came before a wait's end counts before it.
            self.read_answers(&mut batch, &mut outcomes);
            if let Some(input) = tick {
                if matches!(input, Input::Tick) {
                    last_tick = Instant::now();
                }
                self.handle(input);
            }
        }
    }

    /// Take every probe outcome that has come, without waiting.
    fn read_answers(&mut self, batch: &mut Vec<Outcome>, outcomes: &mut mpsc::Receiver<Outcome>) {
        while take_ready(batch, outcomes, OUTCOME_BATCH) {
            for Outcome { tag, result } in batch.drain(..) {
                self.outcome(tag, result.is_ok());
            }
        }
    }

    /// Probe `tag` ended: any final response within the interval is an answer (read up to
    /// LAZY_READ after it came).
    fn outcome(&mut self, tag: u64, answered: bool) {
        let Some((user, sent)) = self.waiting.remove(&tag) else {
            return;
        };
        if answered && sent.elapsed() <= self.interval + LAZY_READ {
            tracing::trace!(%user, "keepalive answered");
            self.handle(Input::Answered { user });
        }
    }

    /// Feed the machine; the probes of one tick leave together (one `sendmmsg` per shard).
    fn handle(&mut self, input: Input) {
        let endpoint = self.endpoint.clone();
        let mut burst = endpoint.tagged_burst();
        for output in self.machine.handle(input, Instant::now()) {
            match output {
                Output::Probe {
                    user,
                    probe,
                    peer,
                    contact,
                } => self.probe(&mut burst, user, probe, peer, &contact),
                Output::Reachable { user, reachable } => {
                    if reachable {
                        tracing::info!(%user, "agent's phone answers keepalives again");
                    } else {
                        tracing::warn!(%user, "agent's phone does not answer keepalives: unreachable");
                    }
                    self.directory.set_reachable(&user, reachable);
                }
            }
        }
    }

    /// Send one OPTIONS; its outcome comes back on the queue under a new tag.
    fn probe(
        &mut self,
        burst: &mut TaggedBurst<'_>,
        user: String,
        probe: u64,
        peer: Peer,
        contact: &rsip::Uri,
    ) {
        let target = uri_text(contact);
        let (from_tag, call_id) = (message::new_tag(), message::new_call_id());
        let local = &self.local_contact;
        let write = |via: &str| {
            format!(
                "OPTIONS {target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
                 From: <{local}>;tag={from_tag}\r\nTo: <{target}>\r\nCall-ID: {call_id}\r\n\
                 CSeq: 1 OPTIONS\r\nContact: <{local}>\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        };
        self.next_tag += 1;
        let key = self.next_tag;
        let method = rsip::Method::Options;
        match burst.request_tagged((&call_id, method, peer), write, key, &self.outcomes) {
            Ok(()) => drop(self.waiting.insert(key, (user, Instant::now()))),
            Err(e) => tracing::debug!(%user, probe, error = %e, "keepalive not sent"),
        }
    }
}
