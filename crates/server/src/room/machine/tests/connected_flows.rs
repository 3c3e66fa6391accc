//! The connected call as whole calls (SPEC C2, C3, C5, B3, T11): hanging up, vanishing, hold and
//! resume by command and by re-INVITE, mute, the harmless and the refused requests, room
//! subscriptions, the server stopping.

use agentphone_protocol::room::ParticipantState;
use agentphone_protocol::RoomCommand;
use agentphone_sip::sdp::Direction;

use super::harness::{agent, drop_line, Call};
use crate::media_engine::MediaEventKind;
use crate::room::machine::io::{Dest, Event, Request};
use crate::room::machine::Phase;
use crate::room::rule_table::Table;

/// alice calls bob, who answers (legs: alice 1, bob 2).
fn alice_with_bob() -> Call {
    let mut c = Call::new();
    c.start(agent("alice"), Dest::Agent("bob".into()), &["early 1"]);
    c.step(
        Event::EarlyAnswered(Ok(Direction::SendRecv)),
        &["ask agent bob"],
    );
    c.reserved("bob", &["offer 1 bob*"]);
    c.resp(1, 200, &["join offer 1 as 2"]);
    c.joined(1, &["caller 200"]);
    c
}

/// How a party goes: BYE (no BYE back), or silence (BYE from the room).
const GOES: &[(&str, bool)] = &[("hangs up", false), ("goes silent", true)];

#[test]
fn a_party_leaving_ends_a_two_party_call() {
    let mut t = Table::new("room flows: two parties, one leaves (C5, B3)");
    for (how, silent) in GOES {
        let bye = |leg: u32| drop_line(leg, *silent);
        let ended = if *silent {
            "ended: media timeout"
        } else {
            "ended: the other party hung up"
        };
        let record_ended = format!("record {ended}");
        t.case(
            &format!("the customer {how}: the agent gets BYE, the call ends"),
            || {
                let mut c = Call::customer_with_alice();
                let first = bye(1);
                c.vanish(
                    1,
                    *silent,
                    &[
                        &first,
                        "record customer_left: Cust left (the customer)",
                        "ended alice",
                        "drop 2 bye",
                        &record_ended,
                        ended,
                    ],
                );
                assert_eq!(c.phase(), Phase::Ending);
            },
        );
        t.case(
            &format!("the agent {how}: the customer gets BYE, the call ends"),
            || {
                let mut c = Call::customer_with_alice();
                let first = bye(2);
                c.vanish(
                    2,
                    *silent,
                    &[
                        "ended alice",
                        &first,
                        "record left: Alice left",
                        "state v2 end alice",
                        "drop 1 bye",
                        ended,
                    ],
                );
            },
        );
        t.case(&format!("agent to agent: the callee {how}"), || {
            let mut c = alice_with_bob();
            let first = bye(2);
            c.vanish(
                2,
                *silent,
                &["ended bob", &first, "ended alice", "drop 1 bye", ended],
            );
        });
        t.case(&format!("agent to agent: the caller {how}"), || {
            let mut c = alice_with_bob();
            let first = bye(1);
            c.vanish(
                1,
                *silent,
                &["ended alice", &first, "ended bob", "drop 2 bye"],
            );
        });
    }
    t.case("the server stops: BYE to everyone", || {
        let mut c = Call::customer_with_alice();
        c.step(
            Event::Shutdown("server shutting down"),
            &[
                "state v2 end all",
                "drop 1 bye",
                "ended alice",
                "drop 2 bye",
                "ended: server shutting down",
            ],
        );
    });
    t.case("after the end nothing happens", || {
        let mut c = Call::customer_with_alice();
        c.bye(1, &["ended*"]);
        let tx = c.tx();
        let got = c.ev(Event::Request {
            tx,
            leg: 2,
            req: Request::Bye,
        });
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(c.m.deadline(), None);
    });
    t.finish();
}

