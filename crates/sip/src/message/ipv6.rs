//! IPv6 references (`[::1]`, RFC 3261 §25.1 `IPv6reference`) in URIs and Via sent-by.
//!
//! rsip 0.4 splits host and port at the first `:`, so `sip:pat@[::1]` fails to parse (and a
//! stock linphone From got `400 Malformed From header`). Like the compact-name expansion, the
//! parser rewrites the message before rsip sees it: inside an IPv6 reference every `:` becomes
//! `-` (`[::1]` → `[--1]`), which rsip keeps as a domain name. Inside the stack URIs and header
//! values carry this escaped form (so `typed()` works everywhere); serialising restores the
//! brackets' real content, so the wire always shows `[::1]`. A bracketed text is only touched when
//! it is a valid IPv6 address (escaped or not), and quoted strings are never touched.

use std::borrow::Cow;
use std::net::Ipv6Addr;

/// `[::1]` → `[--1]` outside quoted strings.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    rewrite(text, |inner| {
        (inner.contains(':') && is_ipv6(inner)).then(|| inner.replace(':', "-"))
    })
}

/// `[--1]` → `[::1]` outside quoted strings (the inverse of [`escape`]).
pub(crate) fn unescape(text: &str) -> Cow<'_, str> {
    rewrite(text, |inner| {
        if !inner.contains('-') {
            return None;
        }
        let restored = inner.replace('-', ":");
        is_ipv6(&restored).then_some(restored)
    })
}

/// A URI's text as it goes on the wire or on screen (`sip:pat@[::1]`).
pub fn uri_text(uri: &rsip::Uri) -> String {
    unescape(&uri.to_string()).into_owned()
}

/// An address, ignoring a zone id (`fe80::1%25eth0`).
fn is_ipv6(text: &str) -> bool {
    let addr = text.split_once('%').map_or(text, |(a, _)| a);
    addr.parse::<Ipv6Addr>().is_ok()
}

/// Apply `change` to the content of every `[...]` outside quoted strings.
fn rewrite(text: &str, change: impl Fn(&str) -> Option<String>) -> Cow<'_, str> {
    if !text.contains('[') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == '[' {
            if let Some(end) = rest.find(']') {
                let inner = rest.get(1..end).unwrap_or_default();
                if let Some(new) = change(inner) {
                    out.push('[');
                    out.push_str(&new);
                    out.push(']');
                    rest = rest.get(end + 1..).unwrap_or_default();
                    changed = true;
                    continue;
                }
            }
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_restores_ipv6_references_only() {
        let cases = [
            ("<sip:pat@[::1]>;tag=1", "<sip:pat@[--1]>;tag=1"),
            (
                "SIP/2.0/UDP [2001:db8::7]:5060;branch=z9hG4bK1",
                "SIP/2.0/UDP [2001-db8--7]:5060;branch=z9hG4bK1",
            ),
            ("sip:[::ffff:10.0.0.1]:5070", "sip:[--ffff-10.0.0.1]:5070"),
        ];
        for (wire, inside) in cases {
            assert_eq!(escape(wire), inside);
            assert_eq!(unescape(inside), wire);
        }
        // Not addresses, or inside a quoted display name: left alone.
        for text in [
            "\"Pat [::1]\" <sip:pat@example.com>",
            "[not:an:address]",
            "baresip [1-2-3]",
            "[",
            "a]b[",
        ] {
            assert_eq!(escape(text), text);
            assert_eq!(unescape(text), text);
        }
    }
}
