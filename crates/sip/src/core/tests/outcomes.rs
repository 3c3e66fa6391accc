//! Tagged client transactions in virtual time: the core (as in the tables above) with the
//! shard's [`Sinks`] table behind it, several transactions sharing one outcome queue. Each
//! outcome must come exactly once, at the instant RFC 3261 ends the transaction, with its tag;
//! provisional responses and retransmitted finals never reach the queue.

use super::*;
use crate::endpoint::results::{Outcome, Sink, Sinks};
use tokio::sync::mpsc;

/// The harness, the sinks behind it and the shared queue, read after every step.
struct Tagged {
    h: Harness,
    sinks: Sinks,
    queue: mpsc::Sender<Outcome>,
    outcomes: mpsc::Receiver<Outcome>,
    /// (virtual time, tag, final code or error text) as the queue had them after each step.
    seen: Vec<(Duration, u64, Result<u16, String>)>,
}

impl Tagged {
    fn new(capacity: usize) -> Self {
        let (queue, outcomes) = mpsc::channel(capacity);
        Tagged {
            h: Harness::new(),
            sinks: Sinks::default(),
            queue,
            outcomes,
            seen: Vec::new(),
        }
    }

    /// Hand the core's events to the sinks (what the shard does), then read the queue.
    fn settle(&mut self) {
        for (_, event) in self.h.events.drain(..) {
            match event {
                Event::Response { id, response } => self.sinks.response(id, response),
                Event::Failed { id, error } => self.sinks.failed(id, error),
                _ => {}
            }
        }
        while let Ok(Outcome { tag, result }) = self.outcomes.try_recv() {
            let at = self.h.elapsed();
            self.seen.push((at, tag, result.map_err(|e| e.to_string())));
        }
    }

    /// Start a tagged NOTIFY (its place in the queue reserved first); false: the queue is full.
    fn start(&mut self, tag: u64, peer: Peer) -> Option<(ClientId, rsip::Request)> {
        let permit = self.queue.clone().try_reserve_owned().ok()?;
        self.h.next_client += 1;
        let id = ClientId(self.h.next_client);
        self.sinks.insert(id, Sink::Tagged { tag, permit });
        let branch = shard_branch(0);
        let call_id = format!("sub-{tag}");
        let bytes = Bytes::from(raw_request("NOTIFY", &branch, &call_id, 1));
        let req = as_request(&bytes);
        self.h.input(Input::Request {
            id,
            branch,
            method: rsip::Method::Notify,
            bytes,
            peer,
        });
        self.settle();
        Some((id, req))
    }

    /// Move the clock to `at` ms, firing (and settling) every timer at its own instant.
    fn at(&mut self, at: u64) {
        let end = self.h.t0 + ms(at);
        while let Some(due) = self.h.core.poll_timeout().filter(|d| *d <= end) {
            self.h.now = due.max(self.h.now);
            self.h.input(Input::Timeout);
            self.settle();
        }
        self.h.now = end;
    }

    fn answer(&mut self, req: &rsip::Request, code: u16) {
        self.h.receive(udp(), &reply_to(req, code));
        self.settle();
    }
}

/// What happens to one NOTIFY before the end of its transaction.
#[derive(Clone, Copy)]
enum Step {
    /// The subscriber answers with this code at this virtual ms.
    Answer(u64, u16),
    /// The same, matched by the driver (`Core::client_id`) and fed by its code alone.
    Status(u64, u16),
    /// The request could not be sent (at 0 ms).
    TransportError,
}

