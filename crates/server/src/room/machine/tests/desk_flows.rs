//! What the room tells the agent desktop besides who is in the call (issue 10): how long the
//! customer has waited when an agent is offered the call, and since when each party is on hold
//! (the server's clock, so a transfer target sees the same figure as everyone else).

use std::time::Duration;

use agentphone_protocol::RoomCommand;
use agentphone_sip::sdp::Direction;

use super::harness::{agent, Call};
use crate::room::machine::io::{Dest, DirReply, Effect, Event, Request};
use crate::room::rule_table::Table;

/// The waits the offers among `effects` carry.
fn waits(effects: &[Effect]) -> Vec<Option<u64>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartOffer { invite, .. } => Some(invite.waited_ms),
            _ => None,
        })
        .collect()
}

/// The directory reserves `user`: the wait of the offer that rings them.
fn offer_to(c: &mut Call, user: &str) -> Vec<Option<u64>> {
    waits(&c.raw(Event::Directory(DirReply::Reserved(user.into()))))
}

#[test]
fn an_offer_says_how_long_the_customer_has_waited() {
    let mut t = Table::new("room flows: queue wait on the offer (issue 10)");
    t.case("the first member is offered at once: waited 0", || {
        let mut c = Call::customer_calls_support();
        assert_eq!(offer_to(&mut c, "alice"), [Some(0)]);
    });
    t.case("the answer to the directory comes later: counted", || {
        let mut c = Call::customer_calls_support();
        c.wait(Duration::from_millis(250));
        assert_eq!(offer_to(&mut c, "alice"), [Some(250)]);
    });
    t.case(
        "the next member after a ring-out: the ringing counts",
        || {
            let mut c = Call::customer_calls_support();
            offer_to(&mut c, "alice");
            c.ring_out(&["ask team support -alice"]);
            assert_eq!(offer_to(&mut c, "bob"), [Some(15_000)]);
        },
    );
    t.case("queued 40 s, then a member frees up: 40 s", || {
        let mut c = Call::customer_calls_support();
        c.step(Event::Directory(DirReply::NobodyFree), &["mode 1 Held"]);
        c.wait(Duration::from_secs(40));
        c.step(Event::DirectoryChanged, &["ask team support -"]);
        assert_eq!(offer_to(&mut c, "carol"), [Some(40_000)]);
    });
    t.case("an agent calling a team is no waiting customer", || {
        let mut c = Call::new();
        c.start(agent("dave"), Dest::Team("support".into()), &["early 1"]);
        c.step(Event::EarlyAnswered(Ok(Direction::SendRecv)), &["ask*"]);
        c.wait(Duration::from_secs(3));
        assert_eq!(offer_to(&mut c, "alice"), [None]);
    });
    t.case(
        "a transfer target sees the call's time instead of a wait",
        || {
            let mut c = Call::customer_with_alice();
            c.wait(Duration::from_secs(60));
            c.refer(2, "bob@h", &["ask agent bob"]);
            assert_eq!(offer_to(&mut c, "bob"), [None]);
        },
    );
    t.finish();
}

/// Since when the customer (leg 1) is held, by the room state.
fn customer_held_since(c: &Call) -> Option<u64> {
    let state = c.m.room_state();
    state
        .participants
        .iter()
        .find(|p| p.role == agentphone_protocol::Role::Customer)
        .and_then(|p| p.held_since_ms)
}

/// The wall clock of the flows is 1_000_000 ms at the start.
const T0_MS: u64 = 1_000_000;

