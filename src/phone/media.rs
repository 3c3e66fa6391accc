//! The media thread: a std thread with a drift-free 20 ms tick that owns the call's RtpSession,
//! the audio source and the audio sink.
//!
//! Each tick: receive (RTP → jitter buffer, DTMF digits out) → next frame → sink; then source (or
//! silence when not transmitting) → send. Between ticks the thread waits on the RTP socket too
//! (`ArrivalWait`) and moves each packet into the jitter buffer the moment it arrives, stamped
//! with that time: the buffer's jitter estimate sees the network, not where arrivals fall
//! between two 20 ms ticks (which read as ± 20 ms and held 2–3 packets, issue 9). With no call it waits for a control message and plays
//! nothing. The tick takes no locks and allocates nothing (the control channel is polled with
//! `try_recv`; events to the engine are sent only when something happened).

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agentphone_media::arrival::ArrivalWait;
use agentphone_media::realtime::{self, DeadlineClock};
use agentphone_media::session::{FrameStatus, RtpSession, SessionConfig};
use agentphone_media::{Frame, FRAME};
use tokio::sync::mpsc::UnboundedSender;

use crate::audio::{AudioSink, AudioSource};

/// One tick of audio.
const TICK: Duration = Duration::from_millis(20);
/// A quality report every 5 s of call (250 ticks).
const QUALITY_EVERY_TICKS: u32 = 250;
/// Ticks between two queued DTMF digits (RFC 4733 event + gap).
const DTMF_SPACING_TICKS: u32 = 12;
/// More digits than this waiting are dropped (the queue never grows in the tick).
const DTMF_QUEUE_MAX: usize = 64;
/// When the thread falls this far behind (suspended process), it restarts its schedule instead of
/// sending a burst.
const MAX_LAG: Duration = Duration::from_millis(200);

/// Orders from the engine to the media thread.
pub enum MediaControl {
    /// A call's media begins: the session is bound and configured.
    Start(Box<RtpSession>),
    /// The remote side changed (re-INVITE, 200 after early media).
    Configure(SessionConfig),
    /// Send the source (true) or silence (false: muted, on hold, or the peer does not receive).
    Transmit(bool),
    /// Switch what the microphone sends.
    Source(Box<dyn AudioSource>),
    /// Switch where what is heard goes; the previous sink is finished.
    Sink(Box<dyn AudioSink>),
    /// Queue DTMF digits.
    Dtmf(Vec<char>),
    /// Report `MediaEvent::Silent` when nothing arrives for this long (None = do not watch:
    /// on hold or before the answer, silence is normal).
    Watch(Option<Duration>),
    /// The call's media ends.
    Stop,
}

/// What the media thread reports to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// A DTMF digit arrived.
    Dtmf(char),
    /// Periodic quality figures.
    Quality {
        /// Interarrival jitter.
        jitter_ms: f32,
        /// Packet loss.
        loss_pct: f32,
        /// Round trip.
        rtt_ms: Option<f32>,
    },
    /// No RTP arrived for the watched time (the far end or the server is gone).
    Silent,
    /// Something failed (configure, recording); reported once per kind.
    Error(String),
}

/// The engine's handle on the media thread.
pub struct MediaThread {
    control: Sender<MediaControl>,
    join: Option<JoinHandle<()>>,
}

impl MediaThread {
    /// Start the thread with its source and sink; events go to `events`.
    pub fn spawn(
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
        events: UnboundedSender<MediaEvent>,
    ) -> std::io::Result<MediaThread> {
        let (control, rx) = mpsc::channel();
        let join = std::thread::Builder::new()
            .name("media".into())
            .spawn(move || MediaLoop::new(source, sink, events).run(rx))?;
        Ok(MediaThread {
            control,
            join: Some(join),
        })
    }

    /// Send an order (ignored if the thread has gone).
    pub fn send(&self, msg: MediaControl) {
        let _ = self.control.send(msg);
    }

