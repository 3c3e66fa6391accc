//! The establishing phase as whole calls (SPEC R1–R3, T3, B-series while ringing): who is offered
//! the call in what order, what the caller gets when nobody takes it, the queue, the caller
//! giving up, the server stopping.

use std::time::Duration;

use agentphone_protocol::AgentStatus;
use agentphone_sip::sdp::Direction;

use super::harness::{agent, customer, Call};
use crate::ids::OfferId;
use crate::room::machine::io::{Dest, DirReply, Event, Request, Unusable};
use crate::room::machine::Phase;
use crate::room::offer::OfferInput;
use crate::room::rule_table::Table;

/// alice is rung for the support call (offer 1).
fn alice_rings() -> Call {
    let mut c = Call::customer_calls_support();
    c.reserved(
        "alice",
        &["offer 1 alice team=support shown=sip:cust@example.com"],
    );
    c
}

/// An agent `from` calls `dest`; answered early, the directory asked (unless outbound).
fn agent_calls(from: &str, dest: Dest, expect: &[&str]) -> Call {
    let mut c = Call::new();
    c.step(
        Event::Start {
            caller: agent(from),
            dest,
        },
        &["early 1"],
    );
    c.step(Event::EarlyAnswered(Ok(Direction::SendRecv)), expect);
    c
}

/// How the first member can miss, and the call record it leaves.
const MISSES: &[(&str, Option<u16>, &str)] = &[
    ("declines 603", Some(603), "record refused: alice: 603"),
    ("is busy 486", Some(486), "record refused: alice: 486"),
    ("says 480", Some(480), "record refused: alice: 480"),
    ("fails 500", Some(500), "record refused: alice: 500"),
    (
        "is unreachable",
        None,
        "record unreachable: alice: no answer (timeout)",
    ),
];

