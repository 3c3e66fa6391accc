//! One whole call from the first ring to the last BYE, checking the room state each party sees
//! at every phase and the conversation timeline at the end (SPEC T3, T2, T4, T6, T10, C5).

use std::time::Duration;

use agentphone_protocol::room::{ParticipantState, TransferPhase};
use agentphone_protocol::RoomCommand;

use super::harness::Call;
use crate::room::machine::Phase;

/// The participants' (name, state) as the room state shows them.
fn shown(c: &Call) -> Vec<(String, ParticipantState)> {
    c.m.room_state()
        .participants
        .into_iter()
        .map(|p| (p.name, p.state))
        .collect()
}

#[test]
fn a_customer_call_routed_transferred_and_completed() {
    use ParticipantState::{Connected, Held, Ringing};
    let mut c = Call::customer_calls_support();
    // alice does not answer in 15 s; bob answers at 20 s.
    c.reserved("alice", &["offer 1 alice*"]);
    c.resp(1, 180, &[]);
    c.ring_out(&["cancel offer 1", "ask team support -alice"]);
    c.reserved("bob", &["offer 2 bob*"]);
    c.wait(Duration::from_secs(5));
    c.resp(2, 200, &["join offer 2 as 2"]);
    c.joined(2, &["caller 200"]);
    assert_eq!(c.secs(), 20.0);
    assert_eq!(
        shown(&c),
        vec![("Cust".into(), Connected), ("Bob".into(), Connected)]
    );
    // bob transfers to carol with a reason; carol rings.
    c.refer(2, "carol@h?Subject=billing", &["ask agent carol"]);
    c.reserved("carol", &["offer 3 carol by=bob subject=billing*"]);
    let state = c.m.room_state();
    assert!(state.customer_held);
    assert_eq!(
        state.transfer.as_ref().map(|t| t.state),
        Some(TransferPhase::Ringing)
    );
    assert_eq!(
        shown(&c),
        vec![
            ("Cust".into(), Held),
            ("Bob".into(), Connected),
            ("Carol".into(), Ringing)
        ]
    );
    // carol answers after 3 s: consultation, the customer still held.
    c.wait(Duration::from_secs(3));
    c.resp(3, 200, &["join offer 3 as 3"]);
    c.joined(3, &["answered carol"]);
    let state = c.m.room_state();
    assert_eq!(
        state.transfer.map(|t| t.state),
        Some(TransferPhase::Consulting)
    );
    assert_eq!(
        shown(&c),
        vec![
            ("Cust".into(), Held),
            ("Bob".into(), Connected),
            ("Carol".into(), Connected)
        ]
    );
    // bob completes: carol and the customer talk.
    c.cmd(
        2,
        RoomCommand::CompleteTransfer,
        &["ended bob", "drop 2 bye"],
    );
    assert_eq!(
        shown(&c),
        vec![("Cust".into(), Connected), ("Carol".into(), Connected)]
    );
    assert!(c.m.room_state().transfer.is_none());
    // The customer hangs up at 60 s: carol gets BYE, the room ends.
    c.wait(Duration::from_secs(37));
    c.bye(
        1,
        &[
            "drop 1",
            "ended carol",
            "drop 3 bye",
            "ended: the other party hung up",
        ],
    );
    assert_eq!(c.phase(), Phase::Ending);
    assert_eq!(
        c.timeline(),
        vec![
            "Answered by Bob",
            "Bob asked to transfer to Carol (billing)",
            "Ringing Carol",
            "Carol answered",
            "Bob transferred to Carol (billing)",
            "Bob left",
            "Cust left (the customer)",
            "Call ended: the other party hung up",
        ]
    );
    // The timeline's times follow the virtual clock (the epoch is 1 000 000 ms).
    let times: Vec<u64> = c.m.room_state().timeline.iter().map(|t| t.at_ms).collect();
    assert_eq!(
        times,
        vec![
            1_020_000, 1_020_000, 1_020_000, 1_023_000, 1_023_000, 1_023_000, 1_060_000, 1_060_000
        ]
    );
}
