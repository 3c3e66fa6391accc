//! Header accessors that never panic.

use super::fields;

/// Call-ID value.
pub fn call_id(msg: &rsip::SipMessage) -> Option<String> {
    fields::call_id(msg)
}

/// CSeq number and method.
pub fn cseq(msg: &rsip::SipMessage) -> Option<(u32, rsip::Method)> {
    fields::cseq(msg)
}

/// Tag of the From header.
pub fn from_tag(msg: &rsip::SipMessage) -> Option<String> {
    fields::from_tag(msg)
}

/// Tag of the To header.
pub fn to_tag(msg: &rsip::SipMessage) -> Option<String> {
    fields::to_tag(msg)
}

/// First value of a header, name case-insensitive (compact names accepted), any header incl.
/// extension ones.
pub fn header_value(msg: &rsip::SipMessage, name: &str) -> Option<String> {
    fields::header_value(msg, name)
}

/// All values of a header (in order), name case-insensitive.
pub fn header_values(msg: &rsip::SipMessage, name: &str) -> Vec<String> {
    fields::header_values(msg, name)
}

/// URI of the From header.
pub fn from_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    fields::from_uri(msg)
}

/// URI of the To header.
pub fn to_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    fields::to_uri(msg)
}

/// URI of the first Contact header.
pub fn contact_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    fields::contact_uri(msg)
}

/// Display name of the From header (without quotes).
pub fn from_display_name(msg: &rsip::SipMessage) -> Option<String> {
    fields::from_display_name(msg)
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
    // An IPv6 reference travels escaped inside the stack (see `ipv6`).
    let clean = super::ipv6::escape(&clean).into_owned();
    let line = format!("{name}: {clean}");
    rsip::headers::header::Tokenizer::tokenize(line.as_bytes())
        .ok()
        .and_then(|(_, t)| t.try_into().ok())
        .unwrap_or_else(|| rsip::Header::Other(name.to_string(), clean))
}
