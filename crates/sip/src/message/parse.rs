//! Parsing and serialising whole messages.

use super::compact::{
    expand_name, has_params, is_list_header, split_list, tighten_params, tighten_via,
};
use super::ipv6;
use super::reason::reason_phrase;
use super::strict::Strict;
use super::validate::validate;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Largest header section we accept; anything bigger is an attack or a bug.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// A message that could not be parsed; `reason` says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    /// Human-readable reason (used as the 400 reason phrase).
    pub reason: String,
    /// The status a request that failed this way is answered with: 400, or 501 (unknown
    /// method), 505 (SIP version), 416 (Request-URI scheme).
    pub status: u16,
}

impl ParseError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        ParseError::with_status(400, reason)
    }

    pub(crate) fn with_status(status: u16, reason: impl Into<String>) -> Self {
        ParseError {
            reason: reason.into(),
            status,
        }
    }
}

/// Parse one SIP message. Expands RFC 3261 §7.3.3 compact header names and splits comma-joined
/// Via / Contact / Route / Record-Route values before handing it to rsip. Also unfolds continuation
/// lines, accepts bare LF line ends, honours Content-Length, and checks that Via, From, To, Call-ID
/// and CSeq are present and well-formed.
pub fn parse(bytes: &[u8]) -> Result<rsip::SipMessage, ParseError> {
    let canonical = normalize(bytes)?;
    let msg = rsip::SipMessage::try_from(canonical.as_slice())
        .map_err(|e| ParseError::new(rsip_reason(&e)))?;
    validate(&msg)?;
    Ok(msg)
}

/// Where the header section ends: (end of headers, start of body).
pub(crate) fn split_head(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = find(bytes, b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = find(bytes, b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Unfolded `(name, value)` header lines of a header section (names not expanded). Values borrow
/// from `head` unless a continuation line had to be joined.
pub(crate) fn header_lines(head: &str) -> Vec<(&str, Cow<'_, str>)> {
    let mut out: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(16);
    for line in head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                let joined = last.1.to_mut();
                joined.push(' ');
                joined.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) => out.push((name.trim(), Cow::Borrowed(value.trim()))),
            // Keep the line so that the caller can report it as malformed.
            None => out.push((line, Cow::Borrowed(""))),
        }
    }
    out
}

/// An RFC 3261 §25.1 `token` (header names, methods).
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c))
}

/// Rewrite a raw message into the strict form rsip understands.
fn normalize(bytes: &[u8]) -> Result<Vec<u8>, ParseError> {
    // RFC 5626 keep-alives and stray CRLFs before a message are allowed.
    let start = bytes
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .ok_or_else(|| ParseError::new("Empty message"))?;
    let bytes = bytes.get(start..).unwrap_or_default();
    let (head_end, body_start) = match split_head(bytes) {
        Some(split) => split,
        None if bytes.len() > MAX_HEADER_BYTES => {
            return Err(ParseError::new("Header section too large"))
        }
        None => return Err(ParseError::new("Missing blank line after headers")),
    };
    if head_end > MAX_HEADER_BYTES {
        return Err(ParseError::new("Header section too large"));
    }
    let head = std::str::from_utf8(bytes.get(..head_end).unwrap_or_default())
        .map_err(|_| ParseError::new("Headers are not valid UTF-8"))?;
    let body = bytes.get(body_start..).unwrap_or_default();

    let (start_line, rest) = head.split_once('\n').unwrap_or((head, ""));
    let start_line = start_line.trim_end_matches('\r');
    let mut out = String::with_capacity(head.len() + 64);
    write_start_line(start_line, &mut out)?;

    let mut content_length: Option<usize> = None;
    let mut strict = Strict::default();
    for (name, value) in header_lines(rest) {
        if !is_token(name) {
            return Err(ParseError::new("Malformed header line"));
        }
        let name = expand_name(name);
        strict.check(name, &value)?;
        if name.eq_ignore_ascii_case("Content-Length") {
            if content_length.is_some() {
                // RFC 4475 mcl01: no way to know where the message ends.
                return Err(ParseError::new("Multiple Content-Length headers"));
            }
            let len = value
                .parse::<usize>()
                .map_err(|_| ParseError::new("Malformed Content-Length header"))?;
            content_length = Some(len);
            continue; // written once below, with the checked value
        }
        if is_list_header(name) {
            for part in split_list(&value) {
                let part = if name.eq_ignore_ascii_case("Via") {
                    tighten_via(part)
                } else {
                    Cow::Borrowed(part)
                };
                let part = ipv6::escape(&part);
                let _ = write!(out, "{name}: {}\r\n", tighten_params(&part));
            }
        } else if has_params(name) {
            let value = ipv6::escape(&value);
            let _ = write!(out, "{name}: {}\r\n", tighten_params(&value));
        } else {
            let _ = write!(out, "{name}: {value}\r\n");
        }
    }
    let body = match content_length {
        Some(len) => body
            .get(..len)
            .ok_or_else(|| ParseError::new("Body shorter than Content-Length"))?,
        None => body,
    };
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    let mut canonical = out.into_bytes();
    canonical.extend_from_slice(body);
    Ok(canonical)
}

