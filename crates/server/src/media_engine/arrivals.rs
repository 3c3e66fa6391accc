//! Relay on arrival (issue 9 point 6): a worker waits for its next tick on the sockets of its
//! relaying rooms too, and forwards a relayed packet the moment it arrives instead of at the
//! next 20 ms tick (which added 0–20 ms, depending on the phase of the phones' clocks, to
//! mouth-to-ear). Only relaying rooms are watched: a mixing room takes its packets at the tick
//! (its mix is made there anyway), so it costs no wake-ups.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::time::Instant;

use agentphone_media::arrival::ArrivalWait;
use agentphone_media::realtime::DeadlineClock;

use super::tick::{arrival_sockets, on_arrival, MediaRoom};
use crate::ids::RoomId;

/// The worker's arrival wait and which rooms' sockets it watches.
pub(super) struct RelayArrivals {
    /// None when epoll/timerfd were refused: packets wait for the tick, as before.
    wait: Option<ArrivalWait>,
    clock: DeadlineClock,
    watched: HashMap<RoomId, [RawFd; 2]>,
}

impl RelayArrivals {
    pub(super) fn new() -> Self {
        let wait = ArrivalWait::new()
            .map_err(|e| tracing::warn!(error = %e, "relayed packets wait for the media tick"))
            .ok();
        RelayArrivals {
            wait,
            clock: DeadlineClock::new(),
            watched: HashMap::new(),
        }
    }

    /// After a room's tick: watch its legs' sockets while it relays, not otherwise.
    pub(super) fn sync(&mut self, id: RoomId, room: &MediaRoom) {
        let Some(wait) = self.wait.as_ref() else {
            return;
        };
        let want = arrival_sockets(room);
        if self.watched.get(&id) == want.as_ref() {
            return;
        }
        if let Some(old) = self.watched.remove(&id) {
            old.iter().for_each(|&fd| wait.unwatch(fd));
        }
        if let Some(fds) = want {
            let ok = fds.iter().all(|&fd| wait.watch(fd, id.0).is_ok());
            if ok {
                self.watched.insert(id, fds);
            } else {
                fds.iter().for_each(|&fd| wait.unwatch(fd));
            }
        }
    }

    /// Before a leg or room goes (its socket closes, and another may reuse the number): stop
    /// watching the room; the next tick watches it again if it still relays.
    pub(super) fn forget(&mut self, id: RoomId) {
        if let (Some(wait), Some(old)) = (self.wait.as_ref(), self.watched.remove(&id)) {
            old.iter().for_each(|&fd| wait.unwatch(fd));
        }
    }

    /// Sleep until `deadline`, forwarding relayed packets as they arrive.
    pub(super) fn wait_until(&mut self, deadline: Instant, rooms: &mut HashMap<RoomId, MediaRoom>) {
        match self.wait.as_mut() {
            Some(wait) => wait.wait_until(deadline, |token, now| {
                if let Some(room) = rooms.get_mut(&RoomId(token)) {
                    on_arrival(room, now);
                }
            }),
            None => self.clock.sleep_until(deadline),
        }
    }
}
