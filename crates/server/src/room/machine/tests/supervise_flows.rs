//! Supervisors in a call (SPEC V2): joining to listen, whisper or barge, switching, the limits
//! and refusals, parties leaving around a supervisor, and the call as the supervisor view shows
//! it. dave plays the supervisor (the handler checks the role; the room does not).

use agentphone_protocol::room::ParticipantState;
use agentphone_protocol::supervisor::CallPhase;
use agentphone_protocol::{RoomCommand, SuperviseMode};
use agentphone_sip::sdp::Direction;

use super::harness::Call;
use crate::room::machine::io::Event;
use crate::room::machine::Phase;
use crate::room::rule_table::Table;

impl Call {
    /// dave asks to join as `mode`; the lines of that step.
    fn supervise(&mut self, mode: SuperviseMode, expect: &[&str]) {
        let tx = self.tx();
        self.step(
            Event::Supervise {
                tx,
                user: "dave".into(),
                mode,
            },
            expect,
        );
    }

    /// The customer with alice (legs 1, 2); dave joins as `mode` on leg 3.
    fn supervised(mode: SuperviseMode, expect: &[&str]) -> Call {
        let mut c = Call::customer_with_alice();
        c.supervise(mode, &["accept supervisor tx1 as 3"]);
        c.step(
            Event::SupervisorJoined {
                leg: 3,
                result: Ok(Direction::SendRecv),
            },
            expect,
        );
        c
    }

    /// The room state's participant states, in leg order.
    fn states(&self) -> Vec<ParticipantState> {
        self.m
            .room_state()
            .participants
            .iter()
            .map(|p| p.state)
            .collect()
    }
}

#[test]
fn a_supervisor_joins_in_each_mode_and_switches() {
    use ParticipantState::{Connected, Listening, Whispering};
    let mut t = Table::new("room flows: supervisor listen / whisper / barge (V2)");
    for (mode, line, shown, timeline) in [
        (
            SuperviseMode::Listen,
            "mode 3 ListenOnly",
            Listening,
            "Supervisor Dave is listening",
        ),
        (
            SuperviseMode::Whisper,
            "mode 3 Whisper { to: 2 }",
            Whispering,
            "Supervisor Dave is whispering to the agent",
        ),
        (
            SuperviseMode::Barge,
            "mode 3 Mixed",
            Connected,
            "Supervisor Dave joined the conversation",
        ),
    ] {
        t.case(
            &format!("{}: the customer and the agent stay mixed", mode.as_str()),
            || {
                let record = format!("record supervisor: {timeline}");
                let c = Call::supervised(
                    mode,
                    &[
                        "started dave",
                        "watch 3 true",
                        &record,
                        "mode 1 Mixed",
                        "mode 2 Mixed",
                        line,
                        "state v2",
                    ],
                );
                assert_eq!(c.states(), [Connected, Connected, shown]);
                assert!(c.timeline().iter().any(|t| t == timeline));
            },
        );
    }
    t.case(
        "listen → whisper → barge → listen by room command",
        || {
            let mut c = Call::supervised(SuperviseMode::Listen, &["mode 3 ListenOnly"]);
            for (mode, line) in [
                (SuperviseMode::Whisper, "mode 3 Whisper { to: 2 }"),
                (SuperviseMode::Barge, "mode 3 Mixed"),
                (SuperviseMode::Listen, "mode 3 ListenOnly"),
            ] {
                c.cmd(
                    3,
                    RoomCommand::Supervise { mode },
                    &[line, "tx* ok", "state v*"],
                );
            }
            c.cmd(
                3,
                RoomCommand::Supervise {
                    mode: SuperviseMode::Listen,
                },
                &["tx* ok", "!mode", "!state"],
            );
        },
    );
    t.case("an agent who is not a supervisor leg cannot switch", || {
        let mut c = Call::supervised(SuperviseMode::Listen, &["mode 3 ListenOnly"]);
        c.cmd(
            2,
            RoomCommand::Supervise {
                mode: SuperviseMode::Barge,
            },
            &[
                "tx* 403 Only a supervisor who joined the call can listen, whisper or barge",
                "!mode",
            ],
        );
    });
    t.case("a listening or whispering supervisor cannot hold", || {
        let mut c = Call::supervised(SuperviseMode::Whisper, &["mode 3 Whisper { to: 2 }"]);
        c.cmd(
            3,
            RoomCommand::Hold,
            &[
                "tx2 403 Dave is only listening and cannot put the call on hold or resume it",
                "!mode",
            ],
        );
    });
    t.finish();
}

