//! Shared harness for the end-to-end tests: an in-process server on an ephemeral port, headless
//! softphones as real child processes driven over stdin, and "what was heard" analysis of their
//! recordings. Everything goes over real sockets on 127.0.0.1.
#![allow(dead_code)]

pub mod audio;
pub mod client;
pub mod scenario;
pub mod server;

pub use audio::Heard;
pub use client::Client;
pub use server::TestServer;

/// Test tones, chosen away from the music-on-hold notes (≤ 784 Hz) and from each other's harmonics.
pub const CUSTOMER_HZ: f32 = 1150.0;
pub const ALICE_HZ: f32 = 1850.0;
pub const BOB_HZ: f32 = 2450.0;
pub const CAROL_HZ: f32 = 2150.0;
pub const DAVE_HZ: f32 = 2780.0;

/// A fresh scratch directory for one test's recordings and database, kept on failure for a look.
pub fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Record one phase of a call: every client records what it hears into `NAME-PHASE.wav` for
/// `length`, then stops, so the next change of state is not in this phase's file.
pub fn record_phase(
    clients: &mut [&mut Client],
    phase: &str,
    length: std::time::Duration,
) -> Vec<std::path::PathBuf> {
    let paths: Vec<_> = clients.iter_mut().map(|c| c.record(phase)).collect();
    std::thread::sleep(length);
    for c in clients.iter_mut() {
        c.cmd("record off");
    }
    paths
}
