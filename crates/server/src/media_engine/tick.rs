//! One 20 ms step of one room: receive every leg, N-1 mix, send each leg what it should hear,
//! relay DTMF, watch for silent legs, measure each leg's speaking level. Steady state allocates
//! nothing: frames, the mixer and the DTMF buffers are sized when the room/leg is added.

mod music;
mod relay;
mod relay_level;
#[cfg(test)]
mod relay_level_test;
#[cfg(test)]
mod relay_test;
mod shared;
#[cfg(test)]
mod shared_test;
mod whisper;

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use agentphone_media::mixer::Mixer;
use agentphone_media::session::{EncoderKey, FrameStatus, RtpSession};
use agentphone_media::{Frame, FRAME};
use tokio::sync::mpsc::UnboundedSender;

use super::level::LevelMeter;
use super::moh::LoopedAudio;
use super::music_broadcast::MusicBroadcast;
use super::transition::{crossfade, fade, Hearing, CROSSFADE};
use super::{LegMode, MediaEvent, MediaEventKind};
use crate::ids::LegId;

/// The most legs one media room can hold (bounds the stack arrays of a tick).
pub const MAX_LEGS: usize = 16;

/// The looped sources of one worker's rooms: music on hold played once for all of them
/// ([`MusicBroadcast`]), ringback from each leg's own position (its cadence starts with a ring).
/// A clone starts its own broadcast (one per worker).
#[derive(Clone)]
pub struct Sources {
    music: MusicBroadcast,
    /// Ringback (caller waiting for an answer).
    ringback: LoopedAudio,
    /// Legs on music send the broadcast's shared encode (on unless a bench measures without).
    share_music: bool,
}

impl Sources {
    /// Music on hold and ringback loops.
    pub fn new(music_on_hold: LoopedAudio, ringback: LoopedAudio) -> Self {
        Sources {
            music: MusicBroadcast::new(music_on_hold),
            ringback,
            share_music: true,
        }
    }

    /// Allow (the default) or forbid legs on music to send the broadcast's shared encode (then
    /// each encodes the same frame alone): a bench measures without.
    pub fn set_shared_music(&mut self, on: bool) {
        self.share_music = on;
    }

    /// How many shared music encoders serve an encoder setting (one per setting used lately).
    pub fn music_encoders(&self) -> usize {
        self.music.encoders_in_use()
    }
}

/// One leg: its RTP session and what it hears / whether it is heard.
pub struct MediaLeg {
    /// The room's id for this leg.
    pub id: LegId,
    /// The RTP stream with the party.
    pub session: RtpSession,
    /// What the leg hears and whether others hear it.
    pub mode: LegMode,
    /// Report an RTP timeout for this leg (off while ringing or when the party does not send).
    pub watch_timeout: bool,
    /// Start of the silence measurement when nothing has been received since watching began.
    pub watch_since: Instant,
    timed_out: bool,
    source_pos: usize,
    /// What the leg heard last tick (a change crossfades).
    hearing: Hearing,
    /// Whether the others heard the leg last tick (a change fades it in or out of the mix).
    was_heard: bool,
    dtmf: Vec<char>,
    level: LevelMeter,
    /// Sent another leg's encode last tick (see [`shared`]): its own encoder is stale.
    following: bool,
    /// Sent the music broadcast's encode last tick: its own encoder is stale.
    following_music: bool,
    /// Ticks settled on music so far (saturating at [`FOLLOW_MUSIC_AFTER`]).
    music_ticks: u8,
    /// The encoder settings of those ticks.
    music_key: Option<EncoderKey>,
    /// While relayed: which level windows are decoded.
    level_gate: relay_level::LevelGate,
}

impl MediaLeg {
    /// A leg around a configured session.
    pub fn new(
        id: LegId,
        session: RtpSession,
        mode: LegMode,
        watch_timeout: bool,
        now: Instant,
    ) -> Self {
        MediaLeg {
            id,
            session,
            mode,
            watch_timeout,
            watch_since: now,
            timed_out: false,
            source_pos: 0,
            hearing: Hearing::from(mode),
            was_heard: mode.is_heard(),
            dtmf: Vec::with_capacity(16),
            level: LevelMeter::default(),
            following: false,
            following_music: false,
            music_ticks: 0,
            music_key: None,
            level_gate: relay_level::LevelGate::default(),
        }
    }