#[test]
fn tagged_outcome_comes_once_when_the_transaction_ends() {
    use Step::*;
    // (case, transport, steps, NOTIFY send times, the one outcome: at ms, code or error)
    type Case = (
        &'static str,
        Peer,
        Vec<Step>,
        Vec<u64>,
        (u64, Result<u16, &'static str>),
    );
    let cases: Vec<Case> = vec![
        (
            "200 at once",
            udp(),
            vec![Answer(20, 200)],
            vec![0],
            (20, Ok(200)),
        ),
        // The first copy lost: Timer E resends at T1, the 200 comes after it.
        (
            "200 after a retransmission",
            udp(),
            vec![Answer(700, 200)],
            vec![0, 500],
            (700, Ok(200)),
        ),
        // A retransmitted final is absorbed (Timer K), never a second outcome.
        (
            "200 twice",
            udp(),
            vec![Answer(20, 200), Answer(600, 200)],
            vec![0],
            (20, Ok(200)),
        ),
        // 100 Trying is not reported; Timer E goes on at T2 from it; the 481 ends it.
        (
            "100 then 481",
            udp(),
            vec![Answer(50, 100), Answer(5_000, 481)],
            vec![0, 4_050],
            (5_000, Ok(481)),
        ),
        ("408", udp(), vec![Answer(30, 408)], vec![0], (30, Ok(408))),
        // Matched without a full parse (the lite response path): the same transaction.
        (
            "lite 200",
            udp(),
            vec![Status(700, 200), Status(800, 200)],
            vec![0, 500],
            (700, Ok(200)),
        ),
        (
            "lite 100 then 404",
            udp(),
            vec![Status(50, 100), Status(90, 404)],
            vec![0],
            (90, Ok(404)),
        ),
        // Never answered: Timer E doubling to T2, Timer F at 64·T1.
        (
            "silent over UDP",
            udp(),
            vec![],
            vec![
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
            ],
            (32_000, Err("transaction timed out")),
        ),
        (
            "silent over TCP",
            tcp(),
            vec![],
            vec![0],
            (32_000, Err("transaction timed out")),
        ),
        (
            "unsendable",
            tcp(),
            vec![TransportError],
            vec![0],
            (0, Err("transport error: refused")),
        ),
    ];
    for (name, peer, steps, sends, (at, want)) in cases {
        let mut t = Tagged::new(4);
        let (id, req) = t.start(7, peer).expect("room in the queue");
        for step in steps {
            match step {
                Answer(when, code) => {
                    t.at(when);
                    t.answer(&req, code);
                }
                Status(when, code) => {
                    t.at(when);
                    let branch = fields::top_branch(&req).expect("branch");
                    // Once completed, a retransmitted final matches no live key: absorbed.
                    if let Some(id) = t.h.core.client_id(&branch, rsip::Method::Notify) {
                        t.h.input(Input::Status { id, code });
                        t.settle();
                    }
                }
                TransportError => {
                    t.h.input(Input::TransportError {
                        id,
                        reason: "refused".into(),
                    });
                    t.settle();
                }
            }
        }
        t.at(60_000);
        assert_eq!(t.h.sent_times("NOTIFY "), secs_ms(&sends), "{name}: sends");
        let want = vec![(ms(at), 7, want.map_err(str::to_string))];
        assert_eq!(t.seen, want, "{name}: outcomes");
        assert_eq!(t.sinks.len(), 0, "{name}: nothing kept");
    }
}

#[test]
fn tagged_outcomes_share_one_bounded_queue() {
    // Three NOTIFYs in flight on a queue of three: a fourth is refused before anything is sent.
    let mut t = Tagged::new(3);
    let reqs: Vec<_> = (1..=3)
        .map(|tag| t.start(tag, udp()).expect("room").1)
        .collect();
    assert!(t.start(4, udp()).is_none(), "no room: refused");
    assert_eq!(
        t.h.sent_times("NOTIFY ").len(),
        3,
        "the refused one was not sent"
    );
    // Answered out of order: the outcomes come in that order, each with its own tag.
    t.at(10);
    t.answer(&reqs[2], 200);
    t.at(20);
    t.answer(&reqs[0], 481);
    // The queue was read: its places are free again.
    let (_, fourth) = t.start(4, udp()).expect("room again");
    t.at(30);
    t.answer(&fourth, 200);
    t.at(60_000); // the second is never answered
    let seen: Vec<_> = t
        .seen
        .iter()
        .map(|(at, tag, r)| (*at, *tag, r.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ms(10), 3, Ok(200)),
            (ms(20), 1, Ok(481)),
            (ms(30), 4, Ok(200)),
            (ms(32_000), 2, Err("transaction timed out".to_string())),
        ]
    );
}
