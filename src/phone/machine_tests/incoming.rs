//! An incoming call in virtual time: ring, answer, decline, the caller's CANCEL, the server
//! vanishing while it rings (issue 10 #4, the ghost popup), BYE from the other side.

use std::time::Duration;

use agentphone_sip::rsip;
use agentphone_sip::sdp::Direction;

use super::registration::registered;
use super::rig::{in_dialog, invite, our_tag, Rig};
use crate::phone::call::MAX_RING;
use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::event::{CallState, PhoneEvent};
use crate::phone::machine::{Input, MediaOrder, TxId};

/// A call from the customer rings bob; its INVITE and transaction.
pub fn ringing(rig: &mut Rig, headers: &[(&str, &str)]) -> (rsip::Request, TxId) {
    let inv = invite(
        "call-1",
        Some("Sam Carter"),
        "sip:customer@127.0.0.1",
        headers,
    );
    let tx = rig.request(inv.clone());
    (inv, tx)
}

/// A call from the room, answered and ACKed; its INVITE and bob's tag.
pub fn connected(rig: &mut Rig) -> (rsip::Request, String) {
    let (inv, tx) = ringing(rig, &[]);
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = our_tag(rig, tx);
    rig.request(in_dialog(&inv, &tag, rsip::Method::Ack, 1, &[], None));
    rig.effects.clear();
    (inv, tag)
}

fn ended_reason(events: &[PhoneEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        PhoneEvent::CallState {
            state: CallState::Ended,
            reason,
            ..
        } => reason.clone(),
        _ => None,
    })
}

