//! Small helpers over rsip messages that the engine needs in several places.

use std::net::{IpAddr, SocketAddr};

use agentphone_sip::rsip;

/// Default SIP port when a URI names none.
const DEFAULT_SIP_PORT: u16 = 5060;

/// Status code and reason phrase of a response. rsip keeps a custom phrase only for codes it
/// does not know; for the others the standard phrase is used.
pub fn status(resp: &rsip::Response) -> (u16, String) {
    let code = resp.status_code.code();
    let reason = match &resp.status_code {
        rsip::StatusCode::Other(_, reason) => reason.trim().to_string(),
        _ => agentphone_sip::message::reason_phrase(code).to_string(),
    };
    (code, reason)
}

/// "CODE Reason", e.g. "480 Temporarily Unavailable".
pub fn status_line(resp: &rsip::Response) -> String {
    let (code, reason) = status(resp);
    if reason.is_empty() {
        code.to_string()
    } else {
        format!("{code} {reason}")
    }
}

/// Append a header given by name and value.
pub fn push_header(headers: &mut rsip::Headers, name: &str, value: &str) {
    headers.push(rsip::Header::Other(name.to_string(), value.to_string()));
}

/// Attach a body with its Content-Type (Content-Length is the endpoint's job).
pub fn set_body(
    headers: &mut rsip::Headers,
    body_slot: &mut Vec<u8>,
    content_type: &str,
    body: Vec<u8>,
) {
    headers.retain(|h| !matches!(h, rsip::Header::ContentType(_)));
    headers.push(rsip::Header::ContentType(rsip::headers::ContentType::from(
        content_type.to_string(),
    )));
    *body_slot = body;
}

/// Add a Contact header `<uri>`.
pub fn push_contact(headers: &mut rsip::Headers, uri: &str) {
    headers.push(rsip::Header::Contact(rsip::headers::Contact::from(
        format!("<{uri}>"),
    )));
}

/// The socket address a SIP URI points at, when its host is an IP literal
/// (`sip:bob@127.0.0.1:5062`, `sip:[::1]:5060;transport=udp`). Host names are not resolved.
pub fn uri_target(uri: &str) -> Option<SocketAddr> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let host_port = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let host_port = host_port.split([';', '?', '>']).next().unwrap_or(host_port);
    if let Ok(addr) = host_port.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = host_port.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, DEFAULT_SIP_PORT))
}

/// The local IP the system would use to reach `to` (no packet is sent: connecting a UDP socket
/// only picks the route).
pub fn route_ip(to: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if to.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any).ok()?;
    socket.connect(to).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// The user part of a SIP URI (`sip:support@host` → `support`).
pub fn uri_user(uri: &str) -> Option<String> {
    let rest = uri
        .trim_start_matches('<')
        .strip_prefix("sip:")
        .or_else(|| uri.trim_start_matches('<').strip_prefix("sips:"))?;
    let (user, _) = rest.split_once('@')?;
    Some(user.to_string())
}

/// The team named in a `Call-Info: <sip:support@HOST>;purpose=x-agentphone-team` value.
pub fn team_from_call_info(value: &str) -> Option<String> {
    if !value
        .to_ascii_lowercase()
        .contains("purpose=x-agentphone-team")
    {
        return None;
    }
    let start = value.find('<')? + 1;
    let end = value[start..].find('>')? + start;
    uri_user(value.get(start..end)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_target_reads_ip_literals() {
        assert_eq!(
            uri_target("sip:bob@127.0.0.1:5062"),
            Some("127.0.0.1:5062".parse().unwrap())
        );
        assert_eq!(
            uri_target("sip:127.0.0.1;transport=udp"),
            Some("127.0.0.1:5060".parse().unwrap())
        );
        assert_eq!(
            uri_target("sip:x@[::1]:7000"),
            Some("[::1]:7000".parse().unwrap())
        );
        assert_eq!(uri_target("sip:bob@example.com"), None);
        assert_eq!(uri_target("tel:123"), None);
    }

    #[test]
    fn route_to_loopback_is_loopback() {
        let ip = route_ip("127.0.0.1:5060".parse().unwrap());
        assert_eq!(ip, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn team_comes_from_call_info_purpose() {
        assert_eq!(
            team_from_call_info("<sip:support@10.0.0.1>;purpose=x-agentphone-team"),
            Some("support".to_string())
        );
        assert_eq!(
            team_from_call_info("<sip:support@10.0.0.1>;purpose=icon"),
            None
        );
        assert_eq!(
            team_from_call_info("garbage;purpose=x-agentphone-team"),
            None
        );
    }

    #[test]
    fn status_splits_code_and_reason() {
        let resp = rsip::Response {
            status_code: rsip::StatusCode::from(480),
            ..Default::default()
        };
        assert_eq!(status(&resp).0, 480);
        assert_eq!(status_line(&resp), "480 Temporarily Unavailable");
    }
}
