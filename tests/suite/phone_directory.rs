//! The directory subscriptions of the Phone engine against a scripted server: my own entry and
//! (while watched) the whole directory subscribed after registering (with credentials), refreshed
//! in their dialog, NOTIFYs reported in version order, ended on unregister, made again when the
//! server made us register again.

use std::time::Duration;

use crate::phone_support::*;
use agentphone::phone::{AgentStatus, PhoneCommand, PhoneEvent};
use agentphone_sip::auth::{Credentials, NonceIssuer};
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::rsip;
use serde_json::json;

#[tokio::test]
async fn directory_is_subscribed_after_register_refreshed_notified_and_ended_on_unregister() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, _) = phone(server.addr(), Some("secret")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));

    // Watched (a transfer modal open) before registering: subscribed once registered.
    handle
        .command(PhoneCommand::WatchDirectory(true))
        .await
        .unwrap();
    handle.command(PhoneCommand::Register).await.unwrap();
    let reg = server.expect(rsip::Method::Register).await;
    reg.respond(with_challenge(&reg.request, &issuer))
        .await
        .unwrap();
    let reg = server.expect(rsip::Method::Register).await;
    server.reply(&reg, 200, "OK", Some("srv")).await;
    events
        .next(|e| matches!(e, PhoneEvent::Registered { .. }))
        .await;

    // My own entry first (held while registered), then the whole directory.
    let own = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(
        header(&own.request, "Event").as_deref(),
        Some("agentphone-directory;scope=self")
    );
    let own = accept_subscribe(&server, &own, 600).await;
    let sub = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(sub.request.uri.to_string(), "sip:directory@127.0.0.1");
    assert_eq!(
        header(&sub.request, "Event").as_deref(),
        Some("agentphone-directory")
    );
    assert_eq!(
        header(&sub.request, "Accept").as_deref(),
        Some("application/vnd.agentphone.directory+json")
    );
    assert_eq!(header(&sub.request, "Expires").as_deref(), Some("600"));
    let creds =
        Credentials::parse(&header(&sub.request, "Authorization").expect("credentials")).unwrap();
    assert!(creds.verify("SUBSCRIBE", "secret"));
    // A short grant: the refresh comes in the dialog at three quarters of it.
    let mut notifier = accept_subscribe(&server, &sub, 2).await;
    let to_phone = sub.peer;
    let ctype = "application/vnd.agentphone.directory+json";
    let directory = |version: u64, bob: &str| {
        json!({"version": version,
            "agents": [{"username": "bob", "display_name": "Bob Stone", "status": bob,
                        "teams": ["support"], "idle_since_ms": 1_795_613_338_622u64}],
            "teams": [{"name": "support", "members": ["alice", "bob"], "available": 1,
                       "active": 2, "inbound": "support"}]})
        .to_string()
    };
    let req = notify(
        &mut notifier,
        "agentphone-directory",
        "active;expires=2",
        ctype,
        &directory(2, "available"),
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let PhoneEvent::Directory {
        version,
        agents,
        teams,
        ..
    } = events
        .next(|e| matches!(e, PhoneEvent::Directory { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(version, 2);
    assert_eq!(agents[0].status, AgentStatus::Available);
    assert_eq!(teams[0].available, 1);
    // Older than what we have: answered, not reported; the next newer one is.
    let req = notify(
        &mut notifier,
        "agentphone-directory",
        "active;expires=2",
        ctype,
        &directory(1, "offline"),
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let req = notify(
        &mut notifier,
        "agentphone-directory",
        "active;expires=2",
        ctype,
        &directory(3, "on_call"),
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let PhoneEvent::Directory {
        version, agents, ..
    } = events
        .next(|e| matches!(e, PhoneEvent::Directory { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!((version, agents[0].status), (3, AgentStatus::OnCall));
    // A document of a newer schema: answered 200 (the subscription is fine), not reported as
    // state; the user is told to update.
    let mut too_new: serde_json::Value = serde_json::from_str(&directory(4, "offline")).unwrap();
    too_new["schema"] = json!(3);
    let req = notify(
        &mut notifier,
        "agentphone-directory",
        "active;expires=2",
        ctype,
        &too_new.to_string(),
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let PhoneEvent::Error { message } =
        events.next(|e| matches!(e, PhoneEvent::Error { .. })).await
    else {
        unreachable!()
    };
    assert!(message.contains("newer"), "{message}");
    let req = notify(
        &mut notifier,
        "agentphone-directory",
        "active;expires=2",
        ctype,
        &directory(5, "available"),
    );
    assert_eq!(server.send_to(req, to_phone).await, 200);
    let PhoneEvent::Directory { version, .. } = events
        .next(|e| matches!(e, PhoneEvent::Directory { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(version, 5, "the schema-3 document was not reported");

    let refresh = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(
        refresh.request.uri.to_string(),
        format!("sip:notifier@{}", server.addr())
    );
    assert_eq!(to_tag(&refresh.request), Some(notifier.local_tag.clone()));
    server.reply(&refresh, 200, "OK", None).await;

    handle.command(PhoneCommand::Unregister).await.unwrap();
    for dialog in [&own, &notifier] {
        let unsub = server.expect(rsip::Method::Subscribe).await;
        assert_eq!(header(&unsub.request, "Expires").as_deref(), Some("0"));
        assert_eq!(to_tag(&unsub.request), Some(dialog.local_tag.clone()));
        server.reply(&unsub, 200, "OK", None).await;
    }
    let reg = server.expect(rsip::Method::Register).await;
    assert_eq!(header(&reg.request, "Expires").as_deref(), Some("0"));
    server.reply(&reg, 200, "OK", Some("srv")).await;
    events
        .next(|e| matches!(e, PhoneEvent::Unregistered { .. }))
        .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn directory_is_subscribed_again_when_the_server_made_us_register_again() {
    let mut server = SipPeer::scripted().await;
    let (handle, mut events, _) = phone(server.addr(), Some("secret")).await;
    let issuer = NonceIssuer::new(Duration::from_secs(60));
    let registered = |st: &ServerTransaction, expires: &str| {
        let mut ok = message::response(&st.request, 200, "OK", Some("srv"));
        ok.headers
            .push(rsip::Header::Other("Expires".into(), expires.into()));
        ok
    };

    handle.command(PhoneCommand::Register).await.unwrap();
    let reg = server.expect(rsip::Method::Register).await;
    reg.respond(with_challenge(&reg.request, &issuer))
        .await
        .unwrap();
    let reg = server.expect(rsip::Method::Register).await;
    // A short registration: the refresh comes in 1.5 s.
    reg.respond(registered(&reg, "2")).await.unwrap();
    events
        .next(|e| matches!(e, PhoneEvent::Registered { .. }))
        .await;
    // My own entry (the whole directory is not watched).
    let first = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(
        header(&first.request, "Event").as_deref(),
        Some("agentphone-directory;scope=self")
    );
    let old = accept_subscribe(&server, &first, 600).await;

    // The refresh meets a server that no longer knows our nonce (it restarted).
    let reg = server.expect(rsip::Method::Register).await;
    reg.respond(with_challenge(&reg.request, &issuer))
        .await
        .unwrap();
    let reg = server.expect(rsip::Method::Register).await;
    reg.respond(registered(&reg, "600")).await.unwrap();

    // The old subscription is ended (the server has forgotten it) and a new one made.
    let unsub = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(header(&unsub.request, "Expires").as_deref(), Some("0"));
    assert_eq!(to_tag(&unsub.request), Some(old.local_tag.clone()));
    server
        .reply(&unsub, 481, "Subscription Does Not Exist", None)
        .await;
    let fresh = server.expect(rsip::Method::Subscribe).await;
    assert_eq!(header(&fresh.request, "Expires").as_deref(), Some("600"));
    assert_eq!(to_tag(&fresh.request), None, "a new dialog");
    assert_ne!(
        message::call_id(&rsip::SipMessage::Request(fresh.request.clone())),
        message::call_id(&rsip::SipMessage::Request(first.request.clone()))
    );
    accept_subscribe(&server, &fresh, 600).await;
    handle.shutdown().await;
}
