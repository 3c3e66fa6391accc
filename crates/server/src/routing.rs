//! Where a request-URI leads: an inbound address (→ its team; the only thing unauthenticated
//! callers may reach, SPEC T11), an agent, a team, an unknown local user, or an outside URI.
//! And the offer order inside a team (SPEC T3), applied by the directory to its live state.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use agentphone_sip::endpoint::{Peer, TransportKind};

use crate::config::Config;

/// The destination a request-URI names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `sip:INBOUND@us`: the team with that inbound address.
    Inbound(String),
    /// `sip:AGENT@us`.
    Agent(String),
    /// `sip:TEAM@us` (agents calling a team by name).
    Team(String),
    /// A user at our host that we do not know.
    UnknownLocal(String),
    /// Not our host: an outbound call.
    External,
}

/// Classify a request-URI (`sip`: the address our SIP listens on; `tls_port`: our SIP over TLS
/// port, if any).
pub fn classify(config: &Config, sip: SocketAddr, tls_port: Option<u16>, uri: &rsip::Uri) -> Route {
    if !is_us(config, sip, tls_port, uri) {
        return Route::External;
    }
    let user = uri.user().unwrap_or_default().to_string();
    if let Some(team) = config.team_by_inbound(&user) {
        Route::Inbound(team.name.clone())
    } else if config.agent(&user).is_some() {
        Route::Agent(user)
    } else if config.team(&user).is_some() {
        Route::Team(user)
    } else {
        Route::UnknownLocal(user)
    }
}

/// Is this request-URI ours? Our domain name with any port, or one of our IPs with our SIP
/// port, our TLS port or none (another port on our IP is another user agent on this machine:
/// outbound).
fn is_us(config: &Config, sip: SocketAddr, tls_port: Option<u16>, uri: &rsip::Uri) -> bool {
    let host = uri.host_with_port.host.to_string();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port().map(|p| *p.value());
    match host.parse::<IpAddr>() {
        Ok(ip) => {
            let our_ip = ip == config.media_ip
                || ip == sip.ip()
                || config.domain.parse::<IpAddr>().is_ok_and(|d| d == ip);
            our_ip && port.is_none_or(|p| p == sip.port() || Some(p) == tls_port)
        }
        Err(_) => host.eq_ignore_ascii_case(&config.domain),
    }
}

/// Where to send requests for an outside URI: its host (IP or name) and port (default 5060),
/// over TCP when it says `transport=tcp`, over TLS (default port 5061) for `transport=tls` or sips:.
pub async fn external_peer(uri: &rsip::Uri) -> Option<Peer> {
    let host = uri.host_with_port.host.to_string();
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let sips = matches!(uri.scheme, Some(rsip::Scheme::Sips));
    let transport = match uri.transport() {
        Some(rsip::Transport::Tls) => TransportKind::Tls,
        _ if sips => TransportKind::Tls,
        Some(rsip::Transport::Tcp) => TransportKind::Tcp,
        _ => TransportKind::Udp,
    };
    let default_port = if transport == TransportKind::Tls {
        5061
    } else {
        5060
    };
    let port = uri.port().map(|p| *p.value()).unwrap_or(default_port);
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()?
            .next()?,
    };
    Some(Peer { addr, transport })
}

/// One team member as the offer order sees them.
#[derive(Clone, Copy, Debug)]
pub struct MemberView<'a> {
    /// User name.
    pub name: &'a str,
    /// Voice-active, registered, not on a call, not ringing, not already tried.
    pub available: bool,
    /// Idle since (end of the last call, or server start).
    pub idle_since: Instant,
}

/// SPEC T3: among the available members, the longest idle; equal idle times keep the config's
/// member order (members are given in that order).
pub fn next_to_offer<'a>(members: impl IntoIterator<Item = MemberView<'a>>) -> Option<&'a str> {
    let mut best: Option<MemberView<'a>> = None;
    for m in members.into_iter().filter(|m| m.available) {
        // Strictly earlier wins, so the first of equals stays.
        if best.is_none_or(|b| m.idle_since < b.idle_since) {
            best = Some(m);
        }
    }
    best.map(|m| m.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn longest_idle_available_member_wins_and_ties_keep_member_order() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(5);
        let view = |name, available, idle_since| MemberView {
            name,
            available,
            idle_since,
        };
        // Table: (members, expected)
        let cases: Vec<(Vec<MemberView<'_>>, Option<&str>)> = vec![
            (vec![], None),
            (vec![view("a", false, t0)], None),
            (vec![view("a", true, t1), view("b", true, t0)], Some("b")),
            (vec![view("a", true, t0), view("b", true, t0)], Some("a")),
            (
                vec![
                    view("a", false, t0),
                    view("b", true, t1),
                    view("c", true, t1),
                ],
                Some("b"),
            ),
        ];
        for (members, expected) in cases {
            assert_eq!(next_to_offer(members.clone()), expected, "{members:?}");
        }
    }
}
