//! Scripted SIP: one peer type (`SipPeer`) used as a user agent against the server under test or
//! as a scripted server for the phone, call flows with real RTP (`call`, `media_peer`), room and
//! directory packages (`room`), and messages a scripted server builds (`script`).

pub mod call;
pub mod media_peer;
pub mod peer;
pub mod room;
pub mod script;

pub use peer::{code, fast_timers, SipPeer};
