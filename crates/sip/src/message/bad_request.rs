//! Building a 400 reply from a message that did not parse.

/// When a datagram/stream frame fails to parse but looks like a request, enough of it to answer 400
/// (Via lines, From, To, Call-ID, CSeq copied raw). None when no reply is possible.
pub fn bad_request_reply(bytes: &[u8], reason: &str) -> Option<Vec<u8>> {
    let _ = (bytes, reason);
    todo!()
}
