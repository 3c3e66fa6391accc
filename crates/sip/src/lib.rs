//! SIP layer for agentphone: message parsing on top of `rsip`, UDP/TCP transport, the RFC 3261
//! transaction layer, dialogs, digest authentication and SDP offer/answer.

pub use rsip;

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod message;
pub mod sdp;
mod transaction;
mod transport;
