//! Which UDP ports RTP sockets bind (issue 11 §5): `[media] rtp_ports = "10000-20000"` keeps them
//! in a range a firewall can open; without it the OS picks ephemeral ports. Only the range's even
//! ports are bound (RFC 3550 §11: RTP on an even port, the odd one above is where a peer without
//! `rtcp-mux` sends RTCP, so it is never another leg's RTP port). Ports are tried in turn from a
//! cursor that moves on with every allocation, so a port just freed is the last to be taken
//! again; one the OS refuses (in use) is skipped. When no port of the range is free the caller
//! answers 503 rather than wait.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU32, Ordering};

use agentphone_media::session::RtpSession;

/// Why no RTP socket could be had.
#[derive(Debug, thiserror::Error)]
pub enum RtpPortError {
    /// Every port of the range is in use.
    #[error("no free RTP port in {0}-{1}")]
    Exhausted(u16, u16),
    /// The OS refused for another reason.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl RtpPortError {
    /// The SIP answer for the party whose call needed the port.
    pub fn reply(&self) -> (u16, String) {
        match self {
            RtpPortError::Exhausted(..) => (503, format!("Service Unavailable ({self})")),
            RtpPortError::Io(e) => (500, format!("Server Internal Error (RTP: {e})")),
        }
    }
}

/// The RTP port range, or any port.
#[derive(Debug)]
pub struct RtpPorts {
    range: Option<RangeInclusive<u16>>,
    /// Offset into the range of the next port to try.
    next: AtomicU32,
}

impl RtpPorts {
    /// Ports from `range` (None: ephemeral ports).
    pub fn new(range: Option<RangeInclusive<u16>>) -> RtpPorts {
        RtpPorts {
            range,
            next: AtomicU32::new(0),
        }
    }

    /// An RTP session on `ip`, on a port of the range.
    pub fn bind(&self, ip: IpAddr) -> Result<RtpSession, RtpPortError> {
        match &self.range {
            None => Ok(RtpSession::bind(ip)?),
            Some(_) => self.pick(|port| RtpSession::bind_addr(SocketAddr::new(ip, port))),
        }
    }

    /// Try the range's ports from the cursor on, each at most once, until `bind` takes one; a
    /// port `bind` finds in use is skipped, any other error ends the search.
    fn pick<T>(&self, mut bind: impl FnMut(u16) -> io::Result<T>) -> Result<T, RtpPortError> {
        let Some(range) = &self.range else {
            return Ok(bind(0)?);
        };
        let (first, last) = (*range.start(), *range.end());
        let even = u32::from(first) + u32::from(first % 2);
        // `parse_range` makes sure there is one.
        let size = (u32::from(last).saturating_sub(even)) / 2 + 1;
        for _ in 0..size {
            let offset = self.next.fetch_add(1, Ordering::Relaxed) % size;
            let port = u16::try_from(even + 2 * offset).unwrap_or(last);
            match bind(port) {
                Ok(bound) => return Ok(bound),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RtpPortError::Exhausted(first, last))
    }
}

/// `"FIRST-LAST"` with `1024 <= FIRST <= LAST <= 65535` and an even port in it.
pub fn parse_range(text: &str) -> Option<RangeInclusive<u16>> {
    let (first, last) = text.split_once('-')?;
    let first: u16 = first.trim().parse().ok()?;
    let last: u16 = last.trim().parse().ok()?;
    let has_even = u32::from(first) + u32::from(first % 2) <= u32::from(last);
    (1024 <= first && first <= last && has_even).then_some(first..=last)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use super::*;

    /// A pretend OS: ports in `taken` are in use; binding takes a port until it is freed.
    struct Os {
        taken: Mutex<HashSet<u16>>,
    }

    impl Os {
        fn new(taken: &[u16]) -> Os {
            Os {
                taken: Mutex::new(taken.iter().copied().collect()),
            }
        }

        fn bind(&self, port: u16) -> io::Result<u16> {
            let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
            if taken.insert(port) {
                Ok(port)
            } else {
                Err(io::ErrorKind::AddrInUse.into())
            }
        }

        fn free(&self, port: u16) {
            self.taken
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&port);
        }
    }

    /// Allocation takes the range's even ports, skips ports in use, takes a freed port only
    /// after the others, and says when the range is used up.
    #[test]
    fn ports_come_from_the_range_in_turn_until_it_is_used_up() {
        let os = Os::new(&[4002]);
        let ports = RtpPorts::new(Some(3999..=4007));
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(ports.pick(|p| os.bind(p)).unwrap_or_else(|e| panic!("{e}")));
        }
        assert_eq!(got, [4000, 4004, 4006], "even ports; 4002 is in use");
        assert!(matches!(
            ports.pick(|p| os.bind(p)),
            Err(RtpPortError::Exhausted(3999, 4007))
        ));
        // Freed ports are found where the cursor goes on (a full turn: back at the start).
        os.free(4004);
        os.free(4000);
        assert_eq!(ports.pick(|p| os.bind(p)).ok(), Some(4000));
        assert_eq!(ports.pick(|p| os.bind(p)).ok(), Some(4004));
        os.free(4000);
        assert_eq!(
            ports.pick(|p| os.bind(p)).ok(),
            Some(4000),
            "4006 and 4002 are in use"
        );
        // Another error from the OS ends the search at once.
        let denied =
            ports.pick(|_| -> io::Result<u16> { Err(io::ErrorKind::PermissionDenied.into()) });
        assert!(matches!(denied, Err(RtpPortError::Io(_))));
    }

    #[test]
    fn exhausted_is_503_and_other_errors_500() {
        assert_eq!(RtpPortError::Exhausted(1, 2).reply().0, 503);
        assert_eq!(RtpPortError::Io(io::ErrorKind::Other.into()).reply().0, 500);
    }

    #[test]
    fn ranges_are_first_dash_last_above_1023() {
        let cases: [(&str, Option<RangeInclusive<u16>>); 8] = [
            ("10000-20000", Some(10000..=20000)),
            (" 5000 - 5000 ", Some(5000..=5000)),
            ("5001-5001", None),
            ("20000-10000", None),
            ("80-90", None),
            ("10000", None),
            ("10000-70000", None),
            ("a-b", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_range(text), want, "{text:?}");
        }
    }
}