    /// Stop the thread and wait for it (the recording is finished when this returns).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // Replacing the sender closes the channel; the loop sees Disconnected and finishes.
        let (dead, _) = mpsc::channel();
        self.control = dead;
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

impl Drop for MediaThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// State owned by the media thread.
struct MediaLoop {
    source: Box<dyn AudioSource>,
    sink: Option<Box<dyn AudioSink>>,
    events: UnboundedSender<MediaEvent>,
    session: Option<Box<RtpSession>>,
    transmit: bool,
    dtmf_queue: VecDeque<char>,
    ticks_since_dtmf: u32,
    ticks_since_quality: u32,
    dtmf_received: Vec<char>,
    inbound: Frame,
    outbound: Frame,
    sink_failed: bool,
    /// Liveness: how long silence may last, and since when we watch.
    watch: Option<(Duration, Instant)>,
    /// Bumped by every `Start`: the new session's socket must be watched for arrivals.
    session_generation: u64,
}

impl MediaLoop {
    fn new(
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
        events: UnboundedSender<MediaEvent>,
    ) -> Self {
        MediaLoop {
            source,
            sink: Some(sink),
            events,
            session: None,
            transmit: true,
            dtmf_queue: VecDeque::with_capacity(DTMF_QUEUE_MAX),
            ticks_since_dtmf: DTMF_SPACING_TICKS,
            ticks_since_quality: 0,
            dtmf_received: Vec::with_capacity(16),
            inbound: [0; FRAME],
            outbound: [0; FRAME],
            sink_failed: false,
            watch: None,
            session_generation: 0,
        }
    }

    fn run(mut self, rx: Receiver<MediaControl>) {
        // Hard to starve (issue 9): real-time priority or a lower nice value where permitted,
        // and sleeps to absolute deadlines, so a late wake-up never shifts the next ticks.
        let priority = realtime::raise();
        tracing::debug!(?priority, "media thread scheduling");
        let clock = DeadlineClock::new();
        // Without epoll/timerfd (never on Linux in practice) packets wait for the tick.
        let mut arrivals = ArrivalWait::new()
            .map_err(|e| tracing::warn!(error = %e, "RTP arrivals are handled at the tick"))
            .ok();
        let mut watched_generation = None;
        'outer: loop {
            // No call: block until there is something to do.
            if self.session.is_none() {
                match rx.recv() {
                    Ok(msg) => self.apply(msg),
                    Err(_) => break 'outer,
                }
                continue;
            }
            // In a call: a fixed schedule from the call's start, so the tick does not drift.
            let mut next = Instant::now();
            while self.session.is_some() {
                loop {
                    match rx.try_recv() {
                        Ok(msg) => self.apply(msg),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => break 'outer,
                    }
                }
                if let (Some(wait), Some(session)) = (arrivals.as_ref(), self.session.as_ref()) {
                    if watched_generation != Some(self.session_generation) {
                        watched_generation = Some(self.session_generation);
                        if let Err(e) = wait.watch(session.as_raw_fd(), 0) {
                            tracing::warn!(error = %e, "RTP arrivals are handled at the tick");
                        }
                    }
                }
                let now = Instant::now();
                self.tick(now);
                next += TICK;
                let after = Instant::now();
                if after > next + MAX_LAG {
                    next = after;
                } else if next > after {
                    match arrivals.as_mut() {
                        Some(wait) => wait.wait_until(next, |_, at| self.receive(at)),
                        None => clock.sleep_until(next),
                    }
                }
            }
        }
        self.session = None;
        if let Some(sink) = self.sink.take() {
            if let Err(e) = sink.finish() {
                let _ = self
                    .events
                    .send(MediaEvent::Error(format!("recording: {e}")));
            }
        }
    }

    fn apply(&mut self, msg: MediaControl) {
        match msg {
            MediaControl::Start(session) => {
                self.session = Some(session);
                self.session_generation += 1;
                self.ticks_since_quality = 0;
                self.dtmf_queue.clear();
            }
            MediaControl::Configure(cfg) => {
                if let Some(session) = self.session.as_mut() {
                    if let Err(e) = session.configure(cfg) {
                        let _ = self.events.send(MediaEvent::Error(format!("media: {e}")));
                    }
                }
            }
            MediaControl::Transmit(on) => self.transmit = on,
            MediaControl::Watch(limit) => self.watch = limit.map(|l| (l, Instant::now())),
            MediaControl::Source(source) => self.source = source,
            MediaControl::Sink(sink) => {
                if let Some(old) = self.sink.replace(sink) {
                    if let Err(e) = old.finish() {
                        let _ = self
                            .events
                            .send(MediaEvent::Error(format!("recording: {e}")));
                    }
                }
                self.sink_failed = false;
            }
            MediaControl::Dtmf(digits) => {
                for d in digits {
                    if self.dtmf_queue.len() < DTMF_QUEUE_MAX {
                        self.dtmf_queue.push_back(d);
                    }
                }
            }
            MediaControl::Stop => {
                self.session = None;
                self.watch = None;
                self.dtmf_queue.clear();
            }
        }
    }

