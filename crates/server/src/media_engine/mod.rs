//! The media engine: N worker threads (one per core by default), each owning a shard of the rooms
//! — a room and all its legs on one worker, chosen by room id — and ticking them every 20 ms
//! (drift-free). Room actors send it [`MediaCmd`]s, routed to the owning worker; it reports
//! [`MediaEvent`]s (RTP timeout, DTMF, level) to the room.

pub mod arrivals;
#[cfg(test)]
mod arrivals_test;
pub mod level;
pub mod moh;
mod music_broadcast;
#[cfg(test)]
mod music_broadcast_test;
pub use agentphone_media::realtime;
pub mod tick;
pub mod transition;
mod worker;

#[cfg(test)]
mod click_test;
#[cfg(test)]
mod takeover_test;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use agentphone_media::session::{RtpSession, SessionConfig};
use tokio::sync::mpsc::UnboundedSender;

use crate::ids::{LegId, RoomId};
use moh::LoopedAudio;
use tick::Sources;
use worker::Worker;

/// The tick period: one frame.
pub const TICK: Duration = Duration::from_millis(20);

/// What a leg hears and whether the others hear it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegMode {
    /// Hears the others (N-1) and is heard.
    Mixed,
    /// On hold: hears music on hold, is not heard.
    Held,
    /// Training (SPEC M5): hears everyone, is heard by no one.
    ListenOnly,
    /// Waiting for an answer: hears ringback, is not heard.
    Ringback,
    /// A supervisor whispering (SPEC V2): hears everyone, heard by leg `to` only.
    Whisper {
        /// The one leg that hears it (the agent).
        to: LegId,
    },
}

impl LegMode {
    /// Do the others hear this leg?
    pub fn is_heard(self) -> bool {
        self == LegMode::Mixed
    }
    /// Does this leg hear the room (and so get relayed DTMF)?
    pub fn hears_room(self) -> bool {
        matches!(
            self,
            LegMode::Mixed | LegMode::ListenOnly | LegMode::Whisper { .. }
        )
    }
}

/// Something the media engine noticed about a leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaEvent {
    /// Which leg.
    pub leg: LegId,
    /// What happened.
    pub kind: MediaEventKind,
}

/// Kinds of [`MediaEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEventKind {
    /// No RTP for `rtp_timeout`.
    RtpTimeout,
    /// A DTMF digit ended (already relayed to the other legs).
    Dtmf(char),
    /// The leg's speaking level changed: 0 (silent) to [`level::MAX_LEVEL`], measured over
    /// 200 ms, so at most five a second per leg.
    Level(u8),
}

/// Commands from room actors.
pub enum MediaCmd {
    /// A new room; events go to `events`.
    AddRoom {
        room: RoomId,
        events: UnboundedSender<MediaEvent>,
    },
    /// The room ended: its sessions are dropped (sockets closed).
    RemoveRoom { room: RoomId },
    /// Add a configured session as a leg.
    AddLeg {
        room: RoomId,
        leg: LegId,
        session: Box<RtpSession>,
        mode: LegMode,
        watch_timeout: bool,
    },
    /// Drop a leg.
    RemoveLeg { room: RoomId, leg: LegId },
    /// Change what a leg hears / whether it is heard.
    SetMode {
        room: RoomId,
        leg: LegId,
        mode: LegMode,
    },
    /// New remote address/codec after a re-INVITE.
    Reconfigure {
        room: RoomId,
        leg: LegId,
        config: SessionConfig,
    },
    /// Turn RTP-timeout watching on/off for a leg (restarts the measurement).
    WatchTimeout { room: RoomId, leg: LegId, on: bool },
    /// Stop every worker thread.
    Stop,
}

impl MediaCmd {
    /// The room whose socket this command may close (a leg or the room goes).
    fn removes_from(&self) -> Option<RoomId> {
        match self {
            MediaCmd::RemoveRoom { room } | MediaCmd::RemoveLeg { room, .. } => Some(*room),
            _ => None,
        }
    }
}

/// Sends commands to the media workers, each to the worker that owns its room. Cheap to clone.
#[derive(Clone)]
pub struct MediaHandle {
    workers: Arc<[mpsc::Sender<MediaCmd>]>,
}

/// The default number of media workers: one per available core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The worker (of `workers`) that owns `room`: room ids are sequential, so this spreads rooms
/// evenly.
pub fn shard_of(room: RoomId, workers: usize) -> usize {
    (room.0 % workers.max(1) as u64) as usize
}

impl MediaHandle {
    /// Load the looped sources and start one worker per core.
    pub fn start(
        music_on_hold: &Path,
        ringback: &Path,
        max_legs: usize,
        rtp_timeout: Duration,
    ) -> std::io::Result<(MediaHandle, Vec<JoinHandle<()>>)> {
        Self::start_with_workers(
            music_on_hold,
            ringback,
            max_legs,
            rtp_timeout,
            default_workers(),
        )
    }