    /// Change what the leg hears. The next tick crossfades from the old source to the new one;
    /// ringback starts from its beginning (the ring cadence begins with a ring), music where the
    /// worker's broadcast of it is.
    pub fn set_mode(&mut self, mode: LegMode) {
        self.mode = mode;
    }

    /// No switch under way: what the leg hears and whether it is heard are what its mode says
    /// (the crossfade of the last change is done).
    fn settled(&self) -> bool {
        self.hearing == Hearing::from(self.mode) && self.was_heard == self.mode.is_heard()
    }

    /// Start (again) measuring silence from now.
    pub fn rearm_timeout(&mut self, on: bool, now: Instant) {
        self.watch_timeout = on;
        self.watch_since = now;
        self.timed_out = false;
    }
}

/// One room as the media engine sees it.
pub struct MediaRoom {
    /// Legs in join order.
    pub legs: Vec<MediaLeg>,
    mixer: Mixer,
    inputs: Vec<Frame>,
    outputs: Vec<Frame>,
    scratch: Box<Frame>,
    /// The old source during a switch.
    previous: Box<Frame>,
    /// The whole mix of the last tick in which a leg sent a shared encode (what primes that
    /// leg's own encoder when it stops following).
    heard_last: Box<Frame>,
    /// Share encodes between legs that hear the same frame (on unless a bench measures
    /// without).
    share_encodes: bool,
    /// Crossfade length in samples ([`CROSSFADE`]; 0 = hard cut, for the click test's baseline).
    crossfade: usize,
    events: UnboundedSender<MediaEvent>,
    rtp_timeout: Duration,
    /// Relay two legs on the same codec instead of transcoding (on unless a bench or test
    /// measures the transcoded path).
    relay: bool,
    /// The legs relay this tick (see [`relay`]).
    relaying: bool,
    /// While relaying, decode for the speaking level at least one window in this many, and the
    /// windows after a change (0: never; see [`relay_level`]).
    relay_level_every: u32,
    /// The worker's arrival wait watches the legs' sockets and forwards what arrives (see
    /// `arrivals`): a relayed tick does not read them.
    arrivals_watched: bool,
}

impl MediaRoom {
    /// A room for up to `max_legs` legs (clamped to [`MAX_LEGS`]) reporting to `events`.
    pub fn new(
        max_legs: usize,
        rtp_timeout: Duration,
        events: UnboundedSender<MediaEvent>,
    ) -> Self {
        let max_legs = max_legs.clamp(2, MAX_LEGS);
        MediaRoom {
            legs: Vec::with_capacity(max_legs),
            mixer: Mixer::new(max_legs),
            inputs: vec![[0; FRAME]; max_legs],
            outputs: vec![[0; FRAME]; max_legs],
            scratch: Box::new([0; FRAME]),
            previous: Box::new([0; FRAME]),
            heard_last: Box::new([0; FRAME]),
            share_encodes: true,
            crossfade: CROSSFADE,
            events,
            rtp_timeout,
            relay: true,
            relaying: false,
            relay_level_every: relay_level::LEVEL_REFRESH_EVERY,
            arrivals_watched: false,
        }
    }

    /// Add a leg; false when the room is full.
    pub fn add_leg(&mut self, leg: MediaLeg) -> bool {
        if self.legs.len() >= self.inputs.len() {
            return false;
        }
        self.legs.push(leg);
        true
    }

    /// Switch with a hard cut instead of a crossfade: the click test's "before" figure.
    #[cfg(test)]
    pub(crate) fn set_hard_cut(&mut self) {
        self.crossfade = 0;
    }

    /// Allow (the default) or forbid relaying two legs on the same codec: a bench measures the
    /// transcoded path against it.
    pub fn set_relay(&mut self, on: bool) {
        self.relay = on;
    }

