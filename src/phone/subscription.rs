//! One client subscription (RFC 6665): the SUBSCRIBE dialog's identifiers, its refresh time and
//! the requests that create, refresh and end it. Used for the directory and for a call's room.

use std::time::Duration;

use agentphone_protocol::{directory, history, room, supervisor};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use std::time::Instant;

/// Which event package a subscription is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubKind {
    /// `agentphone-directory` at `sip:directory@HOST`.
    Directory,
    /// `agentphone-directory;scope=self` at `sip:directory@HOST`: my own entry only.
    Own,
    /// `agentphone-room` at the call's room URI.
    Room,
    /// `agentphone-supervisor` at `sip:supervisor@HOST` (supervisors only, V1).
    Floor,
    /// `agentphone-history` at `sip:history@HOST`: fetched only (`Expires: 0`).
    History,
}

impl SubKind {
    /// The `Event` package.
    pub fn event(self) -> &'static str {
        match self {
            SubKind::Directory | SubKind::Own => directory::EVENT,
            SubKind::Room => room::EVENT,
            SubKind::Floor => supervisor::EVENT,
            SubKind::History => history::EVENT,
        }
    }

    /// The `Event` header of its SUBSCRIBEs (the package and its parameters).
    pub fn event_header(self) -> String {
        match self {
            SubKind::Own => format!("{};{}", directory::EVENT, directory::SCOPE_SELF),
            _ => self.event().to_string(),
        }
    }

    fn accept(self) -> &'static str {
        match self {
            SubKind::Directory | SubKind::Own => directory::CONTENT_TYPE,
            SubKind::Room => room::CONTENT_TYPE,
            SubKind::Floor => supervisor::CONTENT_TYPE,
            SubKind::History => history::CONTENT_TYPE,
        }
    }

    /// The lifetime asked for.
    pub fn expires(self) -> u32 {
        match self {
            SubKind::Directory | SubKind::Own | SubKind::Floor => 600,
            SubKind::Room => 3600,
            SubKind::History => 0,
        }
    }
}

/// One subscription's dialog state.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Its package.
    pub kind: SubKind,
    /// The resource (request-URI of the first SUBSCRIBE, and To).
    pub uri: String,
    /// Call-ID of the dialog.
    pub call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    remote_target: Option<String>,
    cseq: u32,
    /// Challenges answered for the current request.
    pub auth_rounds: u32,
    /// When to refresh (set by the 2xx).
    pub refresh_at: Option<Instant>,
    /// The last state version reported (older NOTIFYs are not reported again).
    pub last_version: Option<u64>,
    /// A document too new for this phone was reported to the user already.
    pub too_new_reported: bool,
}

impl Subscription {
    /// A subscription not yet sent.
    pub fn new(kind: SubKind, uri: String) -> Self {
        Subscription {
            kind,
            uri,
            call_id: message::new_call_id(),
            local_tag: message::new_tag(),
            remote_tag: None,
            remote_target: None,
            cseq: 0,
            auth_rounds: 0,
            refresh_at: None,
            last_version: None,
            too_new_reported: false,
        }
    }

    /// The next SUBSCRIBE: out of dialog until the notifier answered, then in its dialog.
    pub fn request(
        &mut self,
        aor: &str,
        display: Option<&str>,
        contact: &str,
        expires: u32,
    ) -> Result<rsip::Request, String> {
        self.cseq += 1;
        let target = self.remote_target.as_deref().unwrap_or(&self.uri);
        RequestBuilder::new(rsip::Method::Subscribe, target)
            .map_err(|e| format!("{target}: {e}"))?
            .from(display, aor, &self.local_tag)
            .to(None, &self.uri, self.remote_tag.as_deref())
            .call_id(&self.call_id)
            .cseq(self.cseq)
            .contact(contact)
            .header("Event", &self.kind.event_header())
            .header("Accept", self.kind.accept())
            .header("Expires", &expires.to_string())
            .build()
            .map_err(|e| format!("SUBSCRIBE: {e}"))
    }

    /// A 2xx: learn the dialog and schedule the refresh at three quarters of the lifetime granted.
    pub fn on_accepted(&mut self, resp: &rsip::Response, requested: u32, now: Instant) {
        let msg = rsip::SipMessage::Response(resp.clone());
        self.learn_dialog(&msg);
        let granted = message::header_value(&msg, "Expires")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&e| e > 0)
            .unwrap_or(u64::from(requested));
        self.auth_rounds = 0;
        self.refresh_at =
            Some(now + Duration::from_millis(granted * 750).max(Duration::from_secs(1)));
    }

    /// Remember the notifier's tag and Contact (from a 2xx or a NOTIFY, whichever comes first).
    pub fn learn_dialog(&mut self, msg: &rsip::SipMessage) {
        let tag = match msg {
            rsip::SipMessage::Response(_) => message::to_tag(msg),
            rsip::SipMessage::Request(_) => message::from_tag(msg),
        };
        if self.remote_tag.is_none() {
            self.remote_tag = tag;
        }
        if self.remote_target.is_none() {
            self.remote_target = message::contact_uri(msg).map(|u| u.to_string());
        }
    }

    /// The notifier has answered (2xx or NOTIFY): the dialog exists.
    pub fn confirmed(&self) -> bool {
        self.remote_tag.is_some()
    }

    /// Whether a NOTIFY belongs to this subscription (its Call-ID and our tag in To).
    pub fn owns(&self, msg: &rsip::SipMessage) -> bool {
        message::call_id(msg).as_deref() == Some(self.call_id.as_str())
            && message::to_tag(msg).as_deref() == Some(self.local_tag.as_str())
    }
}

/// The state a NOTIFY's `Subscription-State` announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubState {
    /// `active` or `pending`.
    Active,
    /// `terminated`: no more NOTIFYs come.
    Terminated,
}

/// Read `Subscription-State` (absent counts as active).
pub fn subscription_state(msg: &rsip::SipMessage) -> SubState {
    let value = message::header_value(msg, "Subscription-State").unwrap_or_default();
    let state = value.split(';').next().unwrap_or_default().trim();
    if state.eq_ignore_ascii_case("terminated") {
        SubState::Terminated
    } else {
        SubState::Active
    }
}

/// The `Event` header's package, lower case, without parameters (`refer;id=3` → `refer`).
pub fn event_package(msg: &rsip::SipMessage) -> String {
    message::header_value(msg, "Event")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}
