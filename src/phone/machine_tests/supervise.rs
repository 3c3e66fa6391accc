//! A supervisor's phone in virtual time (SPEC V1, V2): the floor subscription follows the
//! registration once asked for; joining a call is an INVITE to the room with `Supervise`, its
//! re-send with credentials too; a refusal ends the call with the room's reason.

use agentphone_protocol::SuperviseMode;
use agentphone_sip::rsip;

use super::registration::registered;
use super::rig::Rig;
use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::event::{CallState, PhoneEvent};

#[test]
fn watching_the_floor_subscribes_now_and_after_each_registration() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    rig.command(PhoneCommand::WatchFloor(true)).unwrap();
    let sub = rig.sent_one(rsip::Method::Subscribe);
    assert_eq!(
        sub.header("Event").as_deref(),
        Some("agentphone-supervisor")
    );
    assert!(sub.request.uri.to_string().starts_with("sip:supervisor@"));
    // Accepted first: the Expires 0 goes in its dialog (before the 2xx it waits for it).
    rig.reply(&sub, 200, &[("Expires", "600")]);
    rig.command(PhoneCommand::WatchFloor(false)).unwrap();
    let end = rig.sent_one(rsip::Method::Subscribe);
    assert_eq!(end.header("Expires").as_deref(), Some("0"));
}

#[test]
fn joining_a_call_invites_the_room_with_the_mode_and_a_refusal_says_why() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    assert_eq!(
        rig.command(PhoneCommand::Supervise {
            room: "x".into(),
            mode: SuperviseMode::Listen,
        }),
        Err(PhoneError::Invalid("x: not a call number".into()))
    );
    assert_eq!(
        rig.command(PhoneCommand::Supervise {
            room: String::new(),
            mode: SuperviseMode::Barge,
        }),
        Err(PhoneError::NoCall),
        "no call to switch in"
    );
    rig.command(PhoneCommand::Supervise {
        room: "7".into(),
        mode: SuperviseMode::Whisper,
    })
    .unwrap();
    let inv = rig.sent_one(rsip::Method::Invite);
    assert!(inv.request.uri.to_string().starts_with("sip:room-7@"));
    assert_eq!(inv.header("Supervise").as_deref(), Some("whisper"));
    rig.events();
    rig.reply(
        &inv,
        486,
        &[("Warning", "399 agentphone \"The call is full: 3 of 3\"")],
    );
    let ended = rig.events().into_iter().find_map(|e| match e {
        PhoneEvent::CallState {
            state: CallState::Ended,
            reason,
            ..
        } => reason,
        _ => None,
    });
    assert_eq!(ended.as_deref(), Some("The call is full: 3 of 3"));
}
