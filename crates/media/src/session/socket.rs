//! The RTP socket, connected to the latched peer (issue 9: the relay's per-packet kernel time).
//!
//! Once a stream has latched its source (see `latch`) and RTCP comes on the same port
//! (rtcp-mux), the socket is `connect`ed to that source:
//! - a send to the peer is `send` on a cached route instead of `sendto` with a route lookup per
//!   datagram, and a receive needs no source address (`recv`);
//! - the kernel drops datagrams from anyone else before they wake us — what the latch would
//!   have dropped anyway, once latched.
//!
//! A new offer/answer (the latch starts over) disconnects it. Linux keeps the local port over a
//! disconnect only for a port that was bound by number, so an ephemeral port is bound by
//! number too ([`bind_numbered`]). Without rtcp-mux the socket stays unconnected: the peer's
//! RTCP may come from its RTP port + 1.
//!
//! Measured on this kernel (a throwaway loop over 200 loopback legs, 172-byte datagrams, one
//! receive and one send per leg, thread CPU time; docs/measurements.md, session 12): `sendto` +
//! `recvmmsg` of two 3.78 µs, connected `send` + `recv` + the `recv` that finds the queue empty
//! 3.17 µs. Two plain calls beat one `recvmmsg` of two. In `media_relay` the relay went from
//! 18.0× to 20.8× the transcoded calls per core.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Attempts at binding a number the kernel just handed out (another socket may take it between
/// the probe's close and our bind).
const BIND_ATTEMPTS: usize = 8;

/// Bind `addr`; port 0 is resolved to a free port first and that port is bound by number (so a
/// later disconnect keeps it). The flag says whether the port was bound by number.
fn bind_numbered(addr: SocketAddr) -> io::Result<(UdpSocket, bool)> {
    if addr.port() != 0 {
        return Ok((UdpSocket::bind(addr)?, true));
    }
    for _ in 0..BIND_ATTEMPTS {
        let port = UdpSocket::bind(addr)?.local_addr()?.port();
        // The probe is closed here: UDP ports are free again at once.
        match UdpSocket::bind(SocketAddr::new(addr.ip(), port)) {
            Ok(socket) => return Ok((socket, true)),
            Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    // Still racing after several numbers: an ephemeral bind (never connected, see `connect`).
    Ok((UdpSocket::bind(addr)?, false))
}

/// A non-blocking UDP socket that may be connected to its peer.
#[derive(Debug)]
pub(super) struct RtpSocket {
    socket: UdpSocket,
    /// Where it is connected (None: unconnected).
    peer: Option<SocketAddr>,
    /// The local port was bound by number: connecting and disconnecting keep it.
    port_kept: bool,
}

impl RtpSocket {
    pub(super) fn bind(addr: SocketAddr) -> io::Result<RtpSocket> {
        let (socket, port_kept) = bind_numbered(addr)?;
        socket.set_nonblocking(true)?;
        Ok(RtpSocket {
            socket,
            peer: None,
            port_kept,
        })
    }

    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Where the socket is connected.
    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Connect to `peer` (the latched source), or disconnect (None). Failures leave the socket
    /// unconnected: everything still works through `sendto`/`recvfrom`.
    pub(super) fn connect(&mut self, peer: Option<SocketAddr>) {
        if peer == self.peer || !self.port_kept {
            return;
        }
        match peer {
            Some(addr) => match self.socket.connect(addr) {
                Ok(()) => self.peer = Some(addr),
                // Not tried again: this socket works unconnected.
                Err(_) => self.port_kept = false,
            },
            None => {
                self.disconnect();
                self.peer = None;
            }
        }
    }

    fn disconnect(&self) {
        // SAFETY: an AF_UNSPEC sockaddr (all zero but the family) dissolves the association
        // (connect(2)); the struct outlives the call.
        let mut unspec: libc::sockaddr = unsafe { std::mem::zeroed() };
        unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        // SAFETY: a valid descriptor and a sockaddr of the stated size.
        let _ = unsafe {
            libc::connect(
                self.socket.as_raw_fd(),
                &unspec,
                std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
            )
        };
    }

    /// Send `datagram` to `to` (on the connection when `to` is the peer).
    pub(super) fn send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<usize> {
        if self.peer == Some(to) {
            self.socket.send(datagram)
        } else {
            self.socket.send_to(datagram, to)
        }
    }

    /// Receive one datagram without blocking: its length and source.
    pub(super) fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        match self.peer {
            Some(peer) => self.socket.recv(buf).map(|n| (n, peer)),
            None => self.socket.recv_from(buf),
        }
    }
}

impl AsRawFd for RtpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn phone() -> UdpSocket {
        let s = UdpSocket::bind((LO, 0)).unwrap();
        s.set_nonblocking(true).unwrap();
        s
    }

    fn recv(s: &RtpSocket) -> Option<(Vec<u8>, SocketAddr)> {
        let mut buf = [0u8; 64];
        let (n, from) = s.recv_from(&mut buf).ok()?;
        Some((buf[..n].to_vec(), from))
    }

    #[test]
    fn connected_it_hears_only_the_peer_and_keeps_its_port_when_disconnected() {
        let mut rtp = RtpSocket::bind(SocketAddr::new(LO, 0)).unwrap();
        let local = rtp.local_addr().unwrap();
        let (peer, stranger) = (phone(), phone());
        let peer_addr = peer.local_addr().unwrap();

        rtp.connect(Some(peer_addr));
        assert_eq!(rtp.peer(), Some(peer_addr));
        stranger.send_to(b"forged", local).unwrap();
        peer.send_to(b"rtp", local).unwrap();
        assert_eq!(recv(&rtp), Some((b"rtp".to_vec(), peer_addr)));
        assert_eq!(recv(&rtp), None, "the stranger's datagram never arrives");
        rtp.send_to(b"back", peer_addr).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"back"[..], local));

        // A new offer/answer: unconnected again, same port, anyone heard.
        rtp.connect(None);
        assert_eq!(rtp.peer(), None);
        assert_eq!(rtp.local_addr().unwrap(), local, "the port survives");
        stranger.send_to(b"hello", local).unwrap();
        let stranger_addr = stranger.local_addr().unwrap();
        assert_eq!(recv(&rtp), Some((b"hello".to_vec(), stranger_addr)));
    }

    #[test]
    fn an_unconnected_socket_sends_to_anyone() {
        let rtp = RtpSocket::bind(SocketAddr::new(LO, 0)).unwrap();
        let a = phone();
        rtp.send_to(b"x", a.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(a.recv(&mut buf).unwrap(), 1);
    }
}
