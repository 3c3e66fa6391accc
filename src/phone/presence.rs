//! The voice channel switch: PUBLISH `Event: presence` with a PIDF body (open = active).

use std::time::Duration;

use agentphone_sip::endpoint::TxError;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use std::time::Instant;

use super::command::PhoneError;
use super::engine::Engine;
use super::event::PhoneEvent;
use super::sip_util;
use super::transactions::Purpose;

/// Publication lifetime asked for.
const PUBLISH_EXPIRES: u32 = 3600;

/// Voice channel state of the engine.
pub struct Presence {
    /// What the user asked for last (None = never set).
    wanted: Option<bool>,
    /// What the server accepted last.
    accepted: Option<bool>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    auth_rounds: u32,
    deadline: Option<Instant>,
}

impl Presence {
    /// Never published.
    pub fn new() -> Self {
        Presence {
            wanted: None,
            accepted: None,
            call_id: message::new_call_id(),
            from_tag: message::new_tag(),
            cseq: 0,
            auth_rounds: 0,
            deadline: None,
        }
    }

    /// When the publication must be refreshed.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// The PIDF document for `entity` with basic open/closed.
pub fn pidf(entity: &str, active: bool) -> String {
    let basic = if active { "open" } else { "closed" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{entity}\">\n  \
         <tuple id=\"voice\"><status><basic>{basic}</basic></status></tuple>\n\
         </presence>\n"
    )
}

impl Engine {
    /// `voice on|off` command.
    pub(super) fn set_voice(&mut self, active: bool) -> Result<(), PhoneError> {
        self.server_peer()?;
        self.presence.wanted = Some(active);
        self.presence.auth_rounds = 0;
        self.send_publish(active)
    }

    /// Publish the wanted state again (after re-registering with a restarted server).
    pub(super) fn republish(&mut self) {
        if let Some(active) = self.presence.wanted {
            self.presence.auth_rounds = 0;
            if let Err(e) = self.send_publish(active) {
                self.emit(PhoneEvent::Error {
                    message: format!("voice: {e}"),
                });
            }
        }
    }

    fn send_publish(&mut self, active: bool) -> Result<(), PhoneError> {
        let peer = self.server_peer()?;
        let aor = self.cfg.aor();
        self.presence.cseq += 1;
        let mut req = RequestBuilder::new(rsip::Method::Publish, &aor)
            .map_err(|e| PhoneError::Invalid(format!("presence URI {aor}: {e}")))?
            .from(self.cfg.display.as_deref(), &aor, &self.presence.from_tag)
            .to(self.cfg.display.as_deref(), &aor, None)
            .call_id(&self.presence.call_id)
            .cseq(self.presence.cseq)
            .header("Event", "presence")
            .header("Expires", &PUBLISH_EXPIRES.to_string())
            .body("application/pidf+xml", pidf(&aor, active).into_bytes())
            .build()
            .map_err(|e| PhoneError::Invalid(format!("PUBLISH: {e}")))?;
        self.digest.authorize(&mut req.headers, "PUBLISH", &aor);
        self.send_request(req, peer, Purpose::Publish { active });
        Ok(())
    }

    pub(super) fn on_publish_timer(&mut self) {
        self.presence.deadline = None;
        self.republish();
    }

    pub(super) fn on_publish_response(
        &mut self,
        active: bool,
        _request: &rsip::Request,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        // A late answer to an outdated publication changes nothing.
        if self.presence.wanted != Some(active) {
            return;
        }
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                self.emit(PhoneEvent::Error {
                    message: format!("voice: PUBLISH not answered ({e})"),
                });
                return;
            }
        };
        let (code, reason) = sip_util::status(&resp);
        match code {
            100..=199 => {}
            200..=299 => {
                let msg = rsip::SipMessage::Response((*resp).clone());
                let granted = message::header_value(&msg, "Expires")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .filter(|&e| e > 0)
                    .unwrap_or(u64::from(PUBLISH_EXPIRES));
                self.presence.deadline = Some(
                    self.now + Duration::from_millis(granted * 750).max(Duration::from_secs(1)),
                );
                self.presence.auth_rounds = 0;
                if self.presence.accepted != Some(active) {
                    self.presence.accepted = Some(active);
                    self.emit(PhoneEvent::Voice { active });
                }
            }
            401 | 407
                if self.presence.auth_rounds < 2
                    && self.digest.on_challenge(&resp)
                    && (self.presence.auth_rounds == 0 || self.digest.last_was_stale()) =>
            {
                self.presence.auth_rounds += 1;
                if let Err(e) = self.send_publish(active) {
                    self.emit(PhoneEvent::Error {
                        message: format!("voice: {e}"),
                    });
                }
            }
            _ => self.emit(PhoneEvent::Error {
                message: format!("voice: {code} {reason}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pidf;

    #[test]
    fn pidf_says_open_or_closed() {
        let open = pidf("sip:alice@h", true);
        assert!(open.contains("<basic>open</basic>"));
        assert!(open.contains("entity=\"sip:alice@h\""));
        assert!(pidf("sip:alice@h", false).contains("<basic>closed</basic>"));
    }
}
