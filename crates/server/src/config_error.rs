//! Configuration errors that name the file, the line and the key (SPEC B5).

use std::fmt;

/// A configuration problem: `FILE:LINE: key `K`: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file as given by the user.
    pub file: String,
    /// 1-based line of the problem; `None` when the whole file is concerned (e.g. unreadable).
    pub line: Option<usize>,
    /// The key concerned, when one can be named.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error at byte offset `offset` of `text`, about `key`.
    pub fn at_offset(
        file: &str,
        text: &str,
        offset: usize,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.to_string(),
            line: Some(line_of_offset(text, offset)),
            key,
            message: message.into(),
        }
    }

    /// Translate a `toml` deserialisation error, finding the line from its span and the key from
    /// the message (unknown/missing field) or from the text of that line.
    pub fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim().to_string();
        let offset = err.span().map(|s| s.start);
        let key =
            key_from_message(&message).or_else(|| offset.and_then(|o| key_from_line(text, o)));
        ConfigError {
            file: file.to_string(),
            line: offset.map(|o| line_of_offset(text, o)),
            key,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line number of a byte offset (clamped to the text).
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
        + 1
}

/// `unknown field `x`` / `missing field `x`` / `duplicate key `x`` → `x`.
fn key_from_message(message: &str) -> Option<String> {
    for prefix in [
        "unknown field `",
        "missing field `",
        "duplicate key `",
        "duplicate field `",
    ] {
        if let Some(start) = message.find(prefix) {
            let rest = message.get(start + prefix.len()..)?;
            let end = rest.find('`')?;
            return rest.get(..end).map(str::to_string);
        }
    }
    None
}

/// The key written on the line holding `offset`: `key = …` or a table header `[key]`.
fn key_from_line(text: &str, offset: usize) -> Option<String> {
    let line_start = text
        .get(..offset.min(text.len()))?
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line = text.get(line_start..)?.lines().next()?.trim();
    if let Some(inner) = line.strip_prefix('[') {
        let name = inner.trim_start_matches('[').split(']').next()?.trim();
        return (!name.is_empty()).then(|| name.to_string());
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_count_newlines_before_offset() {
        let text = "a = 1\nb = 2\nc = 3\n";
        assert_eq!(line_of_offset(text, 0), 1);
        assert_eq!(line_of_offset(text, 6), 2);
        assert_eq!(line_of_offset(text, 13), 3);
        assert_eq!(line_of_offset(text, 999), 4);
    }

    #[test]
    fn keys_come_from_messages_or_lines() {
        assert_eq!(
            key_from_message("unknown field `colour`, expected one of `a`"),
            Some("colour".into())
        );
        assert_eq!(
            key_from_line("x = 1\n  ring_timeout_s = \"abc\"\n", 10),
            Some("ring_timeout_s".into())
        );
        assert_eq!(key_from_line("[server]\n", 2), Some("server".into()));
        assert_eq!(key_from_line("[[agents]]\n", 3), Some("agents".into()));
    }

    #[test]
    fn display_names_file_line_and_key() {
        let e = ConfigError {
            file: "f.toml".into(),
            line: Some(3),
            key: Some("k".into()),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "f.toml:3: key `k`: bad");
    }
}
