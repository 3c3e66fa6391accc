//! Waiting for the next tick while handling packets the moment they arrive (issue 9 point 6,
//! latency): an epoll set of sockets plus a `CLOCK_MONOTONIC` timerfd armed at the tick's
//! absolute deadline. A media thread calls [`ArrivalWait::wait_until`] instead of sleeping:
//! whenever a watched socket becomes readable before the deadline, the callback runs with that
//! socket's token and the arrival time, so the server relays a packet when it arrives (not at
//! its next 20 ms tick) and a phone stamps each packet with its real arrival time (the jitter
//! estimate measures the network, not the phase of two 20 ms clocks).
//!
//! Edge-triggered: a callback that does not drain its socket is not called again until the next
//! datagram (the tick drains whatever is left), so a forgotten token can never spin the thread.
//! Allocation-free after construction.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::realtime::DeadlineClock;

/// The timer's token (socket tokens are the caller's; this one is reserved).
const TIMER: u64 = u64::MAX;
/// Readiness events taken per `epoll_wait`.
const EVENTS: usize = 64;

/// An epoll set of watched sockets and a deadline timer.
pub struct ArrivalWait {
    epoll: OwnedFd,
    timer: OwnedFd,
    clock: DeadlineClock,
    events: [libc::epoll_event; EVENTS],
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl ArrivalWait {
    /// A new, empty set (errors when the kernel refuses epoll or timerfd).
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscalls; each returned descriptor is owned at once.
        let epoll =
            unsafe { OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let timer = unsafe {
            OwnedFd::from_raw_fd(check(libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            ))?)
        };
        let wait = ArrivalWait {
            epoll,
            timer,
            clock: DeadlineClock::new(),
            events: [libc::epoll_event { events: 0, u64: 0 }; EVENTS],
        };
        wait.ctl(libc::EPOLL_CTL_ADD, wait.timer.as_raw_fd(), TIMER)?;
        Ok(wait)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: a valid epoll descriptor and event pointer.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }

    /// Watch `fd` (a socket) under `token` (any value but `u64::MAX`); watching it again
    /// changes its token. A closed descriptor leaves the set by itself.
    pub fn watch(&self, fd: RawFd, token: u64) -> io::Result<()> {
        match self.ctl(libc::EPOLL_CTL_ADD, fd, token) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.ctl(libc::EPOLL_CTL_MOD, fd, token)
            }
            r => r,
        }
    }

    /// Stop watching `fd` (not watched: nothing happens). Call before closing a descriptor
    /// whose number another socket may take.
    pub fn unwatch(&self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0);
    }

    /// Block until `deadline`, calling `on_arrival(token, now)` whenever a watched socket
    /// becomes readable before it. Returns at once when the deadline has passed (after handling
    /// what is ready). Should the timer or epoll fail, it falls back to a plain sleep.
    pub fn wait_until(&mut self, deadline: Instant, mut on_arrival: impl FnMut(u64, Instant)) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: self.clock.timespec(deadline),
        };
        // SAFETY: a valid timerfd and itimerspec (never zero: the monotonic clock's origin is
        // long past), the old value not wanted. A past deadline fires at once.
        let armed = unsafe {
            libc::timerfd_settime(
                self.timer.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if armed < 0 {
            self.clock.sleep_until(deadline);
            return;
        }
        loop {
            // SAFETY: the buffer holds EVENTS entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    EVENTS as libc::c_int,
                    -1,
                )
            };
            if n < 0 {
                if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                self.clock.sleep_until(deadline);
                return;
            }
            let now = Instant::now();
            let mut due = false;
            for ev in self.events.iter().take(n as usize) {
                let token = ev.u64;
                if token == TIMER {
                    due = true;
                } else {
                    on_arrival(token, now);
                }
            }
            if due {
                let mut expirations = [0u8; 8];
                // SAFETY: reading 8 bytes into an 8-byte buffer clears the timer's count.
                let _ = unsafe {
                    libc::read(
                        self.timer.as_raw_fd(),
                        expirations.as_mut_ptr().cast(),
                        expirations.len(),
                    )
                };
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    #[test]
    fn a_datagram_is_handled_when_it_arrives_and_the_wait_ends_at_the_deadline() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut wait = ArrivalWait::new().unwrap();
        wait.watch(rx.as_raw_fd(), 7).unwrap();
        let to = rx.local_addr().unwrap();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let sending_at = Instant::now();
            tx.send_to(b"x", to).unwrap();
            sending_at
        });
        let start = Instant::now();
        let deadline = start + Duration::from_millis(120);
        let mut arrivals = Vec::new();
        let mut buf = [0u8; 16];
        wait.wait_until(deadline, |token, at| {
            while rx.recv_from(&mut buf).is_ok() {}
            arrivals.push((token, at));
        });
        let sent_at = sender.join().unwrap();
        assert!(Instant::now() >= deadline, "returned before the deadline");
        assert_eq!(arrivals.len(), 1, "one datagram, one call: {arrivals:?}");
        let (token, at) = arrivals[0];
        assert_eq!(token, 7);
        // Handled on arrival, long before the deadline (not at it).
        assert!(at >= sent_at && at < deadline - Duration::from_millis(50));
    }

    #[test]
    fn an_unwatched_socket_does_not_wake_and_a_past_deadline_returns_at_once() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut wait = ArrivalWait::new().unwrap();
        wait.watch(rx.as_raw_fd(), 1).unwrap();
        wait.unwatch(rx.as_raw_fd());
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        let mut calls = 0;
        wait.wait_until(Instant::now() + Duration::from_millis(30), |_, _| {
            calls += 1
        });
        assert_eq!(calls, 0);
        let t = Instant::now();
        wait.wait_until(t - Duration::from_millis(5), |_, _| calls += 1);
        assert!(t.elapsed() < Duration::from_millis(10));
    }
}
