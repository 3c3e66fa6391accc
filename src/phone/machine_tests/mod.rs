//! Table tests of the engine machine in virtual time: no sockets, no sleeps.

mod rig;

mod directory;
mod history;
mod hold;
mod incoming;
mod lost_popup;
mod outgoing;
mod registration;
mod room;
mod supervise;
mod transfer;
