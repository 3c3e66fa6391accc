//! RFC 3261 §17 client and server transactions.

pub(crate) mod client;
mod client_task;
pub(crate) mod server;
mod server_task;
mod timers;
mod wait;