    /// Allow (the default) or forbid legs that hear the same frame to share one encode: a
    /// bench measures without.
    pub fn set_shared_encodes(&mut self, on: bool) {
        self.share_encodes = on;
    }

    /// While relaying, decode for the speaking level at least one level window in `every` and
    /// the windows after a change in the relayed payloads (1: every window, as when mixing; 0:
    /// never — levels stay 0). Default [`relay_level::LEVEL_REFRESH_EVERY`].
    pub fn set_relay_level_every(&mut self, every: u32) {
        self.relay_level_every = every;
    }

    /// Are the legs relayed (not transcoded) right now?
    pub fn is_relaying(&self) -> bool {
        self.relaying
    }

    /// The leg with this id.
    pub fn leg_mut(&mut self, id: LegId) -> Option<&mut MediaLeg> {
        self.legs.iter_mut().find(|l| l.id == id)
    }
}

/// Between ticks, when the socket of the room's leg at `leg` (index in join order) became
/// readable: a relaying room forwards what arrived at once (a mixing room takes its packets at
/// the tick).
pub fn on_arrival(room: &mut MediaRoom, leg: usize, now: Instant) {
    if room.relaying {
        relay::forward_arrivals(room, leg, now);
    }
}

/// Whether the legs' sockets are watched by the worker's arrival wait (which then does all the
/// reading of a relaying room's sockets); set by whoever watches them.
pub fn set_arrivals_watched(room: &mut MediaRoom, watched: bool) {
    room.arrivals_watched = watched;
}

/// The sockets to wake the worker for: the two legs' while the room relays.
pub fn arrival_sockets(room: &MediaRoom) -> Option<[RawFd; 2]> {
    match (room.relaying, room.legs.as_slice()) {
        (true, [a, b]) => Some([a.session.as_raw_fd(), b.session.as_raw_fd()]),
        _ => None,
    }
}

