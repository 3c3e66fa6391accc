//! Where a request-URI leads: an inbound address (→ its team; the only thing unauthenticated
//! callers may reach, SPEC T11), an agent, a team, an unknown local user, or an outside URI.
//! The offer order inside a team is the directory's job (it owns the live state).

use std::net::{IpAddr, SocketAddr};

use agentphone_sip::endpoint::{Peer, TransportKind};

use crate::context::Ctx;

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

/// Classify a request-URI.
pub fn classify(ctx: &Ctx, uri: &rsip::Uri) -> Route {
    if !ctx.is_us(uri) {
        return Route::External;
    }
    let user = uri.user().unwrap_or_default().to_string();
    if let Some(team) = ctx.config.team_by_inbound(&user) {
        Route::Inbound(team.name.clone())
    } else if ctx.config.agent(&user).is_some() {
        Route::Agent(user)
    } else if ctx.config.team(&user).is_some() {
        Route::Team(user)
    } else {
        Route::UnknownLocal(user)
    }
}

/// Where to send requests for an outside URI: its host (IP or name) and port (default 5060),
/// over TCP when it says `transport=tcp`.
pub async fn external_peer(uri: &rsip::Uri) -> Option<Peer> {
    let host = uri.host_with_port.host.to_string();
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port().map(|p| *p.value()).unwrap_or(5060);
    let transport = match uri.transport() {
        Some(rsip::Transport::Tcp) => TransportKind::Tcp,
        _ => TransportKind::Udp,
    };
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()?
            .next()?,
    };
    Some(Peer { addr, transport })
}
