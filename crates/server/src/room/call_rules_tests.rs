//! Who hears what in every phase of a call (C3, T2, T4, T5, M5), and every party leaving — by BYE
//! or by vanishing (RTP timeout, B3) — in every phase: connected, transfer ringing (also blind),
//! consulting, three-way, listening (T6, T8, T9, C5).

// Rule tables are vectors of tuples: one row per case, read like the SPEC's list.
#![allow(clippy::type_complexity)]

use super::*;
use crate::room::leg::Role;
use crate::room::rule_table::Table;

const C: LegId = 1;
const A: LegId = 2;
const B: LegId = 3;
const X: LegId = 5;
const L: LegId = 4;

/// A party: leg id, customer?, holding (its SDP), listen-only.
#[derive(Clone, Copy)]
struct P(LegId, bool, bool, bool);

fn cust() -> P {
    P(C, true, false, false)
}
fn agent(id: LegId) -> P {
    P(id, false, false, false)
}
fn listener() -> P {
    P(L, false, false, true)
}
fn holding(p: P) -> P {
    P(p.0, p.1, true, p.3)
}

fn roles(parties: &[P]) -> Vec<Role> {
    parties
        .iter()
        .map(|p| {
            if p.1 {
                Role::Customer {
                    uri: "sip:c@x".into(),
                    display: None,
                }
            } else {
                Role::Agent(format!("agent{}", p.0))
            }
        })
        .collect()
}

fn views<'a>(parties: &[P], roles: &'a [Role]) -> Vec<LegView<'a>> {
    parties
        .iter()
        .zip(roles)
        .map(|(p, role)| LegView {
            id: p.0,
            role,
            holding: p.2,
            listen_only: p.3,
        })
        .collect()
}

