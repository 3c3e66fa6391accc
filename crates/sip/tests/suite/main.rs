//! The SIP crate's integration tests, one binary: messages, SDP and digest against captured
//! samples, endpoints over real UDP/TCP on 127.0.0.1, and interop with baresip and SIPp when
//! installed. Run one area with `cargo test -p agentphone-sip --test suite endpoint_udp::`.

// core_memory reads this thread's live bytes, so the tests running beside it do not disturb it.
#[global_allocator]
static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
    agentphone_testkit::alloc::CountingAllocator;

mod common;

mod core_memory;
mod dialog;
mod digest;
mod endpoint_fuzz;
mod endpoint_tagged;
mod endpoint_tcp;
mod endpoint_tls;
mod endpoint_udp;
mod fast_path;
mod garbage;
mod interop_baresip;
mod interop_baresip_call;
mod interop_sipp;
mod ipv6;
mod message;
mod sdp;