#[test]
fn the_room_says_since_when_a_party_is_on_hold() {
    let mut t = Table::new("room flows: hold time by the server's clock (issue 10)");
    t.case("hold at 10 s: held since then, until resumed", || {
        let mut c = Call::customer_with_alice();
        assert_eq!(customer_held_since(&c), None);
        c.wait(Duration::from_secs(10));
        c.cmd(2, RoomCommand::Hold, &["mode 1 Held"]);
        assert_eq!(customer_held_since(&c), Some(T0_MS + 10_000));
        c.wait(Duration::from_secs(5));
        c.cmd(2, RoomCommand::Mute { on: true }, &["tx* ok"]);
        assert_eq!(customer_held_since(&c), Some(T0_MS + 10_000), "still");
        c.cmd(2, RoomCommand::Resume, &["mode 1 Mixed"]);
        assert_eq!(customer_held_since(&c), None);
        c.wait(Duration::from_secs(5));
        c.cmd(2, RoomCommand::Hold, &["mode 1 Held"]);
        assert_eq!(customer_held_since(&c), Some(T0_MS + 20_000), "a new hold");
    });
    t.case(
        "held, then transferred: the target sees the hold since it began",
        || {
            let mut c = Call::customer_with_alice();
            c.wait(Duration::from_secs(10));
            c.cmd(2, RoomCommand::Hold, &["mode 1 Held"]);
            c.wait(Duration::from_secs(20));
            c.refer(2, "bob@h", &["ask agent bob"]);
            c.reserved("bob", &["offer 2 bob*"]);
            c.wait(Duration::from_secs(4));
            c.resp(2, 200, &["join offer 2 as 3"]);
            c.joined(2, &["answered bob"]);
            c.subscribe("bob", &["sub tx* bob"]);
            assert_eq!(customer_held_since(&c), Some(T0_MS + 10_000));
            // What bob's NOTIFY says when it leaves at 40 s: held 30 s.
            let mut state = c.m.room_state();
            state.stamp_elapsed(T0_MS + 40_000);
            let held: Vec<Option<u64>> = state.participants.iter().map(|p| p.held_ms).collect();
            assert_eq!(held, [Some(30_000), None, None]);
        },
    );
    t.case("a transfer holds the customer from its first ring", || {
        let mut c = Call::customer_with_alice();
        c.wait(Duration::from_secs(7));
        c.ringing_bob();
        assert_eq!(customer_held_since(&c), Some(T0_MS + 7_000));
    });
    t.case(
        "an agent holding by re-INVITE in an agent-to-agent call holds the other",
        || {
            let mut c = Call::new();
            c.start(agent("alice"), Dest::Agent("bob".into()), &["early 1"]);
            c.step(Event::EarlyAnswered(Ok(Direction::SendRecv)), &["ask*"]);
            c.reserved("bob", &["offer 1 bob*"]);
            c.resp(1, 200, &["join offer 1 as 2"]);
            c.joined(1, &["caller 200"]);
            c.wait(Duration::from_secs(3));
            let tx = c.req(1, Request::Reinvite, &["reinvite*"]);
            c.reinvited(tx, 1, Direction::SendOnly, &["mode 2 Held"]);
            let state = c.m.room_state();
            let since: Vec<Option<u64>> =
                state.participants.iter().map(|p| p.held_since_ms).collect();
            assert_eq!(since, [None, Some(T0_MS + 3_000)]);
        },
    );
    t.finish();
}

#[test]
fn each_agents_part_of_the_call_is_recorded_for_their_history() {
    let mut t = Table::new("room flows: the agents' history records (issue 10)");
    t.case(
        "alice answers, hangs up: left before the 200 tells her",
        || {
            let mut c = Call::customer_calls_support();
            c.reserved("alice", &["offer 1 alice*"]);
            c.resp(1, 200, &["join offer 1 as 2"]);
            c.joined(1, &["history alice joined, with Cust", "caller 200"]);
            c.bye(
                2,
                &["history alice left", "drop 2", "tx* ok", "record ended*"],
            );
        },
    );
    t.case("the customer hangs up: alice left before her BYE", || {
        let mut c = Call::customer_with_alice();
        c.bye(1, &["tx* ok", "history alice left", "drop 2 bye"]);
    });
    t.case(
        "a completed transfer: alice left transferred, bob joined",
        || {
            let mut c = Call::consulting_bob();
            c.cmd(
                2,
                RoomCommand::CompleteTransfer,
                &["history alice left transferred", "drop 2 bye", "tx* ok"],
            );
            c.bye(1, &["history bob left", "!history bob left transferred"]);
        },
    );
    t.case("bob joins by transfer, with the customer", || {
        let mut c = Call::bob_ringing();
        c.resp(2, 200, &["join offer 2 as 3"]);
        c.joined(2, &["history bob joined, with Cust"]);
    });
    t.case("an agent calling an agent: both have the call", || {
        let mut c = Call::new();
        c.start(agent("alice"), Dest::Agent("bob".into()), &["early 1"]);
        c.step(Event::EarlyAnswered(Ok(Direction::SendRecv)), &["ask*"]);
        c.reserved("bob", &["offer 1 bob*"]);
        c.resp(1, 200, &["join offer 1 as 2"]);
        c.joined(
            1,
            &[
                "history alice joined, with Bob",
                "history bob joined, with Alice",
            ],
        );
    });
    t.finish();
}
