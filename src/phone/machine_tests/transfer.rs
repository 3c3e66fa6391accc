//! Transfer in virtual time (protocol.md "Transfer"): the REFER, its refusal, the sipfrag
//! progress, cancel and complete as room commands.

use agentphone_sip::rsip;

use super::incoming::connected;
use super::rig::{in_dialog, Rig};
use crate::phone::command::{PhoneCommand, PhoneError, TransferTarget};
use crate::phone::event::{PhoneEvent, TransferState};

fn transfer_to(target: TransferTarget) -> PhoneCommand {
    PhoneCommand::Transfer {
        target,
        reason: None,
        listen_only: false,
    }
}

fn carol() -> PhoneCommand {
    transfer_to(TransferTarget::Agent("carol".into()))
}

/// bob is in a room call and asked for a transfer to carol, accepted (202).
fn transferring(rig: &mut Rig) -> (rsip::Request, String) {
    let (inv, tag) = connected(rig);
    rig.command(carol()).unwrap();
    let refer = rig.sent_one(rsip::Method::Refer);
    rig.reply(&refer, 202, &[]);
    (inv, tag)
}

/// The room reports the target's progress with a sipfrag NOTIFY.
fn sipfrag(rig: &mut Rig, inv: &rsip::Request, tag: &str, cseq: u32, line: &str) -> Vec<u16> {
    let state = if line.starts_with("SIP/2.0 1") {
        "active"
    } else {
        "terminated;reason=noresource"
    };
    let tx = rig.request(in_dialog(
        inv,
        tag,
        rsip::Method::Notify,
        cseq,
        &[("Event", "refer"), ("Subscription-State", state)],
        Some(("message/sipfrag", line.to_string())),
    ));
    rig.responses(tx)
}

