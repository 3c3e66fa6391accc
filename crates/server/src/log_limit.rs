//! Rate limiting for log lines about bad input (SPEC B1): a flood of garbage must not flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `burst` lines per `window`; counts what it suppressed and reports it with the next line.
pub struct LogLimiter {
    state: Mutex<State>,
    burst: u32,
    window: Duration,
}

struct State {
    window_start: Instant,
    used: u32,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter for `burst` lines per `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        LogLimiter {
            state: Mutex::new(State {
                window_start: Instant::now(),
                used: 0,
                suppressed: 0,
            }),
            burst,
            window,
        }
    }

    /// `Some(n)` when a line may be logged now (n = lines suppressed since the last one), `None` otherwise.
    pub fn allow(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(s.window_start) >= self.window {
            s.window_start = now;
            s.used = 0;
        }
        if s.used < self.burst {
            s.used += 1;
            Some(std::mem::take(&mut s.suppressed))
        } else {
            s.suppressed += 1;
            None
        }
    }
}

/// Log a warning about bad input through a [`LogLimiter`].
#[macro_export]
macro_rules! warn_limited {
    ($limiter:expr, $($arg:tt)+) => {
        if let Some(suppressed) = $limiter.allow() {
            if suppressed > 0 {
                tracing::warn!(suppressed, $($arg)+);
            } else {
                tracing::warn!($($arg)+);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_suppresses_and_counts() {
        let l = LogLimiter::new(2, Duration::from_secs(3600));
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
    }
}
