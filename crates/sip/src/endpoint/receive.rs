//! UDP receive workers: several tasks read the same socket (like Kamailio's children share one),
//! so that the datagrams of a single client socket — which `SO_REUSEPORT` hashes to one of our
//! sockets — are parsed and handled on every core. Each datagram is parsed here, outside any
//! lock, and handed to the shard its Call-ID hashes to.

use super::shard::udp_peer;
use super::Endpoint;
use std::sync::Arc;
use tokio::net::UdpSocket;

/// Datagrams read in one go before the worker lets other tasks of its thread run.
const BATCH: usize = 64;

pub(crate) async fn receive_loop(endpoint: Endpoint, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        endpoint.wait_for_tu().await;
        match socket.recv_from(&mut buf).await {
            Ok((len, addr)) => {
                endpoint.receive(udp_peer(addr), buf.get(..len).unwrap_or_default());
                for _ in 0..BATCH {
                    match socket.try_recv_from(&mut buf) {
                        Ok((len, addr)) => {
                            endpoint.receive(udp_peer(addr), buf.get(..len).unwrap_or_default())
                        }
                        Err(_) => break,
                    }
                }
            }
            // ICMP port unreachable from an earlier send shows up here on some systems.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => {
                tracing::warn!(error = %e, "sip udp receive failed");
                return;
            }
        }
    }
}
