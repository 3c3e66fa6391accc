//! Every party vanishing in every phase of a transfer (SPEC T6, T8, T9, B3): the customer, the
//! requester and the target, each by BYE and by RTP silence, while the target rings, during the
//! consultation and after the transfer completed.

use super::harness::{drop_line, Call};
use crate::room::machine::Phase;
use crate::room::rule_table::Table;

/// How a party goes: BYE (no BYE back) or silence (BYE from the room).
const HOW: &[(&str, bool)] = &[("hangs up", false), ("goes silent", true)];

#[test]
fn a_party_vanishes_while_the_target_rings() {
    let mut t = Table::new("room flows: a party vanishes while the target rings");
    for (how, silent) in HOW {
        let silent = *silent;
        t.case(
            &format!("the customer {how}: the agents stay, the target still rings (T9)"),
            || {
                let mut c = Call::bob_ringing();
                let d = drop_line(1, silent);
                c.vanish(
                    1,
                    silent,
                    &[
                        &d,
                        "record customer_left: Cust left (the customer)",
                        "!ended:",
                        "!cancel",
                    ],
                );
                assert_eq!(c.phase(), Phase::Connected);
                c.resp(2, 200, &["join offer 2 as 3"]);
                c.joined(
                    2,
                    &["answered bob", "mode 2 Mixed", "mode 3 Mixed", "!ended:"],
                );
            },
        );
        t.case(
            &format!("the requester {how}: a blind transfer, completed when the target answers"),
            || {
                let mut c = Call::bob_ringing();
                let d = drop_line(2, silent);
                c.vanish(
                    2,
                    silent,
                    &[
                        "ended alice",
                        &d,
                        "record left: Alice left",
                        "!ended:",
                        "!cancel",
                    ],
                );
                c.resp(2, 200, &["join*"]);
                c.joined(
                    2,
                    &[
                        "answered bob",
                        "!sipfrag",
                        "record transfer_completed: Alice transferred to Bob",
                        "mode 1 Mixed",
                        "!ended:",
                    ],
                );
                assert!(c.m.room_state().transfer.is_none());
            },
        );
        t.case(
            &format!("the requester {how}, then the target declines: the call ends"),
            || {
                let mut c = Call::bob_ringing();
                c.vanish(2, silent, &["!ended:"]);
                c.resp(
                    2,
                    603,
                    &[
                        "release bob",
                        "!sipfrag",
                        "record transfer_failed*",
                        "drop 1 bye",
                        "ended: the other party hung up",
                    ],
                );
            },
        );
        t.case(
            &format!("the requester {how}, then the target rings out: the call ends"),
            || {
                let mut c = Call::bob_ringing();
                c.vanish(2, silent, &[]);
                c.ring_out(&[
                    "cancel offer 2",
                    "drop 1 bye",
                    "ended: the other party hung up",
                ]);
            },
        );
    }
    t.case(
        "the target's INVITE gets no answer at all: back to the customer",
        || {
            let mut c = Call::bob_ringing();
            c.unreachable(
                2,
                &[
                    "release bob",
                    "sipfrag 2 480 Temporarily Unavailable last",
                    "mode 1 Mixed",
                    "!ended:",
                ],
            );
        },
    );
    t.case(
        "both agents vanish while the target rings: the customer waits for the target",
        || {
            let mut c = Call::bob_ringing();
            c.silent(2, &["!ended:"]);
            c.resp(2, 200, &[]);
            c.joined(2, &["record transfer_completed*", "!ended:"]);
            c.silent(3, &["drop 3 bye", "drop 1 bye", "ended: media timeout"]);
        },
    );
    t.case(
        "the server stops while the target rings: the transfer fails, everyone gets BYE",
        || {
            let mut c = Call::bob_ringing();
            c.step(crate::room::machine::io::Event::Shutdown("server shutting down"), &[
            "release bob", "cancel offer 2", "sipfrag 2 480 Temporarily Unavailable last",
            "record transfer_failed: Transfer to Bob failed: the call ended (server shutting down)",
            "drop 1 bye", "drop 2 bye", "ended: server shutting down",
        ]);
        },
    );
    t.finish();
}

