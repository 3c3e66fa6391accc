//! The mixer's `mix` allocates nothing: proven with a counting global allocator.

use agentphone_media::mixer::Mixer;
use agentphone_media::{Frame, FRAME};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by threads that switched counting on (tests run in parallel threads).
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn counting_allocator_sees_allocations() {
    // The instrument works: a Vec allocation is counted.
    let n = allocations_during(|| {
        let v: Vec<u64> = Vec::with_capacity(10);
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn mix_allocates_nothing() {
    let frames: Vec<Frame> = (0..8).map(|i| [i as i16 * 100; FRAME]).collect();
    let inputs: Vec<Option<&Frame>> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i != 3).then_some(f))
        .collect();
    let heard = [true, true, false, true, true, true, true, true];
    let mut outputs = vec![[0i16; FRAME]; 8];
    let mut mixer = Mixer::new(8);
    let n = allocations_during(|| {
        for _ in 0..100 {
            mixer.mix(&inputs, &heard, &mut outputs);
        }
    });
    assert_eq!(n, 0);
    // And it mixed: participant 0 hears 1 + 4 + 5 + 6 + 7 (2 not heard, 3 silent).
    assert_eq!(outputs[0][0], (1 + 4 + 5 + 6 + 7) * 100);
}
