//! SPEC T1 (refusal reasons), T2/M5 (who is held), T3 (who is not rung again) and T7 (what a
//! failure says) as tables.

// Rule tables are vectors of tuples: one row per case, read like the SPEC's list.
#![allow(clippy::type_complexity)]

use super::*;
use crate::room::rule_table::Table;

fn config(max: usize) -> Config {
    let text = format!(
        r#"
[server]
max_participants = {max}
[[agents]]
username = "alice"
display_name = "Alice Smith"
password = "a"
[[agents]]
username = "bob"
display_name = "Bob Jones"
password = "b"
[[agents]]
username = "carol"
password = "c"
[[teams]]
name = "billing"
members = ["bob", "carol"]
inbound = "pay"
"#
    );
    Config::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn customer() -> Role {
    Role::Customer {
        uri: "sip:c@x".into(),
        display: None,
    }
}

/// What a case asks: requester, Refer-To, under way, parties, agents in the call.
struct Ask {
    requester: Option<Role>,
    refer_to: Option<&'static str>,
    under_way: bool,
    parties: usize,
    in_call: Vec<&'static str>,
}

fn ask(refer_to: &'static str) -> Ask {
    Ask {
        requester: Some(Role::Agent("alice".into())),
        refer_to: Some(refer_to),
        under_way: false,
        parties: 2,
        in_call: vec!["alice"],
    }
}

fn check(config: &Config, a: &Ask) -> Result<(Option<String>, String, bool), (u16, String)> {
    let in_call: Vec<String> = a.in_call.iter().map(|s| s.to_string()).collect();
    check_request(
        config,
        &TransferAsk {
            requester: a.requester.as_ref(),
            refer_to: a.refer_to,
            under_way: a.under_way,
            parties: a.parties,
            agents_in_call: &in_call,
        },
    )
    .map(|acc| (acc.team, acc.target.user, acc.target.listen_only))
    .map_err(|(code, _, warning)| (code, warning))
}

type Expect = Result<(Option<String>, String, bool), (u16, String)>;

fn agent_ok(user: &str) -> Expect {
    Ok((None, user.into(), false))
}

fn team_ok(user: &str) -> Expect {
    Ok((Some("billing".into()), user.into(), false))
}

fn refused(code: u16, warning: &str) -> Expect {
    Err((code, warning.into()))
}

#[test]
fn t1_refusals_before_the_directory() {
    let cfg3 = config(3);
    let bob = "<sip:bob@h>";
    #[rustfmt::skip]
    let cases: Vec<(&str, Ask, Expect)> = vec![
        ("agent asks for an agent", ask(bob), agent_ok("bob")),
        ("bare URI", ask("sip:bob@h"), agent_ok("bob")),
        ("with a reason", ask("<sip:bob@h?Subject=x>"), agent_ok("bob")),
        ("listen only", ask("<sip:bob@h;agentphone-mode=listen>"), Ok((None, "bob".into(), true))),
        ("team by name", ask("<sip:billing@h;agentphone-target=team>"), team_ok("billing")),
        ("team by name without the flag", ask("<sip:billing@h>"), team_ok("billing")),
        ("team by inbound address", ask("<sip:pay@h>"), team_ok("pay")),
        ("agent name flagged as team is not a team", ask("<sip:bob@h;agentphone-target=team>"), refused(404, "No agent or team bob")),
        ("unknown target", ask("<sip:zed@h>"), refused(404, "No agent or team zed")),
        ("not a party of the call", Ask { requester: None, ..ask(bob) }, refused(403, "You are not in this call")),
        ("a customer cannot transfer (T11)", Ask { requester: Some(customer()), ..ask(bob) }, refused(403, "A customer cannot transfer")),
        ("Refer-To missing", Ask { refer_to: None, ..ask(bob) }, refused(400, "Refer-To is missing")),
        ("Refer-To not SIP", ask("<tel:123>"), refused(400, "Refer-To is not a SIP URI")),
        ("Refer-To without user", ask("<sip:h>"), refused(400, "Refer-To has no user part")),
        ("another transfer under way", Ask { under_way: true, ..ask(bob) }, refused(409, "A transfer is already under way")),
        ("three parties already (max 3)", Ask { parties: 3, ..ask(bob) }, refused(488, "The call already has 3 participants")),
        ("two parties is fine (max 3)", Ask { parties: 2, ..ask(bob) }, agent_ok("bob")),
        ("target already in the call", Ask { in_call: vec!["alice", "bob"], ..ask(bob) }, refused(482, "Bob Jones is already in the call")),
        ("myself", ask("<sip:alice@h>"), refused(482, "Alice Smith is already in the call")),
        ("a team with a member in the call is fine", Ask { in_call: vec!["alice", "bob"], ..ask("<sip:billing@h>") }, team_ok("billing")),
        ("customer check comes before the Refer-To", Ask { requester: Some(customer()), refer_to: None, ..ask(bob) }, refused(403, "A customer cannot transfer")),
        ("bad Refer-To comes before under way", Ask { under_way: true, refer_to: None, ..ask(bob) }, refused(400, "Refer-To is missing")),
        ("under way comes before the limit", Ask { under_way: true, parties: 3, ..ask(bob) }, refused(409, "A transfer is already under way")),
        ("the limit comes before an unknown target", Ask { parties: 3, ..ask("<sip:zed@h>") }, refused(488, "The call already has 3 participants")),
    ];
    let mut table = Table::new("T1 request checks");
    for (name, a, want) in cases {
        table.case(name, || assert_eq!(check(&cfg3, &a), want));
    }
    // The limit follows the configuration.
    for (max, parties, ok) in [
        (2, 1, true),
        (2, 2, false),
        (4, 3, true),
        (4, 4, false),
        (5, 4, true),
    ] {
        let cfg = config(max);
        table.case(&format!("max {max} with {parties} parties"), || {
            let a = Ask {
                parties,
                ..ask(bob)
            };
            assert_eq!(check(&cfg, &a).is_ok(), ok);
        });
    }
    table.finish();
}

#[test]
fn t1_refusals_from_the_directory() {
    let cfg = config(3);
    #[rustfmt::skip]
    let cases: Vec<(&str, AgentStatus, (u16, &str, &str))> = vec![
        ("offline", AgentStatus::Offline, (480, "Temporarily Unavailable", "Bob Jones is offline")),
        ("voice channel off", AgentStatus::Inactive, (480, "Temporarily Unavailable", "Bob Jones has the voice channel off")),
        ("ringing for another call", AgentStatus::Ringing, (486, "Busy Here", "Bob Jones is ringing for another call")),
        ("on a call", AgentStatus::OnCall, (486, "Busy Here", "Bob Jones is on a call")),
        ("lost the race for the last moment", AgentStatus::Available, (486, "Busy Here", "Bob Jones is on a call")),
    ];
    let mut table = Table::new("T1 directory refusals");
    for (name, status, (code, phrase, text)) in cases {
        table.case(name, || {
            assert_eq!(
                agent_refusal(&cfg, "bob", status),
                (code, phrase, text.to_string())
            );
        });
    }
    table.case("unknown agent named by user name", || {
        assert_eq!(
            agent_refusal(&cfg, "zed", AgentStatus::Offline).2,
            "zed is offline"
        );
    });
    table.case("team with nobody available", || {
        assert_eq!(
            team_refusal("billing"),
            (
                480,
                "Temporarily Unavailable",
                "Nobody in team billing is available".to_string()
            )
        );
    });
    table.finish();
}

#[test]
fn t2_m5_who_is_held_when_a_transfer_starts() {
    // (listen_only, hold_on_transfer, has_customer, already_held) → holds
    #[rustfmt::skip]
    let cases = [
        ("plain transfer holds the customer", (false, true, true, false), true),
        ("listen-only never holds (M5)", (true, true, true, false), false),
        ("switched off by config", (false, false, true, false), false),
        ("no customer: nobody to hold", (false, true, false, false), false),
        ("already held by an agent: not the transfer's hold", (false, true, true, true), false),
        ("listen-only and switched off", (true, false, true, false), false),
        ("listen-only without a customer", (true, true, false, false), false),
        ("listen-only while held", (true, true, true, true), false),
    ];
    let mut table = Table::new("T2/M5 transfer hold");
    for (name, (lo, cfg, cust, held), want) in cases {
        table.case(name, || {
            assert_eq!(holds_customer(lo, cfg, cust, held), want)
        });
    }
    table.finish();
}

#[test]
fn t3_t7_next_member_and_failure_words() {
    let mut table = Table::new("T3/T7 failures");
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<&str>, (u16, &'static str, &'static str), (u16, &str, &str))> = vec![
        ("agent declined", None, (603, "Declined", "declined"), (603, "Declined", "Bob declined")),
        ("agent busy", None, (486, "Busy Here", "is busy"), (486, "Busy Here", "Bob is busy")),
        ("agent timed out", None, (408, "Request Timeout", "did not answer"), (408, "Request Timeout", "Bob did not answer")),
        ("agent unreachable", None, (480, "Temporarily Unavailable", "cannot be reached"), (480, "Temporarily Unavailable", "Bob cannot be reached")),
        ("agent without audio", None, (488, "Not Acceptable Here", "has no usable audio"), (488, "Not Acceptable Here", "Bob has no usable audio")),
        ("team exhausted after a decline", Some("billing"), (603, "Declined", "declined"), (480, "Temporarily Unavailable", "Nobody in team billing answered (last: Bob declined)")),
        ("team exhausted after a timeout", Some("billing"), (408, "Request Timeout", "did not answer"), (480, "Temporarily Unavailable", "Nobody in team billing answered (last: Bob did not answer)")),
        ("team exhausted after busy", Some("billing"), (486, "Busy Here", "is busy"), (480, "Temporarily Unavailable", "Nobody in team billing answered (last: Bob is busy)")),
    ];
    for (name, team, status, (code, phrase, text)) in cases {
        table.case(name, || {
            assert_eq!(
                failure_text(team, "Bob", status),
                (code, phrase, text.to_string())
            );
        });
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    #[rustfmt::skip]
    let exclusions: Vec<(&str, Vec<String>, Vec<String>, Vec<String>)> = vec![
        ("nobody tried: those in the call", s(&[]), s(&["alice"]), s(&["alice"])),
        ("tried and in the call", s(&["bob"]), s(&["alice"]), s(&["bob", "alice"])),
        ("tried one who joined is not listed twice", s(&["bob"]), s(&["alice", "bob"]), s(&["bob", "alice"])),
        ("several tried keep their order", s(&["bob", "carol"]), s(&["alice"]), s(&["bob", "carol", "alice"])),
    ];
    for (name, tried, in_call, want) in exclusions {
        table.case(name, || assert_eq!(team_exclusions(&tried, &in_call), want));
    }
    table.case("reason suffix", || {
        assert_eq!(reason_suffix(Some("billing")), " (billing)");
        assert_eq!(reason_suffix(None), "");
    });
    table.finish();
}
