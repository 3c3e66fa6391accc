//! Several datagrams in one system call (`sendmmsg`): a directory change's NOTIFYs to every
//! subscriber leave as one burst instead of one `sendto` each.

use bytes::Bytes;
use socket2::SockAddr;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Datagrams given to the kernel in one call at most.
pub(crate) const MAX_BATCH: usize = 64;

/// Send the first datagrams of `datagrams` (at most [`MAX_BATCH`]) without blocking. Ok(n): the
/// first n were sent (n ≥ 1 when any were given); Err: the first one was not (WouldBlock: the
/// send buffer is full; another error: that datagram is refused, the next may still go).
pub(crate) fn send_batch(
    socket: &impl AsRawFd,
    datagrams: &[(SocketAddr, Bytes)],
) -> io::Result<usize> {
    let datagrams = datagrams
        .get(..datagrams.len().min(MAX_BATCH))
        .unwrap_or(&[]);
    if datagrams.is_empty() {
        return Ok(0);
    }
    let addrs: Vec<SockAddr> = datagrams.iter().map(|(a, _)| SockAddr::from(*a)).collect();
    let mut iovs: Vec<libc::iovec> = datagrams
        .iter()
        .map(|(_, b)| libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .zip(&addrs)
        .map(|(iov, addr)| {
            // SAFETY: all-zero bytes are a valid msghdr (null pointers, zero lengths).
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = addr.len();
            hdr.msg_iov = iov;
            hdr.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            }
        })
        .collect();
    let count = libc::c_uint::try_from(msgs.len()).unwrap_or(0);
    // SAFETY: `msgs` holds `count` headers whose names (`addrs`), iovecs (`iovs`) and buffers
    // (`datagrams`) outlive the call; the kernel only reads them (and writes `msg_len`).
    let n = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            msgs.as_mut_ptr(),
            count,
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_burst_reaches_each_receiver_in_order_in_one_call() {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let rx: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let datagrams: Vec<(SocketAddr, Bytes)> = (0..9)
            .map(|i| {
                let to = rx[i % 3].local_addr().expect("addr");
                (to, Bytes::from(format!("NOTIFY {i}")))
            })
            .collect();
        assert_eq!(send_batch(&tx, &datagrams).expect("sent"), 9);
        let from = tx.local_addr().expect("addr");
        let mut buf = [0u8; 64];
        for (r, socket) in rx.iter().enumerate() {
            socket.set_nonblocking(true).expect("nonblocking");
            let mut got = Vec::new();
            while let Ok((n, src)) = socket.recv_from(&mut buf) {
                assert_eq!(src, from);
                got.push(String::from_utf8_lossy(&buf[..n]).to_string());
            }
            let want: Vec<String> = (0..9)
                .filter(|i| i % 3 == r)
                .map(|i| format!("NOTIFY {i}"))
                .collect();
            assert_eq!(got, want, "receiver {r}");
        }
    }

    #[test]
    fn at_most_a_batch_per_call_and_nothing_for_nothing() {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        let many = vec![(to, Bytes::from_static(b"x")); MAX_BATCH + 5];
        assert_eq!(send_batch(&tx, &many).expect("sent"), MAX_BATCH);
        assert_eq!(send_batch(&tx, &[]).expect("nothing"), 0);
    }
}
