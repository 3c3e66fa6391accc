//! The media engine: one std thread that owns every RTP session and ticks all rooms every 20 ms
//! (drift-free: deadlines advance by exactly 20 ms from the start, sleeping only the remainder).
//! Room actors send it [`MediaCmd`]s; it reports [`MediaEvent`]s (RTP timeout, DTMF, level) to
//! the room.

pub mod level;
pub mod moh;
pub mod tick;

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agentphone_media::session::{RtpSession, SessionConfig};
use tokio::sync::mpsc::UnboundedSender;

use crate::ids::{LegId, RoomId};
use moh::LoopedAudio;
use tick::{tick_room, MediaLeg, MediaRoom, Sources};

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
}

impl LegMode {
    /// Do the others hear this leg?
    pub fn is_heard(self) -> bool {
        self == LegMode::Mixed
    }
    /// Does this leg hear the room (and so get relayed DTMF)?
    pub fn hears_room(self) -> bool {
        matches!(self, LegMode::Mixed | LegMode::ListenOnly)
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
    /// Stop the thread.
    Stop,
}

/// Sends commands to the media thread. Cheap to clone.
#[derive(Clone)]
pub struct MediaHandle {
    tx: mpsc::Sender<MediaCmd>,
}

impl MediaHandle {
    /// Load the looped sources and start the thread.
    pub fn start(
        music_on_hold: &Path,
        ringback: &Path,
        max_legs: usize,
        rtp_timeout: Duration,
    ) -> std::io::Result<(MediaHandle, JoinHandle<()>)> {
        let sources = Sources {
            music_on_hold: LoopedAudio::load_or(
                music_on_hold,
                "music on hold",
                moh::fallback_music,
            ),
            ringback: LoopedAudio::load_or(ringback, "ringback", moh::fallback_ringback),
        };
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("media-engine".into())
            .spawn(move || {
                Engine {
                    rooms: HashMap::new(),
                    sources,
                    max_legs,
                    rtp_timeout,
                }
                .run(rx)
            })?;
        Ok((MediaHandle { tx }, thread))
    }

    /// Send a command (ignored once the engine stopped).
    pub fn send(&self, cmd: MediaCmd) {
        let _ = self.tx.send(cmd);
    }
}

struct Engine {
    rooms: HashMap<RoomId, MediaRoom>,
    sources: Sources,
    max_legs: usize,
    rtp_timeout: Duration,
}

impl Engine {
    fn run(mut self, rx: mpsc::Receiver<MediaCmd>) {
        let mut next = Instant::now() + TICK;
        loop {
            loop {
                match rx.try_recv() {
                    Ok(MediaCmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                    Ok(cmd) => self.apply(cmd),
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            for room in self.rooms.values_mut() {
                tick_room(room, &self.sources, now);
            }
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
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
