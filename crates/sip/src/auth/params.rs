//! `key=value, key="quoted, value"` lists as used by Digest headers.

/// The parameters after the `Digest` scheme name; None when the scheme is not Digest or the list
/// is malformed. Keys are lower-cased, quoted values unescaped.
pub(crate) fn digest_params(header: &str) -> Option<Vec<(String, String)>> {
    let header = header.trim();
    let (scheme, rest) = header.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.peek().copied() {
            if c == '=' || c.is_whitespace() || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key.to_ascii_lowercase(), value));
    }
    Some(out)
}

/// Value of `key` in a parameter list.
pub(crate) fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `"value"` with `"` and `\` escaped.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_bare_values() {
        let p = digest_params(
            r#"Digest realm="a, b", nonce="x\"y", algorithm=MD5,qop="auth,auth-int""#,
        )
        .expect("parses");
        assert_eq!(get(&p, "realm"), Some("a, b"));
        assert_eq!(get(&p, "nonce"), Some("x\"y"));
        assert_eq!(get(&p, "algorithm"), Some("MD5"));
        assert_eq!(get(&p, "qop"), Some("auth,auth-int"));
        assert!(digest_params("Basic realm=\"x\"").is_none());
        assert!(digest_params("Digest realm=\"unterminated").is_none());
        assert!(digest_params("Digest =x").is_none());
    }
}