#[test]
fn team_routing_offers_members_one_at_a_time() {
    let mut t = Table::new("room flows: team routing (T3, R1, R2)");
    t.case(
        "first member rings out after 15 s, the next answers",
        || {
            let mut c = alice_rings();
            c.resp(1, 180, &["!release", "!cancel"]);
            assert_eq!(c.m.deadline().map(|_| ()), Some(()));
            c.wait(Duration::from_secs(14));
            c.step(Event::Tick, &["!release", "!record"]);
            c.ring_out(&[
                "release alice",
                "cancel offer 1",
                "record no answer: alice",
                "ask team support -alice",
            ]);
            assert_eq!(c.secs(), 15.0);
            c.reserved(
                "bob",
                &[
                    "record ringing: bob",
                    "offer 2 bob team=support shown=sip:cust@example.com",
                ],
            );
            c.resp(2, 200, &["join offer 2 as 2"]);
            c.joined(
                2,
                &[
                    "answered bob",
                    "caller 200",
                    "record answered bob",
                    "watch 1 true",
                    "state v1",
                ],
            );
            assert_eq!(c.phase(), Phase::Connected);
            assert_eq!(c.timeline(), vec!["Answered by Bob"]);
        },
    );
    for (name, code, record) in MISSES {
        t.case(
            &format!("first member {name}: the next is asked, no CANCEL"),
            || {
                let mut c = alice_rings();
                match code {
                    Some(code) => c.resp(
                        1,
                        *code,
                        &[
                            "release alice",
                            "!cancel",
                            record,
                            "ask team support -alice",
                        ],
                    ),
                    None => c.unreachable(
                        1,
                        &[
                            "release alice",
                            "!cancel",
                            record,
                            "ask team support -alice",
                        ],
                    ),
                };
                c.reserved(
                    "carol",
                    &["offer 2 carol team=support shown=sip:cust@example.com"],
                );
            },
        );
        t.case(
            &format!("every member {name}: the caller gets 480 once nobody is left"),
            || {
                let mut c = alice_rings();
                match code {
                    Some(code) => c.resp(1, *code, &["ask team support -alice"]),
                    None => c.unreachable(1, &["ask team support -alice"]),
                };
                c.step(
                    Event::Directory(DirReply::NobodyFree),
                    &[
                        "caller 480",
                        "drop 1",
                        "record ended: not answered: 480 Temporarily Unavailable",
                        "ended: not answered: 480 Temporarily Unavailable",
                        "!drop 1 bye",
                    ],
                );
                assert_eq!(c.phase(), Phase::Ending);
            },
        );
    }
    t.case("an INVITE that cannot be sent counts as a miss", || {
        let mut c = alice_rings();
        c.step(
            Event::OfferNotSent {
                offer: OfferId(1),
                code: 500,
                why: "RTP".into(),
            },
            &["release alice", "!cancel", "ask team support -alice"],
        );
    });
    t.case(
        "a provisional response does not stop the ring timeout",
        || {
            let mut c = alice_rings();
            c.resp(1, 183, &[]);
            c.ring_out(&["cancel offer 1"]);
            assert_eq!(c.secs(), 15.0);
        },
    );
    t.case(
        "a late 2xx of a member who rang out is hung up, not joined",
        || {
            let mut c = alice_rings();
            c.ring_out(&["ask team support -alice"]);
            c.reserved("bob", &["offer 2 bob*"]);
            c.resp(1, 200, &["hang up offer 1", "!join"]);
            c.resp(1, 180, &["!hang up", "!join"]);
        },
    );
    t.case(
        "an answer without audio moves on to the next member",
        || {
            let mut c = alice_rings();
            c.resp(1, 200, &["join offer 1 as 2"]);
            c.join_failed(
                1,
                Unusable::NoAudio,
                &["release alice", "ask team support -alice", "!caller"],
            );
            assert_ne!(c.phase(), Phase::Connected);
        },
    );
    t.case(
        "an agent calling a team with nobody free gets 480 at once (no queue)",
        || {
            let mut c = agent_calls(
                "dave",
                Dest::Team("support".into()),
                &["ask team support -dave"],
            );
            c.step(
                Event::Directory(DirReply::NobodyFree),
                &["caller 480", "!mode", "ended dave"],
            );
        },
    );
    t.case(
        "an agent calling a team is offered with the team and shown as the agent",
        || {
            let mut c = agent_calls(
                "dave",
                Dest::Team("support".into()),
                &["ask team support -dave"],
            );
            c.reserved("bob", &["offer 1 bob team=support shown=dave"]);
        },
    );
    t.finish();
}

#[test]
fn a_customer_queues_while_nobody_is_free() {
    let mut t = Table::new("room flows: queue (R1)");
    let queued = || {
        let mut c = Call::customer_calls_support();
        c.step(
            Event::Directory(DirReply::NobodyFree),
            &["record queued: support", "mode 1 Held", "!caller"],
        );
        assert!(c.m.queued());
        assert!(c.m.deadline().is_some());
        c
    };
    t.case(
        "music while queued; a directory change offers the call",
        || {
            let mut c = queued();
            c.wait(Duration::from_secs(30));
            c.step(Event::DirectoryChanged, &["ask team support -"]);
            c.reserved("carol", &["mode 1 Ringback", "offer 1 carol*"]);
            assert!(!c.m.queued());
        },
    );
    t.case(
        "a change with still nobody free: queued again, once in the record",
        || {
            let mut c = queued();
            c.step(Event::DirectoryChanged, &["ask team support -"]);
            c.step(
                Event::Directory(DirReply::NobodyFree),
                &["mode 1 Held", "!record queued"],
            );
            assert!(c.m.queued());
        },
    );
    t.case("nobody frees up: 480 after queue_timeout (120 s)", || {
        let mut c = queued();
        c.ring_out(&[
            "caller 480",
            "ended: not answered: 480 Temporarily Unavailable",
        ]);
        assert_eq!(c.secs(), 120.0);
    });
    t.case(
        "the queue wait counts from the first time it queued",
        || {
            let mut c = queued();
            c.wait(Duration::from_secs(100));
            c.step(Event::DirectoryChanged, &["ask*"]);
            c.reserved("alice", &["offer 1 alice*"]);
            c.resp(1, 603, &["ask team support -alice"]);
            c.step(Event::Directory(DirReply::NobodyFree), &["mode 1 Held"]);
            c.ring_out(&["caller 480"]);
            assert_eq!(c.secs(), 120.0);
        },
    );
    t.case(
        "shed from the queue under overload: 503, nothing asked",
        || {
            let mut c = queued();
            c.step(
                Event::QueueShed,
                &[
                    "caller 503",
                    "!ask",
                    "ended: not answered: 503 Service Unavailable",
                ],
            );
        },
    );
    t.case(
        "a shed that comes once the call rings changes nothing",
        || {
            let mut c = queued();
            c.step(Event::DirectoryChanged, &["ask team support -"]);
            c.reserved("carol", &["offer 1 carol*"]);
            c.step(Event::QueueShed, &["!caller", "!ended"]);
        },
    );
    t.case("a change after the wait is over ends the call", || {
        let mut c = queued();
        c.wait(Duration::from_secs(121));
        c.step(Event::DirectoryChanged, &["caller 480", "!ask"]);
    });
    t.case(
        "the caller hangs up while queued: 487, nothing to cancel",
        || {
            let mut c = queued();
            c.step(
                Event::CallerCancelled,
                &[
                    "!cancel",
                    "!release",
                    "caller 487",
                    "ended: caller cancelled",
                ],
            );
        },
    );
    t.case(
        "directory changes do not matter before the call queues",
        || {
            let mut c = alice_rings();
            c.step(Event::DirectoryChanged, &["!ask", "!offer"]);
        },
    );
    t.finish();
}

