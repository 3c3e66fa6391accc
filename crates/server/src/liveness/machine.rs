//! When a registered agent's phone counts as unreachable (issue 11 §6, Asterisk `qualify` /
//! Kamailio `nathelper` style): every `interval` the server sends the phone an OPTIONS; any
//! answer means alive. A probe unanswered for a whole interval makes the agent unreachable, so a
//! phone that dies is skipped by routing within two intervals of its last answer; the next answer
//! (or REGISTER) makes it reachable again. Sans-IO: time is a parameter.
//!
//! Phones are indexed by when each next needs the machine (its next probe or the end of its
//! wait), so a tick touches only the phones due and `deadline` is the index's first entry: with
//! 5 000 phones, scanning them all on every input and deadline was 3.5 % of the server's CPU in
//! the directory bench.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use agentphone_sip::endpoint::Peer;

/// What happened.
#[derive(Debug)]
pub enum Input {
    /// An agent registered or refreshed (it is alive: it just sent a request).
    Registered {
        user: String,
        peer: Peer,
        contact: rsip::Uri,
    },
    /// An agent unregistered (or its registration lapsed): no more probes.
    Unregistered { user: String },
    /// A probe to `user` got a response (any status; even a late one to an older probe shows
    /// the phone is alive now).
    Answered { user: String },
    /// Time passed.
    Tick,
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Send OPTIONS to the agent's phone (probe number `probe`, for logs and tests); report an
    /// answer as `Answered`.
    Probe {
        user: String,
        probe: u64,
        peer: Peer,
        contact: Box<rsip::Uri>,
    },
    /// The agent became reachable (true) or unreachable (false).
    Reachable { user: String, reachable: bool },
}

struct Phone {
    peer: Peer,
    contact: rsip::Uri,
    reachable: bool,
    next_probe: Instant,
    /// The probe in flight and when it left.
    waiting: Option<(u64, Instant)>,
}

impl Phone {
    /// When the machine next has something to do for this phone.
    fn due(&self, interval: Duration) -> Instant {
        match self.waiting {
            Some((_, at)) => self.next_probe.min(at + interval),
            None => self.next_probe,
        }
    }
}

/// The probing schedule of every registered agent.
pub struct Liveness {
    interval: Duration,
    phones: HashMap<String, Phone>,
    /// Every phone by its `due` instant (one entry per phone).
    by_due: BTreeSet<(Instant, String)>,
    next_id: u64,
}

impl Liveness {
    /// Probe every `interval`.
    pub fn new(interval: Duration) -> Self {
        Liveness {
            interval,
            phones: HashMap::new(),
            by_due: BTreeSet::new(),
            next_id: 0,
        }
    }

