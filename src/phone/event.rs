//! Events the Phone engine emits. Serialized, they are exactly the JSON lines of headless mode
//! (the runner adds the time stamp `t`).

use serde::{Deserialize, Serialize};

use agentphone_protocol::history::HistoryCall;
use agentphone_protocol::{
    DirectoryAgent, DirectoryTeam, RoomState, SupervisorState, TimelineKind,
};

/// The state of a call, as shown to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Outgoing INVITE sent, nothing heard back yet.
    Calling,
    /// Incoming: ringing here. Outgoing: the far end rings (180).
    Ringing,
    /// Outgoing with early media (183 with SDP).
    Early,
    /// Talking.
    Connected,
    /// I put the call on hold.
    Held,
    /// The far end put me on hold.
    RemoteHeld,
    /// Over; the event carries a reason.
    Ended,
}

/// Where a transfer I asked for stands (headless `transfer` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// The server refused the REFER at once (T1); `reason` says why.
    Refused,
    /// Accepted; the server is placing the call (sipfrag `100`).
    Trying,
    /// The target (or, for a team, the member tried now) rings (sipfrag `180`).
    Ringing,
    /// The target joined the call (sipfrag `200`): consult, then complete or cancel.
    Answered,
    /// The transfer failed (declined, no answer, unreachable, team exhausted); `code` says how.
    Failed,
    /// `transfer cancel` was accepted.
    Cancelled,
    /// `transfer complete` was accepted: I leave the call.
    Completed,
}

