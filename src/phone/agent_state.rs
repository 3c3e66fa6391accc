//! The agent's own state (SPEC S1): PUBLISH `Event: agentphone-agent-state` with a JSON body,
//! sent when the user asks (`status away lunch`, the TUI's state menu). The server keeps it until
//! it changes (no refresh); what the state is comes back in the directory, our own entry, which
//! is where the view reads it.

use agentphone_protocol::agent_state::{CONTENT_TYPE, EVENT};
use agentphone_protocol::AgentStateRequest;
use agentphone_sip::endpoint::TxError;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;

use super::command::PhoneError;
use super::engine::Engine;
use super::event::PhoneEvent;
use super::sip_util;
use super::transactions::Purpose;

/// The state publication's dialog-less identity (one Call-ID, growing CSeq).
pub struct AgentStateLink {
    call_id: String,
    from_tag: String,
    cseq: u32,
    auth_rounds: u32,
}

impl AgentStateLink {
    /// Nothing sent yet.
    pub fn new() -> Self {
        AgentStateLink {
            call_id: message::new_call_id(),
            from_tag: message::new_tag(),
            cseq: 0,
            auth_rounds: 0,
        }
    }
}

/// What a refused state change is called in `CommandFailed`.
const COMMAND: &str = "status";

impl Engine {
    /// `status available|away REASON` command.
    pub(super) fn set_agent_state(&mut self, state: AgentStateRequest) -> Result<(), PhoneError> {
        self.server_peer()?;
        self.agent_state.auth_rounds = 0;
        self.send_agent_state(state)
    }

    fn send_agent_state(&mut self, state: AgentStateRequest) -> Result<(), PhoneError> {
        let peer = self.server_peer()?;
        let aor = self.cfg.aor();
        self.agent_state.cseq += 1;
        let mut req = RequestBuilder::new(rsip::Method::Publish, &aor)
            .map_err(|e| PhoneError::Invalid(format!("state URI {aor}: {e}")))?
            .from(
                self.cfg.display.as_deref(),
                &aor,
                &self.agent_state.from_tag,
            )
            .to(self.cfg.display.as_deref(), &aor, None)
            .call_id(&self.agent_state.call_id)
            .cseq(self.agent_state.cseq)
            .header("Event", EVENT)
            .body(CONTENT_TYPE, state.to_body())
            .build()
            .map_err(|e| PhoneError::Invalid(format!("PUBLISH: {e}")))?;
        self.digest.authorize(&mut req.headers, "PUBLISH", &aor);
        self.send_request(req, peer, Purpose::AgentState { state });
        Ok(())
    }

    pub(super) fn on_agent_state_response(
        &mut self,
        state: AgentStateRequest,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                self.emit(PhoneEvent::CommandFailed {
                    command: COMMAND.into(),
                    code: 408,
                    reason: format!("the server did not answer ({e})"),
                });
                return;
            }
        };
        let (code, _) = sip_util::status(&resp);
        match code {
            100..=299 => self.agent_state.auth_rounds = 0,
            401 | 407
                if self.agent_state.auth_rounds < 2
                    && self.digest.on_challenge(&resp)
                    && (self.agent_state.auth_rounds == 0 || self.digest.last_was_stale()) =>
            {
                self.agent_state.auth_rounds += 1;
                if let Err(e) = self.send_agent_state(state) {
                    self.emit(PhoneEvent::Error {
                        message: format!("status: {e}"),
                    });
                }
            }
            _ => self.emit(PhoneEvent::CommandFailed {
                command: COMMAND.into(),
                code,
                reason: sip_util::refusal_reason(&resp),
            }),
        }
    }
}