#[test]
fn direct_and_outbound_calls() {
    let mut t = Table::new("room flows: direct and outbound calls (R3)");
    t.case("an agent calls an agent who answers", || {
        let mut c = Call::new();
        c.start(
            agent("alice"),
            Dest::Agent("bob".into()),
            &[
                "record started internal alice -> bob",
                "started alice",
                "early 1",
            ],
        );
        c.step(
            Event::EarlyAnswered(Ok(Direction::SendRecv)),
            &["ask agent bob"],
        );
        c.reserved("bob", &["offer 1 bob shown=alice"]);
        c.resp(1, 200, &["join offer 1 as 2"]);
        c.joined(1, &["answered bob", "caller 200", "record answered bob"]);
        assert_eq!(c.phase(), Phase::Connected);
    });
    for (status, expect) in [
        (AgentStatus::OnCall, "caller 486"),
        (AgentStatus::Ringing, "caller 486"),
        (AgentStatus::Offline, "caller 480"),
        (AgentStatus::Inactive, "caller 480"),
    ] {
        t.case(&format!("the agent is {status:?}: {expect}"), || {
            let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
            c.unavailable(status, &[expect, "!offer", "ended alice"]);
        });
    }
    for (code, expect) in [
        (603, "caller 603"),
        (486, "caller 486"),
        (480, "caller 480"),
    ] {
        t.case(
            &format!("the agent answers {code}: the caller gets it"),
            || {
                let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
                c.reserved("bob", &["offer 1 bob*"]);
                c.resp(1, code, &["release bob", expect, "!ask"]);
            },
        );
    }
    t.case("the agent does not answer in 15 s: CANCEL, 480", || {
        let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
        c.reserved("bob", &["offer 1 bob*"]);
        c.ring_out(&[
            "release bob",
            "cancel offer 1",
            "record no answer: bob",
            "caller 480",
        ]);
        assert_eq!(c.secs(), 15.0);
    });
    t.case("an answer without audio: 488", || {
        let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
        c.reserved("bob", &["offer 1 bob*"]);
        c.resp(1, 200, &["join*"]);
        c.join_failed(1, Unusable::NoAudio, &["release bob", "caller 488"]);
    });
    t.case("an answer without a dialog: 502", || {
        let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
        c.reserved("bob", &["offer 1 bob*"]);
        c.resp(1, 200, &["join*"]);
        c.join_failed(1, Unusable::NoDialog, &["release bob", "caller 502"]);
    });
    t.case("calling oneself: 486 without asking", || {
        agent_calls(
            "alice",
            Dest::Agent("alice".into()),
            &["caller 486", "!ask", "ended alice"],
        );
    });
    t.case(
        "an outbound call rings the URI at least 60 s and connects as a customer",
        || {
            let mut c = Call::new();
            c.start(
                agent("alice"),
                Dest::External("sip:x@out".into()),
                &[
                    "record started outbound alice -> sip:x@out",
                    "started alice",
                ],
            );
            c.step(
                Event::EarlyAnswered(Ok(Direction::SendRecv)),
                &[
                    "!ask",
                    "record ringing: sip:x@out",
                    "offer 1 sip:x@out shown=alice",
                ],
            );
            c.wait(Duration::from_secs(59));
            c.step(Event::Tick, &["!cancel"]);
            c.resp(1, 200, &["join offer 1 as 2", "!answered"]);
            c.joined(1, &["!answered", "caller 200", "record answered sip:x@out"]);
            let state = c.m.room_state();
            assert_eq!(state.customer.map(|cu| cu.uri), Some("sip:x@out".into()));
        },
    );
    t.case(
        "an outbound call nobody answers: CANCEL after 60 s, 480",
        || {
            let mut c = agent_calls(
                "alice",
                Dest::External("sip:x@out".into()),
                &["offer 1 sip:x@out*"],
            );
            c.ring_out(&["!release", "cancel offer 1", "caller 480", "ended alice"]);
            assert_eq!(c.secs(), 60.0);
        },
    );
    t.case("an unreachable outbound URI: 480", || {
        let mut c = agent_calls("alice", Dest::External("sip:x@out".into()), &["offer 1*"]);
        c.unreachable(
            1,
            &[
                "record unreachable: sip:x@out: no answer (timeout)",
                "caller 480",
            ],
        );
    });
    t.finish();
}

