//! The media crate's integration tests, one binary: RTP sessions over real UDP on 127.0.0.1
//! (loopback pairs, a lossy relay, paced raw streams), and allocation counts of the hot paths.
//! Run one area with `cargo test -p agentphone-media --test suite session_ptime::`.

// The allocation tests count per thread, so the tests running beside them do not disturb them.
#[global_allocator]
static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
    agentphone_testkit::alloc::CountingAllocator;

mod common;

mod hot_path_alloc;
mod mixer_alloc;
mod session_dtmf_clock;
mod session_loopback;
mod session_pcap;
mod session_ptime;