fn transfer_states(events: &[PhoneEvent]) -> Vec<TransferState> {
    events
        .iter()
        .filter_map(|e| match e {
            PhoneEvent::Transfer { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

#[test]
fn refer_to_carries_target_reason_and_listen_only_table() {
    let table: &[(TransferTarget, Option<&str>, bool, &str)] = &[
        (
            TransferTarget::Agent("carol".into()),
            None,
            false,
            "<sip:carol@127.0.0.1>",
        ),
        (
            TransferTarget::Team("sales".into()),
            Some("billing question"),
            false,
            "<sip:sales@127.0.0.1;agentphone-target=team?Subject=billing%20question>",
        ),
        (
            TransferTarget::Agent("carol".into()),
            None,
            true,
            "<sip:carol@127.0.0.1;agentphone-mode=listen>",
        ),
    ];
    for (target, reason, listen, refer_to) in table {
        let mut rig = Rig::new();
        connected(&mut rig);
        rig.command(PhoneCommand::Transfer {
            target: target.clone(),
            reason: reason.map(str::to_string),
            listen_only: *listen,
        })
        .unwrap();
        let refer = rig.sent_one(rsip::Method::Refer);
        assert_eq!(refer.header("Refer-To").as_deref(), Some(*refer_to));
        assert_eq!(
            refer.header("Referred-By").as_deref(),
            Some("<sip:bob@127.0.0.1>")
        );
    }
}

#[test]
fn a_refused_refer_reports_the_servers_reason_table() {
    type Row<'a> = (u16, &'a [(&'a str, &'a str)], &'a str);
    let table: &[Row] = &[
        (
            488,
            &[(
                "Warning",
                "399 agentphone \"The call already has 3 participants\"",
            )],
            "The call already has 3 participants",
        ),
        (
            491,
            &[(
                "Warning",
                "399 agentphone \"Another transfer is under way\"",
            )],
            "Another transfer is under way",
        ),
        (403, &[], "403 Forbidden"),
        (480, &[], "480 Temporarily Unavailable"),
    ];
    for &(code, headers, reason) in table {
        let mut rig = Rig::new();
        connected(&mut rig);
        rig.command(carol()).unwrap();
        let refer = rig.sent_one(rsip::Method::Refer);
        rig.reply(&refer, code, headers);
        let events = rig.events();
        assert!(
            matches!(events.as_slice(), [PhoneEvent::Transfer { state: TransferState::Refused, code: Some(c), reason: Some(r), target: Some(t) }]
                if *c == code && r == reason && t == "carol"),
            "{code}: {events:?}"
        );
    }
}

#[test]
fn sipfrag_progress_is_reported_in_order_table() {
    // (sipfrag lines in arrival order, states reported)
    let table: &[(&[&str], &[TransferState])] = &[
        (
            &[
                "SIP/2.0 100 Trying",
                "SIP/2.0 180 Ringing",
                "SIP/2.0 200 OK",
            ],
            &[
                TransferState::Trying,
                TransferState::Ringing,
                TransferState::Answered,
            ],
        ),
        (
            &["SIP/2.0 180 Ringing", "SIP/2.0 100 Trying"],
            &[TransferState::Ringing],
        ),
        (
            &["SIP/2.0 180 Ringing", "SIP/2.0 603 Declined"],
            &[TransferState::Ringing, TransferState::Failed],
        ),
        (
            &["SIP/2.0 180 Ringing", "SIP/2.0 408 Request Timeout"],
            &[TransferState::Ringing, TransferState::Failed],
        ),
        (
            &["SIP/2.0 180 Ringing", "SIP/2.0 487 Request Terminated"],
            &[TransferState::Ringing, TransferState::Cancelled],
        ),
        (
            &["SIP/2.0 603 Declined", "SIP/2.0 180 Ringing"],
            &[TransferState::Failed],
        ),
    ];
    for (lines, states) in table {
        let mut rig = Rig::new();
        let (inv, tag) = transferring(&mut rig);
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(sipfrag(&mut rig, &inv, &tag, 10 + i as u32, line), [200]);
        }
        assert_eq!(transfer_states(&rig.events()), *states, "{lines:?}");
    }
}

#[test]
fn a_failed_transfer_names_the_code_and_reason() {
    let mut rig = Rig::new();
    let (inv, tag) = transferring(&mut rig);
    sipfrag(&mut rig, &inv, &tag, 10, "SIP/2.0 603 Declined");
    let events = rig.events();
    assert!(
        matches!(events.as_slice(), [PhoneEvent::Transfer { state: TransferState::Failed, code: Some(603), reason: Some(r), target: Some(t) }]
            if r == "Declined" && t == "carol"),
        "{events:?}"
    );
}

#[test]
fn a_sipfrag_that_is_no_status_line_is_refused() {
    let mut rig = Rig::new();
    let (inv, tag) = transferring(&mut rig);
    assert_eq!(sipfrag(&mut rig, &inv, &tag, 10, "HTTP/1.1 200 OK"), [400]);
    assert!(rig.events().is_empty());
}

#[test]
fn cancel_and_complete_are_reported_once_table() {
    // (command, its state, a 487 sipfrag crossing the INFO's 200 first)
    let table = [
        (
            PhoneCommand::CancelTransfer,
            TransferState::Cancelled,
            false,
        ),
        (PhoneCommand::CancelTransfer, TransferState::Cancelled, true),
        (
            PhoneCommand::CompleteTransfer,
            TransferState::Completed,
            false,
        ),
    ];
    for (cmd, state, crossing) in table {
        let mut rig = Rig::new();
        let (inv, tag) = transferring(&mut rig);
        sipfrag(&mut rig, &inv, &tag, 10, "SIP/2.0 200 OK");
        rig.events();
        rig.command(cmd.clone()).unwrap();
        let info = rig.sent_one(rsip::Method::Info);
        if crossing {
            sipfrag(&mut rig, &inv, &tag, 11, "SIP/2.0 487 Request Terminated");
        }
        rig.reply(&info, 200, &[]);
        let events = rig.events();
        assert_eq!(
            transfer_states(&events),
            [state],
            "{cmd:?} crossing {crossing}"
        );
        assert!(
            events.iter().all(|e| !matches!(e, PhoneEvent::Transfer { target, .. } if target.as_deref() != Some("carol"))),
            "{events:?}"
        );
    }
}

#[test]
fn transfer_is_refused_without_a_connected_call_or_with_a_bad_name() {
    let mut rig = Rig::new();
    assert_eq!(rig.command(carol()), Err(PhoneError::NoCall));
    connected(&mut rig);
    for bad in ["", "bob@evil", "a b"] {
        assert!(matches!(
            rig.command(transfer_to(TransferTarget::Agent(bad.into()))),
            Err(PhoneError::Invalid(_))
        ));
    }
    assert!(rig.sent().is_empty());
}
