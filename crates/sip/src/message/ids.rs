//! Random identifiers: branches, tags, Call-IDs.

use rand::distributions::Alphanumeric;
use rand::Rng;

fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new RFC 3261 branch ("z9hG4bK" + random).
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

/// A new From/To tag.
pub fn new_tag() -> String {
    random_token(12)
}

/// A new Call-ID.
pub fn new_call_id() -> String {
    random_token(24)
}