#[test]
fn hold_mute_and_requests_in_a_connected_call() {
    let mut t = Table::new("room flows: hold, mute, requests (C2, C3, T11)");
    t.case("hold by command: the customer hears music; resume", || {
        let mut c = Call::customer_with_alice();
        c.cmd(
            2,
            RoomCommand::Hold,
            &[
                "record held: Alice put the customer on hold",
                "mode 1 Held",
                "mode 2 Mixed",
                "tx1 ok",
                "state v2",
            ],
        );
        c.cmd(2, RoomCommand::Hold, &["tx2 ok", "!record", "!state"]);
        c.cmd(
            2,
            RoomCommand::Resume,
            &[
                "record resumed: Alice resumed the customer",
                "mode 1 Mixed",
                "tx3 ok",
            ],
        );
        c.cmd(2, RoomCommand::Resume, &["tx4 ok", "!record"]);
    });
    t.case(
        "hold by command without a customer holds the other agent",
        || {
            let mut c = alice_with_bob();
            c.cmd(
                1,
                RoomCommand::Hold,
                &[
                    "record held: Alice put the call on hold",
                    "mode 1 Mixed",
                    "mode 2 Held",
                ],
            );
            c.cmd(
                2,
                RoomCommand::Resume,
                &["record resumed: Bob resumed the call", "mode 2 Mixed"],
            );
        },
    );
    t.case("the customer cannot send room commands (T11)", || {
        let mut c = Call::customer_with_alice();
        c.cmd(
            1,
            RoomCommand::Hold,
            &["tx1 403 A customer cannot send room commands", "!mode"],
        );
        c.req(1, Request::Info(Ok(None)), &["tx2 403*"]);
    });
    t.case(
        "a room command that does not parse: 488 with the reason",
        || {
            let mut c = Call::customer_with_alice();
            c.req(
                2,
                Request::Info(Err("unknown command".into())),
                &["tx1 488 unknown command"],
            );
        },
    );
    t.case("an INFO of another package: 200, nothing done", || {
        let mut c = Call::customer_with_alice();
        c.req(2, Request::Info(Ok(None)), &["tx1 ok", "!mode"]);
    });
    t.case("OPTIONS / UPDATE: 200; anything else: 405", || {
        let mut c = Call::customer_with_alice();
        c.req(1, Request::Harmless, &["tx1 ok"]);
        c.req(2, Request::Other, &["tx2 405"]);
    });
    t.case("mute shows in the room state, nothing else changes", || {
        let mut c = Call::customer_with_alice();
        c.cmd(
            2,
            RoomCommand::Mute { on: true },
            &["tx1 ok", "!mode", "state v2"],
        );
        assert!(c.m.room_state().participants.iter().any(|p| p.muted));
        c.cmd(2, RoomCommand::Mute { on: false }, &["state v3"]);
    });
    t.case(
        "an agent holds by re-INVITE (sendonly): the customer is held, then resumed",
        || {
            let mut c = Call::customer_with_alice();
            let tx = c.req(2, Request::Reinvite, &["reinvite tx1 leg 2", "!tx1"]);
            c.reinvited(
                tx,
                2,
                Direction::SendOnly,
                &[
                    "watch 2 true",
                    "mode 1 Held",
                    "tx1 ok",
                    "record held: Alice put the customer on hold",
                ],
            );
            let tx = c.req(2, Request::Reinvite, &["reinvite tx2 leg 2"]);
            c.reinvited(
                tx,
                2,
                Direction::SendRecv,
                &["mode 1 Mixed", "tx2 ok", "record resumed: Alice resumed"],
            );
        },
    );
    t.case(
        "the customer holds (inactive): the agent is held, its RTP is not watched",
        || {
            let mut c = Call::customer_with_alice();
            let tx = c.req(1, Request::Reinvite, &["reinvite*"]);
            c.reinvited(
                tx,
                1,
                Direction::Inactive,
                &[
                    "watch 1 false",
                    "mode 2 Held",
                    "record held: Cust put the agents on hold",
                ],
            );
            let state = c.m.room_state();
            assert!(state
                .participants
                .iter()
                .any(|p| p.state == ParticipantState::Held));
        },
    );
    t.case(
        "a media change without hold changes no one's mode note",
        || {
            let mut c = Call::customer_with_alice();
            let tx = c.req(1, Request::Reinvite, &["reinvite*"]);
            c.reinvited(tx, 1, Direction::SendRecv, &["tx1 ok", "!record"]);
        },
    );
    t.case("a request on a leg that left: 481", || {
        let mut c = Call::customer_with_alice();
        c.req(9, Request::Bye, &["tx1 481"]);
    });
    t.case("speaking levels show in the room state", || {
        let mut c = Call::customer_with_alice();
        c.step(
            Event::Media {
                leg: 1,
                kind: MediaEventKind::Level(4),
            },
            &["state v2"],
        );
        c.step(
            Event::Media {
                leg: 1,
                kind: MediaEventKind::Level(4),
            },
            &["!state"],
        );
        c.step(
            Event::Media {
                leg: 1,
                kind: MediaEventKind::Dtmf('5'),
            },
            &["!state", "!mode"],
        );
    });
    t.case("a party subscribes; someone else gets 403 (T11)", || {
        let mut c = Call::customer_with_alice();
        c.subscribe("alice", &["sub tx1 alice"]);
        c.subscribe("bob", &["tx2 403 You are not in this call"]);
    });
    t.case("cancel or complete without a transfer: 409", || {
        let mut c = Call::customer_with_alice();
        c.cmd(
            2,
            RoomCommand::CancelTransfer,
            &["tx1 409 No transfer is under way"],
        );
        c.cmd(
            2,
            RoomCommand::CompleteTransfer,
            &["tx2 409 No transfer is under way"],
        );
    });
    t.finish();
}

#[test]
fn a_caller_that_never_acks_the_2xx_is_gone() {
    let mut t = Table::new("room flows: the caller never ACKs our 2xx (issue 7)");
    t.case(
        "the customer gave up without a CANCEL: BYE to both, the agent is free",
        || {
            let mut c = Call::customer_with_alice();
            c.step(
                Event::NoAck { leg: 1 },
                &[
                    "drop 1 bye",
                    "record customer_left: Cust left (the customer)",
                    "ended alice",
                    "drop 2 bye",
                    "record ended: no ACK from the caller",
                    "ended: no ACK from the caller",
                ],
            );
            assert_eq!(c.phase(), Phase::Ending);
        },
    );
    t.case("while establishing it changes nothing", || {
        let mut c = Call::new();
        c.start(agent("alice"), Dest::Agent("bob".into()), &["early 1"]);
        c.step(Event::NoAck { leg: 1 }, &["!drop", "!ended"]);
    });
    t.finish();
}
