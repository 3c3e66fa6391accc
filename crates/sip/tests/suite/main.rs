//! The SIP crate's integration tests, one binary: messages, SDP and digest against captured
//! samples, endpoints over real UDP/TCP on 127.0.0.1, and interop with baresip and SIPp when
//! installed. Run one area with `cargo test -p agentphone-sip --test suite endpoint_udp::`.

mod common;

mod dialog;
mod digest;
mod endpoint_fuzz;
mod endpoint_tcp;
mod endpoint_udp;
mod garbage;
mod interop_baresip;
mod interop_baresip_call;
mod interop_sipp;
mod message;
mod sdp;
