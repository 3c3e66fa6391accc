//! SIP layer for agentphone: message parsing on top of `rsip`, UDP/TCP transport, the RFC 3261
//! transaction layer, dialogs, digest authentication and SDP offer/answer.
//!
//! - [`message`]: `parse` (compact header names, comma-joined Via/Contact/Route/Record-Route,
//!   folded lines and bare LF handled before rsip sees the text; mandatory headers checked),
//!   `to_bytes`, header helpers, `RequestBuilder`, `response`, `bad_request_reply`.
//! - [`core`]: the transaction layer as a sans-IO state machine (`handle_input(input, now)` /
//!   `poll_output()`): client and server transactions with RFC 3261 timers, automatic 100 Trying,
//!   2xx retransmission until ACK, CANCEL matching, 400 for garbage, 503 past a hard cap.
//! - [`endpoint`]: the tokio driver: one UDP + TCP port, N shards on `SO_REUSEPORT`, each one task
//!   owning a socket and a `core::Core`.
//! - [`dialog`]: dialog state for in-dialog requests (BYE, re-INVITE, ...); [`template`]: the
//!   same requests written as bytes from a per-dialog template.
//! - [`tls`]: TLS settings (rustls, PEM files) for SIP over TLS on its own port.
//! - [`auth`]: digest challenges/credentials (MD5, SHA-256, qop=auth) and stateless nonces.
//! - [`sdp`]: one audio stream, our offer, offer/answer.
//!
//! Status codes: responses built by [`message::response`] with a non-standard reason phrase carry
//! `rsip::StatusCode::Other(code, reason)`; compare with `status_code.code()`.

pub use rsip;

pub mod auth;
pub mod core;
pub mod dialog;
pub mod endpoint;
pub mod message;
pub mod sdp;
pub mod template;
#[cfg(test)]
mod template_tests;
pub mod tls;
mod transport;