#[test]
fn an_invite_rings_with_what_the_popup_shows_table() {
    // (headers, team, reason, transferred_by, listen_only)
    type Row<'a> = (
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        bool,
    );
    let table: &[Row] = &[
        (&[], None, None, None, false),
        (
            &[(
                "Call-Info",
                "<sip:support@127.0.0.1>;purpose=x-agentphone-team",
            )],
            Some("support"),
            None,
            None,
            false,
        ),
        (
            &[
                ("Referred-By", "<sip:alice@127.0.0.1>"),
                ("Subject", "billing question"),
            ],
            None,
            Some("billing question"),
            Some("alice"),
            false,
        ),
        (
            &[
                ("Referred-By", "\"Alice Martin\" <sip:alice@127.0.0.1>"),
                (
                    "Call-Info",
                    "<sip:127.0.0.1>;purpose=x-agentphone-listen-only",
                ),
            ],
            None,
            None,
            Some("alice"),
            true,
        ),
        (
            &[
                (
                    "Call-Info",
                    "<sip:sales@127.0.0.1>;purpose=x-agentphone-team",
                ),
                (
                    "Call-Info",
                    "<sip:127.0.0.1>;purpose=x-agentphone-listen-only",
                ),
                ("Referred-By", "<sip:alice@127.0.0.1>"),
            ],
            Some("sales"),
            None,
            Some("alice"),
            true,
        ),
        (
            &[
                ("Call-Info", "<http://x/icon.png>;purpose=icon"),
                ("Subject", "  "),
            ],
            None,
            None,
            None,
            false,
        ),
    ];
    for (i, &(headers, team, reason, by, listen)) in table.iter().enumerate() {
        let mut rig = Rig::new();
        rig.events();
        let (_, tx) = ringing(&mut rig, headers);
        assert_eq!(rig.responses(tx), [180], "row {i}");
        let events = rig.events();
        match events.as_slice() {
            [PhoneEvent::IncomingCall {
                call,
                from,
                display,
                team: t,
                reason: r,
                transferred_by,
                listen_only,
                ..
            }, PhoneEvent::CallState {
                state: CallState::Ringing,
                ..
            }] => {
                assert_eq!(call, "call-1", "row {i}");
                assert_eq!(from, "sip:customer@127.0.0.1", "row {i}");
                assert_eq!(display.as_deref(), Some("Sam Carter"), "row {i}");
                assert_eq!(t.as_deref(), team, "row {i}");
                assert_eq!(r.as_deref(), reason, "row {i}");
                assert_eq!(transferred_by.as_deref(), by, "row {i}");
                assert_eq!(*listen_only, listen, "row {i}");
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
}

#[test]
fn the_customers_queue_wait_comes_from_the_servers_header_table() {
    // (X-Agentphone-Waited-Ms, what the event says)
    let table: &[(Option<&str>, Option<u64>)] = &[
        (None, None),
        (Some("83250"), Some(83_250)),
        (Some("0"), Some(0)),
        (Some(" 1500 "), Some(1_500)),
        (Some("soon"), None),
        (Some("-5"), None),
    ];
    for &(header, want) in table {
        let mut rig = Rig::new();
        rig.events();
        let headers: Vec<(&str, &str)> = header
            .map(|v| ("X-Agentphone-Waited-Ms", v))
            .into_iter()
            .collect();
        ringing(&mut rig, &headers);
        let waited = rig.events().iter().find_map(|e| match e {
            PhoneEvent::IncomingCall { waited_ms, .. } => Some(*waited_ms),
            _ => None,
        });
        assert_eq!(waited, Some(want), "header {header:?}");
    }
}

#[test]
fn answer_sends_the_sdp_answer_starts_media_and_subscribes_after_the_ack() {
    let mut rig = Rig::new();
    let (inv, tx) = ringing(&mut rig, &[]);
    rig.events();
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = our_tag(&rig, tx);
    assert_eq!(rig.responses(tx), [180, 200]);
    assert!(rig
        .media()
        .iter()
        .any(|m| matches!(m, MediaOrder::Start { .. })));
    let events = rig.events();
    assert!(matches!(
        events.as_slice(),
        [PhoneEvent::CallState {
            state: CallState::Connected,
            ..
        }]
    ));
    assert!(rig.sent().is_empty(), "no room SUBSCRIBE before the ACK");
    rig.request(in_dialog(&inv, &tag, rsip::Method::Ack, 1, &[], None));
    let sub = rig.sent_one(rsip::Method::Subscribe);
    assert_eq!(sub.header("Event").as_deref(), Some("agentphone-room"));
    assert_eq!(sub.request.uri.to_string(), "sip:room-7@127.0.0.1:5060");
}

#[test]
fn without_the_ack_the_room_is_subscribed_a_second_later_and_the_call_ends_after_64_t1() {
    let mut rig = Rig::new();
    ringing(&mut rig, &[]);
    rig.command(PhoneCommand::Answer).unwrap();
    rig.effects.clear();
    rig.advance(Duration::from_millis(999));
    assert!(rig.sent().is_empty());
    rig.advance(Duration::from_millis(1));
    rig.sent_one(rsip::Method::Subscribe);
    rig.advance(Duration::from_secs(30));
    assert!(rig.events().is_empty(), "still in the call");
    rig.advance(Duration::from_secs(1));
    let sent = rig.sent();
    assert!(sent.iter().any(|s| s.request.method == rsip::Method::Bye));
    assert!(ended_reason(&rig.events()).is_some_and(|r| r.contains("ACK")));
}

#[test]
fn decline_cancel_and_bye_while_ringing_end_the_call_table() {
    // (what happens, response on the INVITE, ended reason)
    enum Step {
        Decline,
        Hangup,
        Cancel,
        Bye,
    }
    let table = [
        (Step::Decline, vec![180, 603], "declined"),
        (Step::Hangup, vec![180, 603], "declined"),
        (Step::Cancel, vec![180, 487], "cancelled"),
        (Step::Bye, vec![180, 487], "remote hangup"),
    ];
    for (step, codes, reason) in table {
        let mut rig = Rig::new();
        let (inv, tx) = ringing(&mut rig, &[]);
        let tag = our_tag(&rig, tx);
        rig.events();
        match step {
            Step::Decline => rig.command(PhoneCommand::Decline).unwrap(),
            Step::Hangup => rig.command(PhoneCommand::Hangup).unwrap(),
            Step::Cancel => rig.input(Input::Cancelled { tx }),
            Step::Bye => {
                let bye = rig.request(in_dialog(&inv, &tag, rsip::Method::Bye, 2, &[], None));
                assert_eq!(rig.responses(bye), [200]);
            }
        }
        assert_eq!(rig.responses(tx), codes, "{reason}");
        assert_eq!(ended_reason(&rig.events()).as_deref(), Some(reason));
        assert!(rig
            .media()
            .contains(&MediaOrder::Release("127.0.0.1:40002".parse().unwrap())));
        assert!(rig.engine.call.is_none(), "{reason}: no call left");
        assert_eq!(
            rig.command(PhoneCommand::Answer),
            Err(PhoneError::NotRinging)
        );
    }
}

#[test]
fn a_cancel_of_another_transaction_changes_nothing() {
    let mut rig = Rig::new();
    let (_, tx) = ringing(&mut rig, &[]);
    rig.events();
    rig.input(Input::Cancelled { tx: tx + 100 });
    assert!(rig.events().is_empty());
    assert!(rig.engine.call.is_some());
}

#[test]
fn the_popup_goes_when_the_server_vanishes_while_it_rings() {
    // Issue 10 #4: the demo quits while a call rings bob. No CANCEL can come; the next refresh
    // times out (the server is gone) and the ringing call ends with it.
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    let (_, tx) = ringing(&mut rig, &[]);
    rig.events();
    rig.advance(Duration::from_secs(30));
    let refresh = rig.sent_one(rsip::Method::Register);
    rig.time_out(&refresh);
    assert_eq!(rig.responses(tx), [180, 480]);
    let events = rig.events();
    assert_eq!(
        ended_reason(&events).as_deref(),
        Some("the server is unreachable")
    );
    assert_eq!(
        rig.command(PhoneCommand::Answer),
        Err(PhoneError::NotRinging)
    );
}

#[test]
fn nobody_rings_forever() {
    let mut rig = Rig::with(|c| c.server = None);
    let (_, tx) = ringing(&mut rig, &[]);
    rig.events();
    rig.advance(MAX_RING - Duration::from_millis(1));
    assert!(rig.events().is_empty());
    rig.advance(Duration::from_millis(1));
    assert_eq!(rig.responses(tx), [180, 480]);
    assert_eq!(ended_reason(&rig.events()).as_deref(), Some("not answered"));
}

#[test]
fn what_cannot_ring_is_refused_table() {
    let no_sdp = {
        let mut inv = invite("c2", None, "sip:x@127.0.0.1", &[]);
        inv.body.clear();
        inv
    };
    let bad_sdp = {
        let mut inv = invite("c3", None, "sip:x@127.0.0.1", &[]);
        inv.body = b"v=0\r\nnonsense".to_vec();
        inv
    };
    for (inv, code) in [(no_sdp, 488), (bad_sdp, 400)] {
        let mut rig = Rig::new();
        rig.events();
        let tx = rig.request(inv);
        assert_eq!(rig.responses(tx), [code]);
        assert!(rig.events().is_empty(), "{code}: no popup");
    }
    // A second call while one rings: busy, and the first still rings.
    let mut rig = Rig::new();
    ringing(&mut rig, &[]);
    rig.events();
    let second = rig.request(invite("c4", None, "sip:y@127.0.0.1", &[]));
    assert_eq!(rig.responses(second), [486]);
    assert!(rig.events().is_empty());
}

#[test]
fn auto_answer_answers_at_once() {
    let mut rig = Rig::with(|c| c.auto_answer = true);
    let (_, tx) = ringing(&mut rig, &[]);
    assert_eq!(rig.responses(tx), [180, 200]);
    let names = rig.event_names();
    assert_eq!(names, ["incoming_call", "call_state", "call_state"]);
}

#[test]
fn bye_from_the_other_side_ends_the_connected_call_and_a_stranger_gets_481() {
    let mut rig = Rig::new();
    let (inv, tag) = connected(&mut rig);
    let stranger = rig.request(in_dialog(
        &inv,
        "other-tag",
        rsip::Method::Bye,
        2,
        &[],
        None,
    ));
    assert_eq!(rig.responses(stranger), [481]);
    assert!(rig.events().is_empty());
    let bye = rig.request(in_dialog(&inv, &tag, rsip::Method::Bye, 2, &[], None));
    assert_eq!(rig.responses(bye), [200]);
    assert_eq!(
        ended_reason(&rig.events()).as_deref(),
        Some("remote hangup")
    );
    assert!(rig.media().contains(&MediaOrder::Stop));
}

#[test]
fn hangup_of_a_connected_call_sends_bye() {
    let mut rig = Rig::new();
    connected(&mut rig);
    rig.command(PhoneCommand::Hangup).unwrap();
    let methods: Vec<rsip::Method> = rig.sent().iter().map(|s| s.request.method).collect();
    assert!(methods.contains(&rsip::Method::Bye), "{methods:?}");
    assert_eq!(ended_reason(&rig.events()).as_deref(), Some("hangup"));
    assert_eq!(rig.command(PhoneCommand::Hangup), Err(PhoneError::NoCall));
}

#[test]
fn the_far_end_holding_and_resuming_shows_remote_held() {
    let mut rig = Rig::new();
    let (inv, tag) = connected(&mut rig);
    for (cseq, dir, state) in [
        (2, Direction::SendOnly, CallState::RemoteHeld),
        (3, Direction::SendRecv, CallState::Connected),
    ] {
        let sdp = super::rig::offer(dir).to_string();
        let tx = rig.request(in_dialog(
            &inv,
            &tag,
            rsip::Method::Invite,
            cseq,
            &[],
            Some(("application/sdp", sdp)),
        ));
        assert_eq!(rig.responses(tx), [200]);
        let events = rig.events();
        assert!(
            matches!(events.as_slice(), [PhoneEvent::CallState { state: s, .. }] if *s == state),
            "{dir:?}: {events:?}"
        );
    }
}

/// #5: a caller whose From holds an IPv6 reference (stock linphonec) rings with its address
/// shown as sent, `[::1]`, not the escaped form the SIP stack keeps inside.
#[test]
fn caller_with_an_ipv6_from_rings_with_its_real_address() {
    let mut rig = Rig::new();
    rig.events();
    let inv = invite("call-1", None, "sip:pat@[::1]:5062", &[]);
    let tx = rig.request(inv);
    assert_eq!(rig.responses(tx), [180]);
    let from = rig.events().into_iter().find_map(|e| match e {
        PhoneEvent::IncomingCall { from, .. } => Some(from),
        _ => None,
    });
    assert_eq!(from.as_deref(), Some("sip:pat@[::1]:5062"));
}