#[test]
fn the_caller_or_the_server_gives_up_while_establishing() {
    let mut t = Table::new("room flows: giving up while establishing (B3)");
    t.case(
        "the caller CANCELs while a member rings: CANCEL the offer, 487",
        || {
            let mut c = alice_rings();
            c.step(
                Event::CallerCancelled,
                &[
                    "release alice",
                    "cancel offer 1",
                    "caller 487",
                    "drop 1",
                    "record ended: caller cancelled",
                    "ended: caller cancelled",
                ],
            );
            c.resp(1, 200, &["!join", "!caller"]);
        },
    );
    t.case(
        "the caller sends BYE in the early dialog: 200, then 487",
        || {
            let mut c = alice_rings();
            let tx = c.tx();
            c.step(
                Event::Request {
                    tx,
                    leg: 1,
                    req: Request::Bye,
                },
                &["tx1 ok", "cancel offer 1", "caller 487"],
            );
        },
    );
    t.case(
        "the caller CANCELs while the directory is asked: a late reservation is given back",
        || {
            let mut c = Call::customer_calls_support();
            c.step(Event::CallerCancelled, &["caller 487", "!release"]);
            c.reserved("alice", &["release alice", "!offer"]);
        },
    );
    t.case("the server stops while a member rings: 503", || {
        let mut c = alice_rings();
        c.step(
            Event::Shutdown("server shutting down"),
            &[
                "release alice",
                "cancel offer 1",
                "caller refused 503",
                "ended: server shutting down",
            ],
        );
    });
    t.case("the server stops while queued: 503", || {
        let mut c = Call::customer_calls_support();
        c.step(Event::Directory(DirReply::NobodyFree), &["mode 1 Held"]);
        c.step(
            Event::Shutdown("media engine stopped"),
            &["caller refused 503", "ended: media engine stopped"],
        );
    });
    t.case(
        "a customer who cannot be answered early gets the reason, nothing is asked",
        || {
            let mut c = Call::new();
            c.start(customer(), Dest::Team("support".into()), &["early 1"]);
            c.step(
                Event::EarlyAnswered(Err((488, "Not Acceptable Here".into()))),
                &[
                    "caller refused 488",
                    "!ask",
                    "!drop",
                    "ended: Not Acceptable Here",
                ],
            );
        },
    );
    t.case(
        "an agent who cannot be answered early is free again",
        || {
            let mut c = Call::new();
            c.start(
                agent("alice"),
                Dest::Agent("bob".into()),
                &["started alice"],
            );
            c.step(
                Event::EarlyAnswered(Err((482, "Loop Detected".into()))),
                &["ended alice", "caller refused 482"],
            );
        },
    );
    t.case("other requests while establishing get 491", || {
        let mut c = alice_rings();
        c.req(1, Request::Reinvite, &["tx1 491", "!reinvite"]);
        c.req(1, Request::Info(Ok(None)), &["tx2 491"]);
        c.req(
            1,
            Request::Refer(Some("<sip:bob@h>".into())),
            &["tx3 491", "!ask"],
        );
    });
    t.case("media events while establishing change nothing", || {
        let mut c = alice_rings();
        c.step(
            Event::Media {
                leg: 1,
                kind: crate::media_engine::MediaEventKind::RtpTimeout,
            },
            &["!drop", "!ended"],
        );
    });
    t.case("a stale offer's events are ignored", || {
        let mut c = alice_rings();
        c.step(
            Event::Offer {
                offer: OfferId(9),
                input: OfferInput::Response(486, "Busy".into()),
            },
            &["!release", "!ask"],
        );
    });
    t.finish();
}

