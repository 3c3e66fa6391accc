//! Binding the sockets: one TCP listener and one UDP socket per shard, all on the same port.
//! With more than one shard the UDP sockets share the port through `SO_REUSEPORT`; the kernel
//! hashes each datagram's 4-tuple to one of them, so one source's retransmissions, ACK and
//! CANCEL always reach the same shard.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;

/// Receive buffer asked for each UDP socket (the kernel may grant less): room for bursts.
const UDP_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// TCP first (without `SO_REUSEPORT`, so a port taken by another endpoint fails loudly and port 0
/// picks a port no other endpoint of ours uses), then the UDP group on that port.
pub(crate) fn bind_sockets(
    addr: SocketAddr,
    shards: usize,
) -> std::io::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener)> {
    let attempts = if addr.port() == 0 { 32 } else { 1 };
    let mut last_err = None;
    for _ in 0..attempts {
        let tcp = tcp_listener(addr)?;
        let port_addr = tcp.local_addr()?;
        match udp_group(port_addr, shards) {
            Ok(udp) => return Ok((udp, tcp)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free port for UDP and TCP")))
}

pub(crate) fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn udp_group(addr: SocketAddr, shards: usize) -> std::io::Result<Vec<std::net::UdpSocket>> {
    (0..shards)
        .map(|_| {
            let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
            if shards > 1 {
                socket.set_reuse_port(true)?;
            }
            let _ = socket.set_recv_buffer_size(UDP_RECV_BUFFER);
            socket.bind(&addr.into())?;
            socket.set_nonblocking(true)?;
            Ok(socket.into())
        })
        .collect()
}
