//! Receive up to two datagrams in one system call (`recvmmsg`). A leg gets about one packet a
//! tick: draining it with `recv` took a second call that only failed with EAGAIN; with room for
//! two, a call that returns one tells the queue was empty (issue 9: a third of a relayed or
//! mixed leg's socket calls).

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams received: the lengths and sources of those that came (in order: `first`, then
/// `second`).
pub(super) struct Received {
    pub(super) count: usize,
    pub(super) datagrams: [(usize, Option<SocketAddr>); 2],
}

/// Receive into `first` and `second` without blocking. Err(WouldBlock) when nothing was queued.
pub(super) fn recv_pair(
    socket: &UdpSocket,
    first: &mut [u8],
    second: &mut [u8],
) -> io::Result<Received> {
    // SAFETY: all-zero bytes are valid for these plain C structs.
    let mut addrs: [libc::sockaddr_storage; 2] = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut iov = [
        libc::iovec {
            iov_base: first.as_mut_ptr().cast(),
            iov_len: first.len(),
        },
        libc::iovec {
            iov_base: second.as_mut_ptr().cast(),
            iov_len: second.len(),
        },
    ];
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; 2] = unsafe { MaybeUninit::zeroed().assume_init() };
    for ((msg, iov), addr) in msgs.iter_mut().zip(iov.iter_mut()).zip(addrs.iter_mut()) {
        msg.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
        msg.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs` points at two valid headers whose buffers (`first`, `second`, `addrs`)
    // outlive the call; the kernel writes at most their stated lengths.
    let n = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            msgs.as_mut_ptr(),
            2,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let count = (n as usize).min(2);
    let mut datagrams = [(0, None); 2];
    for ((out, msg), addr) in datagrams.iter_mut().zip(msgs.iter()).zip(addrs.iter()) {
        *out = (msg.msg_len as usize, socket_addr(addr));
    }
    Ok(Received { count, datagrams })
}

/// The source address the kernel wrote (IPv4 or IPv6).
fn socket_addr(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in (it is large enough).
            let sin =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_two_or_none_queued() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (to, from) = (rx.local_addr().unwrap(), tx.local_addr().unwrap());
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        let err = recv_pair(&rx, &mut a, &mut b).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::WouldBlock));
        for payload in [&b"one"[..], b"two", b"three"] {
            tx.send_to(payload, to).unwrap();
        }
        // Loopback queues at send: two now, then the third.
        let got = recv_pair(&rx, &mut a, &mut b).unwrap();
        assert_eq!(got.count, 2);
        assert_eq!(got.datagrams, [(3, Some(from)), (3, Some(from))]);
        assert_eq!((&a[..3], &b[..3]), (&b"one"[..], &b"two"[..]));
        let got = recv_pair(&rx, &mut a, &mut b).unwrap();
        assert_eq!((got.count, got.datagrams[0]), (1, (5, Some(from))));
        assert_eq!(&a[..5], b"three");
    }
}
