//! Agent liveness (issue 11 §6): OPTIONS keepalives to registered agents' phones every
//! `[security] keepalive_interval_s`; the rule of when a phone is unreachable is the sans-IO
//! [`machine::Liveness`]; this task only sends the probes and tells the directory, which then
//! counts the agent as offline (skipped by routing) until the phone answers again.

mod machine;

use std::time::{Duration, Instant};

use agentphone_sip::endpoint::{Endpoint, Peer};
use agentphone_sip::message::{self, RequestBuilder};
use tokio::sync::mpsc;

use crate::directory::DirectoryHandle;
use machine::{Input, Liveness, Output};

/// Inputs waiting for the task (REGISTERs, answers); beyond it they are dropped (a refresh comes
/// again, a lost answer only delays "reachable").
const QUEUE: usize = 4096;

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
        let driver = Driver {
            machine: Liveness::new(interval),
            interval,
            endpoint,
            directory,
            local_contact,
            answers: tx.clone(),
        };
        tokio::spawn(driver.run(rx));
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
    local_contact: rsip::Uri,
    answers: mpsc::Sender<Input>,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        loop {
            let deadline = self.machine.deadline();
            let input = tokio::select! {
                input = rx.recv() => match input {
                    Some(i) => i,
                    None => break,
                },
                _ = async {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => Input::Tick,
            };
            for output in self.machine.handle(input, Instant::now()) {
                match output {
                    Output::Probe {
                        user,
                        probe,
                        peer,
                        contact,
                    } => self.probe(user, probe, peer, &contact),
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
    }

    /// Send one OPTIONS; any response within the interval is reported as an answer.
    fn probe(&self, user: String, probe: u64, peer: Peer, contact: &rsip::Uri) {
        let target = contact.to_string();
        let req = RequestBuilder::new(rsip::Method::Options, &target).and_then(|b| {
            b.from(None, &self.local_contact.to_string(), &message::new_tag())
                .to(None, &target, None)
                .call_id(&message::new_call_id())
                .cseq(1)
                .contact(&self.local_contact.to_string())
                .build()
        });
        let req = match req {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(%user, error = %e, "cannot build a keepalive OPTIONS");
                return;
            }
        };
        let tx = self.endpoint.request(req, peer);
        let answers = self.answers.clone();
        let wait = self.interval;
        tokio::spawn(async move {
            if let Ok(Ok(_)) = tokio::time::timeout(wait, tx.final_response()).await {
                tracing::trace!(%user, probe, "keepalive answered");
                let _ = answers.try_send(Input::Answered { user });
            }
        });
    }
}
