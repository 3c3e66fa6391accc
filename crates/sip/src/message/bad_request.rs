//! Building an error reply from a message that did not parse, from its raw header lines.

use super::compact::{expand_name, is_list_header, split_list};
use super::parse::{header_lines, is_token, split_head, MAX_HEADER_BYTES};
use super::reason::reason_phrase;
use std::fmt::Write as _;

/// When a datagram/stream frame fails to parse but looks like a request, enough of it to answer 400
/// (Via lines, From, To, Call-ID, CSeq copied raw). None when no reply is possible: not a request,
/// an ACK (never answered), or none of those headers readable.
pub fn bad_request_reply(bytes: &[u8], reason: &str) -> Option<Vec<u8>> {
    error_reply(bytes, 400, reason)
}

/// Like [`bad_request_reply`] with any status code (e.g. 501 for an unknown method).
pub fn error_reply(bytes: &[u8], code: u16, reason: &str) -> Option<Vec<u8>> {
    error_reply_with(bytes, code, reason, &[])
}

/// Like [`error_reply`], with `extra` headers (e.g. `Allow` in a 501, RFC 3261 §21.5.2).
pub fn error_reply_with(
    bytes: &[u8],
    code: u16,
    reason: &str,
    extra: &[(&str, &str)],
) -> Option<Vec<u8>> {
    let start = bytes.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    let bytes = bytes.get(start..)?;
    let head_end = split_head(bytes).map_or(bytes.len(), |(end, _)| end);
    let head = String::from_utf8_lossy(bytes.get(..head_end.min(MAX_HEADER_BYTES))?);
    let (start_line, rest) = head.split_once('\n')?;
    if !looks_like_request_line(start_line.trim_end_matches('\r')) {
        return None;
    }

    let mut out = String::with_capacity(512);
    let mut found = 0;
    for (name, value) in header_lines(rest) {
        let name = expand_name(name);
        let wanted = ["Via", "From", "To", "Call-ID", "CSeq"]
            .into_iter()
            .find(|w| w.eq_ignore_ascii_case(name));
        let Some(canonical) = wanted else { continue };
        if !is_printable(&value) {
            continue;
        }
        found += 1;
        if is_list_header(canonical) {
            for part in split_list(&value) {
                let _ = write!(out, "{canonical}: {part}\r\n");
            }
        } else {
            let _ = write!(out, "{canonical}: {value}\r\n");
        }
    }
    if found == 0 {
        return None;
    }
    let phrase = sanitize_reason(reason, code);
    let mut reply = format!("SIP/2.0 {code} {phrase}\r\n");
    reply.push_str(&out);
    for (name, value) in extra {
        let _ = write!(reply, "{name}: {value}\r\n");
    }
    reply.push_str("Content-Length: 0\r\n\r\n");
    Some(reply.into_bytes())
}

fn looks_like_request_line(line: &str) -> bool {
    // The version is the last element even when LWS splits the Request-URI (`lwsruri`).
    let mut parts = line.split_whitespace();
    let (Some(method), Some(_uri), Some(version)) = (parts.next(), parts.next(), parts.last())
    else {
        return false;
    };
    // Any token (RFC 3261 §25.1 `extension-method`): an unknown method gets its 501.
    is_token(method) && !method.eq_ignore_ascii_case("ACK") && version.starts_with("SIP/")
}

fn is_printable(value: &str) -> bool {
    value.chars().all(|c| !c.is_control() || c == '\t')
}

/// A reason phrase must be one line of text.
fn sanitize_reason(reason: &str, code: u16) -> String {
    let clean: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(100)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        reason_phrase(code).to_string()
    } else {
        clean.to_string()
    }
}
