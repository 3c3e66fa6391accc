//! An agent sets their own state (SPEC S1): PUBLISH `Event: agentphone-agent-state` with a JSON
//! body (docs/protocol.md "Agent state"). The server answers with a `Warning` when it refuses
//! (an away reason not in its configured list); what the agent's state is then comes back in the
//! directory (`status`, `away_reason`, `wrap_up_until_ms`).

use serde::{Deserialize, Serialize};

/// The event package (`Event:` of the PUBLISH).
pub const EVENT: &str = "agentphone-agent-state";
/// The PUBLISH body type.
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.agent-state+json";
/// The away reason the server sets when an agent let an offered call ring out (SPEC S2, RONA).
pub const MISSED_CALL: &str = "missed call";

/// The state an agent asks for. After-call work is not asked for: the server starts it when a
/// call ends; asking for `available` ends it early.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentStateRequest {
    /// Ready for calls (also ends away and after-call work).
    Available,
    /// Not taking calls, for a reason of the server's configured list.
    Away {
        /// One of the server's `away_reasons`.
        reason: String,
    },
}

/// Why a PUBLISH body is not a state request (the text goes into the refusal's `Warning`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Not an agent state: {0}")]
pub struct StateError(String);

impl AgentStateRequest {
    /// Read a PUBLISH body. Extra fields are ignored.
    pub fn parse(body: &[u8]) -> Result<Self, StateError> {
        serde_json::from_slice(body).map_err(|e| StateError(e.to_string()))
    }

    /// The PUBLISH body.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_samples_are_what_is_written_and_read() {
        let sample = crate::doc_sample("Agent state");
        let mut lines = sample.lines().filter(|l| !l.trim().is_empty());
        let away = AgentStateRequest::Away {
            reason: "lunch".into(),
        };
        for want in [AgentStateRequest::Available, away] {
            let line = lines.next().expect("a sample per state");
            let doc: serde_json::Value = serde_json::from_str(line).expect("JSON");
            assert_eq!(serde_json::to_value(&want).expect("JSON"), doc);
            assert_eq!(AgentStateRequest::parse(line.as_bytes()), Ok(want.clone()));
            assert_eq!(AgentStateRequest::parse(&want.to_body()), Ok(want));
        }
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        for body in [
            &b"away"[..],
            br#"{"state": "away"}"#,
            br#"{"state": "after_call_work"}"#,
            br#"{"reason": "lunch"}"#,
        ] {
            let err = AgentStateRequest::parse(body).expect_err("refused");
            assert!(err.to_string().starts_with("Not an agent state"), "{err}");
        }
        assert_eq!(
            AgentStateRequest::parse(br#"{"state": "available", "mood": "calm"}"#),
            Ok(AgentStateRequest::Available)
        );
    }
}
