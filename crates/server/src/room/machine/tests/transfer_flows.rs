//! Transfers as whole calls (SPEC T1–T10, M4, M5): refusals, ringing, answering, consulting,
//! completing, cancelling, failing, teams one member at a time, listen-only, the participant limit.

use agentphone_protocol::room::ParticipantState;
use agentphone_protocol::{AgentStatus, RoomCommand};

use super::harness::{config, Call};
use crate::room::machine::io::{DirReply, Event, Request};
use crate::room::machine::Phase;
use crate::room::rule_table::Table;

#[test]
fn a_transfer_to_an_agent() {
    let mut t = Table::new("room flows: transfer to an agent (T2, T4–T7, T10)");
    t.case(
        "ringing: the customer hears music, the requester ringback, the target is shown ringing",
        || {
            let c = Call::bob_ringing();
            let state = c.m.room_state();
            assert!(state.customer_held);
            assert!(state
                .participants
                .iter()
                .any(|p| p.state == ParticipantState::Ringing));
            assert!(c.m.deadline().is_some());
        },
    );
    t.case(
        "answered → complete: the requester leaves, the customer is resumed (T6)",
        || {
            let mut c = Call::consulting_bob();
            c.cmd(
                2,
                RoomCommand::CompleteTransfer,
                &[
                    "record transfer_completed: Alice transferred to Bob",
                    "mode 1 Mixed",
                    "ended alice",
                    "drop 2 bye",
                    "record left: Alice left",
                    "tx* ok",
                    "!ended:",
                ],
            );
            assert_eq!(c.phase(), Phase::Connected);
            assert!(!c.m.room_state().customer_held);
        },
    );
    t.case(
        "after completing, the new agent can transfer again (T10)",
        || {
            let mut c = Call::consulting_bob();
            c.cmd(2, RoomCommand::CompleteTransfer, &["drop 2 bye"]);
            c.refer(3, "carol@h", &["ask agent carol"]);
            c.reserved(
                "carol",
                &[
                    "sipfrag 3 100 Trying",
                    "offer 3 carol by=bob shown=sip:cust@example.com",
                    "mode 1 Held",
                    "mode 3 Ringback",
                ],
            );
        },
    );
    t.case(
        "any agent may resume the customer during the consultation (T5)",
        || {
            let mut c = Call::consulting_bob();
            c.cmd(
                3,
                RoomCommand::Resume,
                &["record resumed: Bob resumed the customer", "mode 1 Mixed"],
            );
            c.cmd(2, RoomCommand::Hold, &["mode 1 Held"]);
            c.cmd(
                2,
                RoomCommand::CompleteTransfer,
                &["mode 1 Mixed", "drop 2 bye"],
            );
        },
    );
    t.case(
        "only the requester completes; not before the target answered",
        || {
            let mut c = Call::bob_ringing();
            c.cmd(
                2,
                RoomCommand::CompleteTransfer,
                &["tx* 409 The target has not answered yet"],
            );
            c.resp(2, 200, &["join*"]);
            c.joined(2, &["answered bob"]);
            c.cmd(
                3,
                RoomCommand::CompleteTransfer,
                &["tx* 403 Only Alice can complete this transfer"],
            );
        },
    );
    for (code, frag, why) in [
        (603, "603 Declined", "Bob declined"),
        (486, "486 Busy Here", "Bob is busy"),
        (480, "480 Temporarily Unavailable", "Bob did not answer"),
        (404, "603 Declined", "Bob declined"),
    ] {
        t.case(
            &format!("the target answers {code}: back as before (T7)"),
            || {
                let mut c = Call::bob_ringing();
                let sipfrag = format!("sipfrag 2 {frag} last");
                let record = format!("record transfer_failed: Transfer to Bob failed: {why}");
                c.resp(
                    2,
                    code,
                    &[
                        "release bob",
                        "!cancel",
                        &sipfrag,
                        &record,
                        "mode 1 Mixed",
                        "mode 2 Mixed",
                    ],
                );
                assert!(!c.m.room_state().customer_held);
                assert_eq!(c.m.deadline(), None);
            },
        );
    }
    t.case(
        "the target does not answer in 15 s: CANCEL, 408 (T7)",
        || {
            let mut c = Call::bob_ringing();
            c.ring_out(&[
                "release bob",
                "cancel offer 2",
                "sipfrag 2 408 Request Timeout last",
                "record transfer_failed: Transfer to Bob failed: Bob did not answer",
                "mode 1 Mixed",
            ]);
            assert_eq!(c.secs(), 15.0);
            c.resp(2, 200, &["hang up offer 2", "!join"]);
        },
    );
    t.case("the target cannot be reached (T7)", || {
        let mut c = Call::bob_ringing();
        c.unreachable(
            2,
            &[
                "release bob",
                "sipfrag 2 480 Temporarily Unavailable last",
                "record transfer_failed: Transfer to Bob failed: Bob cannot be reached",
            ],
        );
    });
    t.case("the requester cancels while the target rings (T7)", || {
        let mut c = Call::bob_ringing();
        c.cmd(
            2,
            RoomCommand::CancelTransfer,
            &[
                "release bob",
                "cancel offer 2",
                "sipfrag 2 487 Request Terminated last",
                "record transfer_cancelled: Alice cancelled the transfer to Bob",
                "mode 1 Mixed",
                "mode 2 Mixed",
                "tx* ok",
            ],
        );
        c.resp(2, 200, &["hang up offer 2"]);
    });
    t.case(
        "the requester cancels during the consultation: the target is hung up",
        || {
            let mut c = Call::consulting_bob();
            c.cmd(
                2,
                RoomCommand::CancelTransfer,
                &[
                    "!sipfrag",
                    "record transfer_cancelled: Alice cancelled the transfer to Bob",
                    "ended bob",
                    "drop 3 bye",
                    "mode 1 Mixed",
                ],
            );
            assert_eq!(c.phase(), Phase::Connected);
        },
    );
    t.case(
        "the reason goes to the target and into the timeline (M4)",
        || {
            let mut c = Call::customer_with_alice();
            c.refer(2, "bob@h?Subject=angry%20customer", &["ask agent bob"]);
            c.reserved(
                "bob",
                &[
                    "record transfer_requested: Alice asked to transfer to Bob (angry customer)",
                    "offer 2 bob by=alice subject=angry customer*",
                ],
            );
            c.resp(2, 200, &[]);
            c.joined(2, &[]);
            c.bye(
                2,
                &["record transfer_completed: Alice transferred to Bob (angry customer)"],
            );
        },
    );
    t.case(
        "without the transfer hold the customer stays in the conversation (T2 setting)",
        || {
            let mut cfg = config();
            cfg.hold_customer_on_transfer = false;
            let mut c = Call::customer_with_alice_under(cfg);
            c.refer(2, "bob@h", &[]);
            c.reserved(
                "bob",
                &[
                    "offer 2 bob*",
                    "mode 1 Mixed",
                    "mode 2 Mixed",
                    "!mode 1 Held",
                    "!mode 2 Ringback",
                ],
            );
        },
    );
    t.finish();
}