#[test]
fn a_party_vanishes_during_the_consultation() {
    let mut t = Table::new("room flows: a party vanishes during the consultation");
    for (how, silent) in HOW {
        let silent = *silent;
        t.case(
            &format!("the customer {how}: the agents stay connected, told (T9)"),
            || {
                let mut c = Call::consulting_bob();
                let d = drop_line(1, silent);
                c.vanish(
                    1,
                    silent,
                    &[
                        &d,
                        "record customer_left: Cust left (the customer)",
                        "!ended:",
                    ],
                );
                assert_eq!(c.phase(), Phase::Connected);
                c.bye(
                    2,
                    &[
                        "record transfer_completed*",
                        "drop 3 bye",
                        "ended: the other party hung up",
                    ],
                );
            },
        );
        t.case(
            &format!("the requester {how}: the transfer completes (T6)"),
            || {
                let mut c = Call::consulting_bob();
                let d = drop_line(2, silent);
                c.vanish(
                    2,
                    silent,
                    &[
                        "record transfer_completed: Alice transferred to Bob",
                        "mode 1 Mixed",
                        "ended alice",
                        &d,
                        "!ended:",
                    ],
                );
                assert_eq!(c.phase(), Phase::Connected);
            },
        );
        t.case(&format!("the target {how}: back to the requester and the customer (T8)"), || {
            let mut c = Call::consulting_bob();
            let d = drop_line(3, silent);
            c.vanish(3, silent, &["ended bob", &d, "record left: Bob left", "record transfer_failed: Transfer to Bob failed: Bob hung up during the consultation", "mode 1 Mixed", "mode 2 Mixed", "!sipfrag", "!ended:"]);
            assert!(c.m.room_state().transfer.is_none());
        });
    }
    t.case(
        "the server stops during the consultation: everyone gets BYE",
        || {
            let mut c = Call::consulting_bob();
            c.step(
                crate::room::machine::io::Event::Shutdown("server shutting down"),
                &[
                    "!sipfrag",
                    "record transfer_failed*",
                    "drop 1 bye",
                    "drop 2 bye",
                    "drop 3 bye",
                    "ended: server shutting down",
                ],
            );
        },
    );
    t.finish();
}

#[test]
fn a_party_vanishes_after_the_transfer() {
    let mut t = Table::new("room flows: a party vanishes after the transfer");
    for (how, silent) in HOW {
        let silent = *silent;
        for (who, leg, other) in [("customer", 1, 3), ("new agent", 3, 1)] {
            t.case(&format!("the {who} {how}: the call ends"), || {
                let mut c = Call::consulting_bob();
                c.cmd(
                    2,
                    agentphone_protocol::RoomCommand::CompleteTransfer,
                    &["drop 2 bye"],
                );
                let d = drop_line(leg, silent);
                let o = format!("drop {other} bye");
                let end = if silent {
                    "ended: media timeout"
                } else {
                    "ended: the other party hung up"
                };
                c.vanish(leg, silent, &[&d, &o, end]);
            });
        }
    }
    t.finish();
}

#[test]
fn a_party_joins_after_the_room_gave_up_on_it() {
    let mut t = Table::new("room flows: joined too late");
    t.case(
        "the caller cancels between the answer and the join: the party gets BYE",
        || {
            let mut c = Call::customer_calls_support();
            c.reserved("alice", &["offer 1 alice*"]);
            c.resp(1, 200, &["join offer 1 as 2"]);
            c.step(
                crate::room::machine::io::Event::CallerCancelled,
                &["release alice", "!cancel", "caller 487"],
            );
            c.joined(1, &["drop 2 bye", "!caller"]);
        },
    );
    t.case(
        "the transfer is cancelled between the answer and the join: the target gets BYE",
        || {
            let mut c = Call::bob_ringing();
            c.resp(2, 200, &["join offer 2 as 3"]);
            c.cmd(
                2,
                agentphone_protocol::RoomCommand::CancelTransfer,
                &["release bob", "!cancel", "mode 1 Mixed"],
            );
            c.joined(2, &["drop 3 bye", "!answered"]);
        },
    );
    t.finish();
}