/// Modes as "1H 2R 3M 4L" (Held, Ringback, Mixed, ListenOnly).
fn show(modes: &[(LegId, LegMode)]) -> String {
    modes
        .iter()
        .map(|(id, m)| {
            let c = match m {
                LegMode::Held => 'H',
                LegMode::Ringback => 'R',
                LegMode::Mixed => 'M',
                LegMode::ListenOnly => 'L',
                LegMode::Whisper { .. } => 'W',
            };
            format!("{id}{c}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn modes_of(parties: &[P], hold: Option<LegId>, t: TransferView, hold_cfg: bool) -> String {
    let roles = roles(parties);
    show(&modes(&views(parties, &roles), hold, t, hold_cfg))
}

fn ringing(holds: bool) -> TransferView {
    TransferView::Ringing {
        by: A,
        holds,
        listen_only: false,
    }
}
fn listen_ringing() -> TransferView {
    TransferView::Ringing {
        by: A,
        holds: false,
        listen_only: true,
    }
}
fn consulting(holds: bool) -> TransferView {
    TransferView::Consulting {
        by: A,
        target: X,
        holds,
    }
}

#[test]
fn c3_t2_t4_t5_m5_who_hears_what() {
    let none = TransferView::None;
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<P>, Option<LegId>, TransferView, bool, &str)> = vec![
        ("customer and agent talk", vec![cust(), agent(A)], None, none, true, "1M 2M"),
        ("two agents talk", vec![agent(A), agent(B)], None, none, true, "2M 3M"),
        ("C3 hold command holds the customer", vec![cust(), agent(A)], Some(A), none, true, "1H 2M"),
        ("C3 any agent's hold holds the customer", vec![cust(), agent(A), agent(X)], Some(X), none, true, "1H 2M 5M"),
        ("C3 agent-to-agent hold holds the other", vec![agent(A), agent(B)], Some(A), none, true, "2M 3H"),
        ("C3 agent's SDP hold holds the customer", vec![cust(), holding(agent(A))], None, none, true, "1H 2M"),
        ("C3 agent's SDP hold in a three-way holds only the customer", vec![cust(), holding(agent(A)), agent(X)], None, none, true, "1H 2M 5M"),
        ("the customer's hold holds the agents", vec![holding(cust()), agent(A)], None, none, true, "1M 2H"),
        ("T2 ringing: customer hears music, A ringback", vec![cust(), agent(A)], None, ringing(true), true, "1H 2R"),
        ("T2 ringing without the setting: nobody held, no ringback", vec![cust(), agent(A)], None, ringing(false), false, "1M 2M"),
        ("T2 ringing while the customer was already held by command", vec![cust(), agent(A)], Some(A), ringing(false), true, "1H 2R"),
        ("T2 ringing while A holds by SDP: A still hears ringback", vec![cust(), holding(agent(A))], None, ringing(true), true, "1H 2R"),
        ("T2 blind: A gone, the customer waits with music", vec![cust()], None, ringing(true), true, "1H"),
        ("T2 agent-to-agent transfer rings: A ringback, B waits", vec![agent(A), agent(B)], None, ringing(false), true, "2R 3M"),
        ("M5 listen-only ringing: no hold, no ringback", vec![cust(), agent(A)], None, listen_ringing(), true, "1M 2M"),
        ("M5 listen-only ringing, setting off", vec![cust(), agent(A)], None, listen_ringing(), false, "1M 2M"),
        ("T4 consulting: customer held, A and X talk", vec![cust(), agent(A), agent(X)], None, consulting(true), true, "1H 2M 5M"),
        ("T5 resumed: three-way", vec![cust(), agent(A), agent(X)], None, consulting(false), true, "1M 2M 5M"),
        ("T5 held again by command during the consultation", vec![cust(), agent(A), agent(X)], Some(X), consulting(false), true, "1H 2M 5M"),
        ("M5 listener hears all, heard by none", vec![cust(), agent(A), listener()], None, none, true, "1M 2M 4L"),
        ("M5 listener while the customer is held", vec![cust(), agent(A), listener()], Some(A), none, true, "1H 2M 4L"),
        ("M5 listener stays listening through a hold by SDP", vec![cust(), holding(agent(A)), listener()], None, none, true, "1H 2M 4L"),
    ];
    let mut table = Table::new("C3/T2/T4/T5/M5 modes");
    for (name, parties, hold, t, cfg, want) in cases {
        table.case(name, || assert_eq!(modes_of(&parties, hold, t, cfg), want));
    }
    table.finish();
}

/// How a party leaves.
#[derive(Clone, Copy, Debug)]
enum Gone {
    /// BYE.
    HungUp,
    /// No RTP for `rtp_timeout` (B3).
    Vanished,
}

/// One phase of a call.
struct Phase {
    name: &'static str,
    parties: Vec<P>,
    hold: Option<LegId>,
    transfer: TransferView,
}

/// Apply the leaving rules: what it means for the transfer, then whether the room ends, and
/// what the rest hear.
fn leave(phase: &Phase, leg: LegId) -> (OnLeave, Option<&'static str>, String) {
    let on = on_leave(phase.transfer, leg);
    let transfer = match on {
        OnLeave::Complete | OnLeave::TargetLeft => TransferView::None,
        OnLeave::Leave => phase.transfer,
    };
    let rest: Vec<P> = phase
        .parties
        .iter()
        .copied()
        .filter(|p| p.0 != leg)
        .collect();
    let leaver_is_customer = phase.parties.iter().any(|p| p.0 == leg && p.1);
    // Completing takes the customer off any hold (T6).
    let hold = match on {
        OnLeave::Complete => None,
        _ => hold_after_leave(
            phase.hold,
            leg,
            leaver_is_customer,
            rest.iter().any(|p| p.1),
        ),
    };
    let roles = roles(&rest);
    let v = views(&rest, &roles);
    let ringing = matches!(transfer, TransferView::Ringing { .. });
    (
        on,
        end_reason(&v, ringing),
        show(&modes(&v, hold, transfer, true)),
    )
}

#[test]
fn b3_t6_t8_t9_c5_a_party_leaves_in_every_phase() {
    use OnLeave::*;
    let gone_all = "the other party hung up";
    let no_agent = "no agent left";
    let phases = [
        Phase {
            name: "connected",
            parties: vec![cust(), agent(A)],
            hold: None,
            transfer: TransferView::None,
        },
        Phase {
            name: "agent-to-agent",
            parties: vec![agent(A), agent(B)],
            hold: None,
            transfer: TransferView::None,
        },
        Phase {
            name: "customer held",
            parties: vec![cust(), agent(A), agent(B)],
            hold: Some(A),
            transfer: TransferView::None,
        },
        Phase {
            name: "transfer ringing",
            parties: vec![cust(), agent(A)],
            hold: None,
            transfer: ringing(true),
        },
        Phase {
            name: "blind transfer ringing",
            parties: vec![cust()],
            hold: None,
            transfer: ringing(true),
        },
        Phase {
            name: "consulting",
            parties: vec![cust(), agent(A), agent(X)],
            hold: None,
            transfer: consulting(true),
        },
        Phase {
            name: "three-way",
            parties: vec![cust(), agent(A), agent(X)],
            hold: None,
            transfer: consulting(false),
        },
        Phase {
            name: "listening",
            parties: vec![cust(), agent(A), listener()],
            hold: None,
            transfer: TransferView::None,
        },
        Phase {
            name: "listen-only ringing",
            parties: vec![cust(), agent(A)],
            hold: None,
            transfer: listen_ringing(),
        },
        Phase {
            name: "agents consulting",
            parties: vec![agent(A), agent(B), agent(X)],
            hold: None,
            transfer: consulting(false),
        },
    ];
    // (phase, who leaves, expected: on leave, room ends, what the rest hear)
    #[rustfmt::skip]
    let expect: Vec<(&str, LegId, (OnLeave, Option<&str>, &str))> = vec![
        ("connected", C, (Leave, Some(gone_all), "2M")),
        ("connected", A, (Leave, Some(gone_all), "1M")),
        ("agent-to-agent", A, (Leave, Some(gone_all), "3M")),
        ("agent-to-agent", B, (Leave, Some(gone_all), "2M")),
        ("customer held", C, (Leave, None, "2M 3M")),
        ("customer held", A, (Leave, None, "1H 3M")),
        ("customer held", B, (Leave, None, "1H 2M")),
        ("transfer ringing", C, (Leave, None, "2R")),
        ("transfer ringing", A, (Leave, None, "1H")),
        ("blind transfer ringing", C, (Leave, Some(gone_all), "")),
        ("consulting", C, (Leave, None, "2M 5M")),
        ("consulting", A, (Complete, None, "1M 5M")),
        ("consulting", X, (TargetLeft, None, "1M 2M")),
        ("three-way", C, (Leave, None, "2M 5M")),
        ("three-way", A, (Complete, None, "1M 5M")),
        ("three-way", X, (TargetLeft, None, "1M 2M")),
        ("listening", C, (Leave, None, "2M 4L")),
        ("listening", A, (Leave, Some(no_agent), "1M 4L")),
        ("listening", L, (Leave, None, "1M 2M")),
        ("listen-only ringing", C, (Leave, None, "2M")),
        ("listen-only ringing", A, (Leave, None, "1M")),
        ("agents consulting", A, (Complete, None, "3M 5M")),
        ("agents consulting", B, (Leave, None, "2M 5M")),
        ("agents consulting", X, (TargetLeft, None, "2M 3M")),
    ];
    let mut table = Table::new("B3/T6/T8/T9/C5 leaving");
    for (phase_name, leg, (on, end, heard)) in expect {
        let phase = phases
            .iter()
            .find(|p| p.name == phase_name)
            .unwrap_or_else(|| panic!("no phase {phase_name}"));
        for gone in [Gone::HungUp, Gone::Vanished] {
            // The rules do not depend on how the party left; the room only says BYE to one who
            // vanished (`actor.rs`). Both are run so a rule that starts to depend on it shows.
            table.case(&format!("{phase_name}: leg {leg} {gone:?}"), || {
                assert_eq!(leave(phase, leg), (on, end, heard.to_string()));
            });
        }
    }
    table.finish();
}

#[test]
fn c3_hold_by_command_after_someone_leaves() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<LegId>, LegId, bool, bool, Option<LegId>)> = vec![
        ("no hold stays none", None, A, false, true, None),
        ("the customer leaves: the hold ends", Some(A), C, true, false, None),
        ("the holder leaves, customer stays: still held", Some(A), A, false, true, Some(A)),
        ("another agent leaves: still held", Some(A), B, false, true, Some(A)),
        ("agent-to-agent: the holder leaves", Some(A), A, false, false, None),
        ("agent-to-agent: another leaves", Some(A), B, false, false, Some(A)),
    ];
    let mut table = Table::new("C3 hold after leaving");
    for (name, hold, leaver, is_customer, remains, want) in cases {
        table.case(name, || {
            assert_eq!(hold_after_leave(hold, leaver, is_customer, remains), want)
        });
    }
    table.finish();
}

#[test]
fn c5_t9_when_the_room_ends() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<P>, bool, Option<&str>)> = vec![
        ("nobody", vec![], false, Some("the other party hung up")),
        ("nobody, a target still ringing", vec![], true, Some("the other party hung up")),
        ("the customer alone", vec![cust()], false, Some("the other party hung up")),
        ("the customer alone while the target rings (blind)", vec![cust()], true, None),
        ("one agent alone", vec![agent(A)], false, Some("the other party hung up")),
        ("one agent alone while the target rings", vec![agent(A)], true, None),
        ("customer and agent", vec![cust(), agent(A)], false, None),
        ("T9 two agents without the customer stay", vec![agent(A), agent(X)], false, None),
        ("M5 customer and a listener only", vec![cust(), listener()], false, Some("no agent left")),
        ("M5 customer, listener and an agent", vec![cust(), agent(A), listener()], false, None),
        ("an agent and a listener", vec![agent(A), listener()], false, None),
    ];
    let mut table = Table::new("C5/T9 end of the room");
    for (name, parties, ringing, want) in cases {
        table.case(name, || {
            let r = roles(&parties);
            assert_eq!(end_reason(&views(&parties, &r), ringing), want);
        });
    }
    table.finish();
}
