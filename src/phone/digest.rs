//! The client side of digest authentication: remembers the last challenge so every later
//! out-of-dialog request carries credentials (nc incremented), and answers a new challenge once.

use agentphone_sip::auth::{Challenge, Credentials};
use agentphone_sip::message;
use agentphone_sip::rsip;

/// Which header pair the challenge came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChallengeKind {
    /// 401 WWW-Authenticate → Authorization.
    Www,
    /// 407 Proxy-Authenticate → Proxy-Authorization.
    Proxy,
}

/// Digest state of one user agent.
pub struct DigestClient {
    username: String,
    password: Option<String>,
    challenge: Option<(Challenge, ChallengeKind)>,
    nc: u32,
}

impl DigestClient {
    /// A client for `username`; without a password it never answers challenges.
    pub fn new(username: &str, password: Option<&str>) -> Self {
        DigestClient {
            username: username.to_string(),
            password: password.map(str::to_string),
            challenge: None,
            nc: 0,
        }
    }

    /// Remember the challenge of a 401/407 (the first one we support: the server lists SHA-256
    /// first). Returns false when the response carries none we can answer or we have no password.
    pub fn on_challenge(&mut self, resp: &rsip::Response) -> bool {
        if self.password.is_none() {
            return false;
        }
        let msg = rsip::SipMessage::Response(resp.clone());
        let (header, kind) = if resp.status_code.code() == 407 {
            ("Proxy-Authenticate", ChallengeKind::Proxy)
        } else {
            ("WWW-Authenticate", ChallengeKind::Www)
        };
        let found = message::header_values(&msg, header)
            .iter()
            .find_map(|v| Challenge::parse(v));
        match found {
            Some(ch) => {
                self.challenge = Some((ch, kind));
                self.nc = 0;
                true
            }
            None => false,
        }
    }

    /// Whether the last challenge said our nonce was merely stale (so a retry is worth it).
    pub fn last_was_stale(&self) -> bool {
        self.challenge.as_ref().is_some_and(|(c, _)| c.stale)
    }

    /// Add credentials for `method` on `uri` to `headers`, when a challenge is known.
    pub fn authorize(&mut self, headers: &mut rsip::Headers, method: &str, uri: &str) {
        let (Some((ch, kind)), Some(password)) = (self.challenge.as_ref(), self.password.as_ref())
        else {
            return;
        };
        self.nc += 1;
        let creds = Credentials::answer(ch, &self.username, password, method, uri, self.nc);
        let name = match kind {
            ChallengeKind::Www => "Authorization",
            ChallengeKind::Proxy => "Proxy-Authorization",
        };
        headers.retain(|h| {
            !matches!(
                h,
                rsip::Header::Authorization(_) | rsip::Header::ProxyAuthorization(_)
            ) && !matches!(h, rsip::Header::Other(n, _) if n.eq_ignore_ascii_case(name))
        });
        super::sip_util::push_header(headers, name, &creds.to_header_value());
    }
}
