//! A global allocator that counts the allocations of the threads that asked for it, to prove
//! that hot paths (media ticks, mixers, audio callbacks) allocate nothing in steady state, and
//! keeps each thread's live bytes (allocated minus freed), to measure what a structure holds.
//!
//! Both are per thread, so tests of one binary may run in parallel. A test binary installs it
//! once:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
//!     agentphone_testkit::alloc::CountingAllocator;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Forwards every call to the system allocator; counts allocations (not frees) of threads with
/// counting switched on.
pub struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

/// Live bytes of the whole process (every thread): what a server in the test binary holds.
static PROCESS_LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

fn add_live(bytes: isize) {
    let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + bytes));
    PROCESS_LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
}

fn note() {
    // `try_with`: the allocator is also called while thread locals are being torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: delegates every call to the system allocator unchanged; the bookkeeping uses const
// thread locals that never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        add_live(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add_live(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        add_live(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        add_live(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Switch counting on or off for this thread (the count is kept).
pub fn set_counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

/// This thread's count so far, reset to zero.
pub fn take_count() -> usize {
    COUNT.with(|c| c.replace(0))
}

/// Bytes allocated minus bytes freed by this thread so far (differences between two readings
/// are what the work in between kept).
pub fn live_bytes() -> isize {
    LIVE_BYTES.with(Cell::get)
}

/// Bytes allocated minus bytes freed by every thread of the process since it started. Only
/// meaningful in a test binary running one test at a time (see `tests/call_memory.rs`).
pub fn process_live_bytes() -> isize {
    PROCESS_LIVE_BYTES.load(Ordering::Relaxed)
}

/// Panics unless `CountingAllocator` is this binary's global allocator: without it every count
/// is zero and an allocation test could not fail.
pub fn assert_installed() {
    take_count();
    set_counting(true);
    std::hint::black_box(Vec::<u64>::with_capacity(4));
    set_counting(false);
    assert!(
        take_count() > 0,
        "CountingAllocator is not the #[global_allocator] of this test binary"
    );
}

/// Allocations made by `f` on this thread.
pub fn allocations_during(f: impl FnOnce()) -> usize {
    assert_installed();
    set_counting(true);
    f();
    set_counting(false);
    take_count()
}
