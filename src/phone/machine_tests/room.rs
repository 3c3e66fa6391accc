//! Room state in virtual time: the subscription made after the answer, NOTIFYs reported as
//! `room` and `timeline` events, an older state overtaken on the way, a room that does not know
//! us yet, a state of a newer schema, the subscription ending with the call.

use std::time::Duration;

use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;

use super::incoming::ringing;
use super::rig::{in_dialog, our_tag, Rig, Sent};
use crate::phone::command::PhoneCommand;
use crate::phone::event::{CallState, PhoneEvent};

/// A room call answered and ACKed; the room SUBSCRIBE accepted. (INVITE, bob's tag, SUBSCRIBE)
fn subscribed(rig: &mut Rig) -> (rsip::Request, String, Sent) {
    let (inv, tx) = ringing(rig, &[]);
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = our_tag(rig, tx);
    rig.request(in_dialog(&inv, &tag, rsip::Method::Ack, 1, &[], None));
    let sub = rig.sent_one(rsip::Method::Subscribe);
    rig.reply(&sub, 200, &[("Expires", "3600")]);
    rig.effects.clear();
    (inv, tag, sub)
}

/// The room's NOTIFY with `state` (JSON) for subscription `sub`.
fn notify(rig: &mut Rig, sub: &Sent, cseq: u32, state: serde_json::Value) -> Vec<u16> {
    let msg = rsip::SipMessage::Request(sub.request.clone());
    let call_id = message::call_id(&msg).expect("SUBSCRIBE has a Call-ID");
    let our_tag = message::from_tag(&msg).expect("SUBSCRIBE has a From tag");
    let req = RequestBuilder::new(rsip::Method::Notify, "sip:bob@127.0.0.1:5070")
        .expect("constant URI")
        .from(None, "sip:room-7@127.0.0.1", "room")
        .to(None, "sip:bob@127.0.0.1", Some(&our_tag))
        .call_id(&call_id)
        .cseq(cseq)
        .contact("sip:room-7@127.0.0.1:5060")
        .header("Event", "agentphone-room")
        .header("Subscription-State", "active;expires=3600")
        .body(
            "application/vnd.agentphone.room+json",
            state.to_string().into_bytes(),
        )
        .build()
        .expect("a valid NOTIFY");
    let tx = rig.request(req);
    rig.responses(tx)
}

