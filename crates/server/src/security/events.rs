//! Security events as one fixed-format log line each, for fail2ban and friends (target
//! `agentphone::security`, level warn):
//!
//! ```text
//! … WARN agentphone::security: SECURITY auth-failure source=203.0.113.7 user="alice" detail="wrong password"
//! ```
//!
//! Kinds: `auth-failure` (a wrong answer was checked), `auth-backoff` (refused unchecked: this
//! source failed too often for this account), `auth-slowed` (refused unchecked: the account is
//! guessed from many sources), `auth-replay` (a nonce count used again). The source is the IP
//! the request came from; `docs/security.md` has a sample filter.

use std::net::IpAddr;

/// The kinds of event.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    AuthFailure,
    AuthBackoff,
    AuthSlowed,
    AuthReplay,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::AuthFailure => "auth-failure",
            Kind::AuthBackoff => "auth-backoff",
            Kind::AuthSlowed => "auth-slowed",
            Kind::AuthReplay => "auth-replay",
        }
    }
}

/// The line (without the logger's prefix).
pub fn line(kind: Kind, source: IpAddr, user: &str, detail: &str) -> String {
    format!(
        "SECURITY {} source={source} user={:?} detail={detail:?}",
        kind.name(),
        user.chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect::<String>()
    )
}

/// Log one event.
pub fn log(kind: Kind, source: IpAddr, user: &str, detail: &str) {
    tracing::warn!(target: "agentphone::security", "{}", line(kind, source, user, detail));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_has_a_fixed_shape_and_no_injected_lines() {
        let ip = IpAddr::from([203, 0, 113, 7]);
        assert_eq!(
            line(Kind::AuthFailure, ip, "alice", "wrong password"),
            "SECURITY auth-failure source=203.0.113.7 user=\"alice\" detail=\"wrong password\""
        );
        let evil = line(Kind::AuthSlowed, ip, "x\n… source=1.1.1.1", "d");
        assert!(!evil.contains('\n'), "{evil}");
        assert!(
            evil.starts_with("SECURITY auth-slowed source=203.0.113.7 "),
            "{evil}"
        );
    }
}
