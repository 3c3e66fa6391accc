//! The call history and dispositions in virtual time (issue 10): the fetch after registering
//! (SUBSCRIBE `Expires: 0`, one NOTIFY back reported as `history`), a second fetch asked for while
//! one is under way, the fetch after a room call ends — only once the server answered my BYE —
//! and the disposition MESSAGE with its refusals.

use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;

use super::incoming::ringing;
use super::rig::{in_dialog, our_tag, Rig, Sent};
use crate::phone::command::PhoneCommand;
use crate::phone::event::PhoneEvent;
use crate::phone::transactions::Purpose;

/// The history fetches among `sent`.
fn fetches(sent: &[Sent]) -> Vec<Sent> {
    sent.iter()
        .filter(|s| {
            s.request.method == rsip::Method::Subscribe
                && s.header("Event").as_deref() == Some("agentphone-history")
        })
        .cloned()
        .collect()
}

/// The server's one NOTIFY for fetch `sub` with `calls`; the phone's answer codes.
fn notify(rig: &mut Rig, sub: &Sent, calls: serde_json::Value) -> Vec<u16> {
    let msg = rsip::SipMessage::Request(sub.request.clone());
    let call_id = message::call_id(&msg).expect("SUBSCRIBE has a Call-ID");
    let our_tag = message::from_tag(&msg).expect("SUBSCRIBE has a From tag");
    let body = serde_json::json!({"schema": 1, "agent": "bob", "codes": ["resolved", "callback"],
                                  "calls": calls});
    let req = RequestBuilder::new(rsip::Method::Notify, "sip:bob@127.0.0.1:5070")
        .expect("constant URI")
        .from(None, "sip:history@127.0.0.1", "srv")
        .to(None, "sip:bob@127.0.0.1", Some(&our_tag))
        .call_id(&call_id)
        .cseq(1)
        .contact("sip:agentphone@127.0.0.1:5060")
        .header("Event", "agentphone-history")
        .header("Subscription-State", "terminated;reason=timeout")
        .body(
            "application/vnd.agentphone.history+json",
            body.to_string().into_bytes(),
        )
        .build()
        .expect("a valid NOTIFY");
    let tx = rig.request(req);
    rig.responses(tx)
}

fn one_call() -> serde_json::Value {
    serde_json::json!([{"call": "c1", "at_ms": 5, "customer": "Sam Carter", "team": "support",
                        "duration_s": 83, "transfers": 0, "outcome": "completed"}])
}

/// bob registered; the fetch that follows, not answered yet.
fn registered_with_fetch(rig: &mut Rig) -> Sent {
    rig.command(PhoneCommand::Register).expect("register");
    let reg = rig.sent_one(rsip::Method::Register);
    rig.reply(&reg, 200, &[("Expires", "300")]);
    let sent = rig.sent();
    let mut fetch = fetches(&sent);
    assert_eq!(fetch.len(), 1, "one fetch after registering: {sent:?}");
    fetch.remove(0)
}

/// bob registered and the fetch that followed is over.
fn registered_and_fetched(rig: &mut Rig) {
    let fetch = registered_with_fetch(rig);
    rig.reply(&fetch, 200, &[("Expires", "0")]);
    notify(rig, &fetch, one_call());
    rig.effects.clear();
}

#[test]
fn the_history_is_fetched_after_registering_and_reported() {
    let mut rig = Rig::new();
    let fetch = registered_with_fetch(&mut rig);
    assert_eq!(fetch.request.uri.to_string(), "sip:history@127.0.0.1");
    assert_eq!(fetch.header("Expires").as_deref(), Some("0"));
    assert_eq!(
        fetch.header("Accept").as_deref(),
        Some("application/vnd.agentphone.history+json")
    );
    rig.reply(&fetch, 200, &[("Expires", "0")]);
    rig.events();
    assert_eq!(notify(&mut rig, &fetch, one_call()), [200]);
    let history = rig.events().into_iter().find_map(|e| match e {
        PhoneEvent::History { codes, calls } => Some((codes, calls)),
        _ => None,
    });
    let (codes, calls) = history.expect("a history event");
    assert_eq!(codes, ["resolved", "callback"]);
    assert_eq!(calls[0].customer, "Sam Carter");
    assert_eq!(
        rig.engine.view().history.as_ref().map(|h| h.calls.len()),
        Some(1)
    );
    // A fetch has nothing to refresh.
    rig.advance(std::time::Duration::from_secs(3600));
    assert!(fetches(&rig.sent()).is_empty());
}

