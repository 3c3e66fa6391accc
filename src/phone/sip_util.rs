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

/// Why a typed dial target cannot be dialled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialError {
    /// Nothing typed.
    Empty,
    /// A bare name or number, and no server to resolve it at.
    NoServer,
}

/// What to dial for what a user typed: a SIP URI as is, `user@host` with `sip:` in front, a bare
/// name or number as `sip:NAME@SERVER`.
pub fn dial_uri(target: &str, server: Option<SocketAddr>) -> Result<String, DialError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(DialError::Empty);
    }
    if target.starts_with("sip:") || target.starts_with("sips:") {
        return Ok(target.to_string());
    }
    if target.contains('@') {
        return Ok(format!("sip:{target}"));
    }
    match server {
        Some(server) => Ok(format!("sip:{target}@{server}")),
        None => Err(DialError::NoServer),
    }
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

/// Whether a `Call-Info` value marks the call listen-only (`purpose=x-agentphone-listen-only`).
pub fn is_listen_only_call_info(value: &str) -> bool {
    value
        .to_ascii_lowercase()
        .contains("purpose=x-agentphone-listen-only")
}

/// The user part of a name-addr header value (`"Alice" <sip:alice@h>` or `<sip:alice@h>` or a
/// bare URI).
pub fn name_addr_user(value: &str) -> Option<String> {
    let value = value.trim();
    let uri = value
        .find('<')
        .and_then(|i| value.get(i..))
        .unwrap_or(value);
    uri_user(uri).filter(|u| !u.is_empty())
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

/// The text of the first `Warning` header (RFC 3261 §20.43: `399 agentphone "text"` → `text`),
/// unescaped; None when there is none or it has no quoted text.
pub fn warning_text(resp: &rsip::Response) -> Option<String> {
    let msg = rsip::SipMessage::Response(resp.clone());
    agentphone_sip::message::header_values(&msg, "Warning")
        .iter()
        .find_map(|v| quoted_text(v))
        .filter(|t| !t.is_empty())
}

/// The first double-quoted string of `value`, with `\x` escapes undone.
fn quoted_text(value: &str) -> Option<String> {
    let start = value.find('"')? + 1;
    let mut out = String::new();
    let mut chars = value.get(start..)?.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// Why a request was refused, as an agent reads it: the Warning text, else the status line.
pub fn refusal_reason(resp: &rsip::Response) -> String {
    warning_text(resp).unwrap_or_else(|| status_line(resp))
}

/// Percent-encode everything but RFC 3986 unreserved characters (for URI header parameters such
/// as `?Subject=`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `name` can be the user part of a SIP URI as is (agent and team names).
pub fn is_plain_user(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()+".contains(&b))
}

/// The status code and reason of a `message/sipfrag` body (`SIP/2.0 180 Ringing`).
pub fn sipfrag_status(body: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0")?.trim_start();
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = code.parse().ok()?;
    (100..700)
        .contains(&code)
        .then(|| (code, reason.trim().to_string()))
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
    fn dial_targets_become_sip_uris() {
        let server = Some("10.0.0.1:5060".parse().unwrap());
        assert_eq!(dial_uri("bob", server).unwrap(), "sip:bob@10.0.0.1:5060");
        assert_eq!(dial_uri(" sip:x@h ", server).unwrap(), "sip:x@h");
        assert_eq!(dial_uri("x@h", None).unwrap(), "sip:x@h");
        assert_eq!(dial_uri("", server), Err(DialError::Empty));
        assert_eq!(dial_uri("bob", None), Err(DialError::NoServer));
        assert_eq!(
            uri_user("sip:alice@h:5060;transport=tcp").as_deref(),
            Some("alice")
        );
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

    #[test]
    fn warning_text_is_unquoted_and_unescaped() {
        let mut resp = rsip::Response {
            status_code: rsip::StatusCode::from(488),
            ..Default::default()
        };
        resp.headers.push(rsip::Header::Other(
            "Warning".into(),
            r#"399 agentphone "The call already has 3 \"participants\"""#.into(),
        ));
        assert_eq!(
            warning_text(&resp).as_deref(),
            Some(r#"The call already has 3 "participants""#)
        );
        let bare = rsip::Response {
            status_code: rsip::StatusCode::from(480),
            ..Default::default()
        };
        assert_eq!(warning_text(&bare), None);
        assert_eq!(refusal_reason(&bare), "480 Temporarily Unavailable");
    }

    #[test]
    fn percent_encoding_keeps_unreserved_only() {
        assert_eq!(percent_encode("billing question"), "billing%20question");
        assert_eq!(percent_encode("a&b=c?é"), "a%26b%3Dc%3F%C3%A9");
        assert_eq!(percent_encode("A-z_0.~"), "A-z_0.~");
    }

    #[test]
    fn sipfrag_status_reads_the_first_line() {
        assert_eq!(
            sipfrag_status(b"SIP/2.0 180 Ringing\r\n"),
            Some((180, "Ringing".into()))
        );
        assert_eq!(
            sipfrag_status(b"SIP/2.0 603 Declined"),
            Some((603, "Declined".into()))
        );
        assert_eq!(sipfrag_status(b"SIP/2.0 200"), Some((200, String::new())));
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 99 Low"), None);
        assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);
    }

    #[test]
    fn plain_user_names() {
        assert!(is_plain_user("bob"));
        assert!(is_plain_user("team.sales-2"));
        assert!(!is_plain_user(""));
        assert!(!is_plain_user("bob@evil"));
        assert!(!is_plain_user("a b"));
    }
}