#[test]
fn room_subscriptions_before_the_answer() {
    let mut t = Table::new("room flows: early room subscriptions");
    t.case(
        "the agent answering subscribed early: accepted once connected",
        || {
            let mut c = alice_rings();
            c.subscribe("alice", &["!sub", "!tx"]);
            c.resp(1, 200, &["join*"]);
            c.joined(1, &["caller 200", "sub tx1 alice"]);
        },
    );
    t.case("someone else subscribed early: 403 once connected", || {
        let mut c = alice_rings();
        c.subscribe("dave", &[]);
        c.resp(1, 200, &["join*"]);
        c.joined(1, &["tx1 403 You are not in this call"]);
    });
    t.case("the call fails: an early subscription gets 404", || {
        let mut c = alice_rings();
        c.subscribe("alice", &[]);
        c.step(
            Event::CallerCancelled,
            &["tx1 404 The call has ended", "ended: caller cancelled"],
        );
    });
    t.finish();
}

#[test]
fn an_agent_who_lets_the_call_ring_out_is_marked_missed() {
    let mut t = Table::new("room flows: missed call on ring-out (S2)");
    t.case("a team member rings out: released, then marked", || {
        let mut c = alice_rings();
        c.ring_out(&["release alice", "rang out alice", "ask*"]);
    });
    t.case("a direct call rings out: the agent is marked", || {
        let mut c = agent_calls("alice", Dest::Agent("bob".into()), &["ask agent bob"]);
        c.reserved("bob", &["offer 1 bob*"]);
        c.ring_out(&["release bob", "rang out bob", "caller 480"]);
    });
    t.case("a transfer target rings out: marked", || {
        let mut c = Call::bob_ringing();
        c.ring_out(&["release bob", "rang out bob", "sipfrag 2 408*"]);
    });
    for (name, code) in [("declines", 603), ("is busy", 486), ("answers 480", 480)] {
        t.case(&format!("a member who {name} is not marked"), || {
            let mut c = alice_rings();
            c.resp(1, code, &["release alice", "!rang out"]);
        });
    }
    t.case("an unreachable member is not marked", || {
        let mut c = alice_rings();
        c.unreachable(1, &["release alice", "!rang out"]);
    });
    t.case(
        "the caller cancelling while a member rings does not mark them",
        || {
            let mut c = alice_rings();
            c.step(Event::CallerCancelled, &["release alice", "!rang out"]);
        },
    );
    t.case("an outbound URI ringing out marks nobody", || {
        let mut c = agent_calls("alice", Dest::External("sip:x@out".into()), &["offer 1*"]);
        c.ring_out(&["cancel offer 1", "!rang out"]);
    });
    t.finish();
}
