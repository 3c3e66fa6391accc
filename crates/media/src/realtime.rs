//! Making a media thread (the server's workers, the softphone's tick) hard to starve (issue 9
//! point 3): `SCHED_FIFO` where permitted, else a lower nice value, else nothing (silently:
//! containers and unprivileged users usually may not); and a sleep to an absolute deadline on
//! `CLOCK_MONOTONIC`, so a late wake-up never shifts the following ticks.

use std::time::Instant;

/// Real-time priority asked for (low among real-time threads: audio, not the kernel's helpers).
const FIFO_PRIORITY: i32 = 10;
/// Nice value when real-time is refused.
const NICE: i32 = -10;

/// How the calling thread ended up scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `SCHED_FIFO`.
    RealTime,
    /// Normal scheduling with a lower nice value.
    Nice,
    /// Unchanged.
    Normal,
}

/// Raise the calling thread's scheduling priority as far as permitted.
pub fn raise() -> Priority {
    let param = libc::sched_param {
        sched_priority: FIFO_PRIORITY,
    };
    // SAFETY: plain syscalls on the calling thread (pid 0 / its own tid) with valid arguments.
    unsafe {
        if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 {
            return Priority::RealTime;
        }
        let tid = libc::gettid() as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, NICE) == 0 {
            return Priority::Nice;
        }
    }
    Priority::Normal
}

/// A clock for absolute-deadline sleeps: maps `Instant`s onto `CLOCK_MONOTONIC` (the clock
/// `Instant` reads on Linux) through one pair of readings taken together.
pub struct DeadlineClock {
    origin: Instant,
    origin_ns: i128,
}

fn monotonic_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl DeadlineClock {
    /// Take the reference pair now.
    pub fn new() -> Self {
        DeadlineClock {
            origin: Instant::now(),
            origin_ns: monotonic_ns(),
        }
    }

    /// `deadline` as a `CLOCK_MONOTONIC` time (instants before the reference map onto it).
    pub fn timespec(&self, deadline: Instant) -> libc::timespec {
        let ns =
            self.origin_ns + deadline.saturating_duration_since(self.origin).as_nanos() as i128;
        libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        }
    }

    /// Sleep until `deadline` (returns at once when it has passed).
    pub fn sleep_until(&self, deadline: Instant) {
        let ts = self.timespec(deadline);
        // SAFETY: a valid timespec; a null remainder is allowed with TIMER_ABSTIME. Interrupted
        // sleeps (EINTR) are resumed to the same absolute deadline.
        while unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        } == libc::EINTR
        {}
    }
}

impl Default for DeadlineClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sleeps_to_the_deadline_not_past_it_by_much() {
        let clock = DeadlineClock::new();
        let deadline = Instant::now() + Duration::from_millis(15);
        clock.sleep_until(deadline);
        let now = Instant::now();
        assert!(now >= deadline, "woke {:?} early", deadline - now);
        // A past deadline returns at once.
        let t = Instant::now();
        clock.sleep_until(t - Duration::from_millis(5));
        assert!(t.elapsed() < Duration::from_millis(5));
    }

    #[test]
    fn raising_priority_never_fails_the_caller() {
        // Whatever the environment permits, the answer is one of the three.
        let p = std::thread::spawn(raise).join().unwrap_or(Priority::Normal);
        assert!(matches!(
            p,
            Priority::RealTime | Priority::Nice | Priority::Normal
        ));
    }
}
