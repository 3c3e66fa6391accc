//! Issue 11: each attack that once worked against the server, shown failing now — over real
//! sockets, attackers on other loopback addresses (127.0.0.2 …) where the attack needs another
//! host.

mod admission;
mod dialog_forgery;
mod digest;
mod liveness;
mod records;
mod rfc4475;
mod rfc4475_all;
mod rtp_latch;
mod rtp_ports;
mod tcp;
mod transactions;
