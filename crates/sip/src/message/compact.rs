//! Header normalisation before rsip sees a message: rsip knows neither compact header names
//! (RFC 3261 §7.3.3), nor line folding, nor comma-joined Via/Contact/Route/Record-Route values.

/// Full header name for a compact one (case-insensitive); `name` itself otherwise.
pub(crate) fn expand_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes().first().map(u8::to_ascii_lowercase) {
        Some(b'v') => "Via",
        Some(b'f') => "From",
        Some(b't') => "To",
        Some(b'i') => "Call-ID",
        Some(b'm') => "Contact",
        Some(b'l') => "Content-Length",
        Some(b'c') => "Content-Type",
        Some(b'k') => "Supported",
        Some(b's') => "Subject",
        Some(b'e') => "Content-Encoding",
        Some(b'o') => "Event",
        Some(b'u') => "Allow-Events",
        Some(b'r') => "Refer-To",
        Some(b'b') => "Referred-By",
        _ => name,
    }
}

/// Headers whose comma-joined values rsip would see as one value.
pub(crate) fn is_list_header(name: &str) -> bool {
    ["Via", "Contact", "Route", "Record-Route"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// Split a header value at commas that are outside quoted strings and `<…>`.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, ch) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                parts.push(value.get(start..i).unwrap_or_default().trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default().trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Headers whose values are `name-addr *(;param)` (or Via's `sent-by *(;param)`).
pub(crate) fn has_params(name: &str) -> bool {
    ["Via", "From", "To", "Contact", "Route", "Record-Route"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// Remove the linear white space RFC 3261 allows around `;` and `=` (rsip does not), except in
/// quoted strings.
pub(crate) fn tighten_params(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains([' ', '\t']) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_quotes = true;
                out.push(c);
            }
            ';' | '=' => {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                out.push(c);
                while chars.peek().is_some_and(|n| *n == ' ' || *n == '\t') {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A Via value's `sent-protocol` without the white space RFC 3261 allows around its slashes
/// (`SLASH = SWS "/" SWS`; RFC 4475 `wsinv`): `SIP  / 2.0  / TCP  host` → `SIP/2.0/TCP host`.
/// A value that does not start with three slash-separated tokens is left as it is.
pub(crate) fn tighten_via(value: &str) -> std::borrow::Cow<'_, str> {
    let mut parts = value.splitn(3, '/');
    let (Some(name), Some(version), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return std::borrow::Cow::Borrowed(value);
    };
    let rest = rest.trim_start();
    let end = rest.find([' ', '\t']).unwrap_or(rest.len());
    let (transport, sent_by) = rest.split_at(end);
    let (name, version) = (name.trim(), version.trim());
    let tokens = [name, version, transport];
    if !tokens.iter().all(|t| super::parse::is_token(t)) {
        return std::borrow::Cow::Borrowed(value);
    }
    let tight = format!("{name}/{version}/{transport} {}", sent_by.trim_start());
    if tight == value {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(tight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_every_compact_name() {
        let pairs = [
            ("v", "Via"),
            ("F", "From"),
            ("t", "To"),
            ("i", "Call-ID"),
            ("m", "Contact"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("k", "Supported"),
            ("s", "Subject"),
            ("e", "Content-Encoding"),
            ("o", "Event"),
            ("u", "Allow-Events"),
            ("r", "Refer-To"),
            ("b", "Referred-By"),
        ];
        for (short, long) in pairs {
            assert_eq!(expand_name(short), long);
        }
        assert_eq!(expand_name("x"), "x");
        assert_eq!(expand_name("Via"), "Via");
    }

    #[test]
    fn split_respects_quotes_and_angles() {
        let v = r#""Smith, John" <sip:a@b;x=1,2>;q=0.5, <sip:c@d>,sip:e@f"#;
        assert_eq!(
            split_list(v),
            vec![
                r#""Smith, John" <sip:a@b;x=1,2>;q=0.5"#,
                "<sip:c@d>",
                "sip:e@f"
            ]
        );
        assert_eq!(split_list(r#""a\", b" <sip:x@y>"#).len(), 1);
    }

    #[test]
    fn tightens_whitespace_around_the_via_slashes() {
        for (wire, tight) in [
            (
                "SIP  /   2.0 /UDP 192.0.2.2;branch=x",
                "SIP/2.0/UDP 192.0.2.2;branch=x",
            ),
            (
                "SIP  / 2.0  / TCP     h.example.com ;",
                "SIP/2.0/TCP h.example.com ;",
            ),
            (
                "SIP/2.0/UDP h:5060;branch=z9hG4bK1",
                "SIP/2.0/UDP h:5060;branch=z9hG4bK1",
            ),
            ("garbage", "garbage"),
            ("SIP/ /UDP h", "SIP/ /UDP h"),
        ] {
            assert_eq!(tighten_via(wire), tight, "{wire}");
        }
    }

    #[test]
    fn tightens_whitespace_around_params() {
        assert_eq!(
            tighten_params(r#""A ; b" <sip:a@b> ; tag = 1"#),
            r#""A ; b" <sip:a@b>;tag=1"#
        );
        assert_eq!(
            tighten_params("SIP/2.0/UDP h:5060 ;branch=z9hG4bK1"),
            "SIP/2.0/UDP h:5060;branch=z9hG4bK1"
        );
    }
}
