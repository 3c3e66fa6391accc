//! Issue 8's lost popup: the server cancels the call ringing bob and rings him again at once (a
//! transfer cancelled and asked again, a team hunt, a caller who calls back). The endpoint has
//! the CANCEL before the new INVITE, but it reached the engine through a watcher task of its
//! own, so the INVITE could overtake it: the engine still had the cancelled call ringing and
//! answered the new INVITE 486 — the server logged "ringing Bob" and no popup ever showed.
//! The driver now hands the engine every CANCEL it already has before the next request.

use agentphone_sip::endpoint::{Peer, TransportKind};

use super::incoming::ringing;
use super::rig::{invite, Rig};
use crate::phone::driver::cancels_first;
use crate::phone::event::PhoneEvent;
use crate::phone::machine::{Incoming, Input};

fn second_invite(tx: u64) -> Incoming {
    Incoming {
        tx,
        request: invite(
            "call-2",
            Some("Sam Carter"),
            "sip:customer@127.0.0.1",
            &[("Referred-By", "<sip:alice@127.0.0.1>")],
        ),
        peer: Peer {
            addr: super::rig::server(),
            transport: TransportKind::Udp,
        },
    }
}

fn popups(events: &[PhoneEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::IncomingCall { call, .. } => Some(call.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_driver_hands_over_cancels_before_the_request_that_followed_them() {
    let inputs = cancels_first(vec![3, 5], second_invite(9));
    let order: Vec<String> = inputs
        .iter()
        .map(|i| match i {
            Input::Cancelled { tx } => format!("cancel {tx}"),
            Input::Request(r) => format!("request {}", r.tx),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(order, ["cancel 3", "cancel 5", "request 9"]);
}

#[test]
fn a_call_rung_again_right_after_its_cancel_shows_its_popup() {
    let mut rig = Rig::new();
    let (_, first) = ringing(&mut rig, &[]);
    rig.events();
    for input in cancels_first(vec![first], second_invite(50)) {
        rig.input(input);
    }
    assert_eq!(rig.responses(first), [180, 487]);
    assert_eq!(rig.responses(50), [180], "the new call rings");
    assert_eq!(popups(&rig.events()), ["call-2"]);
}

#[test]
fn overtaken_by_the_new_invite_the_cancel_came_too_late() {
    // What happened before: the same two inputs in the order they reached the engine.
    let mut rig = Rig::new();
    let (_, first) = ringing(&mut rig, &[]);
    rig.events();
    rig.input(Input::Request(second_invite(50)));
    rig.input(Input::Cancelled { tx: first });
    assert_eq!(
        rig.responses(50),
        [486],
        "busy: the cancelled call still rang"
    );
    assert!(popups(&rig.events()).is_empty());
}
