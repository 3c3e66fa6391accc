//! Random identifiers: branches, tags, Call-IDs.

/// A new RFC 3261 branch ("z9hG4bK" + random).
pub fn new_branch() -> String {
    todo!()
}
/// A new From/To tag.
pub fn new_tag() -> String {
    todo!()
}
/// A new Call-ID.
pub fn new_call_id() -> String {
    todo!()
}
