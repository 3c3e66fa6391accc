//! Give memory back after a burst: mimalloc keeps the pages a thread freed (and the blocks other
//! threads freed into them) in that thread's heap until the thread allocates or collects again.
//! A runtime worker that goes idle after a flood would hold them for good, so each worker
//! collects its heap (`mi_collect(true)`) when it parks, at most once a second (issue 7: RSS
//! after a REGISTER flood). Binary only: the library does not choose the allocator.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// At most this often per thread.
const EVERY: Duration = Duration::from_secs(1);

thread_local! {
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Called when a runtime worker parks: collect its heap if the last time was `EVERY` ago.
pub fn on_park() {
    let now = Instant::now();
    let due = LAST.with(|last| match last.get() {
        Some(at) if now.duration_since(at) < EVERY => false,
        _ => {
            last.set(Some(now));
            true
        }
    });
    if due {
        // SAFETY: mi_collect takes no pointers; it frees only memory no live object uses.
        unsafe { libmimalloc_sys::mi_collect(true) };
    }
}
