//! The root package's integration tests, one binary (one link of the big softphone binary
//! instead of one per file): end-to-end calls through the real server with headless phones
//! (`e2e_*`), the Phone engine against a scripted SIP server (`phone_*`), and the TUI and audio
//! device paths (`tui_*`). Run one area with `cargo test --test suite e2e_transfer::`.

// Allocation tests (tui_audio_alloc) count per thread, so the other tests running beside them
// do not disturb their counts.
#[global_allocator]
static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
    agentphone_testkit::alloc::CountingAllocator;

mod phone_support;

mod e2e_call;
mod e2e_cluster;
mod e2e_desk;
mod e2e_faults;
mod e2e_interop;
mod e2e_queue;
mod e2e_routing;
mod e2e_supervise;
mod e2e_tls;
mod e2e_transfer;
mod phone_directory;
mod phone_engine;
mod phone_headless;
mod phone_room;
mod phone_states;
mod tui_audio_alloc;
mod tui_audio_pulse;
mod tui_cli;
mod tui_idle_cpu;
mod tui_offline;
mod tui_tmux;
