//! UDP and TCP transports on one port.

pub(crate) mod framing;
pub(crate) mod keepalive;
pub(crate) mod tcp;
pub(crate) mod udp;
