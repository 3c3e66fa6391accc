//! The in-process Phone engine under test, started against a scripted server (the test kit's
//! `SipPeer::scripted`), and the engine's event stream with waits.
#![allow(dead_code)] // each test file uses its own part

pub use agentphone_testkit::sip::peer::WAIT;
pub use agentphone_testkit::sip::script::*;
pub use agentphone_testkit::sip::{fast_timers, SipPeer};

use std::net::SocketAddr;

use agentphone::phone::{CallState, Phone, PhoneConfig, PhoneEvent, PhoneHandle, RoomState};
use tokio::sync::mpsc::UnboundedReceiver;

/// A phone (user alice) whose server is `server`; its handle, events and SIP address.
pub async fn phone(
    server: SocketAddr,
    password: Option<&str>,
) -> (PhoneHandle, Events, SocketAddr) {
    let cfg = PhoneConfig {
        server: Some(server),
        user: "alice".into(),
        password: password.map(str::to_string),
        display: Some("Alice".into()),
        sip_timers: fast_timers(),
        ..PhoneConfig::default()
    };
    let (handle, rx) = Phone::start(cfg).await.unwrap();
    let mut events = Events { rx, seen: vec![] };
    let PhoneEvent::Ready { sip } = events.next(|e| matches!(e, PhoneEvent::Ready { .. })).await
    else {
        unreachable!()
    };
    (handle, events, sip.parse().unwrap())
}

pub struct Events {
    pub rx: UnboundedReceiver<PhoneEvent>,
    pub seen: Vec<PhoneEvent>,
}

impl Events {
    /// The next event matching `pred` (others are kept in `seen`).
    pub async fn next(&mut self, pred: impl Fn(&PhoneEvent) -> bool) -> PhoneEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Ok(None) => panic!("engine stopped; events so far: {:?}", self.seen),
                Err(_) => panic!("event not seen in time; events so far: {:?}", self.seen),
            }
        }
    }

    /// The next call state `want`; its reason.
    pub async fn state(&mut self, want: CallState) -> Option<String> {
        match self
            .next(|e| matches!(e, PhoneEvent::CallState { state, .. } if *state == want))
            .await
        {
            PhoneEvent::CallState { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    pub async fn transfer(&mut self) -> PhoneEvent {
        self.next(|e| matches!(e, PhoneEvent::Transfer { .. }))
            .await
    }

    pub async fn room(&mut self) -> RoomState {
        match self.next(|e| matches!(e, PhoneEvent::Room { .. })).await {
            PhoneEvent::Room { room } => *room,
            _ => unreachable!(),
        }
    }

    pub async fn timeline_kind(&mut self) -> String {
        match self
            .next(|e| matches!(e, PhoneEvent::Timeline { .. }))
            .await
        {
            PhoneEvent::Timeline { kind, .. } => kind.as_str().to_string(),
            _ => unreachable!(),
        }
    }

    pub async fn command_failed(&mut self) -> (String, u16, String) {
        match self
            .next(|e| matches!(e, PhoneEvent::CommandFailed { .. }))
            .await
        {
            PhoneEvent::CommandFailed {
                command,
                code,
                reason,
            } => (command, code, reason),
            _ => unreachable!(),
        }
    }
}
