//! Hold, resume, mute and DTMF in virtual time: INFO room commands in a server room, re-INVITE
//! in a direct call.

use agentphone_sip::rsip;

use super::incoming::{connected, ringing};
use super::outgoing::{answered, dialled};
use super::rig::{answer_to, response, Rig};
use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::event::{CallState, PhoneEvent};
use crate::phone::machine::{Effect, MediaOrder};

fn body(sent: &super::rig::Sent) -> serde_json::Value {
    serde_json::from_slice(&sent.request.body).expect("a JSON room command")
}

fn state_events(rig: &mut Rig) -> Vec<CallState> {
    rig.events()
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::CallState { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

/// A direct call (no room), connected.
fn direct_call(rig: &mut Rig) {
    let inv = dialled(rig);
    rig.reply_with(&inv, answered(&inv, false));
    rig.effects.clear();
}

#[test]
fn hold_and_resume_in_a_room_are_info_commands_table() {
    // (command, JSON command, state after the 200)
    let table = [
        (PhoneCommand::Hold, "hold", CallState::Held),
        (PhoneCommand::Resume, "resume", CallState::Connected),
    ];
    let mut rig = Rig::new();
    connected(&mut rig);
    for (cmd, name, state) in table {
        rig.command(cmd).unwrap();
        let info = rig.sent_one(rsip::Method::Info);
        assert_eq!(
            info.header("Info-Package").as_deref(),
            Some("agentphone-room")
        );
        assert_eq!(body(&info)["command"], name);
        assert!(
            state_events(&mut rig).is_empty(),
            "{name}: the state follows the 200"
        );
        rig.reply(&info, 200, &[]);
        assert_eq!(state_events(&mut rig), [state], "{name}");
    }
}

#[test]
fn a_refused_room_command_reports_the_servers_words_table() {
    let table: &[(PhoneCommand, &str)] = &[
        (PhoneCommand::Hold, "hold"),
        (PhoneCommand::Resume, "resume"),
        (PhoneCommand::CancelTransfer, "cancel_transfer"),
        (PhoneCommand::CompleteTransfer, "complete_transfer"),
    ];
    for (cmd, name) in table {
        let mut rig = Rig::new();
        connected(&mut rig);
        rig.command(cmd.clone()).unwrap();
        let info = rig.sent_one(rsip::Method::Info);
        assert_eq!(body(&info)["command"], *name);
        rig.reply(
            &info,
            403,
            &[("Warning", "399 agentphone \"A listener cannot\"")],
        );
        let events = rig.events();
        assert!(
            matches!(events.as_slice(), [PhoneEvent::CommandFailed { command, code: 403, reason }]
                if command == name && reason == "A listener cannot"),
            "{name}: {events:?}"
        );
        // No answer at all: 408.
        rig.command(cmd.clone()).unwrap();
        let info = rig.sent_one(rsip::Method::Info);
        rig.time_out(&info);
        assert!(matches!(
            rig.events().as_slice(),
            [PhoneEvent::CommandFailed { code: 408, .. }]
        ));
    }
}

#[test]
fn mute_gates_my_audio_at_once_and_tells_the_room_table() {
    let mut rig = Rig::new();
    connected(&mut rig);
    for on in [true, false, true] {
        rig.command(PhoneCommand::Mute(on)).unwrap();
        assert!(
            rig.media().contains(&MediaOrder::Transmit(!on)),
            "mute {on}"
        );
        let info = rig.sent_one(rsip::Method::Info);
        assert_eq!(
            body(&info),
            serde_json::json!({"command": "mute", "on": on})
        );
        assert_eq!(rig.events(), [PhoneEvent::Mute { muted: on }]);
    }
}

#[test]
fn muted_while_ringing_the_room_learns_it_when_subscribed() {
    let mut rig = Rig::new();
    let (inv, tx) = ringing(&mut rig, &[]);
    rig.command(PhoneCommand::Mute(true)).unwrap();
    assert!(rig.sent().is_empty(), "no INFO before the answer");
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = super::rig::our_tag(&rig, tx);
    rig.request(super::rig::in_dialog(
        &inv,
        &tag,
        rsip::Method::Ack,
        1,
        &[],
        None,
    ));
    let sent = rig.sent();
    let info = sent
        .iter()
        .find(|s| s.request.method == rsip::Method::Info)
        .expect("the mute INFO");
    assert_eq!(
        body(info),
        serde_json::json!({"command": "mute", "on": true})
    );
}

#[test]
fn hold_in_a_direct_call_is_a_reinvite_table() {
    // (command, SDP direction offered, state after the 200)
    let table = [
        (PhoneCommand::Hold, "a=sendonly", CallState::Held),
        (PhoneCommand::Resume, "a=sendrecv", CallState::Connected),
    ];
    let mut rig = Rig::new();
    direct_call(&mut rig);
    for (cmd, direction, state) in table {
        rig.command(cmd.clone()).unwrap();
        let reinvite = rig.sent_one(rsip::Method::Invite);
        let sdp = String::from_utf8_lossy(&reinvite.request.body).to_string();
        assert!(sdp.contains(direction), "{cmd:?}: {sdp}");
        assert_eq!(
            rig.command(cmd.clone()),
            Err(PhoneError::Invalid(
                "a hold/resume is already under way".into()
            ))
        );
        let ok = response(
            &reinvite.request,
            200,
            &[],
            Some(("application/sdp", answer_to(&reinvite.request))),
        );
        rig.reply_with(&reinvite, ok);
        assert!(rig.effects.iter().any(|e| matches!(e, Effect::Ack { .. })));
        assert_eq!(state_events(&mut rig), [state], "{cmd:?}");
        rig.effects.clear();
    }
}

#[test]
fn a_refused_reinvite_keeps_or_ends_the_call_table() {
    // (code, call still there)
    for (code, alive) in [(491, true), (488, true), (481, false), (408, false)] {
        let mut rig = Rig::new();
        direct_call(&mut rig);
        rig.command(PhoneCommand::Hold).unwrap();
        let reinvite = rig.sent_one(rsip::Method::Invite);
        rig.reply(&reinvite, code, &[]);
        let events = rig.events();
        assert!(
            matches!(events.first(), Some(PhoneEvent::Error { .. })),
            "{code}: {events:?}"
        );
        assert_eq!(rig.engine.call.is_some(), alive, "{code}");
        if alive {
            assert!(!rig.engine.call.as_ref().is_some_and(|c| c.media.local_hold));
        }
    }
}

#[test]
fn dtmf_needs_a_connected_call_and_real_digits_table() {
    let mut rig = Rig::new();
    assert_eq!(
        rig.command(PhoneCommand::Dtmf("1".into())),
        Err(PhoneError::NotConnected)
    );
    connected(&mut rig);
    let table: &[(&str, bool)] = &[
        ("1", true),
        ("*#0", true),
        ("abcd", true),
        ("", false),
        ("12x", false),
        ("E", false),
    ];
    for &(digits, ok) in table {
        let result = rig.command(PhoneCommand::Dtmf(digits.into()));
        assert_eq!(result.is_ok(), ok, "{digits:?}");
        let orders = rig.media();
        assert_eq!(
            orders.iter().any(|o| matches!(o, MediaOrder::Dtmf(_))),
            ok,
            "{digits:?}"
        );
    }
}

#[test]
fn commands_on_a_call_that_is_not_connected_are_refused_table() {
    let table = [
        PhoneCommand::Hold,
        PhoneCommand::Resume,
        PhoneCommand::CancelTransfer,
        PhoneCommand::CompleteTransfer,
    ];
    for cmd in table {
        let mut rig = Rig::new();
        assert_eq!(rig.command(cmd.clone()), Err(PhoneError::NoCall), "{cmd:?}");
        ringing(&mut rig, &[]);
        assert_eq!(
            rig.command(cmd.clone()),
            Err(PhoneError::NotConnected),
            "{cmd:?} while ringing"
        );
    }
}