    /// When the machine next has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        self.by_due.first().map(|(at, _)| *at)
    }

    /// Take one input at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Registered {
                user,
                peer,
                contact,
            } => {
                let interval = self.interval;
                let phone = self.phones.entry(user.clone()).or_insert_with(|| Phone {
                    peer,
                    contact: contact.clone(),
                    reachable: true,
                    next_probe: now + interval,
                    waiting: None,
                });
                let was = phone.due(interval);
                phone.peer = peer;
                phone.contact = contact;
                phone.waiting = None;
                Self::set_reachable(&mut out, &user, phone, true);
                let due = phone.due(interval);
                self.by_due.remove(&(was, user.clone()));
                self.by_due.insert((due, user));
            }
            Input::Unregistered { user } => {
                if let Some(phone) = self.phones.remove(&user) {
                    self.by_due.remove(&(phone.due(self.interval), user));
                }
            }
            Input::Answered { user } => {
                if let Some(phone) = self.phones.get_mut(&user) {
                    let was = phone.due(self.interval);
                    phone.waiting = None;
                    Self::set_reachable(&mut out, &user, phone, true);
                    let due = phone.due(self.interval);
                    if due != was {
                        self.by_due.remove(&(was, user.clone()));
                        self.by_due.insert((due, user));
                    }
                }
            }
            Input::Tick => {}
        }
        self.tick(now, &mut out);
        out
    }

    /// Handle the phones due by `now` (only those: they are the first entries of the index).
    fn tick(&mut self, now: Instant, out: &mut Vec<Output>) {
        let interval = self.interval;
        // Taken out first, so a phone due again at once (a zero interval) waits for the next tick.
        let mut due = Vec::new();
        while self.by_due.first().is_some_and(|(at, _)| *at <= now) {
            due.extend(self.by_due.pop_first());
        }
        for (_, user) in due {
            let Some(phone) = self.phones.get_mut(&user) else {
                continue;
            };
            if phone.waiting.is_some_and(|(_, at)| now >= at + interval) {
                phone.waiting = None;
                Self::set_reachable(out, &user, phone, false);
            }
            if now >= phone.next_probe && phone.waiting.is_none() {
                self.next_id += 1;
                phone.waiting = Some((self.next_id, now));
                phone.next_probe = now + interval;
                out.push(Output::Probe {
                    user: user.clone(),
                    probe: self.next_id,
                    peer: phone.peer,
                    contact: Box::new(phone.contact.clone()),
                });
            }
            self.by_due.insert((phone.due(interval), user));
        }
    }

    fn set_reachable(out: &mut Vec<Output>, user: &str, phone: &mut Phone, reachable: bool) {
        if phone.reachable != reachable {
            phone.reachable = reachable;
            out.push(Output::Reachable {
                user: user.to_string(),
                reachable,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_sip::endpoint::TransportKind;

    const I: Duration = Duration::from_secs(10);

    fn registered(user: &str) -> Input {
        Input::Registered {
            user: user.into(),
            peer: Peer {
                addr: "127.0.0.1:5070".parse().unwrap_or_else(|e| panic!("{e}")),
                transport: TransportKind::Udp,
            },
            contact: rsip::Uri::try_from("sip:a@127.0.0.1:5070").unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// The outputs as short strings: `probe N`, `up`, `down`.
    fn brief(out: Vec<Output>) -> Vec<String> {
        out.into_iter()
            .map(|o| match o {
                Output::Probe { probe, .. } => format!("probe {probe}"),
                Output::Reachable {
                    reachable: true, ..
                } => "up".into(),
                Output::Reachable {
                    reachable: false, ..
                } => "down".into(),
            })
            .collect()
    }

    #[test]
    fn a_phone_that_stops_answering_is_down_within_two_intervals() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut m = Liveness::new(I);
        let answered = |_probe: u64| Input::Answered {
            user: "alice".into(),
        };
        // (seconds, input, outputs)
        let table: Vec<(u64, Input, &[&str])> = vec![
            (0, registered("alice"), &[]),
            (9, Input::Tick, &[]),
            (10, Input::Tick, &["probe 1"]),
            (10, answered(1), &[]),
            // The phone dies at 11 s: probe 2 at 20 s is never answered; down at 30 s.
            (20, Input::Tick, &["probe 2"]),
            (29, Input::Tick, &[]),
            (30, Input::Tick, &["down", "probe 3"]),
            (40, Input::Tick, &["probe 4"]),
            // A late answer to an old probe still proves the phone is alive.
            (41, answered(3), &["up"]),
            (50, Input::Tick, &["probe 5"]),
            // A REGISTER refresh also counts, and cancels the wait.
            (55, registered("alice"), &[]),
            (60, Input::Tick, &["probe 6"]),
            (
                61,
                Input::Unregistered {
                    user: "alice".into(),
                },
                &[],
            ),
            (200, Input::Tick, &[]),
        ];
        for (i, (s, input, want)) in table.into_iter().enumerate() {
            let got = brief(m.handle(input, at(s)));
            assert_eq!(got, want, "row {i} at {s}s");
        }
        assert_eq!(m.deadline(), None, "nothing to probe");
    }

    /// The outputs with whose they are: `probe bob`, `down alice`, `up alice`.
    fn who(out: Vec<Output>) -> Vec<String> {
        out.into_iter()
            .map(|o| match o {
                Output::Probe { user, .. } => format!("probe {user}"),
                Output::Reachable {
                    user,
                    reachable: true,
                } => format!("up {user}"),
                Output::Reachable {
                    user,
                    reachable: false,
                } => format!("down {user}"),
            })
            .collect()
    }

    #[test]
    fn only_the_phones_due_are_handled_and_the_deadline_is_the_earliest() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut m = Liveness::new(I);
        let answered = |user: &str| Input::Answered { user: user.into() };
        let gone = |user: &str| Input::Unregistered { user: user.into() };
        // (seconds, input, outputs, deadline afterwards in seconds)
        let table: Vec<(u64, Input, &[&str], Option<u64>)> = vec![
            (0, registered("alice"), &[], Some(10)),
            (3, registered("bob"), &[], Some(10)),
            (7, registered("carol"), &[], Some(10)),
            (10, Input::Tick, &["probe alice"], Some(13)),
            (11, answered("alice"), &[], Some(13)),
            (13, Input::Tick, &["probe bob"], Some(17)),
            (14, answered("bob"), &[], Some(17)),
            // A refresh moves nothing forward: carol is still due at 17.
            (15, registered("carol"), &[], Some(17)),
            (17, Input::Tick, &["probe carol"], Some(20)),
            // Alice's probe at 20 goes unanswered; bob's at 23 is answered.
            (20, Input::Tick, &["probe alice"], Some(23)),
            (23, Input::Tick, &["probe bob"], Some(27)),
            (24, answered("bob"), &[], Some(27)),
            (26, gone("carol"), &[], Some(30)),
            (30, Input::Tick, &["down alice", "probe alice"], Some(33)),
            // One tick late for both (alice still down: no news): each once, in order of due time.
            (45, Input::Tick, &["probe bob", "probe alice"], Some(55)),
            (46, answered("alice"), &["up alice"], Some(55)),
            (50, gone("bob"), &[], Some(55)),
            (51, gone("alice"), &[], None),
        ];
        for (i, (s, input, want, deadline)) in table.into_iter().enumerate() {
            let got = who(m.handle(input, at(s)));
            assert_eq!(got, want, "row {i} at {s}s");
            assert_eq!(m.deadline(), deadline.map(at), "row {i}: deadline");
            assert_eq!(
                m.by_due.len(),
                m.phones.len(),
                "row {i}: one entry per phone"
            );
        }
    }

    #[test]
    fn the_deadline_is_the_next_probe_or_the_end_of_a_wait() {
        let t0 = Instant::now();
        let mut m = Liveness::new(I);
        m.handle(registered("alice"), t0);
        assert_eq!(m.deadline(), Some(t0 + I));
        m.handle(Input::Tick, t0 + I);
        assert_eq!(
            m.deadline(),
            Some(t0 + I + I),
            "probe due and wait end coincide"
        );
        let down = brief(m.handle(Input::Tick, t0 + I + I));
        assert_eq!(down, ["down", "probe 2"]);
    }
}