/// Request-Line or Status-Line with exactly the single spaces rsip requires.
fn write_start_line(line: &str, out: &mut String) -> Result<(), ParseError> {
    if line.starts_with("SIP/") {
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default().trim();
        if version != "SIP/2.0" {
            return Err(ParseError::new("Unsupported SIP version"));
        }
        let code: u16 = code
            .parse()
            .ok()
            .filter(|c| (100..700).contains(c))
            .ok_or_else(|| ParseError::new("Malformed status code"))?;
        let _ = write!(out, "SIP/2.0 {code} {reason}\r\n");
        return Ok(());
    }
    // Exactly one SP between the three elements, none after (RFC 4475 `lwsstart`, `trws`,
    // `lwsruri`).
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::new("Malformed Request-Line"));
    };
    if method.is_empty() || uri.is_empty() {
        return Err(ParseError::new("Malformed Request-Line"));
    }
    if version != "SIP/2.0" {
        return Err(ParseError::with_status(505, "Version Not Supported"));
    }
    // RFC 3261 §8.2: the method is inspected before the Request-URI.
    if method.parse::<rsip::Method>().is_err() {
        let shown: String = method
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(20)
            .collect();
        return Err(ParseError::with_status(
            501,
            format!("Unsupported method {shown}"),
        ));
    }
    match uri_scheme(uri) {
        // Not a URI at all (`<sip:…>`, RFC 4475 `ltgtruri`).
        None => return Err(ParseError::new("Malformed Request-URI")),
        // A URI we do not serve (RFC 3261 §8.2.2.1; RFC 4475 `unkscm`, `novelsc`).
        Some(scheme) if !is_sip_scheme(scheme) => {
            return Err(ParseError::with_status(416, "Unsupported URI Scheme"));
        }
        Some(_) => {}
    }
    if parse_uri(uri).is_none() {
        return Err(ParseError::new("Malformed Request-URI"));
    }
    let uri = ipv6::escape(uri);
    let uri = escape_user_semicolons(&uri);
    let _ = write!(out, "{method} {uri} SIP/2.0\r\n");
    Ok(())
}

/// The scheme of an RFC 3261 §25.1 `absoluteURI` (`scheme ":" …`, scheme = ALPHA *( ALPHA /
/// DIGIT / "+" / "-" / "." )), or None when `uri` is not one (no scheme, an empty rest, or
/// characters no URI holds unescaped: SP, `<`, `>`, `"`).
pub(crate) fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.bytes();
    let scheme_ok = chars.next().is_some_and(|b| b.is_ascii_alphabetic())
        && chars.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let rest_ok = !rest.is_empty() && !rest.contains([' ', '<', '>', '"']);
    (scheme_ok && rest_ok).then_some(scheme)
}

/// `sip` or `sips`, case-insensitive.
pub(crate) fn is_sip_scheme(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
}

/// RFC 3261 allows `;` in a URI's user part (`sip:user;par=u%40example.net@example.com`, RFC
/// 4475 `semiuri`), but rsip reads everything after it as parameters of a host named `user` (and
/// it cannot read a user part with a `.` either). In such a Request-URI (never echoed back) the
/// user part's `;` and `.` are escaped (`%3B`, `%2E`; RFC 3261 §19.1.4: an escaped `.` is the
/// same character), so it stays one user part (`user%3Bpar=u%40example%2Enet`); it names nobody
/// here either way. Other URIs are untouched (`@` cannot appear unescaped after the host).
fn escape_user_semicolons(uri: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Cow::Borrowed(uri);
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(';') => {
            let user = user.replace(';', "%3B").replace('.', "%2E");
            Cow::Owned(format!("{scheme}:{user}@{host}"))
        }
        _ => Cow::Borrowed(uri),
    }
}

/// A short, printable reason from an rsip error (whose text may quote the whole input).
fn rsip_reason(err: &rsip::Error) -> String {
    let text = err.to_string();
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .take(60)
        .collect();
    format!("Malformed message ({})", clean.trim())
}

/// Serialise a message; Content-Length is always set to the body length. The status line carries
/// the reason phrase given to [`super::response`] (or the standard one).
pub fn to_bytes(msg: &rsip::SipMessage) -> Vec<u8> {
    match msg {
        rsip::SipMessage::Request(r) => request_bytes(r),
        rsip::SipMessage::Response(r) => response_bytes(r),
    }
}

/// Serialise a request without wrapping (cloning) it into a `SipMessage`.
pub fn request_bytes(r: &rsip::Request) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    let _ = write!(out, "{} {} SIP/2.0\r\n", r.method, r.uri);
    restore_ipv6(&mut out, 0);
    finish(out, &r.headers, &r.body)
}

/// Serialise a response without wrapping (cloning) it into a `SipMessage`.
pub fn response_bytes(r: &rsip::Response) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    let _ = match &r.status_code {
        rsip::StatusCode::Other(code, reason) => write!(out, "SIP/2.0 {code} {reason}\r\n"),
        known => {
            let code = known.code();
            write!(out, "SIP/2.0 {code} {}\r\n", reason_phrase(code))
        }
    };
    finish(out, &r.headers, &r.body)
}

/// Put back the IPv6 references the stack keeps escaped in what was written to `out` from
/// `start` on; only text with a bracket can hold one (no copy otherwise).
fn restore_ipv6(out: &mut String, start: usize) {
    let Some(written) = out.get(start..).filter(|w| w.contains('[')) else {
        return;
    };
    let restored = ipv6::unescape(written).into_owned();
    out.truncate(start);
    out.push_str(&restored);
}

/// Headers (Content-Length replaced by the real one), blank line, body.
fn finish(mut out: String, headers: &rsip::Headers, body: &[u8]) -> Vec<u8> {
    for h in headers.iter() {
        if !matches!(h, rsip::Header::ContentLength(_)) {
            let start = out.len();
            let _ = write!(out, "{h}\r\n");
            restore_ipv6(&mut out, start);
        }
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A URI with a scheme (rsip alone accepts any word as a host name); an IPv6 reference is
/// accepted and kept escaped (see [`ipv6`]).
pub fn parse_uri(text: &str) -> Option<rsip::Uri> {
    rsip::Uri::try_from(ipv6::escape(text).as_ref())
        .ok()
        .filter(|u| u.scheme.is_some())
}
