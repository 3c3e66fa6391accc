//! RFC 5626 §4.4.1 keepalives on streams: a client sends a double CRLF ("ping") and the server
//! answers a single CRLF ("pong"). Keepalive bytes only ever hold CR and LF; a ping may arrive split
//! over several reads, so the run of the ping sequence seen so far is kept.

const PING: &[u8; 4] = b"\r\n\r\n";

/// Finds pings in the CRLF bytes between messages.
#[derive(Default)]
pub(crate) struct PingDetector {
    matched: usize,
}

impl PingDetector {
    /// Feed keepalive bytes; how many pings they completed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> usize {
        let mut pings = 0;
        for &b in bytes {
            if PING.get(self.matched) == Some(&b) {
                self.matched += 1;
            } else {
                // Restart: this byte may itself begin a ping.
                self.matched = usize::from(b == b'\r');
            }
            if self.matched == PING.len() {
                pings += 1;
                self.matched = 0;
            }
        }
        pings
    }

    /// A message came: a ping cannot span it.
    pub(crate) fn reset(&mut self) {
        self.matched = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_crlf_is_a_ping_even_split_over_reads() {
        let mut d = PingDetector::default();
        assert_eq!(d.feed(b"\r\n\r\n"), 1);
        assert_eq!(d.feed(b"\r\n"), 0);
        assert_eq!(d.feed(b"\r\n"), 1, "split over two reads");
        assert_eq!(d.feed(b"\r\n\r\n\r\n\r\n"), 2);
        assert_eq!(d.feed(b"\r\n"), 0, "a single CRLF (a pong) is not a ping");
        d.reset();
        assert_eq!(d.feed(b"\n\r\n\r\n"), 1, "a stray LF first");
        assert_eq!(d.feed(b"\r\r\n\r\n"), 1, "a stray CR first");
    }
}
