//! Parsing and serialising whole messages.

/// A message that could not be parsed; `reason` says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    /// Human-readable reason (used as the 400 reason phrase).
    pub reason: String,
}

/// Parse one SIP message. Expands RFC 3261 §7.3.3 compact header names and splits comma-joined
/// Via / Contact / Route / Record-Route values before handing it to rsip.
pub fn parse(bytes: &[u8]) -> Result<rsip::SipMessage, ParseError> {
    let _ = bytes;
    todo!()
}

/// Serialise a message; Content-Length is always set to the body length.
pub fn to_bytes(msg: &rsip::SipMessage) -> Vec<u8> {
    let _ = msg;
    todo!()
}
