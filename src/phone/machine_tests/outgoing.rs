//! An outgoing call in virtual time: calling, ringing, early media, answered, the failures, the
//! challenge, giving up (CANCEL) and a 2xx that crosses the CANCEL.

use agentphone_sip::auth::{Algorithm, Challenge};
use agentphone_sip::rsip;

use super::rig::{answer_to, response, Rig, Sent};
use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::event::{CallState, PhoneEvent};
use crate::phone::machine::MediaOrder;

/// Dial the customer; the INVITE sent.
pub fn dialled(rig: &mut Rig) -> Sent {
    rig.command(PhoneCommand::Dial("sip:customer@127.0.0.1".into()))
        .expect("dial is accepted");
    rig.sent_one(rsip::Method::Invite)
}

/// A 2xx with an SDP answer, from a room (`isfocus`) or a plain phone.
pub fn answered(invite: &Sent, room: bool) -> rsip::Response {
    let contact = if room {
        "<sip:room-9@127.0.0.1:5060>;isfocus"
    } else {
        "<sip:customer@127.0.0.1:5090>"
    };
    response(
        &invite.request,
        200,
        &[("Contact", contact)],
        Some(("application/sdp", answer_to(&invite.request))),
    )
}

fn states(events: &[PhoneEvent]) -> Vec<(CallState, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::CallState { state, reason, .. } => Some((*state, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn dial_rings_then_connects_with_ack_media_and_room_subscription() {
    let mut rig = Rig::new();
    rig.events();
    let inv = dialled(&mut rig);
    assert_eq!(inv.request.uri.to_string(), "sip:customer@127.0.0.1");
    assert_eq!(states(&rig.events()), [(CallState::Calling, None)]);
    rig.reply(&inv, 100, &[]);
    rig.reply(&inv, 180, &[]);
    assert_eq!(states(&rig.events()), [(CallState::Ringing, None)]);
    rig.reply_with(&inv, answered(&inv, true));
    assert_eq!(states(&rig.events()), [(CallState::Connected, None)]);
    assert!(rig
        .effects
        .iter()
        .any(|e| matches!(e, crate::phone::machine::Effect::Ack { .. })));
    assert!(rig
        .media()
        .iter()
        .any(|m| matches!(m, MediaOrder::Start { .. })));
    let sub = rig.sent_one(rsip::Method::Subscribe);
    assert_eq!(sub.request.uri.to_string(), "sip:room-9@127.0.0.1:5060");
}

#[test]
fn early_media_starts_before_the_answer() {
    let mut rig = Rig::new();
    rig.events();
    let inv = dialled(&mut rig);
    rig.events();
    let early = response(
        &inv.request,
        183,
        &[],
        Some(("application/sdp", answer_to(&inv.request))),
    );
    rig.reply_with(&inv, early);
    assert_eq!(states(&rig.events()), [(CallState::Early, None)]);
    assert!(rig
        .media()
        .iter()
        .any(|m| matches!(m, MediaOrder::Start { .. })));
}

#[test]
fn failures_end_the_call_with_a_reason_table() {
    let table: &[(u16, &str)] = &[
        (404, "404 Not Found"),
        (480, "480 Temporarily Unavailable"),
        (486, "486 Busy Here"),
        (487, "cancelled"),
        (488, "488 Not Acceptable Here"),
        (500, "500 Server Internal Error"),
        (503, "503 Service Unavailable"),
        (603, "declined"),
        (604, "604 Does Not Exist Anywhere"),
    ];
    for &(code, reason) in table {
        let mut rig = Rig::new();
        let inv = dialled(&mut rig);
        rig.events();
        rig.reply(&inv, code, &[]);
        assert_eq!(
            states(&rig.events()),
            [(CallState::Ended, Some(reason.to_string()))],
            "{code}"
        );
        assert!(rig.engine.call.is_none());
        assert!(rig
            .media()
            .iter()
            .any(|m| matches!(m, MediaOrder::Release(_))));
    }
    let mut rig = Rig::new();
    let inv = dialled(&mut rig);
    rig.events();
    rig.time_out(&inv);
    assert_eq!(
        states(&rig.events()),
        [(CallState::Ended, Some("timeout".to_string()))]
    );
}

#[test]
fn a_challenged_invite_is_sent_again_with_credentials_once() {
    let ch = Challenge {
        realm: "agentphone".into(),
        nonce: "n1".into(),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale: false,
    }
    .to_header_value();
    let mut rig = Rig::new();
    let first = dialled(&mut rig);
    rig.reply(&first, 407, &[("Proxy-Authenticate", &ch)]);
    let second = rig.sent_one(rsip::Method::Invite);
    assert!(second.header("Proxy-Authorization").is_some());
    // A late answer to the replaced INVITE is of no interest.
    rig.events();
    rig.reply(&first, 486, &[]);
    assert!(rig.events().is_empty());
    rig.reply(&second, 407, &[("Proxy-Authenticate", &ch)]);
    assert!(rig.sent().is_empty());
    assert_eq!(
        states(&rig.events()),
        [(
            CallState::Ended,
            Some("407 Proxy Authentication Required".into())
        )]
    );
}

#[test]
fn hanging_up_before_the_answer_cancels_and_a_crossing_2xx_is_acked_and_byed() {
    let mut rig = Rig::new();
    let inv = dialled(&mut rig);
    rig.reply(&inv, 180, &[]);
    rig.events();
    rig.command(PhoneCommand::Hangup).unwrap();
    assert_eq!(rig.cancelled_invites(), 1);
    assert_eq!(
        states(&rig.events()),
        [(CallState::Ended, Some("hangup".into()))]
    );
    rig.reply_with(&inv, answered(&inv, false));
    assert!(rig
        .effects
        .iter()
        .any(|e| matches!(e, crate::phone::machine::Effect::Ack { .. })));
    rig.sent_one(rsip::Method::Bye);
    assert!(
        rig.events().is_empty(),
        "nothing to report: the call is over"
    );
}

#[test]
fn dial_is_refused_when_busy_or_the_uri_is_unusable() {
    let mut rig = Rig::new();
    dialled(&mut rig);
    assert_eq!(
        rig.command(PhoneCommand::Dial("sip:x@127.0.0.1".into())),
        Err(PhoneError::Busy)
    );
    let mut rig = Rig::with(|c| c.server = None);
    assert!(matches!(
        rig.command(PhoneCommand::Dial("sip:bob@example.com".into())),
        Err(PhoneError::Invalid(_))
    ));
    assert!(rig.sent().is_empty());
}
