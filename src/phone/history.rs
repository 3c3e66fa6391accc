//! My call history and dispositions (issue 10; docs/protocol.md "Call history"): the history is
//! fetched (SUBSCRIBE `Expires: 0` to `sip:history@HOST`, one NOTIFY back) after registering,
//! after a call in a server room ended — once the server has taken note: after the 200 to my BYE,
//! or on its BYE — after a disposition was stored, and when asked. A disposition is a MESSAGE.

use agentphone_protocol::history::{
    self, DispositionRequest, HistoryState, DISPOSITION_CONTENT_TYPE,
};
use agentphone_sip::endpoint::TxError;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;

use super::command::PhoneError;
use super::engine::Engine;
use super::event::PhoneEvent;
use super::sip_util;
use super::subscription::{SubKind, Subscription};
use super::transactions::Purpose;

/// What a refused disposition is called in `CommandFailed`.
const COMMAND: &str = "disposition";

/// The history fetch under way and the disposition MESSAGEs' dialog-less identity.
pub struct HistoryLink {
    /// The fetch under way (until its NOTIFY, or its failure).
    pub sub: Option<Subscription>,
    /// Another fetch was asked for while one was under way: made when it is over.
    again: bool,
    call_id: String,
    from_tag: String,
    cseq: u32,
    auth_rounds: u32,
}

impl HistoryLink {
    /// Nothing sent yet.
    pub fn new() -> Self {
        HistoryLink {
            sub: None,
            again: false,
            call_id: message::new_call_id(),
            from_tag: message::new_tag(),
            cseq: 0,
            auth_rounds: 0,
        }
    }
}

impl Engine {
    /// `sip:history@HOST`.
    fn history_uri(&self) -> String {
        format!("sip:{}@{}", history::USER, self.cfg.domain())
    }

    /// Fetch my history (once the one under way, if any, is over).
    pub(super) fn fetch_history(&mut self) -> Result<(), PhoneError> {
        self.server_peer()?;
        if self.history.sub.is_some() {
            self.history.again = true;
            return Ok(());
        }
        self.history.sub = Some(Subscription::new(SubKind::History, self.history_uri()));
        if let Err(e) = self.send_subscribe(SubKind::History, 0) {
            self.history.sub = None;
            return Err(e);
        }
        Ok(())
    }

    /// The fetch is over (its NOTIFY came, or it failed): the next one if asked for meanwhile.
    pub(super) fn history_fetched(&mut self) {
        if let Some(sub) = self.history.sub.take() {
            self.forget_subscription(&sub);
        }
        if std::mem::take(&mut self.history.again) {
            if let Err(e) = self.fetch_history() {
                tracing::debug!("history fetch: {e}");
            }
        }
    }

    /// A history NOTIFY's document.
    pub(super) fn on_history_state(&mut self, state: HistoryState) {
        self.emit(PhoneEvent::History {
            codes: state.codes,
            calls: state.calls,
        });
    }

    /// A fetch after a call ended, when the call was in a server room (a direct call has no
    /// record).
    pub(super) fn fetch_history_after_call(&mut self, in_room: bool) {
        if in_room {
            if let Err(e) = self.fetch_history() {
                tracing::debug!("history fetch after the call: {e}");
            }
        }
    }

    /// `disposition CODE [NOTE]`: on my most recent call.
    pub(super) fn set_disposition(
        &mut self,
        code: String,
        note: Option<String>,
    ) -> Result<(), PhoneError> {
        self.server_peer()?;
        self.history.auth_rounds = 0;
        self.send_disposition(DispositionRequest {
            call: None,
            code,
            note,
        })
    }

    fn send_disposition(&mut self, req: DispositionRequest) -> Result<(), PhoneError> {
        let peer = self.server_peer()?;
        let aor = self.cfg.aor();
        let uri = self.history_uri();
        self.history.cseq += 1;
        let mut msg = RequestBuilder::new(rsip::Method::Message, &uri)
            .map_err(|e| PhoneError::Invalid(format!("history URI {uri}: {e}")))?
            .from(self.cfg.display.as_deref(), &aor, &self.history.from_tag)
            .to(None, &uri, None)
            .call_id(&self.history.call_id)
            .cseq(self.history.cseq)
            .body(DISPOSITION_CONTENT_TYPE, req.to_body())
            .build()
            .map_err(|e| PhoneError::Invalid(format!("MESSAGE: {e}")))?;
        self.digest.authorize(&mut msg.headers, "MESSAGE", &uri);
        self.send_request(msg, peer, Purpose::Disposition { req });
        Ok(())
    }

    pub(super) fn on_disposition_response(
        &mut self,
        req: DispositionRequest,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                return self.emit(PhoneEvent::CommandFailed {
                    command: COMMAND.into(),
                    code: 408,
                    reason: format!("the server did not answer ({e})"),
                })
            }
        };
        let (code, _) = sip_util::status(&resp);
        match code {
            100..=199 => {}
            200..=299 => {
                self.history.auth_rounds = 0;
                // The history shows it.
                if let Err(e) = self.fetch_history() {
                    tracing::debug!("history fetch after a disposition: {e}");
                }
            }
            401 | 407
                if self.history.auth_rounds < 2
                    && self.digest.on_challenge(&resp)
                    && (self.history.auth_rounds == 0 || self.digest.last_was_stale()) =>
            {
                self.history.auth_rounds += 1;
                if let Err(e) = self.send_disposition(req) {
                    self.emit(PhoneEvent::Error {
                        message: format!("{COMMAND}: {e}"),
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
