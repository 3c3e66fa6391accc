//! An agent's call history and the disposition they set (docs/protocol.md "Call history"): the
//! server's call records as the agent sees them, fetched with a SUBSCRIBE of `Expires: 0` to
//! `sip:history@HOST` (one NOTIFY with the document, RFC 6665 §4.4.3), and the disposition code
//! and note an agent sets after a call with a MESSAGE (JSON) to the same address.

use serde::{Deserialize, Serialize};

use crate::schema::{first, SCHEMA};

/// The event package (`Event:` of the SUBSCRIBE and NOTIFY).
pub const EVENT: &str = "agentphone-history";
/// The NOTIFY body type (`Accept:` of the SUBSCRIBE).
pub const CONTENT_TYPE: &str = "application/vnd.agentphone.history+json";
/// The MESSAGE body type setting a disposition.
pub const DISPOSITION_CONTENT_TYPE: &str = "application/vnd.agentphone.disposition+json";
/// The user part of the address both go to (`sip:history@HOST`).
pub const USER: &str = "history";
/// Most calls a history document lists (the newest).
pub const MAX_CALLS: usize = 20;

/// One agent's recent calls, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryState {
    /// The document format ([`SCHEMA`]).
    #[serde(default = "first")]
    pub schema: u32,
    /// Whose history (username).
    #[serde(default)]
    pub agent: String,
    /// The disposition codes the server accepts (`[dispositions] codes`), in its order.
    #[serde(default)]
    pub codes: Vec<String>,
    /// The calls, newest first (at most [`MAX_CALLS`]).
    #[serde(default)]
    pub calls: Vec<HistoryCall>,
}

impl HistoryState {
    /// An empty history of this crate's schema.
    pub fn new(agent: &str, codes: Vec<String>) -> Self {
        HistoryState {
            schema: SCHEMA,
            agent: agent.to_string(),
            codes,
            calls: Vec::new(),
        }
    }
}

/// How a call ended for the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The agent stayed until they or the other side hung up.
    Completed,
    /// The agent handed the call on (completed a transfer) and left.
    Transferred,
    /// The agent is still in it.
    Ongoing,
    /// An outcome this reader does not know; never written.
    #[serde(other)]
    Unknown,
}

/// One call of the agent's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCall {
    /// The call record's id (what a disposition names).
    pub call: String,
    /// When the agent joined it (ms since the Unix epoch).
    #[serde(default)]
    pub at_ms: u64,
    /// The customer (display name, else URI), or the other agent's name for an internal call.
    #[serde(default)]
    pub customer: String,
    /// The team the call came for, if any.
    #[serde(default)]
    pub team: Option<String>,
    /// How long the agent was in it (seconds).
    #[serde(default)]
    pub duration_s: u64,
    /// Transfers completed in the call (by anyone).
    #[serde(default)]
    pub transfers: u32,
    /// How it ended for the agent.
    pub outcome: Outcome,
    /// The disposition code the agent set, if any.
    #[serde(default)]
    pub disposition: Option<String>,
    /// The agent's note, if any.
    #[serde(default)]
    pub note: Option<String>,
}

/// A disposition an agent sets on one of their calls (MESSAGE body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionRequest {
    /// The call record (absent: the agent's most recent call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// One of the server's codes.
    pub code: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The longest note kept (characters); a longer one is refused.
pub const MAX_NOTE: usize = 500;

/// Why a MESSAGE body is not a disposition (the text goes into the refusal's `Warning`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Not a disposition: {0}")]
pub struct DispositionError(String);

impl DispositionRequest {
    /// Read a MESSAGE body. Extra fields are ignored; a note longer than [`MAX_NOTE`] is refused.
    pub fn parse(body: &[u8]) -> Result<Self, DispositionError> {
        let req: DispositionRequest =
            serde_json::from_slice(body).map_err(|e| DispositionError(e.to_string()))?;
        if req.code.trim().is_empty() {
            return Err(DispositionError("the code is empty".into()));
        }
        if req
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE)
        {
            return Err(DispositionError(format!(
                "the note is longer than {MAX_NOTE} characters"
            )));
        }
        Ok(req)
    }

    /// The MESSAGE body.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    fn sample() -> HistoryState {
        let mut h = HistoryState::new("alice", vec!["resolved".into(), "callback".into()]);
        h.calls = vec![
            HistoryCall {
                call: "4f1c2a9e0b7d3c11".into(),
                at_ms: 1795613338622,
                customer: "Sam Carter".into(),
                team: Some("support".into()),
                duration_s: 83,
                transfers: 1,
                outcome: Outcome::Transferred,
                disposition: Some("resolved".into()),
                note: Some("refund sent".into()),
            },
            HistoryCall {
                call: "0a2b4c6d8e0f1a2b".into(),
                at_ms: 1795613001000,
                customer: "sip:+15550100@customers.example".into(),
                team: None,
                duration_s: 12,
                transfers: 0,
                outcome: Outcome::Completed,
                disposition: None,
                note: None,
            },
        ];
        h
    }

    #[test]
    fn the_documented_samples_are_what_is_written_and_read() {
        let text = crate::doc_sample("Call history");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(sample()).unwrap(), doc);
        assert_eq!(decode::<HistoryState>(text.as_bytes()).unwrap(), sample());
        let section = crate::doc_section("Call history");
        let line = section
            .lines()
            .find(|l| l.starts_with("{\"call\""))
            .expect("a disposition sample");
        let want = DispositionRequest {
            call: Some("4f1c2a9e0b7d3c11".into()),
            code: "resolved".into(),
            note: Some("refund sent".into()),
        };
        assert_eq!(DispositionRequest::parse(line.as_bytes()), Ok(want.clone()));
        assert_eq!(DispositionRequest::parse(&want.to_body()), Ok(want));
    }

    #[test]
    fn bad_dispositions_are_refused_with_a_reason() {
        let long = format!(r#"{{"code": "x", "note": "{}"}}"#, "n".repeat(MAX_NOTE + 1));
        for body in [
            &b"resolved"[..],
            br#"{"note": "no code"}"#,
            br#"{"code": "  "}"#,
            long.as_bytes(),
        ] {
            let err = DispositionRequest::parse(body).expect_err("refused");
            assert!(err.to_string().starts_with("Not a disposition"), "{err}");
        }
        assert_eq!(
            DispositionRequest::parse(br#"{"code": "callback", "mood": "calm"}"#),
            Ok(DispositionRequest {
                call: None,
                code: "callback".into(),
                note: None
            })
        );
    }

    #[test]
    fn an_unknown_outcome_still_parses() {
        let text = r#"{"calls": [{"call": "c", "outcome": "parked"}]}"#;
        let h: HistoryState = decode(text.as_bytes()).unwrap();
        assert_eq!(h.calls[0].outcome, Outcome::Unknown);
    }
}
