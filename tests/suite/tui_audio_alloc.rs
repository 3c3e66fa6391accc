//! The audio device path allocates nothing in steady state: the cpal callback bodies (which must
//! never allocate, block or lock) and the media-thread side (ring → resample → echo cancellation /
//! noise suppression / gain → level meter, and back), counted with the test kit's counting
//! global allocator (installed in main.rs) on this thread only.
//!
//! (webrtc's C++ allocates, if ever, through malloc, which this counter cannot see; the Rust side
//! around it is what is checked here.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use agentphone::audio::device::{
    capture_callback, playback_callback, DeviceSink, DeviceSource, PlaybackState,
};
use agentphone::audio::processing::{ProcessingSettings, VoiceProcessor};
use agentphone::audio::{AudioSink, AudioSource, LevelMeters};
use agentphone_media::FRAME;
use agentphone_testkit::alloc::allocations_during;
use rtrb::RingBuffer;

/// A 44.1 kHz stereo device: 10 ms callbacks of 441 frames.
const RATE: u32 = 44_100;
const CALLBACK_FRAMES: usize = 441;

fn tone(n: usize, i: usize) -> f32 {
    0.3 * (2.0 * std::f32::consts::PI * 700.0 * (n + i) as f32 / RATE as f32).sin()
}

#[test]
fn capture_and_playback_callbacks_allocate_nothing() {
    let (mut producer, mut consumer) = RingBuffer::<f32>::new(RATE as usize / 2);
    let input_f32: Vec<f32> = (0..CALLBACK_FRAMES * 2).map(|i| tone(0, i / 2)).collect();
    let input_i16: Vec<i16> = input_f32.iter().map(|v| (v * 32767.0) as i16).collect();
    let mut output_f32 = vec![0f32; CALLBACK_FRAMES * 2];
    let mut output_i16 = vec![0i16; CALLBACK_FRAMES * 2];
    // A ring tone (device rate) that is switched on half-way, as while a call rings.
    let ring_tone: Arc<[f32]> = (0..4410).map(|i| tone(0, i)).collect::<Vec<_>>().into();
    let ringing = Arc::new(AtomicBool::new(false));
    let mut state = PlaybackState::new(1764, ring_tone, Arc::clone(&ringing));
    let count = allocations_during(|| {
        for _ in 0..500 {
            capture_callback(&input_f32, 2, &mut producer);
            capture_callback(&input_i16, 2, &mut producer);
            playback_callback(&mut output_f32, 2, &mut consumer, &mut state);
            playback_callback(&mut output_i16, 2, &mut consumer, &mut state);
            ringing.store(!ringing.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        ringing.store(false, Ordering::Relaxed);
        // And when the ring is full (nobody reads) or empty (nothing to play).
        for _ in 0..500 {
            capture_callback(&input_f32, 2, &mut producer);
        }
        while consumer.pop().is_ok() {}
        playback_callback(&mut output_f32, 2, &mut consumer, &mut state);
    });
    assert_eq!(count, 0, "the device callbacks allocated {count} times");
    assert!(
        output_f32.iter().all(|&v| v == 0.0),
        "an empty ring plays silence"
    );
}

#[test]
fn media_side_of_the_devices_allocates_nothing_in_steady_state() {
    let levels = Arc::new(LevelMeters::default());
    let processor = VoiceProcessor::new(ProcessingSettings::default()).expect("processor");
    let (mut mic, mic_ring) = RingBuffer::<f32>::new(RATE as usize / 2);
    let (speaker_ring, mut speaker) = RingBuffer::<f32>::new(RATE as usize / 2);
    let mut source =
        DeviceSource::new(mic_ring, RATE, processor.clone(), Arc::clone(&levels)).expect("source");
    let mut sink =
        DeviceSink::new(speaker_ring, RATE, processor, Arc::clone(&levels)).expect("sink");
    let mut frame = [0i16; FRAME];
    let heard = [1000i16; FRAME];
    let mut n = 0;
    // One 20 ms tick: the device delivers 882 samples and plays 882.
    let mut tick = |source: &mut DeviceSource, sink: &mut DeviceSink, frame: &mut [i16; FRAME]| {
        for i in 0..2 * CALLBACK_FRAMES {
            let _ = mic.push(tone(n, i));
        }
        n += 2 * CALLBACK_FRAMES;
        source.fill(frame);
        sink.write(&heard).expect("sink write");
        for _ in 0..2 * CALLBACK_FRAMES {
            let _ = speaker.pop();
        }
    };
    // Warm up: resampler and FIFO buffers reach their working size.
    for _ in 0..100 {
        tick(&mut source, &mut sink, &mut frame);
    }
    let count = allocations_during(|| {
        for _ in 0..500 {
            tick(&mut source, &mut sink, &mut frame);
        }
    });
    assert_eq!(count, 0, "10 s of device audio allocated {count} times");
    assert!(levels.mic() > 0.0, "the microphone level was measured");
    assert!(levels.speaker() > 0.0, "the speaker level was measured");
}
