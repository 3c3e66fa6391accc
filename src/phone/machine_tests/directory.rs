//! The directory subscriptions in virtual time: my own entry held while registered, the whole
//! directory only while watched (`Expires: 0` when it stops), deltas applied to the state kept,
//! parts put together, and a gap answered by a new subscription.

use agentphone_protocol::directory_parts::encode;
use agentphone_protocol::{AgentStatus, DirectoryAgent, DirectoryState, DirectoryTeam};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;

use super::registration::registered;
use super::rig::{Rig, Sent};
use crate::phone::command::PhoneCommand;
use crate::phone::event::PhoneEvent;

fn agent(user: &str, status: AgentStatus) -> DirectoryAgent {
    DirectoryAgent {
        username: user.into(),
        display_name: format!("{user} with a long display name"),
        status,
        teams: vec!["support".into()],
        idle_since_ms: Some(1_795_613_338_622),
        away_reason: None,
        wrap_up_until_ms: None,
        status_since_ms: None,
    }
}

/// `n` agents: alice (available), then u001… (offline).
fn whole(version: u64, n: usize) -> DirectoryState {
    let mut agents = vec![agent("alice", AgentStatus::Available)];
    agents.extend((1..n).map(|i| agent(&format!("u{i:03}"), AgentStatus::Offline)));
    let team = DirectoryTeam {
        name: "support".into(),
        members: agents.iter().map(|a| a.username.clone()).collect(),
        available: 1,
        active: 1,
        inbound: None,
    };
    DirectoryState::new(version, agents, vec![team])
}

/// NOTIFY `body` in subscription `sub`; the codes answered.
fn notify(rig: &mut Rig, sub: &Sent, cseq: u32, body: Vec<u8>) -> Vec<u16> {
    let msg = rsip::SipMessage::Request(sub.request.clone());
    let call_id = message::call_id(&msg).expect("SUBSCRIBE has a Call-ID");
    let our_tag = message::from_tag(&msg).expect("SUBSCRIBE has a From tag");
    let req = RequestBuilder::new(rsip::Method::Notify, "sip:alice@127.0.0.1:5070")
        .expect("constant URI")
        .from(None, "sip:directory@127.0.0.1", "dir")
        .to(None, "sip:alice@127.0.0.1", Some(&our_tag))
        .call_id(&call_id)
        .cseq(cseq)
        .contact("sip:directory@127.0.0.1:5060")
        .header("Event", "agentphone-directory")
        .header("Subscription-State", "active;expires=600")
        .body("application/vnd.agentphone.directory+json", body)
        .build()
        .expect("a valid NOTIFY");
    let tx = rig.request(req);
    rig.responses(tx)
}

/// The directory SUBSCRIBEs sent since the last look (the history fetch aside).
fn subscribes(rig: &mut Rig) -> Vec<Sent> {
    rig.sent()
        .into_iter()
        .filter(|s| s.request.method == rsip::Method::Subscribe)
        .filter(|s| s.header("Event").is_some_and(|e| e.starts_with(ALL)))
        .collect()
}

/// (Event header, Expires) of each SUBSCRIBE.
fn shape(subs: &[Sent]) -> Vec<(String, String)> {
    subs.iter()
        .map(|s| {
            (
                s.header("Event").unwrap_or_default(),
                s.header("Expires").unwrap_or_default(),
            )
        })
        .collect()
}

const OWN: &str = "agentphone-directory;scope=self";
const ALL: &str = "agentphone-directory";

