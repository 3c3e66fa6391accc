//! Events the Phone engine emits. Serialized, they are exactly the JSON lines of headless mode
//! (the runner adds the time stamp `t`).

use serde::{Deserialize, Serialize};

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
        };
        let v: serde_json::Value = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["event"], "incoming_call");
        assert_eq!(v["team"], "support");
        assert!(v["reason"].is_null());
    }
}