#[test]
fn a_fetch_asked_for_during_one_follows_it_once() {
    let mut rig = Rig::new();
    let first = registered_with_fetch(&mut rig);
    rig.command(PhoneCommand::FetchHistory).expect("fetch");
    rig.command(PhoneCommand::FetchHistory).expect("fetch");
    assert!(
        fetches(&rig.sent()).is_empty(),
        "not while one is under way"
    );
    rig.reply(&first, 200, &[("Expires", "0")]);
    notify(&mut rig, &first, one_call());
    let next = fetches(&rig.sent());
    assert_eq!(next.len(), 1, "the one asked for meanwhile");
    // A fetch that fails for good is over too.
    rig.reply(&next[0], 489, &[]);
    rig.command(PhoneCommand::FetchHistory).expect("fetch");
    assert_eq!(fetches(&rig.sent()).len(), 1);
}

/// bob, registered and fetched, answered a call from a room; its INVITE and bob's tag.
fn in_a_room_call(rig: &mut Rig) -> (rsip::Request, String) {
    registered_and_fetched(rig);
    let (inv, tx) = ringing(rig, &[]);
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = our_tag(rig, tx);
    rig.request(in_dialog(&inv, &tag, rsip::Method::Ack, 1, &[], None));
    rig.sent();
    (inv, tag)
}

#[test]
fn a_room_call_i_hang_up_is_fetched_once_the_server_answered_the_bye() {
    let mut rig = Rig::new();
    in_a_room_call(&mut rig);
    rig.command(PhoneCommand::Hangup).unwrap();
    let bye = rig.sent_one(rsip::Method::Bye);
    assert_eq!(bye.purpose, Purpose::Hangup { in_room: true });
    assert!(rig.sent().is_empty(), "no fetch before the server answered");
    rig.reply(&bye, 200, &[]);
    assert_eq!(fetches(&rig.sent()).len(), 1);
}

#[test]
fn a_room_call_the_server_hangs_up_is_fetched_at_once() {
    let mut rig = Rig::new();
    let (inv, tag) = in_a_room_call(&mut rig);
    let bye = in_dialog(&inv, &tag, rsip::Method::Bye, 2, &[], None);
    let tx = rig.request(bye);
    assert_eq!(rig.responses(tx), [200]);
    assert_eq!(fetches(&rig.sent()).len(), 1);
}

#[test]
fn a_disposition_is_a_message_and_its_refusal_is_reported_table() {
    // (server's answer, events, a fetch follows)
    let table: &[(u16, &[&str], bool)] = &[
        (200, &[], true),
        (488, &["command_failed"], false),
        (404, &["command_failed"], false),
    ];
    for &(code, events, fetch) in table {
        let mut rig = Rig::new();
        registered_and_fetched(&mut rig);
        rig.command(PhoneCommand::SetDisposition {
            code: "wrong number".into(),
            note: Some("asked for sales".into()),
        })
        .expect("accepted");
        let msg = rig.sent_one(rsip::Method::Message);
        assert_eq!(msg.request.uri.to_string(), "sip:history@127.0.0.1");
        assert_eq!(
            msg.header("Content-Type").as_deref(),
            Some("application/vnd.agentphone.disposition+json")
        );
        let body: serde_json::Value = serde_json::from_slice(&msg.request.body).expect("JSON body");
        assert_eq!(
            body,
            serde_json::json!({"code": "wrong number", "note": "asked for sales"})
        );
        rig.events();
        rig.reply(&msg, code, &[("Warning", "399 agentphone \"not here\"")]);
        assert_eq!(rig.event_names(), events, "{code}");
        assert_eq!(fetches(&rig.sent()).len(), usize::from(fetch), "{code}");
    }
}