    /// Load the looped sources and start `workers` (at least 1) worker threads, each with its own
    /// 20 ms tick and its shard of the rooms.
    pub fn start_with_workers(
        music_on_hold: &Path,
        ringback: &Path,
        max_legs: usize,
        rtp_timeout: Duration,
        workers: usize,
    ) -> std::io::Result<(MediaHandle, Vec<JoinHandle<()>>)> {
        let sources = Sources::new(
            LoopedAudio::load_or(music_on_hold, "music on hold", moh::fallback_music),
            LoopedAudio::load_or(ringback, "ringback", moh::fallback_ringback),
        );
        let mut senders = Vec::with_capacity(workers.max(1));
        let mut threads = Vec::with_capacity(workers.max(1));
        for i in 0..workers.max(1) {
            let (tx, rx) = mpsc::channel();
            let worker = Worker {
                rooms: HashMap::new(),
                sources: sources.clone(),
                max_legs,
                rtp_timeout,
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("media-{i}"))
                    .spawn(move || worker.run(rx))?,
            );
            senders.push(tx);
        }
        Ok((
            MediaHandle {
                workers: senders.into(),
            },
            threads,
        ))
    }

    /// Send a command to the worker owning its room; `Stop` goes to every worker. Ignored once
    /// the engine stopped.
    pub fn send(&self, cmd: MediaCmd) {
        match cmd.room() {
            Some(room) => {
                if let Some(tx) = self.workers.get(shard_of(room, self.workers.len())) {
                    let _ = tx.send(cmd);
                }
            }
            None => {
                for tx in self.workers.iter() {
                    let _ = tx.send(MediaCmd::Stop);
                }
            }
        }
    }
}

impl MediaCmd {
    /// The room a command is about (None: `Stop`, for every worker).
    fn room(&self) -> Option<RoomId> {
        match self {
            MediaCmd::AddRoom { room, .. }
            | MediaCmd::RemoveRoom { room }
            | MediaCmd::AddLeg { room, .. }
            | MediaCmd::RemoveLeg { room, .. }
            | MediaCmd::SetMode { room, .. }
            | MediaCmd::Reconfigure { room, .. }
            | MediaCmd::WatchTimeout { room, .. } => Some(*room),
            MediaCmd::Stop => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_media::codec::CodecKind;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn rooms_spread_evenly_over_the_workers() {
        let mut per_worker = [0usize; 3];
        for id in 1..=30 {
            per_worker[shard_of(RoomId(id), 3)] += 1;
        }
        assert_eq!(per_worker, [10, 10, 10]);
        assert_eq!(shard_of(RoomId(7), 0), 0, "zero workers behaves as one");
    }

    /// Two rooms on two workers both tick: each reports its silent leg's RTP timeout.
    #[test]
    fn every_worker_ticks_its_own_rooms() {
        let missing = Path::new("/nonexistent.wav");
        let (media, threads) =
            MediaHandle::start_with_workers(missing, missing, 2, Duration::from_millis(100), 2)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(threads.len(), 2);
        let (mut receivers, mut sinks) = (Vec::new(), Vec::new());
        for id in [RoomId(1), RoomId(2)] {
            let (events, rx) = tokio::sync::mpsc::unbounded_channel();
            media.send(MediaCmd::AddRoom { room: id, events });
            let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let mut session = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
            // A peer that never sends.
            let sink = std::net::UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("{e}"));
            let remote = sink.local_addr().unwrap_or_else(|e| panic!("{e}"));
            sinks.push(sink);
            session
                .configure(SessionConfig {
                    remote,
                    codec: CodecKind::Pcmu,
                    pt: 0,
                    telephone_event_pt: None,
                    rtcp_mux: true,
                    srtp: None,
                })
                .unwrap_or_else(|e| panic!("{e}"));
            media.send(MediaCmd::AddLeg {
                room: id,
                leg: id.0 as LegId,
                session: Box::new(session),
                mode: LegMode::Mixed,
                watch_timeout: true,
            });
            receivers.push((id, rx));
        }
        for (id, mut rx) in receivers {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            let timed_out = loop {
                match rx.try_recv() {
                    Ok(ev) if ev.kind == MediaEventKind::RtpTimeout => break Some(ev.leg),
                    Ok(_) => continue,
                    Err(_) if std::time::Instant::now() > deadline => break None,
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            };
            assert_eq!(timed_out, Some(id.0 as LegId), "room {id} was ticked");
        }
        media.send(MediaCmd::Stop);
        for t in threads {
            assert!(t.join().is_ok());
        }
    }
}
