//! REGISTER with digest auth, refresh before expiry, and re-registration with backoff while the
//! server is unreachable (the UI shows "offline, reconnecting in N s").

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

/// First retry after the server did not answer; doubled each time up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How many challenges one REGISTER attempt answers (the first, and a stale nonce).
const MAX_AUTH_ROUNDS: u32 = 2;
/// Longest time between two REGISTERs while registered. Short, because the refresh is also how
/// we notice a server that went away (the refresh times out → offline) or restarted (it
/// challenges a nonce it no longer knows → we answer and publish our voice state again).
const MAX_REFRESH: Duration = Duration::from_secs(30);

/// Where the registration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegState {
    /// Not registered and not trying.
    Idle,
    /// First REGISTER under way.
    Registering,
    /// Registered; a refresh is scheduled.
    Registered,
    /// The server did not answer; a retry is scheduled.
    Offline,
    /// Refused (e.g. 403); no retry until asked again.
    Failed,
}

/// Registration state of the engine.
pub struct Registration {
    state: RegState,
    call_id: String,
    from_tag: String,
    cseq: u32,
    deadline: Option<Instant>,
    backoff: Duration,
    auth_rounds: u32,
    wanted: bool,
    /// The user asked to register: announce the next success even if already registered.
    announce: bool,
}

impl Registration {
    /// Not registered.
    pub fn new() -> Self {
        Registration {
            state: RegState::Idle,
            call_id: message::new_call_id(),
            from_tag: message::new_tag(),
            cseq: 0,
            deadline: None,
            backoff: FIRST_BACKOFF,
            auth_rounds: 0,
            wanted: false,
            announce: false,
        }
    }

    /// When the next refresh or retry is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Engine {
    /// `register` command.
    pub(super) fn register(&mut self) -> Result<(), PhoneError> {
        self.server_peer()?;
        self.reg.wanted = true;
        self.reg.announce = true;
        self.reg.auth_rounds = 0;
        self.reg.deadline = None;
        if self.reg.state != RegState::Registered {
            self.reg.state = RegState::Registering;
        }
        self.send_register(self.cfg.register_expires)
    }

    /// Registered now (and meant to stay so).
    pub(super) fn is_registered(&self) -> bool {
        self.reg.wanted && self.reg.state == RegState::Registered
    }

    /// `unregister` command (ends the directory subscription first).
    pub(super) fn unregister(&mut self) -> Result<(), PhoneError> {
        self.server_peer()?;
        self.unsubscribe_directory();
        self.reg.wanted = false;
        self.reg.deadline = None;
        self.reg.auth_rounds = 0;
        self.send_register(0)
    }

    fn send_register(&mut self, expires: u32) -> Result<(), PhoneError> {
        let peer = self.server_peer()?;
        let domain = self.cfg.domain();
        let uri = format!("sip:{domain}");
        let aor = self.cfg.aor();
        self.reg.cseq += 1;
        let mut req = RequestBuilder::new(rsip::Method::Register, &uri)
            .map_err(|e| PhoneError::Invalid(format!("registrar URI {uri}: {e}")))?
            .from(self.cfg.display.as_deref(), &aor, &self.reg.from_tag)
            .to(self.cfg.display.as_deref(), &aor, None)
            .call_id(&self.reg.call_id)
            .cseq(self.reg.cseq)
            .contact(&self.contact_uri())
            .header("Expires", &expires.to_string())
            .build()
            .map_err(|e| PhoneError::Invalid(format!("REGISTER: {e}")))?;
        self.digest.authorize(&mut req.headers, "REGISTER", &uri);
        self.send_request(req, peer, Purpose::Register { expires });
        Ok(())
    }

    pub(super) fn on_register_timer(&mut self) {
        self.reg.deadline = None;
        if !self.reg.wanted {
            return;
        }
        self.reg.auth_rounds = 0;
        if let Err(e) = self.send_register(self.cfg.register_expires) {
            self.emit(PhoneEvent::Error {
                message: format!("register: {e}"),
            });
        }
    }

