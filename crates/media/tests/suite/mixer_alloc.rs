//! The mixer's `mix` allocates nothing: proven with a counting global allocator.

use agentphone_media::mixer::Mixer;
use agentphone_media::{Frame, FRAME};
use agentphone_testkit::alloc::allocations_during;

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