/// One thing that happened in the phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PhoneEvent {
    /// The SIP endpoint listens on `sip` (IP:PORT).
    Ready {
        /// Local SIP address.
        sip: String,
    },
    /// Registration accepted (first time, or again after being offline).
    Registered {
        /// Our user name.
        user: String,
    },
    /// Registration refused or not answered.
    RegistrationFailed {
        /// SIP status code (408 when nothing answered, 503 on a transport error).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The server is unreachable; the next attempt is in `retry_in_s` seconds.
    Offline {
        /// Seconds until the next REGISTER.
        retry_in_s: u64,
    },
    /// Unregistered on request.
    Unregistered {
        /// Our user name.
        user: String,
    },
    /// The voice channel switch, as accepted by the server.
    Voice {
        /// true = active (presence open).
        active: bool,
    },
    /// An incoming call rings.
    IncomingCall {
        /// Call id (the SIP Call-ID).
        call: String,
        /// Caller URI.
        from: String,
        /// Caller display name.
        display: Option<String>,
        /// The team that was called (Call-Info purpose=x-agentphone-team).
        team: Option<String>,
        /// Transfer reason (Subject).
        reason: Option<String>,
        /// Who transfers the call to me (user part of `Referred-By`), if it is a transfer.
        transferred_by: Option<String>,
        /// I am added as a listener only (M5): I hear everyone, nobody hears me.
        listen_only: bool,
        /// How long the customer had waited when the server offered the call here (ms; the
        /// server's `X-Agentphone-Waited-Ms`), for a customer's call.
        #[serde(default)]
        waited_ms: Option<u64>,
    },
    /// My call history (the server's call records), newest first, and the disposition codes I
    /// may set: after each fetch.
    History {
        /// The server's disposition codes.
        codes: Vec<String>,
        /// My calls, newest first.
        calls: Vec<HistoryCall>,
    },
    /// A call changed state.
    CallState {
        /// Call id.
        call: String,
        /// New state.
        state: CallState,
        /// Why (for `ended`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// My microphone was muted or unmuted.
    Mute {
        /// true = muted.
        muted: bool,
    },
    /// A DTMF digit arrived (RFC 4733).
    Dtmf {
        /// The digit.
        digit: String,
    },
    /// Call quality, every 5 s in a call.
    Quality {
        /// Interarrival jitter.
        jitter_ms: f32,
        /// Packet loss.
        loss_pct: f32,
        /// Round trip from RTCP, when known.
        rtt_ms: Option<f32>,
    },
    /// My own entry of the directory (my agent state as the server has it), with the server's
    /// away reasons and ring timeout: after registering and after every change of it.
    Me {
        /// The directory version it is of (the whole directory's numbering).
        version: u64,
        /// My entry (None: the server does not know me as an agent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        me: Option<DirectoryAgent>,
        /// The reasons an agent may give for being away (the server's list).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        away_reasons: Vec<String>,
        /// How long an offered call rings here before it is missed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ring_timeout_s: Option<u32>,
    },
    /// The directory of agents and teams, whole, after every change (while it is watched:
    /// `PhoneCommand::WatchDirectory`).
    Directory {
        /// Increases with every change.
        version: u64,
        /// Every agent with their status.
        agents: Vec<DirectoryAgent>,
        /// Every team with its availability.
        teams: Vec<DirectoryTeam>,
        /// The reasons an agent may give for being away (the server's list).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        away_reasons: Vec<String>,
        /// How long an offered call rings here before it is missed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ring_timeout_s: Option<u32>,
    },
    /// The floor (supervisors, V1): teams' queues, agents' states, calls — whole, after every
    /// change.
    Floor {
        /// The supervisor document (protocol.md "Supervisor").
        floor: Box<SupervisorState>,
    },
    /// The state of the server room my call is in, whole, after every change.
    Room {
        /// The room document (protocol.md "Room state"); boxed to keep events small.
        room: Box<RoomState>,
    },
    /// A timeline entry of my call's room that this phone has not reported yet.
    Timeline {
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
        /// What happened (protocol.md "Room state").
        kind: TimelineKind,
        /// What an agent reads.
        text: String,
    },
    /// Progress of a transfer I asked for.
    Transfer {
        /// Where it stands.
        state: TransferState,
        /// SIP status code (`refused`, `failed`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        /// Why, as an agent reads it (`refused`: the server's Warning text; `failed`: the reason).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The agent or team asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A room command (INFO: hold, resume, mute, cancel_transfer, complete_transfer) was refused.
    CommandFailed {
        /// The command's name, as sent (`hold`, `cancel_transfer`, …).
        command: String,
        /// SIP status code.
        code: u16,
        /// Why (the server's Warning text, else the status line).
        reason: String,
    },
    /// Something went wrong that is not a call or registration outcome.
    Error {
        /// What happened.
        message: String,
    },
}

impl PhoneEvent {
    /// The event's name, as in the JSON `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            PhoneEvent::Ready { .. } => "ready",
            PhoneEvent::Registered { .. } => "registered",
            PhoneEvent::RegistrationFailed { .. } => "registration_failed",
            PhoneEvent::Offline { .. } => "offline",
            PhoneEvent::Unregistered { .. } => "unregistered",
            PhoneEvent::Voice { .. } => "voice",
            PhoneEvent::IncomingCall { .. } => "incoming_call",
            PhoneEvent::CallState { .. } => "call_state",
            PhoneEvent::Mute { .. } => "mute",
            PhoneEvent::Dtmf { .. } => "dtmf",
            PhoneEvent::Quality { .. } => "quality",
            PhoneEvent::Directory { .. } => "directory",
            PhoneEvent::Me { .. } => "me",
            PhoneEvent::Floor { .. } => "floor",
            PhoneEvent::History { .. } => "history",
            PhoneEvent::Room { .. } => "room",
            PhoneEvent::Timeline { .. } => "timeline",
            PhoneEvent::Transfer { .. } => "transfer",
            PhoneEvent::CommandFailed { .. } => "command_failed",
            PhoneEvent::Error { .. } => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_state_serializes_as_headless_json() {
        let ev = PhoneEvent::CallState {
            call: "abc".into(),
            state: CallState::RemoteHeld,
            reason: None,
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"event":"call_state","call":"abc","state":"remote_held"}"#
        );
        assert_eq!(ev.name(), "call_state");
    }

    #[test]
    fn incoming_call_keeps_null_fields() {
        let ev = PhoneEvent::IncomingCall {
            call: "c1".into(),
            from: "sip:cust@h".into(),
            display: Some("Customer".into()),
            team: Some("support".into()),
            reason: None,
            transferred_by: None,
            listen_only: false,
            waited_ms: Some(83_250),
        };
        let v: serde_json::Value = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["waited_ms"], 83_250);
        assert_eq!(v["event"], "incoming_call");
        assert_eq!(v["team"], "support");
        assert!(v["reason"].is_null());
        assert!(v["transferred_by"].is_null());
        assert_eq!(v["listen_only"], false);
    }

    #[test]
    fn transfer_event_leaves_out_what_it_does_not_know() {
        let ev = PhoneEvent::Transfer {
            state: TransferState::Refused,
            code: Some(488),
            reason: Some("The call already has 3 participants".into()),
            target: None,
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"event":"transfer","state":"refused","code":488,"reason":"The call already has 3 participants"}"#
        );
    }
}
