//! Keeping the device callbacks running and seeing when they do not (issue 9 point 1).
//!
//! cpal's ALSA worker threads run at normal priority. Under CPU load a worker that misses its
//! buffer (100 ms) underruns, and the ALSA pulse plugin answers an underrun by tearing down and
//! reconnecting its PulseAudio stream — a new stream that a sink may not drain for a while (the
//! null sink: up to its 2 s render-ahead). So each callback thread raises its own priority on its
//! first call ([`CallbackClock::enter`]: `SCHED_FIFO` where permitted, as the media thread does).
//!
//! Each callback also stores when it last ran in an atomic; the media thread reads it
//! ([`StallWatch`]) and logs a device that stopped calling back, and when it came back: the
//! callback itself never blocks, locks, allocates or logs.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_media::realtime::{self, Priority};

/// A callback silent for longer than this is reported (a period is 25 ms, the buffer 100 ms).
const STALL: Duration = Duration::from_millis(200);

/// When a device callback last ran (written by the callback, read by the media thread).
#[derive(Debug)]
pub struct CallbackClock {
    origin: Instant,
    /// Microseconds since `origin` at the start of the last callback; 0 = never called.
    last_us: AtomicU64,
    raised: AtomicBool,
    /// The callback thread's [`Priority`] as a number (see [`priority_code`]).
    priority: AtomicU8,
}

impl CallbackClock {
    /// A clock no callback has touched yet.
    pub fn new() -> Arc<Self> {
        Arc::new(CallbackClock {
            origin: Instant::now(),
            last_us: AtomicU64::new(0),
            raised: AtomicBool::new(false),
            priority: AtomicU8::new(0),
        })
    }

    /// Called at the start of every callback: on the first, raise the calling thread's priority;
    /// then note the time. Syscalls only (no allocation, no lock).
    pub fn enter(&self) {
        if !self.raised.swap(true, Ordering::Relaxed) {
            let priority = realtime::raise();
            self.priority
                .store(priority_code(priority), Ordering::Relaxed);
        }
        let us = self.origin.elapsed().as_micros().max(1) as u64;
        self.last_us.store(us, Ordering::Relaxed);
    }

    /// How long since the last callback at `now` (None before the first).
    pub fn since_last(&self, now: Instant) -> Option<Duration> {
        match self.last_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(
                now.saturating_duration_since(self.origin)
                    .saturating_sub(Duration::from_micros(us)),
            ),
        }
    }

    /// The callback thread's scheduling, once it has run.
    pub fn priority(&self) -> Option<Priority> {
        match self.priority.load(Ordering::Relaxed) {
            1 => Some(Priority::RealTime),
            2 => Some(Priority::Nice),
            3 => Some(Priority::Normal),
            _ => None,
        }
    }
}

fn priority_code(p: Priority) -> u8 {
    match p {
        Priority::RealTime => 1,
        Priority::Nice => 2,
        Priority::Normal => 3,
    }
}

/// The media thread's watch over one callback: logs the callback thread's scheduling once, a
/// stall when it passes [`STALL`], and its end with its length.
#[derive(Debug)]
pub struct StallWatch {
    clock: Arc<CallbackClock>,
    what: &'static str,
    priority_logged: bool,
    /// The longest silence seen in the current stall.
    stalled: Option<Duration>,
}

/// What one [`StallWatch::check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StallState {
    /// Calling back (or not started yet).
    Running,
    /// Silent for this long (over the threshold).
    Stalled(Duration),
    /// Calling back again after a stall this long.
    Resumed(Duration),
}

impl StallWatch {
    /// Watch `clock`, naming it `what` ("playback", "capture") in the log.
    pub fn new(clock: Arc<CallbackClock>, what: &'static str) -> Self {
        StallWatch {
            clock,
            what,
            priority_logged: false,
            stalled: None,
        }
    }

    /// Look at the callback at `now`; logs changes. Allocates only when it logs.
    pub fn check(&mut self, now: Instant) -> StallState {
        if !self.priority_logged {
            if let Some(priority) = self.clock.priority() {
                self.priority_logged = true;
                tracing::debug!(?priority, device = self.what, "audio callback scheduling");
            }
        }
        let Some(silent) = self.clock.since_last(now) else {
            return StallState::Running;
        };
        match (self.stalled, silent > STALL) {
            (None, true) => {
                tracing::warn!(
                    device = self.what,
                    silent_ms = silent.as_millis() as u64,
                    "audio device callback stalled"
                );
                self.stalled = Some(silent);
                StallState::Stalled(silent)
            }
            (Some(longest), true) => {
                self.stalled = Some(longest.max(silent));
                StallState::Stalled(silent)
            }
            (Some(longest), false) => {
                self.stalled = None;
                tracing::warn!(
                    device = self.what,
                    stalled_ms = longest.as_millis() as u64,
                    "audio device callback resumed"
                );
                StallState::Resumed(longest)
            }
            (None, false) => StallState::Running,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_callback_is_reported_as_a_stall_and_its_end_with_its_length() {
        let clock = CallbackClock::new();
        let mut watch = StallWatch::new(Arc::clone(&clock), "playback");
        let t0 = Instant::now();
        assert_eq!(watch.check(t0), StallState::Running, "not started yet");
        clock.enter();
        assert!(
            clock.priority().is_some(),
            "the first call notes its scheduling"
        );
        let Some(entered) = clock.since_last(t0 + Duration::from_secs(10)) else {
            panic!("entered");
        };
        // The instant of the callback, from the watch's point of view.
        let at = t0 + Duration::from_secs(10) - entered;
        assert_eq!(
            watch.check(at + Duration::from_millis(100)),
            StallState::Running
        );
        assert!(matches!(
            watch.check(at + Duration::from_millis(300)),
            StallState::Stalled(d) if d >= Duration::from_millis(299)
        ));
        assert!(matches!(
            watch.check(at + Duration::from_millis(900)),
            StallState::Stalled(d) if d >= Duration::from_millis(899)
        ));
        // The callback runs again: the stall ends with its longest silence.
        clock.enter();
        let resumed = watch.check(Instant::now());
        assert!(
            matches!(resumed, StallState::Resumed(d) if d >= Duration::from_millis(899)),
            "{resumed:?}"
        );
        assert_eq!(watch.check(Instant::now()), StallState::Running);
    }
}
