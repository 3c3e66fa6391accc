//! One media worker: a std thread that owns a shard of the rooms (each room with all its legs)
//! and ticks them every 20 ms, drift-free: deadlines advance by exactly 20 ms from the start,
//! sleeping to each absolute deadline, at real-time priority where permitted (`realtime`),
//! and forwarding relayed packets as they arrive while it waits (`arrivals`).

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::arrivals::RelayArrivals;
use super::realtime;
use super::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use super::{MediaCmd, TICK};
use crate::ids::RoomId;

/// The rooms of one shard and what they need to tick.
pub(super) struct Worker {
    pub(super) rooms: HashMap<RoomId, MediaRoom>,
    pub(super) sources: Sources,
    pub(super) max_legs: usize,
    pub(super) rtp_timeout: Duration,
}

impl Worker {
    pub(super) fn run(mut self, rx: mpsc::Receiver<MediaCmd>) {
        let priority = realtime::raise();
        tracing::debug!(?priority, "media worker scheduling");
        let mut arrivals = RelayArrivals::new();
        let mut next = Instant::now() + TICK;
        loop {
            loop {
                match rx.try_recv() {
                    Ok(MediaCmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                    Ok(cmd) => {
                        if let Some(id) = cmd.removes_from() {
                            arrivals.forget(id, self.rooms.get_mut(&id));
                        }
                        self.apply(cmd)
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            for (&id, room) in self.rooms.iter_mut() {
                tick_room(room, &mut self.sources, now);
                arrivals.sync(id, room);
            }
            let now = Instant::now();
            if next > now {
                arrivals.wait_until(next, &mut self.rooms);
                next += TICK;
            } else if now - next > TICK * 5 {
                // Far behind (machine stalled): start again from now rather than bursting.
                tracing::warn!(
                    behind_ms = (now - next).as_millis() as u64,
                    "media engine fell behind"
                );
                next = now + TICK;
            } else {
                next += TICK;
            }
        }
    }

    fn apply(&mut self, cmd: MediaCmd) {
        let now = Instant::now();
        match cmd {
            MediaCmd::AddRoom { room, events } => {
                self.rooms.insert(
                    room,
                    MediaRoom::new(self.max_legs, self.rtp_timeout, events),
                );
            }
            MediaCmd::RemoveRoom { room } => {
                self.rooms.remove(&room);
            }
            MediaCmd::AddLeg {
                room,
                leg,
                session,
                mode,
                watch_timeout,
            } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    if !r.add_leg(MediaLeg::new(leg, *session, mode, watch_timeout, now)) {
                        tracing::error!(%room, leg, "media room full: leg not added");
                    }
                }
            }
            MediaCmd::RemoveLeg { room, leg } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.legs.retain(|l| l.id != leg);
                }
            }
            MediaCmd::SetMode { room, leg, mode } => {
                if let Some(l) = self.rooms.get_mut(&room).and_then(|r| r.leg_mut(leg)) {
                    l.set_mode(mode);
                }
            }
            MediaCmd::Reconfigure { room, leg, config } => {
                if let Some(l) = self.rooms.get_mut(&room).and_then(|r| r.leg_mut(leg)) {
                    if let Err(e) = l.session.configure(config) {
                        tracing::warn!(%room, leg, error = %e, "could not reconfigure an RTP session");
                    }
                }
            }
            MediaCmd::WatchTimeout { room, leg, on } => {
                if let Some(l) = self.rooms.get_mut(&room).and_then(|r| r.leg_mut(leg)) {
                    l.rearm_timeout(on, now);
                }
            }
            MediaCmd::Stop => {}
        }
    }
}
