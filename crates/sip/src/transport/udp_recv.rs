//! Several datagrams in one system call (`recvmmsg`): a receive worker drains what its socket
//! holds with one call per wake-up instead of one `recvfrom` per datagram plus a last one that
//! only fails with EAGAIN (issue 12: the directory's 200s to its NOTIFYs).

use socket2::{SockAddr, SockAddrStorage};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Datagrams read in one call at most.
pub(crate) const RECV_BATCH: usize = 16;

/// Room for one datagram of any size UDP allows.
const SLOT: usize = 65_536;

/// The buffers a worker receives into, allocated once.
pub(crate) struct RecvBatch {
    slots: Vec<Box<[u8]>>,
    /// Length and source of each datagram of the last call, in arrival order.
    got: Vec<(usize, Option<SocketAddr>)>,
}

impl RecvBatch {
    pub(crate) fn new() -> Self {
        RecvBatch {
            slots: (0..RECV_BATCH)
                .map(|_| vec![0u8; SLOT].into_boxed_slice())
                .collect(),
            got: Vec::with_capacity(RECV_BATCH),
        }
    }

    /// Read what is queued (at most [`RECV_BATCH`]) without blocking; Ok(n ≥ 1): n datagrams,
    /// see [`RecvBatch::received`]; Err(WouldBlock): nothing was queued.
    pub(crate) fn recv(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
        self.got.clear();
        let mut names: [SockAddrStorage; RECV_BATCH] =
            std::array::from_fn(|_| SockAddrStorage::zeroed());
        let mut iovs: [libc::iovec; RECV_BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self
                .slots
                .get_mut(i)
                .map_or(std::ptr::null_mut(), |s| s.as_mut_ptr().cast()),
            iov_len: self.slots.get(i).map_or(0, |s| s.len()),
        });
        // SAFETY: all-zero bytes are a valid mmsghdr (null pointers, zero lengths).
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
        for ((msg, iov), name) in msgs.iter_mut().zip(iovs.iter_mut()).zip(names.iter_mut()) {
            let size = name.size_of();
            // SAFETY: sockaddr_storage is one of this platform's sockaddr types.
            msg.msg_hdr.msg_name = (unsafe { name.view_as::<libc::sockaddr_storage>() }
                as *mut libc::sockaddr_storage)
                .cast();
            msg.msg_hdr.msg_namelen = size;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` holds RECV_BATCH headers whose buffers (`slots`, `names`) outlive the
        // call; the kernel writes at most their stated lengths.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(n).unwrap_or(0).min(RECV_BATCH);
        for (msg, name) in msgs.iter().zip(names).take(n) {
            // SAFETY: the kernel wrote a source address of `msg_namelen` bytes into `name`.
            let from = unsafe { SockAddr::new(name, msg.msg_hdr.msg_namelen) };
            self.got.push((msg.msg_len as usize, from.as_socket()));
        }
        Ok(n)
    }

    /// The datagrams of the last [`RecvBatch::recv`]: bytes and source (None: not an IP one).
    pub(crate) fn received(&self) -> impl Iterator<Item = (&[u8], Option<SocketAddr>)> {
        self.got
            .iter()
            .zip(&self.slots)
            .map(|((len, from), slot)| (slot.get(..*len).unwrap_or_default(), *from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn one_call_reads_what_is_queued_in_order_with_sources() {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        let senders: Vec<UdpSocket> = (0..2)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let mut batch = RecvBatch::new();
        let nothing = batch.recv(&rx).err().map(|e| e.kind());
        assert_eq!(nothing, Some(io::ErrorKind::WouldBlock));
        for i in 0..5 {
            let payload = format!("SIP/2.0 200 OK {i}");
            senders[i % 2]
                .send_to(payload.as_bytes(), to)
                .expect("send");
        }
        // Loopback queues at send: all five are there now.
        assert_eq!(batch.recv(&rx).expect("received"), 5);
        let got: Vec<(String, Option<SocketAddr>)> = batch
            .received()
            .map(|(b, from)| (String::from_utf8_lossy(b).to_string(), from))
            .collect();
        let want: Vec<(String, Option<SocketAddr>)> = (0..5)
            .map(|i| {
                let from = senders[i % 2].local_addr().expect("addr");
                (format!("SIP/2.0 200 OK {i}"), Some(from))
            })
            .collect();
        assert_eq!(got, want);
        let drained = batch.recv(&rx).err().map(|e| e.kind());
        assert_eq!(drained, Some(io::ErrorKind::WouldBlock));
    }

    #[test]
    fn at_most_a_batch_per_call_and_large_datagrams_whole() {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        let big = vec![b'x'; 60_000];
        tx.send_to(&big, to).expect("send big");
        for _ in 0..RECV_BATCH + 3 {
            tx.send_to(b"small", to).expect("send");
        }
        let mut batch = RecvBatch::new();
        assert_eq!(batch.recv(&rx).expect("first batch"), RECV_BATCH);
        let lens: Vec<usize> = batch.received().map(|(b, _)| b.len()).collect();
        assert_eq!(lens.first(), Some(&60_000));
        assert!(lens.iter().skip(1).all(|l| *l == 5), "{lens:?}");
        assert_eq!(batch.recv(&rx).expect("the rest"), 4);
    }
}