    /// Socket → jitter buffer (packets stamped `now`), DTMF digits out.
    fn receive(&mut self, now: Instant) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        self.dtmf_received.clear();
        session.poll_receive(now, &mut self.dtmf_received);
        for &digit in &self.dtmf_received {
            let _ = self.events.send(MediaEvent::Dtmf(digit));
        }
    }

    fn tick(&mut self, now: Instant) {
        // Inbound: whatever arrived since the last wait → jitter buffer → one frame → sink.
        self.receive(now);
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let status = session.next_frame(&mut self.inbound);
        if status == FrameStatus::Silence {
            self.inbound.fill(0);
        }
        tracing::trace!(?status, buffered_ms = session.buffered_ms(), "played");
        if let Some(sink) = self.sink.as_mut() {
            if let Err(e) = sink.write(&self.inbound) {
                if !self.sink_failed {
                    self.sink_failed = true;
                    let _ = self
                        .events
                        .send(MediaEvent::Error(format!("recording: {e}")));
                }
            }
        }

        // Outbound: DTMF when one is due, then audio (or silence) → RTP.
        self.ticks_since_dtmf = self.ticks_since_dtmf.saturating_add(1);
        if self.ticks_since_dtmf >= DTMF_SPACING_TICKS {
            if let Some(digit) = self.dtmf_queue.pop_front() {
                self.ticks_since_dtmf = 0;
                if let Err(e) = session.send_dtmf(digit) {
                    tracing::warn!("sending DTMF {digit}: {e}");
                }
            }
        }
        if self.transmit {
            self.source.fill(&mut self.outbound);
        } else {
            self.outbound.fill(0);
        }
        if let Err(e) = session.send_frame(&self.outbound) {
            tracing::debug!("sending RTP: {e}");
        }
        session.maybe_send_rtcp(now);

        if let Some((limit, since)) = self.watch {
            // The last packet, or the start of watching when that is later (after a hold).
            let last = session.last_received().map_or(since, |t| t.max(since));
            if now.saturating_duration_since(last) > limit {
                self.watch = None;
                let _ = self.events.send(MediaEvent::Silent);
            }
        }

        self.ticks_since_quality += 1;
        if self.ticks_since_quality >= QUALITY_EVERY_TICKS {
            self.ticks_since_quality = 0;
            let q = session.quality();
            let (jb, target_ms) = session.jitter_buffer_stats();
            tracing::debug!(?jb, target_ms, jitter_ms = q.jitter_ms, "jitter buffer");
            let _ = self.events.send(MediaEvent::Quality {
                jitter_ms: q.jitter_ms,
                loss_pct: q.loss_pct,
                rtt_ms: q.rtt_ms,
            });
        }
    }
}

#[cfg(test)]
mod tick_alloc_tests {
    //! The media tick allocates nothing in steady state: receive, playout, recording, tone,
    //! send, RTCP.

    use super::*;
    use crate::audio::{AudioSource, ToneSource, WavFileSink};
    use agentphone_media::codec::CodecKind;
    use agentphone_testkit::alloc::{
        assert_installed, set_counting, take_count, CountingAllocator,
    };
    use std::net::{IpAddr, Ipv4Addr};

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    #[test]
    fn steady_state_tick_allocates_nothing() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut ours = RtpSession::bind(ip).unwrap();
        let mut peer = RtpSession::bind(ip).unwrap();
        let cfg = |remote| SessionConfig {
            remote,
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        };
        ours.configure(cfg(peer.local_addr())).unwrap();
        peer.configure(cfg(ours.local_addr())).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let sink = WavFileSink::create(&dir.path().join("rec.wav")).unwrap();
        let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut media = MediaLoop::new(
            Box::new(ToneSource::new(700.0).unwrap()),
            Box::new(sink),
            events,
        );
        media.apply(MediaControl::Start(Box::new(ours)));
        media.apply(MediaControl::Transmit(true));

        let mut peer_tone = ToneSource::new(1100.0).unwrap();
        let mut frame = [0i16; FRAME];
        let mut dtmf = Vec::with_capacity(16);
        let mut allocations = 0;
        assert_installed();
        // 60 ticks to settle (jitter buffer, first packets), then 100 counted ones.
        for tick in 0..160 {
            peer_tone.fill(&mut frame);
            peer.send_frame(&frame).unwrap();
            let now = Instant::now();
            peer.poll_receive(now, &mut dtmf);
            let _ = peer.next_frame(&mut frame);

            let counting = tick >= 60;
            set_counting(counting);
            media.tick(now);
            set_counting(false);
            if counting {
                allocations += take_count();
            }
            std::thread::sleep(TICK);
        }
        assert_eq!(allocations, 0, "allocations in 100 steady-state ticks");
    }
}
