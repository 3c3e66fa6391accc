//! Waiting on a condition instead of sleeping: poll a probe until it holds or a deadline passes,
//! and fail saying what was awaited and what was last seen. Tests wait for what they need (an
//! event, a tone heard, a screen text, a port bound), never for a guessed time.

use std::time::{Duration, Instant};

/// How often `wait_until` polls: short beside the tests' deadlines, long beside a probe's cost.
pub const POLL: Duration = Duration::from_millis(50);

/// Poll `probe` every `POLL` until it returns `Ok`, for `within` at most. `Err(seen)` describes
/// what the probe saw instead; the last one is in the panic message, with `what` was awaited.
pub fn wait_until<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let seen = match probe() {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}; last seen: {seen}"
        );
        // The poll interval of this wait, not a settle.
        std::thread::sleep(POLL);
    }
}

/// `wait_until` for async tests: polls with `tokio::time::sleep`, so the runtime keeps working.
#[cfg(feature = "sip")]
pub async fn wait_until_async<T, F>(what: &str, within: Duration, mut probe: impl FnMut() -> F) -> T
where
    F: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        let seen = match probe().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what}; last seen: {seen}"
        );
        // The poll interval of this wait, not a settle.
        tokio::time::sleep(POLL).await;
    }
}

/// Whether a UDP socket is bound to `port` on this host (IPv4 or IPv6), from /proc/net/udp*:
/// a child process is ready to receive once its port shows there.
pub fn udp_port_bound(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|table| {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        // Each row: "sl local_address rem_address ..." with local_address as HEXIP:HEXPORT.
        text.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
            .any(|local| format!("{local} ").ends_with(&needle))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_ok() {
        let mut n = 0;
        let got = wait_until("three polls", Duration::from_secs(5), || {
            n += 1;
            if n == 3 {
                Ok(n)
            } else {
                Err(format!("poll {n}"))
            }
        });
        assert_eq!(got, 3);
    }

    #[test]
    fn fails_with_what_was_awaited_and_last_seen() {
        let r = std::panic::catch_unwind(|| {
            wait_until::<()>("the moon", Duration::from_millis(120), || {
                Err("clouds".into())
            })
        });
        let msg = r
            .err()
            .and_then(|e| e.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(msg.contains("the moon") && msg.contains("clouds"), "{msg}");
    }

    #[test]
    fn a_bound_udp_port_is_seen() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
        assert!(udp_port_bound(port));
        drop(socket);
    }
}
