//! Whole calls through the room machine in virtual time, as tables of (event, expected
//! effects): no sockets, no clock, no sleeps. `harness.rs` drives one call and prints each
//! effect as one short line; the tables say which lines must come, in order, and which must not.

// Flow tables are long lists of steps: one row per event, read like the SPEC.
#![allow(clippy::type_complexity)]

mod connected_flows;
mod desk_flows;
mod harness;
mod setup_flows;
mod supervise_flows;
mod transfer_faults;
mod transfer_flows;
mod whole_call;
