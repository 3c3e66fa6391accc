//! Registration in virtual time: challenge, refusal, refresh before expiry, backoff while the
//! server is gone, registering again (and what follows it: voice, directory).

use std::time::Duration;

use agentphone_sip::auth::{Algorithm, Challenge};
use agentphone_sip::rsip;

use super::rig::{Rig, Sent};
use crate::phone::command::{PhoneCommand, PhoneError};
use crate::phone::event::PhoneEvent;

fn challenge(stale: bool) -> String {
    Challenge {
        realm: "agentphone".into(),
        nonce: format!("nonce-{stale}"),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale,
    }
    .to_header_value()
}

/// Register and let the server accept (`Expires: expires`).
pub fn registered(rig: &mut Rig, expires: &str) {
    rig.command(PhoneCommand::Register)
        .expect("register is accepted");
    let reg = rig.sent_one(rsip::Method::Register);
    rig.reply(&reg, 200, &[("Expires", expires)]);
    assert!(rig.event_names().contains(&"registered"));
    rig.sent(); // the directory SUBSCRIBE
}

fn register_sent(rig: &mut Rig) -> Sent {
    rig.sent_one(rsip::Method::Register)
}

#[test]
fn final_answers_to_register_table() {
    // (code, events, whether a retry is scheduled)
    let table: &[(u16, &[&str], bool)] = &[
        (200, &["registered"], true),
        (202, &["registered"], true),
        (400, &["registration_failed"], false),
        (403, &["registration_failed"], false),
        (404, &["registration_failed"], false),
        (480, &["registration_failed"], false),
        (500, &["registration_failed", "offline"], true),
        (503, &["registration_failed", "offline"], true),
        (504, &["registration_failed", "offline"], true),
        (603, &["registration_failed"], false),
    ];
    for &(code, events, retry) in table {
        let mut rig = Rig::new();
        rig.command(PhoneCommand::Register).unwrap();
        let reg = register_sent(&mut rig);
        assert_eq!(reg.header("Expires").as_deref(), Some("300"), "{code}");
        rig.reply(&reg, code, &[]);
        assert_eq!(rig.event_names(), events, "answer {code}");
        assert_eq!(
            rig.engine.reg.deadline().is_some(),
            retry,
            "answer {code}: retry or refresh scheduled"
        );
    }
}

#[test]
fn a_challenge_is_answered_once_and_a_second_refuses() {
    let mut rig = Rig::new();
    rig.command(PhoneCommand::Register).unwrap();
    let first = register_sent(&mut rig);
    assert!(first.header("Authorization").is_none());
    let ch = challenge(false);
    rig.reply(&first, 401, &[("WWW-Authenticate", &ch)]);
    let second = register_sent(&mut rig);
    assert!(second.header("Authorization").is_some(), "credentials sent");
    rig.reply(&second, 401, &[("WWW-Authenticate", &ch)]);
    assert!(rig.sent().is_empty(), "no third attempt");
    let events = rig.events();
    assert!(
        matches!(
            events.as_slice(),
            [PhoneEvent::RegistrationFailed { code: 401, .. }]
        ),
        "{events:?}"
    );
}

#[test]
fn a_stale_nonce_is_answered_again_then_registered() {
    let mut rig = Rig::new();
    rig.command(PhoneCommand::Register).unwrap();
    let first = register_sent(&mut rig);
    rig.reply(&first, 401, &[("WWW-Authenticate", &challenge(false))]);
    let second = register_sent(&mut rig);
    rig.reply(&second, 401, &[("WWW-Authenticate", &challenge(true))]);
    let third = register_sent(&mut rig);
    assert!(third.header("Authorization").is_some());
    rig.reply(&third, 200, &[("Expires", "300")]);
    assert_eq!(rig.event_names(), ["registered"]);
}

#[test]
fn a_proxy_challenge_gets_proxy_credentials() {
    let mut rig = Rig::new();
    rig.command(PhoneCommand::Register).unwrap();
    let first = register_sent(&mut rig);
    rig.reply(&first, 407, &[("Proxy-Authenticate", &challenge(false))]);
    let second = register_sent(&mut rig);
    assert!(second.header("Proxy-Authorization").is_some());
}

#[test]
fn without_a_password_a_challenge_is_a_refusal() {
    let mut rig = Rig::with(|c| c.password = None);
    rig.command(PhoneCommand::Register).unwrap();
    let first = register_sent(&mut rig);
    rig.reply(&first, 401, &[("WWW-Authenticate", &challenge(false))]);
    assert!(rig.sent().is_empty());
    assert_eq!(rig.event_names(), ["registration_failed"]);
}

