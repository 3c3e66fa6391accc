//! The server's integration tests, one binary (one link instead of one per file): SIP over real
//! UDP/TCP on 127.0.0.1 with the test kit's scripted peers and real RTP. Run one area with
//! `cargo test -p agentphone-server --test suite transfer::`.

// media_tick_alloc counts per thread, so the other tests running beside it do not disturb it.
#[global_allocator]
static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
    agentphone_testkit::alloc::CountingAllocator;

mod calls;
mod cluster;
mod config_errors;
mod directory;
mod directory_states;
mod early_bye;
mod ipv6_from;
mod listener_hold;
mod malformed;
mod media_tick_alloc;
mod queue;
mod records_postgres;
mod register;
mod room_levels;
mod security;
mod shared_directory;
mod supervise;
mod t11_matrix;
mod transfer;
