//! Content-Length framing of SIP messages on a byte stream (RFC 3261 §18.3).

use crate::message::MAX_HEADER_BYTES;

/// Largest body we accept on a stream.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the start of a stream buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Not enough bytes yet.
    Incomplete,
    /// Only CRLF keep-alives: drop this many bytes.
    KeepAlive(usize),
    /// A whole message of this many bytes.
    Message(usize),
    /// The stream cannot be framed any more (this many bytes hold the broken header section).
    Broken { reason: &'static str, len: usize },
}

/// Find the first message in `buf`.
pub(crate) fn next_frame(buf: &[u8]) -> Frame {
    let skip = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    if skip > 0 {
        return Frame::KeepAlive(skip);
    }
    let Some((head_end, body_start)) = crate::message::parse_split_head(buf) else {
        if buf.len() > MAX_HEADER_BYTES {
            return Frame::Broken {
                reason: "Header section too large",
                len: buf.len(),
            };
        }
        return Frame::Incomplete;
    };
    if head_end > MAX_HEADER_BYTES {
        return Frame::Broken {
            reason: "Header section too large",
            len: body_start,
        };
    }
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default());
    let mut length: Option<usize> = None;
    for line in head.split('\n').skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
            if length.is_some() {
                // RFC 4475 mcl01: where this message ends is anybody's guess.
                return Frame::Broken {
                    reason: "Multiple Content-Length headers",
                    len: body_start,
                };
            }
            match value.trim().parse::<usize>() {
                Ok(n) if n <= MAX_BODY_BYTES => length = Some(n),
                Ok(_) => {
                    return Frame::Broken {
                        reason: "Content-Length too large",
                        len: body_start,
                    }
                }
                Err(_) => {
                    return Frame::Broken {
                        reason: "Malformed Content-Length header",
                        len: body_start,
                    }
                }
            }
        }
    }
    let total = body_start.saturating_add(length.unwrap_or(0));
    if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Message(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_by_content_length() {
        let msg = b"OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcNEXT";
        assert_eq!(next_frame(msg), Frame::Message(msg.len() - 4));
        assert_eq!(next_frame(&msg[..20]), Frame::Incomplete);
        assert_eq!(next_frame(&msg[..msg.len() - 6]), Frame::Incomplete);
        assert_eq!(next_frame(b"\r\n\r\nOPT"), Frame::KeepAlive(4));
        assert!(matches!(
            next_frame(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n"),
            Frame::Broken {
                reason: "Malformed Content-Length header",
                ..
            }
        ));
        assert!(matches!(
            next_frame(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n"),
            Frame::Broken { .. }
        ));
        assert!(matches!(
            next_frame(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\nl: 3\r\n\r\nabc"),
            Frame::Broken {
                reason: "Multiple Content-Length headers",
                ..
            }
        ));
        let huge = vec![b'a'; MAX_HEADER_BYTES + 10];
        assert!(matches!(next_frame(&huge), Frame::Broken { .. }));
    }
}