/// One tick of one room. Public so a bench can drive it.
pub fn tick_room(room: &mut MediaRoom, sources: &mut Sources, now: Instant) {
    let relay = room.relay && relay::can_relay(&room.legs);
    if relay != room.relaying {
        relay::switch(room, relay, now);
    }
    if room.relaying {
        relay::tick(room, now);
        return;
    }
    let n = room.legs.len().min(room.inputs.len());
    let mut has_input = [false; MAX_LEGS];
    let mut heard = [false; MAX_LEGS];
    let mut contributes = [false; MAX_LEGS];

    // 1. Receive: drain sockets, take one frame per leg from its jitter buffer.
    for (i, (leg, frame)) in room
        .legs
        .iter_mut()
        .zip(room.inputs.iter_mut())
        .enumerate()
        .take(n)
    {
        leg.dtmf.clear();
        leg.session.poll_receive(now, &mut leg.dtmf);
        let status = leg.session.next_frame(frame);
        let received = status != FrameStatus::Silence;
        if let Some(level) = leg.level.add(received.then_some(&*frame)) {
            let _ = room.events.send(MediaEvent {
                leg: leg.id,
                kind: MediaEventKind::Level(level),
            });
        }
        // A party starting or stopping to be heard fades in/out of the mix during this tick.
        let heard_now = leg.mode.is_heard();
        let switching = heard_now != leg.was_heard;
        if switching {
            fade(frame, room.crossfade, heard_now);
            leg.was_heard = heard_now;
        }
        if let (Some(h), Some(w), Some(c)) = (
            has_input.get_mut(i),
            heard.get_mut(i),
            contributes.get_mut(i),
        ) {
            *h = received;
            *w = heard_now || switching;
            *c = *h && *w && !shared::is_silent(frame);
        }
        check_timeout(leg, now, room.rtp_timeout, &room.events);
    }

    // 2. Mix N-1.
    let mut inputs: [Option<&Frame>; MAX_LEGS] = [None; MAX_LEGS];
    for (i, slot) in inputs.iter_mut().enumerate().take(n) {
        if has_input.get(i).copied().unwrap_or(false) {
            *slot = room.inputs.get(i);
        }
    }
    if let (Some(ins), Some(hrd), Some(outs)) =
        (inputs.get(..n), heard.get(..n), room.outputs.get_mut(..n))
    {
        room.mixer.mix(ins, hrd, outs);
    }
    // 2b. Whispers: each reaches the one leg it is for, on top of that leg's mix.
    whisper::add(&room.legs, &inputs, &mut room.outputs);

    // 3. Send: the mix, or the looped source for held / ringback legs; crossfaded on a switch.
    // Legs hearing the same frame share one encode.
    let leaders = match (room.share_encodes, room.legs.get(..n), contributes.get(..n)) {
        (true, Some(legs), Some(contributes)) => shared::plan(legs, contributes),
        _ => [None; MAX_LEGS],
    };
    let mut followed = None;
    sources.music.advance(now);
    for i in 0..n {
        let (Some(leg), Some(mix)) = (room.legs.get_mut(i), room.outputs.get(i)) else {
            continue;
        };
        let hearing = Hearing::from(leg.mode);
        if music::send_shared(leg, hearing, sources) {
            leg.session.maybe_send_rtcp(now);
            continue;
        }
        let switching = hearing != leg.hearing;
        // A leg that keeps hearing the mix encodes it where it is (no copy).
        let pcm: &Frame = if !switching && hearing == Hearing::Mix {
            mix
        } else {
            if switching {
                let pos = &mut leg.source_pos;
                render(leg.hearing, mix, sources, pos, &mut room.previous);
                *pos = 0;
            }
            render(
                hearing,
                mix,
                sources,
                &mut leg.source_pos,
                &mut room.scratch,
            );
            if switching {
                crossfade(&room.previous, &mut room.scratch, room.crossfade);
                leg.hearing = hearing;
            }
            &room.scratch
        };
        let leader = leaders.get(i).copied().flatten();
        if shared::send(&mut room.legs, i, leader, pcm, &room.heard_last) {
            followed = leader;
        }
        if let Some(leg) = room.legs.get_mut(i) {
            leg.session.maybe_send_rtcp(now);
        }
    }
    if let Some(mix) = followed.and_then(|j| room.outputs.get(j)) {
        room.heard_last.copy_from_slice(mix);
    }

    // 4. DTMF: relay each digit to every other leg that hears the room, and tell the room actor.
    for i in 0..n {
        let Some(count) = room.legs.get(i).map(|l| l.dtmf.len()) else {
            continue;
        };
        for d in 0..count {
            let Some(digit) = room.legs.get(i).and_then(|l| l.dtmf.get(d).copied()) else {
                continue;
            };
            for (j, other) in room.legs.iter_mut().enumerate() {
                if j != i && other.mode.hears_room() {
                    let _ = other.session.send_dtmf(digit);
                }
            }
            if let Some(leg) = room.legs.get(i) {
                let _ = room.events.send(MediaEvent {
                    leg: leg.id,
                    kind: MediaEventKind::Dtmf(digit),
                });
            }
        }
    }
}

/// The next frame of `source` into `out` (ringback advances `pos`; music is the broadcast's
/// frame of this tick).
fn render(source: Hearing, mix: &Frame, sources: &Sources, pos: &mut usize, out: &mut Frame) {
    match source {
        Hearing::Mix => out.copy_from_slice(mix),
        Hearing::Music => out.copy_from_slice(sources.music.frame()),
        Hearing::Ringback => sources.ringback.fill(pos, out),
    }
}

fn check_timeout(
    leg: &mut MediaLeg,
    now: Instant,
    limit: Duration,
    events: &UnboundedSender<MediaEvent>,
) {
    if !leg.watch_timeout || leg.timed_out {
        return;
    }
    let last = match leg.session.last_received() {
        Some(t) if t > leg.watch_since => t,
        _ => leg.watch_since,
    };
    if now.saturating_duration_since(last) >= limit {
        leg.timed_out = true;
        let _ = events.send(MediaEvent {
            leg: leg.id,
            kind: MediaEventKind::RtpTimeout,
        });
    }
}