#[test]
fn transfer_refusals() {
    let mut t = Table::new("room flows: transfer refusals (T1, T11)");
    for (status, warning) in [
        (AgentStatus::OnCall, "tx1 486 Bob is on a call"),
        (
            AgentStatus::Ringing,
            "tx1 486 Bob is ringing for another call",
        ),
        (AgentStatus::Offline, "tx1 480 Bob is offline"),
        (
            AgentStatus::Inactive,
            "tx1 480 Bob has the voice channel off",
        ),
    ] {
        t.case(&format!("the target is {status:?}"), || {
            let mut c = Call::customer_with_alice();
            c.refer(2, "bob@h", &["ask agent bob"]);
            c.unavailable(status, &[warning, "!offer", "!mode", "!sipfrag"]);
            assert!(!c.m.room_state().customer_held);
        });
    }
    for (name, leg, refer_to, warning) in [
        (
            "the customer cannot transfer",
            1,
            Some("<sip:bob@h>"),
            "tx1 403 A customer cannot transfer",
        ),
        ("a leg not in the call", 9, Some("<sip:bob@h>"), "tx1 481"),
        ("no Refer-To", 2, None, "tx1 400 Refer-To is missing"),
        (
            "not a SIP URI",
            2,
            Some("<tel:123>"),
            "tx1 400 Refer-To is not a SIP URI",
        ),
        (
            "nobody of that name",
            2,
            Some("<sip:zed@h>"),
            "tx1 404 No agent or team zed",
        ),
        (
            "someone already in the call",
            2,
            Some("<sip:alice@h>"),
            "tx1 482 Alice is already in the call",
        ),
    ] {
        t.case(name, || {
            let mut c = Call::customer_with_alice();
            c.req(
                leg,
                Request::Refer(refer_to.map(String::from)),
                &[warning, "!ask"],
            );
        });
    }
    t.case("a second transfer while one rings: 409", || {
        let mut c = Call::bob_ringing();
        c.refer(
            2,
            "carol@h",
            &["tx2 409 A transfer is already under way", "!ask"],
        );
    });
    t.case("a second transfer during the consultation: 409", || {
        let mut c = Call::consulting_bob();
        c.refer(
            3,
            "carol@h",
            &["tx* 409 A transfer is already under way", "!ask"],
        );
    });
    t.case("a team with nobody available", || {
        let mut c = Call::customer_with_alice();
        c.refer(
            2,
            "sales@h;agentphone-target=team",
            &["ask team sales -alice"],
        );
        c.step(
            Event::Directory(DirReply::NobodyFree),
            &["tx1 480 Nobody in team sales is available"],
        );
    });
    t.case("a team by its inbound address", || {
        let mut c = Call::customer_with_alice();
        c.refer(2, "help@h", &["ask team support -alice"]);
    });
    t.finish();
}

