//! Header accessors that never panic.

use super::compact::expand_name;
use rsip::prelude::*;

/// Call-ID value.
pub fn call_id(msg: &rsip::SipMessage) -> Option<String> {
    msg.call_id_header()
        .ok()
        .map(|h| h.value().trim().to_string())
}

/// CSeq number and method.
pub fn cseq(msg: &rsip::SipMessage) -> Option<(u32, rsip::Method)> {
    let typed = msg.cseq_header().ok()?.typed().ok()?;
    Some((typed.seq, typed.method))
}

fn tag_param(params: &[rsip::Param]) -> Option<String> {
    params.iter().find_map(|p| match p {
        rsip::Param::Tag(tag) => Some(tag.value().to_string()),
        _ => None,
    })
}

/// Tag of the From header.
pub fn from_tag(msg: &rsip::SipMessage) -> Option<String> {
    tag_param(&msg.from_header().ok()?.typed().ok()?.params)
}

/// Tag of the To header.
pub fn to_tag(msg: &rsip::SipMessage) -> Option<String> {
    tag_param(&msg.to_header().ok()?.typed().ok()?.params)
}

/// Name and value of a header as it appears on the wire.
pub(crate) fn name_and_value(h: &rsip::Header) -> Option<(String, String)> {
    if let rsip::Header::Other(name, value) = h {
        return Some((name.clone(), value.clone()));
    }
    let text = h.to_string();
    let (name, value) = text.split_once(':')?;
    Some((name.trim().to_string(), value.trim().to_string()))
}

/// First value of a header, name case-insensitive (compact names accepted), any header incl.
/// extension ones.
pub fn header_value(msg: &rsip::SipMessage, name: &str) -> Option<String> {
    let wanted = expand_name(name);
    msg.headers()
        .iter()
        .filter_map(name_and_value)
        .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| v)
}

/// All values of a header (in order), name case-insensitive.
pub fn header_values(msg: &rsip::SipMessage, name: &str) -> Vec<String> {
    let wanted = expand_name(name);
    msg.headers()
        .iter()
        .filter_map(name_and_value)
        .filter(|(n, _)| n.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| v)
        .collect()
}

/// URI of the From header.
pub fn from_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    Some(msg.from_header().ok()?.typed().ok()?.uri)
}

/// URI of the To header.
pub fn to_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    Some(msg.to_header().ok()?.typed().ok()?.uri)
}

/// URI of the first Contact header.
pub fn contact_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    msg.headers().iter().find_map(|h| match h {
        rsip::Header::Contact(c) => c.typed().ok().map(|t| t.uri),
        _ => None,
    })
}

/// Display name of the From header (without quotes).
pub fn from_display_name(msg: &rsip::SipMessage) -> Option<String> {
    let name = msg.from_header().ok()?.typed().ok()?.display_name?;
    let name = unquote(name.trim());
    (!name.is_empty()).then_some(name)
}

/// `"Alice \"A\""` → `Alice "A"`; unquoted text is returned as is.
pub(crate) fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => s.to_string(),
    }
}

/// A header from name and value, as the proper rsip variant for known names (`Other` otherwise);
/// control characters are removed from the value.
pub fn make_header(name: &str, value: &str) -> rsip::Header {
    let clean: String = value.chars().filter(|c| !c.is_control()).collect();
    let line = format!("{name}: {clean}");
    rsip::headers::header::Tokenizer::tokenize(line.as_bytes())
        .ok()
        .and_then(|(_, t)| t.try_into().ok())
        .unwrap_or_else(|| rsip::Header::Other(name.to_string(), clean))
}
