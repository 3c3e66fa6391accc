//! RFC 3261 §17 client and server transactions.

pub(crate) mod client;
pub(crate) mod server;
mod timers;
mod wait;
