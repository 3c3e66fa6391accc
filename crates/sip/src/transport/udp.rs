//! UDP: one datagram = one message.

use crate::endpoint::inner::Inner;
use crate::endpoint::{Peer, TransportKind};
use std::sync::Arc;

/// Receive datagrams until the socket fails or the endpoint shuts down.
pub(crate) async fn receive_loop(inner: Arc<Inner>) {
    let socket = inner.udp.clone();
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((len, addr)) => {
                let peer = Peer {
                    addr,
                    transport: TransportKind::Udp,
                };
                let bytes = buf.get(..len).unwrap_or_default();
                crate::endpoint::receive::handle_bytes(&inner, peer, bytes).await;
            }
            // ICMP port unreachable from an earlier send shows up here on some systems: keep going.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
            Err(e) => {
                if !inner.closed.load(std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(error = %e, "sip udp receive failed");
                }
                return;
            }
        }
    }
}
