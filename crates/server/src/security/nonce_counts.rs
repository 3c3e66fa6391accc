//! Nonce-count tracking (RFC 7616 §3.4.5 / issue 11 §2): with `qop=auth` every answer carries
//! `nc`, and a server that remembers which counts a nonce has been used with can refuse an answer
//! seen before — a captured Authorization re-sent as is. Nonces stay stateless until their first
//! verified use; only verified answers take a slot, so an attacker without the password cannot
//! touch the table.
//!
//! Memory is fixed and allocated at start, as Kamailio's auth module bounds its nonce-count
//! array (`nc_array_size`): a nonce's slot is chosen by its random salt, which the nonce's MAC
//! covers, and holds the owning nonce (issue time, salt) with its count window. A nonce issued
//! later takes the slot over; the nonce it held can then not tell its old counts from new ones and
//! is refused (the client gets a fresh challenge), as is a nonce whose slot a later one holds.
//! A slot's owner therefore only ever gets newer, so a count once accepted is never accepted
//! again. (Before session 11 a HashMap held every verified nonce for its 5-minute lifetime:
//! ≈ 4 MB after a REGISTER flood, still there a minute after it.)

/// Counts below the highest one seen that are still accepted once (answers overtaking each other
/// on UDP or over parallel transactions).
const WINDOW: u32 = 64;

/// The counts seen per nonce, in a fixed number of slots.
pub struct NonceCounts {
    slots: Box<[Slot]>,
}

#[derive(Clone, Copy)]
struct Slot {
    /// The owning nonce, ordered by (issue time, salt); (0, 0): none yet.
    issued_ms: u64,
    salt: u32,
    highest: u32,
    /// Bit i: count `highest - 1 - i` was seen.
    below: u64,
}

impl Slot {
    const EMPTY: Slot = Slot {
        issued_ms: 0,
        salt: 0,
        highest: 0,
        below: 0,
    };
}

impl NonceCounts {
    /// A table of `slots` slots (rounded up to a power of two), written now so that its pages are
    /// part of the server's memory from the start rather than growth under load.
    pub fn new(slots: usize) -> Self {
        let n = slots.max(2).next_power_of_two();
        // black_box: an all-zero fill may otherwise become a calloc whose pages stay untouched.
        let slots = (0..n).map(|_| std::hint::black_box(Slot::EMPTY)).collect();
        NonceCounts { slots }
    }

    /// Record a verified answer with count `nc` for the nonce issued at `issued_ms` with `salt`;
    /// false when that count was already used (or cannot be told apart from one that was).
    pub fn first_use(&mut self, issued_ms: u64, salt: u32, nc: u32) -> bool {
        if nc == 0 || issued_ms == 0 {
            return false;
        }
        let mask = self.slots.len() - 1;
        let Some(slot) = self.slots.get_mut(salt as usize & mask) else {
            return false;
        };
        let nonce = (issued_ms, salt);
        let owner = (slot.issued_ms, slot.salt);
        if owner == nonce {
            return slot.take(nc);
        }
        if owner > nonce {
            // A later nonce holds the slot: this one may have been here before.
            return false;
        }
        *slot = Slot {
            issued_ms,
            salt,
            highest: nc,
            below: 0,
        };
        true
    }

    #[cfg(test)]
    fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

impl Slot {
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
        let mut t = NonceCounts::new(128);
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
            assert_eq!(t.first_use(1_000, 7, nc), ok, "step {i}: nc {nc}");
        }
        assert!(t.first_use(1_000, 8, 1), "another nonce has its own counts");
    }

    /// However many nonces are verified, the table keeps its size.
    #[test]
    fn the_table_is_fixed_in_size() {
        let mut t = NonceCounts::new(100);
        assert_eq!(t.slot_count(), 128);
        for i in 0..100_000u32 {
            assert!(t.first_use(1_000 + u64::from(i), i.wrapping_mul(2_654_435_761), 1));
        }
        assert_eq!(t.slot_count(), 128);
    }

    /// Nonces sharing a slot (salts equal modulo the slot count): the later one takes it over,
    /// and neither a count of the one it replaced nor that nonce's first use is accepted then.
    #[test]
    fn a_later_nonce_takes_the_slot_and_the_earlier_is_refused() {
        let mut t = NonceCounts::new(4);
        let (early, late) = ((1_000, 1), (2_000, 5)); // both slot 1
        let steps = [
            (early, 1, true),
            (early, 2, true),
            (late, 1, true),   // takes the slot
            (early, 3, false), // replaced: cannot tell its counts apart
            (early, 1, false), // a replay of an accepted count, still refused
            (late, 1, false),  // replay
            (late, 2, true),
        ];
        for (i, ((issued, salt), nc, ok)) in steps.into_iter().enumerate() {
            assert_eq!(t.first_use(issued, salt, nc), ok, "step {i}");
        }
        // First use of a nonce issued before the slot's owner: it may have been here before.
        assert!(!t.first_use(1_500, 9, 1), "earlier than the owner: refused");
        // Same millisecond: the salt orders them.
        assert!(
            t.first_use(2_000, 13, 1),
            "same time, higher salt: takes it"
        );
        assert!(!t.first_use(2_000, 5, 3), "replaced");
        // Another slot is not affected.
        assert!(t.first_use(1_000, 2, 1));
    }

    /// A forged or unparsable stamp (issue time 0) can never match the empty slots' marker.
    #[test]
    fn an_unstamped_nonce_is_refused() {
        let mut t = NonceCounts::new(4);
        assert!(!t.first_use(0, 0, 1));
        assert!(!t.first_use(0, 3, 1));
    }
}