    pub(super) fn on_register_response(
        &mut self,
        expires: u32,
        _request: &rsip::Request,
        result: Result<Box<rsip::Response>, TxError>,
    ) {
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => return self.on_register_unreachable(expires, &e),
        };
        if expires != 0 && !self.reg.wanted {
            // A refresh answered after the user unregistered: no longer of interest.
            return;
        }
        let (code, reason) = sip_util::status(&resp);
        match code {
            100..=199 => {}
            200..=299 if expires == 0 => {
                self.reg.state = RegState::Idle;
                self.emit(PhoneEvent::Unregistered {
                    user: self.cfg.user.clone(),
                });
            }
            200..=299 => self.on_registered(&resp, expires),
            401 | 407
                if self.reg.auth_rounds < MAX_AUTH_ROUNDS
                    && self.digest.on_challenge(&resp)
                    && (self.reg.auth_rounds == 0 || self.digest.last_was_stale()) =>
            {
                self.reg.auth_rounds += 1;
                if let Err(e) = self.send_register(expires) {
                    self.emit(PhoneEvent::Error {
                        message: format!("register: {e}"),
                    });
                }
            }
            500..=599 if expires != 0 && self.reg.wanted => {
                // The server is there but cannot serve us now: retry like when unreachable.
                self.emit(PhoneEvent::RegistrationFailed { code, reason });
                self.schedule_retry();
            }
            _ => {
                self.reg.state = RegState::Failed;
                self.reg.wanted = false;
                self.emit(PhoneEvent::RegistrationFailed { code, reason });
            }
        }
    }

    fn on_registered(&mut self, resp: &rsip::Response, requested: u32) {
        let msg = rsip::SipMessage::Response(resp.clone());
        let granted = message::header_value(&msg, "Expires")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&e| e > 0)
            .unwrap_or(requested);
        // Offline before, or our cached nonce was refused (a restarted server has a new secret):
        // either way the server may have forgotten our voice channel.
        let server_may_have_forgotten =
            self.reg.state == RegState::Offline || self.reg.auth_rounds > 0;
        let announce = self.reg.announce || self.reg.state != RegState::Registered;
        self.reg.announce = false;
        self.reg.state = RegState::Registered;
        self.reg.backoff = FIRST_BACKOFF;
        self.reg.auth_rounds = 0;
        // Refresh at three quarters of the lifetime (at most MAX_REFRESH), not sooner than in 1 s.
        let refresh = Duration::from_millis(u64::from(granted) * 750)
            .min(MAX_REFRESH)
            .max(Duration::from_secs(1));
        self.reg.deadline = if self.reg.wanted {
            Some(self.now + refresh)
        } else {
            None
        };
        if announce {
            self.emit(PhoneEvent::Registered {
                user: self.cfg.user.clone(),
            });
        }
        if server_may_have_forgotten {
            // Does nothing when the voice channel was never set.
            self.republish();
        }
        if announce || server_may_have_forgotten {
            self.subscribe_directory();
            if let Err(e) = self.fetch_history() {
                tracing::debug!("history fetch after registering: {e}");
            }
        }
    }

    fn on_register_unreachable(&mut self, expires: u32, err: &TxError) {
        if expires != 0 && !self.reg.wanted {
            return;
        }
        if expires == 0 {
            // Unregistering from a server that is gone: we are unregistered anyway.
            self.reg.state = RegState::Idle;
            self.emit(PhoneEvent::Unregistered {
                user: self.cfg.user.clone(),
            });
            return;
        }
        if let Some(server) = self.cfg.server {
            self.drop_call_ringing_from(server);
        }
        if self.reg.state != RegState::Offline {
            let (code, reason) = match err {
                TxError::Timeout => (408, "Request Timeout".to_string()),
                TxError::Transport(e) => (503, format!("Service Unavailable ({e})")),
            };
            self.emit(PhoneEvent::RegistrationFailed { code, reason });
        }
        if self.reg.wanted {
            self.schedule_retry();
        }
    }

    fn schedule_retry(&mut self) {
        self.reg.state = RegState::Offline;
        let wait = self.reg.backoff;
        self.reg.backoff = (self.reg.backoff * 2).min(MAX_BACKOFF);
        self.reg.deadline = Some(self.now + wait);
        self.emit(PhoneEvent::Offline {
            retry_in_s: wait.as_secs(),
        });
    }
}
