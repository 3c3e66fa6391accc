//! UDP and TCP transports on one port; TLS on its own port.

pub(crate) mod framing;
pub(crate) mod keepalive;
pub(crate) mod tcp;
pub(crate) mod tls_stream;
pub(crate) mod udp;
pub(crate) mod udp_batch;