fn room(version: u64, held: bool, timeline: &[(&str, &str)]) -> serde_json::Value {
    serde_json::json!({
        "room": "7", "version": version, "max_participants": 3, "customer_held": held,
        "customer": {"display": "Sam Carter", "uri": "sip:customer@127.0.0.1"},
        "participants": [
            {"id": "L1", "role": "customer", "name": "Sam Carter",
             "state": if held { "held" } else { "connected" }, "muted": false},
            {"id": "L2", "role": "agent", "username": "bob", "name": "Bob Stone",
             "state": "connected", "muted": false}],
        "transfer": null,
        "timeline": timeline.iter().enumerate().map(|(i, (kind, text))|
            serde_json::json!({"at_ms": 1000 + i as u64, "kind": kind, "text": text}))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn each_room_state_is_reported_with_its_new_timeline_entries_table() {
    // (version, timeline, events reported)
    type Row<'a> = (u64, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let table: &[Row] = &[
        (1, &[("answered", "Answered by Bob")], &["room", "timeline"]),
        (
            3,
            &[
                ("answered", "Answered by Bob"),
                ("held", "Bob held"),
                ("resumed", "Bob resumed"),
            ],
            &["room", "timeline", "timeline"],
        ),
        // Overtaken on the way: older than what was reported.
        (
            2,
            &[("answered", "Answered by Bob"), ("held", "Bob held")],
            &[],
        ),
        (
            4,
            &[
                ("answered", "Answered by Bob"),
                ("held", "Bob held"),
                ("resumed", "Bob resumed"),
            ],
            &["room"],
        ),
    ];
    let mut rig = Rig::new();
    let (_, _, sub) = subscribed(&mut rig);
    for (i, &(version, timeline, names)) in table.iter().enumerate() {
        let codes = notify(
            &mut rig,
            &sub,
            10 + i as u32,
            room(version, false, timeline),
        );
        assert_eq!(codes, [200], "version {version}");
        assert_eq!(rig.event_names(), names, "version {version}");
    }
}

#[test]
fn someone_resuming_the_customer_i_held_shows_my_call_connected() {
    let mut rig = Rig::new();
    let (_, _, sub) = subscribed(&mut rig);
    rig.command(PhoneCommand::Hold).unwrap();
    let info = rig.sent_one(rsip::Method::Info);
    rig.reply(&info, 200, &[]);
    rig.events();
    notify(&mut rig, &sub, 10, room(5, true, &[]));
    assert_eq!(rig.event_names(), ["room"]);
    notify(&mut rig, &sub, 11, room(6, false, &[]));
    let events = rig.events();
    assert!(
        matches!(
            events.last(),
            Some(PhoneEvent::CallState {
                state: CallState::Connected,
                ..
            })
        ),
        "{events:?}"
    );
}

#[test]
fn a_notify_that_is_not_ours_or_not_json_is_refused_table() {
    let mut rig = Rig::new();
    let (_, _, sub) = subscribed(&mut rig);
    let mut stranger = sub.clone();
    if let Some(h) = stranger
        .request
        .headers
        .iter_mut()
        .find(|h| matches!(h, rsip::Header::CallId(_)))
    {
        *h = rsip::Header::CallId("someone-else".into());
    }
    assert_eq!(notify(&mut rig, &stranger, 10, room(1, false, &[])), [481]);
    let tx = rig.request({
        let msg = rsip::SipMessage::Request(sub.request.clone());
        RequestBuilder::new(rsip::Method::Notify, "sip:bob@127.0.0.1:5070")
            .expect("constant URI")
            .from(None, "sip:room-7@127.0.0.1", "room")
            .to(
                None,
                "sip:bob@127.0.0.1",
                message::from_tag(&msg).as_deref(),
            )
            .call_id(&message::call_id(&msg).unwrap_or_default())
            .cseq(11)
            .header("Event", "agentphone-room")
            .body(
                "application/vnd.agentphone.room+json",
                b"{not json".to_vec(),
            )
            .build()
            .expect("a valid NOTIFY")
    });
    assert_eq!(rig.responses(tx), [400]);
    assert!(rig.events().is_empty());
}

#[test]
fn a_room_that_does_not_know_us_yet_is_asked_again_a_few_times() {
    let mut rig = Rig::new();
    let (inv, tx) = ringing(&mut rig, &[]);
    rig.command(PhoneCommand::Answer).unwrap();
    let tag = our_tag(&rig, tx);
    rig.request(in_dialog(&inv, &tag, rsip::Method::Ack, 1, &[], None));
    let mut sub = rig.sent_one(rsip::Method::Subscribe);
    for _ in 0..4 {
        rig.reply(&sub, 404, &[]);
        assert!(rig.sent().is_empty());
        rig.advance(Duration::from_millis(500));
        sub = rig.sent_one(rsip::Method::Subscribe);
    }
    rig.events();
    rig.reply(&sub, 404, &[]);
    rig.advance(Duration::from_secs(5));
    assert!(rig
        .sent()
        .iter()
        .all(|s| s.request.method != rsip::Method::Subscribe));
}

#[test]
fn the_room_subscription_is_refreshed_and_ends_with_the_call() {
    let mut rig = Rig::new();
    let (inv, tag, _) = subscribed(&mut rig);
    rig.advance(Duration::from_secs(2700));
    let refresh = rig.sent_one(rsip::Method::Subscribe);
    assert_eq!(refresh.header("Expires").as_deref(), Some("3600"));
    rig.reply(&refresh, 200, &[("Expires", "3600")]);
    let bye = rig.request(in_dialog(&inv, &tag, rsip::Method::Bye, 5, &[], None));
    assert_eq!(rig.responses(bye), [200]);
    // The room's subscription ends; (the history fetch that follows the call is history.rs's).
    let unsub: Vec<Sent> = rig
        .sent()
        .into_iter()
        .filter(|s| s.header("Event").as_deref() == Some("agentphone-room"))
        .collect();
    assert_eq!(unsub.len(), 1);
    assert_eq!(unsub[0].header("Expires").as_deref(), Some("0"));
}

#[test]
fn a_room_state_of_a_newer_schema_is_answered_kept_out_and_told_once_table() {
    // (schema, version, events reported)
    let table: &[(u32, u64, &[&str])] = &[
        (1, 1, &["room", "timeline"]),
        // Answered 200 (the subscription is fine); the last state stays; the user is told.
        (3, 2, &["error"]),
        // Told once per subscription.
        (3, 3, &[]),
        (1, 4, &["room"]),
    ];
    let mut rig = Rig::new();
    let (_, _, sub) = subscribed(&mut rig);
    for (i, &(schema, version, names)) in table.iter().enumerate() {
        let mut state = room(version, false, &[("answered", "Answered by Bob")]);
        state["schema"] = serde_json::json!(schema);
        let codes = notify(&mut rig, &sub, 10 + i as u32, state);
        assert_eq!(codes, [200], "schema {schema}, version {version}");
        assert_eq!(
            rig.event_names(),
            names,
            "schema {schema}, version {version}"
        );
    }
}
