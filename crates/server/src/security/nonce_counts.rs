//! Nonce-count tracking (RFC 7616 §3.4.5 / issue 11 §2): with `qop=auth` every answer carries
//! `nc`, and a server that remembers which counts a nonce has been used with can refuse an answer
//! seen before — a captured Authorization re-sent as is. Nonces stay stateless until their first
//! verified use; only verified answers get an entry, so an attacker without the password cannot
//! fill the table. The table is bounded: when full, the nonces issued first are forgotten and every
//! nonce issued up to then counts as used (the client simply gets a fresh challenge).
//!
//! Memory: a REGISTER flood that gets through (every registration verified, each with a new
//! nonce) fills the table for a nonce lifetime (5 min). A nonce is therefore kept as a 64-bit
//! keyed hash (the table's own random keys: nobody can aim at a collision; an accidental one
//! only costs a client a fresh challenge) in a 32-byte slot, no string: ≈ 4 MB for the
//! 100 000 a full table holds, where the nonce strings and their 48-byte slots took ≈ 11 MB.
//! Expired entries are swept now and then and the map shrinks once its use falls.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Counts below the highest one seen that are still accepted once (answers overtaking each other
/// on UDP or over parallel transactions).
const WINDOW: u32 = 64;

/// The counts seen per nonce.
pub struct NonceCounts {
    /// By the nonce's hash under `keys`.
    entries: HashMap<u64, Seen>,
    keys: std::collections::hash_map::RandomState,
    /// When expired entries are next swept (ms).
    next_sweep_ms: u64,
    /// Nonces issued at or before this time (ms) without an entry may have been forgotten.
    floor_ms: u64,
    capacity: usize,
    lifetime_ms: u64,
}

struct Seen {
    issued_ms: u64,
    highest: u32,
    /// Bit i: count `highest - 1 - i` was seen.
    below: u64,
}

impl NonceCounts {
    /// A table of at most `capacity` nonces, each valid `lifetime_ms` after it was issued.
    pub fn new(capacity: usize, lifetime_ms: u64) -> Self {
        NonceCounts {
            entries: HashMap::new(),
            keys: Default::default(),
            next_sweep_ms: 0,
            floor_ms: 0,
            capacity: capacity.max(2),
            lifetime_ms,
        }
    }

    /// Record a verified answer with count `nc` for `nonce` (issued at `issued_ms`); false when
    /// that count was already used (or cannot be told apart from one that was).
    pub fn first_use(&mut self, nonce: &str, issued_ms: u64, nc: u32, now_ms: u64) -> bool {
        if nc == 0 {
            return false;
        }
        if now_ms >= self.next_sweep_ms {
            self.sweep(now_ms);
        }
        let key = self.keys.hash_one(nonce);
        if let Some(seen) = self.entries.get_mut(&key) {
            return seen.take(nc);
        }
        if issued_ms <= self.floor_ms {
            return false;
        }
        if self.entries.len() >= self.capacity {
            self.make_room(now_ms);
        }
        self.entries.insert(
            key,
            Seen {
                issued_ms,
                highest: nc,
                below: 0,
            },
        );
        true
    }

    /// Drop expired nonces (a tenth of a lifetime from the last sweep at the latest) and give
    /// the map's memory back once it is mostly empty.
    fn sweep(&mut self, now_ms: u64) {
        let lifetime = self.lifetime_ms;
        self.entries
            .retain(|_, s| s.issued_ms.saturating_add(lifetime) >= now_ms);
        if self.entries.capacity() > 1024 && self.entries.capacity() > 4 * self.entries.len() {
            self.entries.shrink_to(self.entries.len() * 2);
        }
        self.next_sweep_ms = now_ms.saturating_add((lifetime / 10).max(1));
    }

    /// Drop expired nonces; if that is not enough, the oldest half (and raise the floor).
    fn make_room(&mut self, now_ms: u64) {
        self.sweep(now_ms);
        if self.entries.len() < self.capacity {
            return;
        }
        let mut issued: Vec<u64> = self.entries.values().map(|s| s.issued_ms).collect();
        issued.sort_unstable();
        let cut = issued[issued.len() / 2];
        self.entries.retain(|_, s| s.issued_ms > cut);
        self.floor_ms = self.floor_ms.max(cut);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl Seen {
    fn take(&mut self, nc: u32) -> bool {
        if nc > self.highest {
            let shift = nc - self.highest;
            self.below = if shift > WINDOW {
                0
            } else {
                // The old highest becomes bit shift-1.
                (self.below << shift.min(63)) | (1u64 << (shift - 1))
            };
            self.highest = nc;
            return true;
        }
        let back = self.highest - nc;
        if back == 0 || back > WINDOW {
            return false;
        }
        let bit = 1u64 << (back - 1);
        if self.below & bit != 0 {
            return false;
        }
        self.below |= bit;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_count_is_accepted_once() {
        let mut t = NonceCounts::new(100, 300_000);
        let steps = [
            (1, true),
            (1, false), // replay
            (2, true),
            (4, true),
            (3, true), // overtaken, still new
            (3, false),
            (2, false),
            (0, false),
            (100, true),
            (36, true),  // 64 back: inside the window
            (35, false), // 65 back: too old to tell
            (100, false),
        ];
        for (i, (nc, ok)) in steps.into_iter().enumerate() {
            assert_eq!(t.first_use("n1", 1_000, nc, 2_000), ok, "step {i}: nc {nc}");
        }
        assert!(
            t.first_use("n2", 1_000, 1, 2_000),
            "another nonce has its own counts"
        );
    }

    /// After a burst of verified nonces expires, the table gives its memory back.
    #[test]
    fn expired_nonces_are_swept_and_the_map_shrinks() {
        let mut t = NonceCounts::new(100_000, 1_000);
        for i in 0..50_000u64 {
            assert!(t.first_use(&format!("n{i}"), 1_000, 1, 1_000));
        }
        let full = t.entries.capacity();
        assert!(full >= 50_000);
        assert!(t.first_use("late", 2_500, 1, 2_500), "a new nonce later on");
        assert_eq!(t.len(), 1, "the expired ones are gone");
        assert!(t.entries.capacity() < full / 8, "the map shrank");
        assert!(!t.first_use("late", 2_500, 1, 2_501), "still counted");
    }

    #[test]
    fn a_full_table_forgets_old_nonces_and_refuses_them() {
        let mut t = NonceCounts::new(4, 300_000);
        for i in 0..4u64 {
            assert!(t.first_use(&format!("n{i}"), 1_000 + i, 1, 2_000));
        }
        // Full: the two issued first go, and nonces issued up to then are refused when unknown.
        assert!(t.first_use("n4", 1_004, 1, 2_000));
        assert!(t.len() <= 4);
        assert!(!t.first_use("n0", 1_000, 2, 2_000), "forgotten: refused");
        assert!(
            !t.first_use("old", 999, 1, 2_000),
            "issued before the floor: refused"
        );
        assert!(
            t.first_use("n3", 1_003, 2, 2_000),
            "kept: its next count is fine"
        );
        // Expired nonces make room first, without raising the floor.
        let mut t = NonceCounts::new(2, 1_000);
        assert!(t.first_use("a", 1_000, 1, 1_000));
        assert!(t.first_use("b", 1_001, 1, 1_001));
        assert!(t.first_use("c", 5_000, 1, 5_000));
        assert!(t.first_use("d", 5_001, 1, 5_001) || t.len() <= 2);
    }
}
