//! UDP sending from a shard: straight to the socket, or into a bounded queue while the socket's
//! send buffer is full (past the bound the datagram is dropped; retransmission recovers it).

use super::udp_batch::send_batch;
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

pub(crate) struct UdpOut {
    pending: VecDeque<(SocketAddr, Bytes)>,
    cap: usize,
    dropped: u64,
}

impl UdpOut {
    pub(crate) fn new(cap: usize) -> Self {
        UdpOut {
            pending: VecDeque::new(),
            cap,
            dropped: 0,
        }
    }

    /// Send now or queue; an error only for a datagram the socket refused outright.
    pub(crate) fn send(
        &mut self,
        socket: &UdpSocket,
        addr: SocketAddr,
        bytes: Bytes,
    ) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.queue(addr, bytes);
            return Ok(());
        }
        match socket.try_send_to(&bytes, addr) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.queue(addr, bytes);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Send `datagrams` in as few calls as the kernel takes (`sendmmsg`), or queue them behind
    /// what waits already; returns the indexes of those the socket refused outright, with why.
    pub(crate) fn send_many(
        &mut self,
        socket: &UdpSocket,
        datagrams: Vec<(SocketAddr, Bytes)>,
    ) -> Vec<(usize, std::io::Error)> {
        let mut refused = Vec::new();
        let mut next = 0;
        while next < datagrams.len() && self.pending.is_empty() {
            let rest = datagrams.get(next..).unwrap_or_default();
            match socket.try_io(Interest::WRITABLE, || send_batch(socket, rest)) {
                Ok(0) => break,
                Ok(n) => next += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    refused.push((next, e));
                    next += 1;
                }
            }
        }
        for (addr, bytes) in datagrams.into_iter().skip(next) {
            self.queue(addr, bytes);
        }
        refused
    }

    fn queue(&mut self, addr: SocketAddr, bytes: Bytes) {
        if self.pending.len() >= self.cap {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(dropped = self.dropped, "sip: UDP send queue full, dropping");
            }
            return;
        }
        self.pending.push_back((addr, bytes));
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Send what the socket takes now.
    pub(crate) fn flush(&mut self, socket: &UdpSocket) {
        while let Some((addr, bytes)) = self.pending.front() {
            match socket.try_send_to(bytes, *addr) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                _ => {
                    self.pending.pop_front();
                }
            }
        }
    }
}
