//! Header checks rsip is too lenient for (RFC 4475 §3.1.2 / §3.3): name-addr syntax in From, To
//! and Contact (`quotbal`, `baddn`, `regbadct`) and single-valued headers given twice
//! (`multi01`). Only what makes a value ambiguous is refused: an unquoted display name may hold
//! any character but `,` `"` `\` (UTF-8 included, which some phones send unquoted), and the Date
//! header is not checked at all (RFC 4475 `baddate`: refuse a non-GMT date only when the Date
//! matters, and it never does here).

use super::compact::split_list;
use super::parse::ParseError;

/// Headers that may appear once only (RFC 3261 §7.3.1: not comma-separated lists).
const SINGLE: [&str; 5] = ["To", "From", "Call-ID", "CSeq", "Max-Forwards"];

/// Tracks which single-valued headers were seen.
#[derive(Default)]
pub(crate) struct Strict {
    seen: [bool; SINGLE.len()],
}

impl Strict {
    /// Check one header (`name` already expanded from its compact form).
    pub(crate) fn check(&mut self, name: &str, value: &str) -> Result<(), ParseError> {
        if let Some(i) = SINGLE.iter().position(|s| s.eq_ignore_ascii_case(name)) {
            if let Some(seen) = self.seen.get_mut(i) {
                if *seen {
                    return Err(ParseError::new(format!("Multiple {name} headers")));
                }
                *seen = true;
            }
        }
        let ok = if name.eq_ignore_ascii_case("From") || name.eq_ignore_ascii_case("To") {
            name_addr_ok(value)
        } else if name.eq_ignore_ascii_case("Contact") {
            split_list(value)
                .into_iter()
                .all(|part| part == "*" || name_addr_ok(part))
        } else {
            true
        };
        if ok {
            Ok(())
        } else {
            Err(ParseError::new(format!("Malformed {name} header")))
        }
    }
}

/// `(name-addr / addr-spec) *(SEMI param)` (RFC 3261 §20.10, §25.1): a quoted display name must
/// be closed and followed by `<uri>`; an unquoted one must not hold `,` `"` `\`; an addr-spec
/// (no `<>`) ends at the first `;` and holds no `?` `,` `"` `<` `>` (a URI with headers must be
/// bracketed).
fn name_addr_ok(value: &str) -> bool {
    let value = value.trim();
    if let Some(quoted) = value.strip_prefix('"') {
        return match closing_quote(quoted) {
            Some(end) => bracketed(quoted.get(end + 1..).unwrap_or_default().trim_start()),
            None => false, // `quotbal`
        };
    }
    // A `<` before any `;` starts the URI of a name-addr; otherwise this is an addr-spec whose
    // parameters (which may quote a `<`, as `+sip.instance` does) start at the first `;`.
    match value.find(['<', ';']) {
        Some(open) if value.get(open..).is_some_and(|r| r.starts_with('<')) => {
            let display = value.get(..open).unwrap_or_default();
            !display.contains([',', '"', '\\']) && bracketed(value.get(open..).unwrap_or_default())
        }
        _ => {
            let uri = value.split(';').next().unwrap_or_default();
            !uri.is_empty() && !uri.contains(['?', ',', '"', '<', '>'])
        }
    }
}

/// `<…>` then parameters.
fn bracketed(rest: &str) -> bool {
    rest.starts_with('<') && rest.contains('>')
}

/// Index of the `"` closing a quoted string whose opening quote was stripped.
fn closing_quote(quoted: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{name_addr_ok, Strict};

    #[test]
    fn name_addr_forms() {
        let cases = [
            // legal forms, as phones send them
            ("sip:a@b;tag=1", true),
            ("sip:a@b ;tag=1", true),
            ("<sip:a@b>;tag=1", true),
            ("\"x\" <sip:a@b>", true),
            ("\"x\"<sip:a@b>", true),
            ("\"\" <sip:a@b>", true),
            ("\"A \\\" B\" <sip:a@b>", true),
            ("\"Bell, Alexander\" <sip:a@b>;tag=43", true),
            ("caller<sip:a@b>;tag=2", true),
            ("token1~` token2'+_ <sip:a@b>", true),
            ("Anonymous <sip:anonymous@anonymous.invalid>;tag=9", true),
            ("J\u{f6}rg M\u{fc}ller <sip:j@b>", true),
            ("<sip:a@b?Subject=hi>", true),
            ("<sip:[::1]:5060;transport=tcp>;expires=60", true),
            ("<sip:a@b>;+sip.instance=\"<urn:uuid:1-2>\";reg-id=1", true),
            ("sip:a@b;+sip.instance=\"<urn:uuid:1-2>\"", true),
            ("\"x\" <sip:a@b>;+sip.instance=\"<urn:uuid:1>\"", true),
            ("<tel:+15551234>", true),
            // RFC 4475 quotbal, baddn, regbadct and other broken forms
            ("\"Mr. J. User <sip:j.user@example.com>", false),
            ("Bell, Alexander <sip:a@b>;tag=43", false),
            ("sip:user@example.com?Route=%3Csip:x%3E", false),
            ("\"x\" sip:a@b", false),
            ("\"x\" y <sip:a@b>", false),
            ("<sip:a@b", false),
            ("", false),
        ];
        for (value, ok) in cases {
            assert_eq!(name_addr_ok(value), ok, "{value}");
        }
    }

    #[test]
    fn header_rules() {
        // (headers in order, accepted?)
        let cases: [(&[(&str, &str)], bool); 9] = [
            (&[("From", "<sip:a@b>;tag=1"), ("To", "sip:c@d")], true),
            (&[("Contact", "*")], true),
            (&[("Contact", "<sip:a@b>, \"B, C\" <sip:c@d>;q=0.5")], true),
            (&[("Contact", "<sip:a@b>, sip:c@d?x=y")], false),
            // RFC 4475 multi01: single-valued headers twice
            (&[("To", "sip:a@b"), ("To", "sip:c@d")], false),
            (&[("Call-ID", "1"), ("Call-ID", "2")], false),
            (&[("Max-Forwards", "70"), ("Max-Forwards", "70")], false),
            // list headers may repeat; Date is not checked (RFC 4475 baddate)
            (&[("Via", "SIP/2.0/UDP a"), ("Via", "SIP/2.0/UDP b")], true),
            (&[("Date", "Fri, 01 Jan 2010 16:00:00 EST")], true),
        ];
        for (headers, ok) in cases {
            let mut strict = Strict::default();
            let accepted = headers.iter().all(|(n, v)| strict.check(n, v).is_ok());
            assert_eq!(accepted, ok, "{headers:?}");
        }
    }
}