#[test]
fn a_transfer_to_a_team_and_listen_only() {
    let mut t = Table::new("room flows: team transfer (T3), listen-only (M5), limit");
    let team_ringing_bob = || {
        let mut c = Call::customer_with_alice();
        c.refer(
            2,
            "support@h;agentphone-target=team",
            &["ask team support -alice"],
        );
        c.reserved(
            "bob",
            &[
                "record transfer_requested: Alice asked to transfer to team support",
                "offer 2 bob team=support by=alice*",
            ],
        );
        c
    };
    t.case(
        "the first member does not answer: the next one rings, answers",
        || {
            let mut c = team_ringing_bob();
            c.ring_out(&[
                "release bob",
                "cancel offer 2",
                "record transfer_ringing: Bob did not answer",
                "ask team support -bob,alice",
                "!sipfrag 2 4",
            ]);
            c.reserved(
                "carol",
                &[
                    "offer 3 carol team=support*",
                    "sipfrag 2 180 Ringing",
                    "record transfer_ringing: Ringing Carol",
                ],
            );
            c.resp(3, 200, &["join offer 3 as 3"]);
            c.joined(
                3,
                &["answered carol", "record transfer_answered: Carol answered"],
            );
            c.bye(
                2,
                &["record transfer_completed: Alice transferred to Carol"],
            );
        },
    );
    for (how, code) in [("declines", 603), ("is busy", 486)] {
        t.case(&format!("a member {how}: the next is asked"), || {
            let mut c = team_ringing_bob();
            c.resp(
                2,
                code,
                &[
                    "release bob",
                    "ask team support -bob,alice",
                    "!sipfrag 2 6",
                    "!sipfrag 2 4",
                ],
            );
        });
    }
    t.case("nobody in the team answers: the transfer fails with the last reason", || {
        let mut c = team_ringing_bob();
        c.resp(2, 603, &["ask*"]);
        c.step(Event::Directory(DirReply::NobodyFree), &[
            "sipfrag 2 480 Temporarily Unavailable last",
            "record transfer_failed: Transfer to Bob failed: Nobody in team support answered (last: Bob declined)",
            "mode 1 Mixed",
        ]);
    });
    t.case("a member whose INVITE cannot be sent is skipped", || {
        let mut c = team_ringing_bob();
        c.step(
            Event::OfferNotSent {
                offer: crate::ids::OfferId(2),
                code: 500,
                why: "RTP".into(),
            },
            &[
                "release bob",
                "record transfer_ringing: Bob cannot be reached",
                "ask team support -bob,alice",
            ],
        );
    });
    t.case(
        "listen-only: the customer is not held, the trainee hears all and is heard by none",
        || {
            let mut c = Call::customer_with_alice();
            c.refer(2, "bob@h;agentphone-mode=listen", &["ask agent bob"]);
            c.reserved(
                "bob",
                &[
                    "record transfer_requested: Alice asked to transfer to Bob to listen",
                    "offer 2 bob by=alice listen*",
                    "mode 1 Mixed",
                    "mode 2 Mixed",
                ],
            );
            c.resp(2, 200, &["join offer 2 as 3 listen"]);
            c.joined(
                2,
                &[
                    "sipfrag 2 200 OK last",
                    "record transfer_answered: Bob joined to listen",
                    "mode 1 Mixed",
                    "mode 2 Mixed",
                    "mode 3 ListenOnly",
                ],
            );
            assert!(c.m.room_state().transfer.is_none());
            c.refer(
                2,
                "carol@h",
                &["tx* 488 The call already has 3 participants"],
            );
        },
    );
    t.case(
        "the trainee cannot hold or resume, and a re-INVITE hold holds nobody",
        || {
            let mut c = Call::customer_with_alice();
            c.refer(2, "bob@h;agentphone-mode=listen", &[]);
            c.reserved("bob", &[]);
            c.resp(2, 200, &[]);
            c.joined(2, &["mode 3 ListenOnly"]);
            let refusal =
                "tx* 403 Bob is only listening and cannot put the call on hold or resume it";
            c.cmd(3, RoomCommand::Hold, &[refusal, "!mode"]);
            c.cmd(3, RoomCommand::Resume, &[refusal, "!record"]);
            let tx = c.req(3, Request::Reinvite, &["reinvite*"]);
            c.reinvited(
                tx,
                3,
                agentphone_sip::sdp::Direction::SendOnly,
                &["mode 1 Mixed", "mode 2 Mixed", "mode 3 ListenOnly"],
            );
        },
    );
    t.case(
        "the trainee alone with the customer: the call ends (no agent left)",
        || {
            let mut c = Call::customer_with_alice();
            c.refer(2, "bob@h;agentphone-mode=listen", &[]);
            c.reserved("bob", &[]);
            c.resp(2, 200, &[]);
            c.joined(2, &[]);
            c.bye(2, &["ended: no agent left"]);
        },
    );
    t.case("with max 2 participants nobody can be added", || {
        let mut cfg = config();
        cfg.max_participants = 2;
        let mut c = Call::customer_with_alice_under(cfg);
        c.refer(
            2,
            "bob@h",
            &["tx* 488 The call already has 2 participants", "!ask"],
        );
    });
    t.finish();
}