/// What is subscribed as the modal opens and closes, before and after registering.
#[test]
fn the_directory_is_subscribed_only_while_watched_and_my_own_entry_always() {
    let mut rig = Rig::new();
    // Watching before registering: subscribed once registered.
    rig.command(PhoneCommand::WatchDirectory(true)).unwrap();
    assert!(subscribes(&mut rig).is_empty(), "not registered yet");
    rig.command(PhoneCommand::Register).unwrap();
    let reg = rig.sent_one(rsip::Method::Register);
    rig.reply(&reg, 200, &[("Expires", "300")]);
    let s = |e: &str, x: &str| (e.to_string(), x.to_string());
    // (command, SUBSCRIBEs it sends: Event, Expires)
    type Row = (Option<bool>, Vec<(String, String)>);
    let table: Vec<Row> = vec![
        (None, vec![s(OWN, "600"), s(ALL, "600")]),
        (Some(false), vec![s(ALL, "0")]),
        (Some(false), vec![]),
        (Some(true), vec![s(ALL, "600")]),
        (Some(true), vec![]),
        (Some(false), vec![s(ALL, "0")]),
    ];
    for (i, (cmd, want)) in table.into_iter().enumerate() {
        if let Some(on) = cmd {
            rig.command(PhoneCommand::WatchDirectory(on)).unwrap();
        }
        let sent = subscribes(&mut rig);
        assert_eq!(shape(&sent), want, "row {i}: {cmd:?}");
        // The server accepts each at once (one that is not yet accepted: the next test).
        for sub in &sent {
            rig.reply(sub, 200, &[("Expires", "600")]);
        }
    }
    // Not watching: a new registration holds my own entry only.
    let mut rig = Rig::new();
    rig.command(PhoneCommand::Register).unwrap();
    let reg = rig.sent_one(rsip::Method::Register);
    rig.reply(&reg, 200, &[("Expires", "300")]);
    assert_eq!(shape(&subscribes(&mut rig)), [s(OWN, "600")]);
}

/// The modal closes before the server accepted its SUBSCRIBE: an `Expires: 0` without the
/// server's tag would be a subscription of its own and leave this one running (a race the
/// headless `directory on|off` test lost once in a while). Nothing goes out until the 2xx; then
/// the `Expires: 0` goes in the dialog the 2xx made, and the last NOTIFY is answered 200.
#[test]
fn a_directory_closed_before_the_server_accepted_is_ended_in_its_dialog() {
    let mut rig = Rig::new();
    registered(&mut rig, "300");
    rig.sent();
    rig.command(PhoneCommand::WatchDirectory(true)).unwrap();
    let sub = rig.sent_one(rsip::Method::Subscribe);
    rig.command(PhoneCommand::WatchDirectory(false)).unwrap();
    assert!(
        subscribes(&mut rig).is_empty(),
        "no dialog yet: nothing to end it in"
    );
    rig.reply(&sub, 200, &[("Expires", "600")]);
    let ended = subscribes(&mut rig);
    assert_eq!(shape(&ended), [(ALL.to_string(), "0".to_string())]);
    let first = rsip::SipMessage::Request(sub.request.clone());
    let last = rsip::SipMessage::Request(ended[0].request.clone());
    assert_eq!(message::call_id(&last), message::call_id(&first));
    assert_eq!(message::from_tag(&last), message::from_tag(&first));
    assert_eq!(
        message::to_tag(&last).as_deref(),
        Some("srv"),
        "in the dialog"
    );
    assert_eq!(
        notify(&mut rig, &sub, 1, encode(&whole(1, 3), 60_000)[0].clone()),
        [200]
    );
    // A closed modal whose SUBSCRIBE is refused or never answered leaves nothing to end.
    rig.command(PhoneCommand::WatchDirectory(true)).unwrap();
    let sub = rig.sent_one(rsip::Method::Subscribe);
    rig.command(PhoneCommand::WatchDirectory(false)).unwrap();
    rig.reply(&sub, 403, &[]);
    assert!(subscribes(&mut rig).is_empty());
}

