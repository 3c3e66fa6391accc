//! Relay on arrival (issue 9 point 6): a worker waits for its next tick on the sockets of its
//! relaying rooms too, and forwards a relayed packet the moment it arrives instead of at the
//! next 20 ms tick (which added 0–20 ms, depending on the phase of the phones' clocks, to
//! mouth-to-ear). Only relaying rooms are watched: a mixing room takes its packets at the tick
//! (its mix is made there anyway), so it costs no wake-ups.
//!
//! Each socket's token names its room and leg, so an arrival reads only the socket that became
//! readable, and a watched room's relayed tick reads none (everything was read on arrival;
//! edge-triggered epoll reports every datagram queued after a read that emptied the socket).
//! Before, every arrival read both legs and every tick both again: three reads that found
//! nothing for each relayed packet.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::time::Instant;

use agentphone_media::arrival::ArrivalWait;
use agentphone_media::realtime::DeadlineClock;

use super::tick::{arrival_sockets, on_arrival, set_arrivals_watched, MediaRoom};
use crate::ids::RoomId;

/// The epoll token of a room's leg (index 0 or 1). Room ids count up from 1, far below 2^62.
fn token(room: RoomId, leg: usize) -> u64 {
    (room.0 << 1) | (leg as u64 & 1)
}

/// The room and leg index a token names.
fn room_and_leg(token: u64) -> (RoomId, usize) {
    (RoomId(token >> 1), (token & 1) as usize)
}

/// The worker's arrival wait and which rooms' sockets it watches. Public so a bench can drive
/// the worker's relay path.
pub struct RelayArrivals {
    /// None when epoll/timerfd were refused: packets wait for the tick, as before.
    wait: Option<ArrivalWait>,
    clock: DeadlineClock,
    watched: HashMap<RoomId, [RawFd; 2]>,
}

impl Default for RelayArrivals {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayArrivals {
    pub fn new() -> Self {
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
    pub fn sync(&mut self, id: RoomId, room: &mut MediaRoom) {
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
        let mut watched = false;
        if let Some(fds) = want {
            // Watching a socket that is readable already reports it at the next wait.
            let ok = fds
                .iter()
                .enumerate()
                .all(|(leg, &fd)| wait.watch(fd, token(id, leg)).is_ok());
            if ok {
                self.watched.insert(id, fds);
                watched = true;
            } else {
                fds.iter().for_each(|&fd| wait.unwatch(fd));
            }
        }
        set_arrivals_watched(room, watched);
    }

    /// Before a leg or room goes (its socket closes, and another may reuse the number): stop
    /// watching the room (`room`: it, if it stays); the next tick watches it again if it still
    /// relays.
    pub fn forget(&mut self, id: RoomId, room: Option<&mut MediaRoom>) {
        if let (Some(wait), Some(old)) = (self.wait.as_ref(), self.watched.remove(&id)) {
            old.iter().for_each(|&fd| wait.unwatch(fd));
        }
        if let Some(room) = room {
            set_arrivals_watched(room, false);
        }
    }

    /// Sleep until `deadline`, forwarding relayed packets as they arrive (a past deadline:
    /// forward what has arrived, then return).
    pub fn wait_until(&mut self, deadline: Instant, rooms: &mut HashMap<RoomId, MediaRoom>) {
        match self.wait.as_mut() {
            Some(wait) => wait.wait_until(deadline, |token, now| {
                let (id, leg) = room_and_leg(token);
                if let Some(room) = rooms.get_mut(&id) {
                    on_arrival(room, leg, now);
                }
            }),
            None => self.clock.sleep_until(deadline),
        }
    }
}
