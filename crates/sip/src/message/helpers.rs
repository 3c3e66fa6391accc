//! Header accessors that never panic.

/// Call-ID value.
pub fn call_id(msg: &rsip::SipMessage) -> Option<String> {
    let _ = msg;
    todo!()
}
/// CSeq number and method.
pub fn cseq(msg: &rsip::SipMessage) -> Option<(u32, rsip::Method)> {
    let _ = msg;
    todo!()
}
/// Tag of the From header.
pub fn from_tag(msg: &rsip::SipMessage) -> Option<String> {
    let _ = msg;
    todo!()
}
/// Tag of the To header.
pub fn to_tag(msg: &rsip::SipMessage) -> Option<String> {
    let _ = msg;
    todo!()
}
/// First value of a header, name case-insensitive (any header incl. extension ones).
pub fn header_value(msg: &rsip::SipMessage, name: &str) -> Option<String> {
    let _ = (msg, name);
    todo!()
}
/// All values of a header, name case-insensitive.
pub fn header_values(msg: &rsip::SipMessage, name: &str) -> Vec<String> {
    let _ = (msg, name);
    todo!()
}
/// URI of the From header.
pub fn from_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    let _ = msg;
    todo!()
}
/// URI of the To header.
pub fn to_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    let _ = msg;
    todo!()
}
/// URI of the first Contact header.
pub fn contact_uri(msg: &rsip::SipMessage) -> Option<rsip::Uri> {
    let _ = msg;
    todo!()
}
/// Display name of the From header.
pub fn from_display_name(msg: &rsip::SipMessage) -> Option<String> {
    let _ = msg;
    todo!()
}