/// The whole state, deltas that follow it, a delta from elsewhere (a gap: subscribe again), a
/// state in parts: each step's directory as the engine reports it.
#[test]
fn deltas_are_applied_parts_put_together_and_a_gap_makes_a_new_subscription() {
    let mut rig = Rig::new();
    rig.command(PhoneCommand::WatchDirectory(true)).unwrap();
    registered(&mut rig, "300"); // takes the SUBSCRIBEs out
    rig.command(PhoneCommand::WatchDirectory(false)).unwrap();
    rig.sent();
    rig.command(PhoneCommand::WatchDirectory(true)).unwrap();
    let sub = rig.sent_one(rsip::Method::Subscribe);
    rig.reply(&sub, 200, &[("Expires", "600")]);
    let status_of = |rig: &Rig, user: &str| {
        rig.engine
            .view()
            .directory
            .agents
            .iter()
            .find(|a| a.username == user)
            .map(|a| a.status)
    };
    let body = |d: &DirectoryState| serde_json::to_vec(d).unwrap_or_default();
    // The whole state.
    assert_eq!(notify(&mut rig, &sub, 1, body(&whole(5, 3))), [200]);
    assert_eq!(rig.event_names(), ["directory"]);
    assert_eq!(status_of(&rig, "u001"), Some(AgentStatus::Offline));
    // A delta from 5: u001 is on a call now; the rest stays.
    let d = DirectoryState::delta(5, 6, vec![agent("u001", AgentStatus::OnCall)], Vec::new());
    assert_eq!(notify(&mut rig, &sub, 2, body(&d)), [200]);
    let events = rig.events();
    match events.as_slice() {
        [PhoneEvent::Directory {
            version, agents, ..
        }] => assert_eq!((*version, agents.len()), (6, 3)),
        other => panic!("{other:?}"),
    }
    assert_eq!(status_of(&rig, "u001"), Some(AgentStatus::OnCall));
    assert_eq!(status_of(&rig, "alice"), Some(AgentStatus::Available));
    assert_eq!(rig.engine.view().directory.teams[0].members.len(), 3);
    // A delta from 8 (7 and 8 never came): nothing applied, a new subscription.
    let d = DirectoryState::delta(8, 9, vec![agent("u002", AgentStatus::Away)], Vec::new());
    assert_eq!(notify(&mut rig, &sub, 3, body(&d)), [200]);
    assert!(rig.event_names().is_empty());
    assert_eq!(status_of(&rig, "u002"), Some(AgentStatus::Offline));
    let again = subscribes(&mut rig);
    assert_eq!(
        shape(&again),
        [
            (ALL.to_string(), "0".to_string()),
            (ALL.to_string(), "600".to_string())
        ],
        "the old one ended, a new one made"
    );
    let sub = again[1].clone();
    rig.reply(&sub, 200, &[("Expires", "600")]);
    // The new subscription's whole state, 600 agents in parts: one report once all are in.
    let parts = encode(&whole(9, 600), 800);
    assert!(parts.len() > 10);
    for (i, part) in parts.into_iter().enumerate().rev() {
        assert_eq!(notify(&mut rig, &sub, 1 + i as u32, part), [200]);
    }
    assert_eq!(rig.event_names(), ["directory"]);
    assert_eq!(rig.engine.view().directory.agents.len(), 600);
    assert_eq!(rig.engine.view().directory.teams[0].members.len(), 600);
}

/// My own entry comes as `me` events and is what `PhoneView::me` shows, whether or not the
/// whole directory is watched.
#[test]
fn my_own_entry_is_my_state() {
    let mut rig = Rig::new();
    rig.command(PhoneCommand::Register).unwrap();
    let reg = rig.sent_one(rsip::Method::Register);
    rig.reply(&reg, 200, &[("Expires", "300")]);
    let own = subscribes(&mut rig).remove(0);
    rig.reply(&own, 200, &[("Expires", "600")]);
    rig.events();
    let user = rig.engine.view().user.clone();
    let mut first = DirectoryState::new(3, vec![agent(&user, AgentStatus::Available)], vec![]);
    first.away_reasons = vec!["lunch".into()];
    first.ring_timeout_s = Some(15);
    let body = |d: &DirectoryState| serde_json::to_vec(d).unwrap_or_default();
    assert_eq!(notify(&mut rig, &own, 1, body(&first)), [200]);
    assert_eq!(rig.event_names(), ["me"]);
    let mut away = agent(&user, AgentStatus::Away);
    away.away_reason = Some("lunch".into());
    let d = DirectoryState::delta(3, 7, vec![away], Vec::new());
    assert_eq!(notify(&mut rig, &own, 2, body(&d)), [200]);
    assert_eq!(rig.event_names(), ["me"]);
    let view = rig.engine.view();
    let me = view.me().map(|m| (m.status, m.away_reason.clone()));
    assert_eq!(me, Some((AgentStatus::Away, Some("lunch".into()))));
    assert_eq!(
        view.directory.away_reasons,
        ["lunch"],
        "kept from the first"
    );
    assert_eq!(view.directory.ring_timeout_s, Some(15));
    assert!(
        view.directory.agents.is_empty(),
        "the directory is not watched"
    );
}
