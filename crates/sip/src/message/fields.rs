//! Header accessors for any message type — `&rsip::Request`, `&rsip::Response` or
//! `&rsip::SipMessage` — so that a caller holding a request never clones it into a `SipMessage`
//! just to read a header. The `message::call_id(&SipMessage)`-style helpers delegate here.

use super::compact::expand_name;
use rsip::message::HeadersExt;
use rsip::prelude::*;

/// Call-ID value.
pub fn call_id<M: HeadersExt>(msg: &M) -> Option<String> {
    msg.call_id_header()
        .ok()
        .map(|h| h.value().trim().to_string())
}

/// CSeq number and method.
pub fn cseq<M: HeadersExt>(msg: &M) -> Option<(u32, rsip::Method)> {
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
pub fn from_tag<M: HeadersExt>(msg: &M) -> Option<String> {
    tag_param(&msg.from_header().ok()?.typed().ok()?.params)
}

/// Tag of the To header.
pub fn to_tag<M: HeadersExt>(msg: &M) -> Option<String> {
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
pub fn header_value<M: HeadersExt>(msg: &M, name: &str) -> Option<String> {
    let wanted = expand_name(name);
    msg.headers()
        .iter()
        .filter_map(name_and_value)
        .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| v)
}

/// All values of a header (in order), name case-insensitive.
pub fn header_values<M: HeadersExt>(msg: &M, name: &str) -> Vec<String> {
    let wanted = expand_name(name);
    msg.headers()
        .iter()
        .filter_map(name_and_value)
        .filter(|(n, _)| n.eq_ignore_ascii_case(wanted))
        .map(|(_, v)| v)
        .collect()
}

/// URI of the From header.
pub fn from_uri<M: HeadersExt>(msg: &M) -> Option<rsip::Uri> {
    Some(msg.from_header().ok()?.typed().ok()?.uri)
}

/// URI of the To header.
pub fn to_uri<M: HeadersExt>(msg: &M) -> Option<rsip::Uri> {
    Some(msg.to_header().ok()?.typed().ok()?.uri)
}

/// URI of the first Contact header.
pub fn contact_uri<M: HeadersExt>(msg: &M) -> Option<rsip::Uri> {
    msg.headers().iter().find_map(|h| match h {
        rsip::Header::Contact(c) => c.typed().ok().map(|t| t.uri),
        _ => None,
    })
}

/// Display name of the From header (without quotes).
pub fn from_display_name<M: HeadersExt>(msg: &M) -> Option<String> {
    let name = msg.from_header().ok()?.typed().ok()?.display_name?;
    let name = super::helpers::unquote(name.trim());
    (!name.is_empty()).then_some(name)
}

/// `branch` parameter of the top Via.
pub fn top_branch<M: HeadersExt>(msg: &M) -> Option<String> {
    let via = msg.via_header().ok()?;
    via.value().split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("branch")
            .then(|| v.trim().to_string())
    })
}

/// `sent-by` of the top Via (`host[:port]`, lower case, white space removed), as RFC 3261
/// §17.2.3 matches server transactions by it.
pub fn top_sent_by<M: HeadersExt>(msg: &M) -> Option<String> {
    let via = msg.via_header().ok()?;
    let head = via.value().split(';').next()?;
    // `SIP / 2.0 / UDP host : port`: the sent-by is what follows the last part with a `/`.
    let mut parts: Vec<&str> = head.split_whitespace().collect();
    let protocol_end = parts.iter().rposition(|p| p.contains('/'))?;
    parts.drain(..=protocol_end);
    let sent_by = parts.concat().to_ascii_lowercase();
    (!sent_by.is_empty()).then_some(sent_by)
}