#[test]
fn refresh_comes_before_expiry_table() {
    // (granted Expires, when the refresh is due): three quarters, at most 30 s, at least 1 s.
    let table: &[(&str, u64)] = &[
        ("300", 30_000),
        ("3600", 30_000),
        ("40", 30_000),
        ("20", 15_000),
        ("4", 3_000),
        ("1", 1_000),
    ];
    for &(expires, due_ms) in table {
        let mut rig = Rig::new();
        registered(&mut rig, expires);
        rig.advance(Duration::from_millis(due_ms - 1));
        assert!(
            rig.sent()
                .iter()
                .all(|s| s.request.method != rsip::Method::Register),
            "Expires {expires}: no refresh before {due_ms} ms"
        );
        rig.advance(Duration::from_millis(1));
        let refresh = register_sent(&mut rig);
        assert_eq!(refresh.header("Expires").as_deref(), Some("300"));
        rig.reply(&refresh, 200, &[("Expires", expires)]);
        assert!(
            rig.event_names().is_empty(),
            "Expires {expires}: a refresh announces nothing"
        );
    }
}

#[test]
fn backoff_doubles_up_to_thirty_seconds_while_the_server_is_gone() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    rig.advance(Duration::from_secs(30));
    let refresh = register_sent(&mut rig);
    rig.time_out(&refresh);
    let events = rig.events();
    assert!(
        matches!(
            events.as_slice(),
            [
                PhoneEvent::RegistrationFailed { code: 408, .. },
                PhoneEvent::Offline { retry_in_s: 1 }
            ]
        ),
        "{events:?}"
    );
    for expected in [2, 4, 8, 16, 30, 30] {
        let wait = rig.engine.reg.deadline().expect("a retry is scheduled") - rig.now;
        rig.advance(wait - Duration::from_millis(1));
        assert!(rig.sent().is_empty(), "no retry early");
        rig.advance(Duration::from_millis(1));
        let retry = register_sent(&mut rig);
        rig.time_out(&retry);
        let events = rig.events();
        assert!(
            matches!(events.as_slice(), [PhoneEvent::Offline { retry_in_s }] if *retry_in_s == expected),
            "retry in {expected}: {events:?}"
        );
    }
}

#[test]
fn back_online_registers_republishes_voice_and_subscribes_again() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    rig.command(PhoneCommand::SetVoice(true)).unwrap();
    let publish = rig.sent_one(rsip::Method::Publish);
    rig.reply(&publish, 200, &[("Expires", "3600")]);
    assert_eq!(rig.event_names(), ["voice"]);
    rig.advance(Duration::from_secs(30));
    let refresh = register_sent(&mut rig);
    rig.time_out(&refresh);
    rig.events();
    rig.advance(Duration::from_secs(1));
    let retry = register_sent(&mut rig);
    rig.reply(&retry, 200, &[("Expires", "300")]);
    assert_eq!(rig.event_names(), ["registered"]);
    let methods: Vec<rsip::Method> = rig.sent().iter().map(|s| s.request.method).collect();
    assert!(methods.contains(&rsip::Method::Publish), "{methods:?}");
    assert!(methods.contains(&rsip::Method::Subscribe), "{methods:?}");
}

#[test]
fn unregister_asks_for_zero_and_reports_even_when_the_server_is_gone() {
    for answered in [true, false] {
        let mut rig = Rig::new();
        registered(&mut rig, "300");
        rig.command(PhoneCommand::Unregister).unwrap();
        let sent = rig.sent();
        let unreg = sent
            .iter()
            .find(|s| s.request.method == rsip::Method::Register)
            .expect("REGISTER sent");
        assert_eq!(unreg.header("Expires").as_deref(), Some("0"));
        if answered {
            rig.reply(unreg, 200, &[]);
        } else {
            rig.time_out(unreg);
        }
        assert_eq!(rig.event_names(), ["unregistered"], "answered: {answered}");
        assert_eq!(
            rig.engine.reg.deadline(),
            None,
            "no refresh after unregister"
        );
    }
}

#[test]
fn a_refresh_answered_after_unregister_changes_nothing() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    rig.advance(Duration::from_secs(30));
    let refresh = register_sent(&mut rig);
    rig.command(PhoneCommand::Unregister).unwrap();
    rig.sent();
    rig.reply(&refresh, 200, &[("Expires", "300")]);
    assert!(rig.event_names().is_empty());
    assert_eq!(rig.engine.reg.deadline(), None);
}

#[test]
fn commands_that_need_a_server_are_refused_without_one() {
    for cmd in [
        PhoneCommand::Register,
        PhoneCommand::Unregister,
        PhoneCommand::SetVoice(true),
    ] {
        let mut rig = Rig::with(|c| c.server = None);
        assert_eq!(
            rig.command(cmd.clone()),
            Err(PhoneError::NoServer),
            "{cmd:?}"
        );
        assert!(rig.sent().is_empty());
    }
}