#[test]
fn a_supervisor_is_refused_with_the_reason() {
    let mut t = Table::new("room flows: supervisor refusals (V2 limits)");
    t.case("not answered yet: 409", || {
        let mut c = Call::customer_calls_support();
        c.supervise(
            SuperviseMode::Listen,
            &["tx1 409 The call is not answered yet", "!accept"],
        );
    });
    t.case("three legs already: 486, the call is full", || {
        let mut c = Call::consulting_bob();
        c.supervise(
            SuperviseMode::Whisper,
            &["tx* 486 The call is full: 3 of 3", "!accept"],
        );
    });
    t.case("a transfer target ringing counts: 486", || {
        let mut c = Call::bob_ringing();
        c.supervise(
            SuperviseMode::Listen,
            &["tx* 486 The call is full: 3 of 3", "!accept"],
        );
    });
    t.case("already in the call: 409", || {
        let mut c = Call::supervised(SuperviseMode::Listen, &["mode 3 ListenOnly"]);
        c.supervise(
            SuperviseMode::Barge,
            &["tx* 409 You are already in this call", "!accept"],
        );
    });
    t.case("the INVITE could not be answered: nothing joins", || {
        let mut c = Call::customer_with_alice();
        c.supervise(SuperviseMode::Listen, &["accept supervisor tx1 as 3"]);
        c.step(
            Event::SupervisorJoined {
                leg: 3,
                result: Err(()),
            },
            &["!started", "!mode", "!state"],
        );
        assert_eq!(c.m.room_state().participants.len(), 2);
    });
    t.finish();
}

#[test]
fn parties_leave_around_a_supervisor() {
    let mut t = Table::new("room flows: parties leaving with a supervisor (V2, C5)");
    for mode in [SuperviseMode::Listen, SuperviseMode::Whisper] {
        t.case(
            &format!("{}: the agent hangs up, the call ends", mode.as_str()),
            || {
                let mut c = Call::supervised(mode, &["started dave"]);
                c.bye(
                    2,
                    &[
                        "ended alice",
                        "drop 2",
                        "drop 1 bye",
                        "monitor ended dave",
                        "drop 3 bye",
                        "ended: no agent left",
                        "!ended dave",
                    ],
                );
                assert_eq!(c.phase(), Phase::Ending);
            },
        );
    }
    t.case(
        "barge: the agent hangs up, the supervisor keeps the customer",
        || {
            let mut c = Call::supervised(SuperviseMode::Barge, &["mode 3 Mixed"]);
            c.bye(
                2,
                &[
                    "ended alice",
                    "drop 2",
                    "mode 1 Mixed",
                    "mode 3 Mixed",
                    "!ended:",
                ],
            );
            assert_eq!(c.phase(), Phase::Connected);
            // The customer hangs up: dave barged, but it is still not his call to wrap up.
            c.bye(1, &["monitor ended dave", "!ended dave"]);
        },
    );
    t.case(
        "whisper: the supervisor hangs up, agent and customer go on",
        || {
            let mut c = Call::supervised(SuperviseMode::Whisper, &["started dave"]);
            // Not a call dave handled: no after-call work for him (the directory's table).
            c.bye(
                3,
                &[
                    "monitor ended dave",
                    "drop 3",
                    "record left: Dave left",
                    "!ended:",
                    "!ended dave",
                ],
            );
            assert_eq!(c.phase(), Phase::Connected);
            // The slot is free again: another supervisor fits.
            c.supervise(SuperviseMode::Listen, &["accept supervisor tx* as 4"]);
        },
    );
    t.finish();
}

#[test]
fn the_supervisor_view_sees_the_call_waiting_then_connected() {
    let c = Call::customer_calls_support();
    let waiting = c.m.supervisor_call().expect("a waiting call is listed");
    assert_eq!(waiting.phase, CallPhase::Waiting);
    assert_eq!(waiting.team.as_deref(), Some("support"));
    assert_eq!(waiting.customer.as_deref(), Some("Cust"));
    assert_eq!(waiting.answered_ms, None);
    let c = Call::supervised(SuperviseMode::Whisper, &["state v2"]);
    let call = c.m.supervisor_call().expect("a connected call is listed");
    assert_eq!(call.phase, CallPhase::Connected);
    assert_eq!(call.team.as_deref(), Some("support"));
    assert!(call.answered_ms.is_some());
    let names: Vec<(&str, ParticipantState)> = call
        .parties
        .iter()
        .map(|p| (p.name.as_str(), p.state))
        .collect();
    assert_eq!(
        names,
        [
            ("Cust", ParticipantState::Connected),
            ("Alice", ParticipantState::Connected),
            ("Dave", ParticipantState::Whispering)
        ]
    );
}
