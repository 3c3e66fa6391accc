//! Real audio devices through cpal: capture and playback at the device's own rate, resampled to and
//! from 48 kHz on the media thread, with lock-free single-producer/single-consumer rings (rtrb)
//! between the cpal callbacks and the media thread.
//!
//! The callbacks ([`capture_callback`], [`playback_callback`]) only copy samples between the
//! device buffer and a ring: they never block, lock or allocate. Everything else — resampling,
//! echo cancellation, level meters — happens in [`DeviceSource::fill`] and [`DeviceSink::write`] on
//! the media thread.
//!
//! cpal streams cannot move between threads on every platform, so one thread
//! (`audio-devices`) builds them, keeps them playing, and drops them when the [`DeviceLink`] goes.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentphone_media::resample::Resampler;
use agentphone_media::{Frame, FRAME, SAMPLE_RATE};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use rtrb::{Consumer, Producer, RingBuffer};

use super::device_watch::{CallbackClock, StallWatch};
use super::levels::{meter_level, LevelMeters};
use super::processing::{ProcessingSettings, VoiceProcessor, PROCESS_FRAME};
use super::{AudioError, AudioSink, AudioSource};

/// Ring size between a callback and the media thread: 500 ms at the device rate.
const RING_MS: usize = 500;
/// Capture backlog kept when the media thread comes back after a pause (not in a call, muted):
/// older samples are dropped so the microphone never lags.
const CAPTURE_KEEP_MS: usize = 40;
/// Playback starts (and restarts after running dry) once this much is queued, so the device does
/// not starve between two 20 ms media ticks.
const PLAYBACK_PRIME_MS: usize = 40;
/// More than this queued for playback (device clock slower than ours) → frames are dropped.
const PLAYBACK_MAX_MS: usize = 150;

/// Which devices to open and how to process the microphone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Input device name (None = the system default).
    pub input: Option<String>,
    /// Output device name (None = the system default).
    pub output: Option<String>,
    /// Echo cancellation, noise suppression, gain control.
    pub processing: ProcessingSettings,
    /// The ring tone played while a call rings here (48 kHz mono WAV; None = silent ringing).
    pub ring_tone: Option<PathBuf>,
}

/// Open devices, shared by the source and the sink that go into the engine's config
/// (`SourceSpec::Device`, `SinkSpec::Device`). Cheap to clone; the streams stop when the last
/// clone is dropped.
#[derive(Clone)]
pub struct DeviceLink {
    shared: Arc<Shared>,
}

struct Shared {
    source: Mutex<Option<DeviceSource>>,
    sink: Mutex<Option<DeviceSink>>,
    levels: Arc<LevelMeters>,
    ringing: Arc<AtomicBool>,
    description: String,
    _streams: StreamThread,
}

impl fmt::Debug for DeviceLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceLink({})", self.shared.description)
    }
}

impl PartialEq for DeviceLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl DeviceLink {
    /// The level meters the source and sink fill.
    pub fn levels(&self) -> Arc<LevelMeters> {
        Arc::clone(&self.shared.levels)
    }

    /// Play the ring tone (true) or stop it.
    pub fn set_ringing(&self, on: bool) {
        self.shared.ringing.store(on, Ordering::Relaxed);
    }

    /// The ring switch, for whoever knows when a call rings.
    pub fn ringing(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.ringing)
    }

    /// "input NAME @ RATE Hz, output NAME @ RATE Hz".
    pub fn description(&self) -> &str {
        &self.shared.description
    }

    /// The capture side, for the media thread (once: a device has one reader).
    pub fn take_source(&self) -> Result<DeviceSource, AudioError> {
        self.shared
            .source
            .lock()
            .map_err(|_| AudioError("audio device state poisoned".into()))?
            .take()
            .ok_or_else(|| AudioError("the microphone is already in use".into()))
    }

    /// The playback side, for the media thread (once).
    pub fn take_sink(&self) -> Result<DeviceSink, AudioError> {
        self.shared
            .sink
            .lock()
            .map_err(|_| AudioError("audio device state poisoned".into()))?
            .take()
            .ok_or_else(|| AudioError("the speaker is already in use".into()))
    }
}

/// Open the input and output devices and start their streams.
pub fn open(settings: &DeviceSettings) -> Result<DeviceLink, AudioError> {
    let ring_tone = match &settings.ring_tone {
        Some(path) => agentphone_media::wav::read_mono_48k(path)
            .map_err(|e| AudioError(format!("ring tone {}: {e}", path.display())))?,
        None => Vec::new(),
    };
    let ringing = Arc::new(AtomicBool::new(false));
    let (streams, capture, playback) = StreamThread::start(
        settings.input.clone(),
        settings.output.clone(),
        ring_tone,
        Arc::clone(&ringing),
    )?;
    let levels = Arc::new(LevelMeters::default());
    let processor = VoiceProcessor::new(settings.processing)?;
    let description = format!(
        "input {} @ {} Hz, output {} @ {} Hz",
        capture.name, capture.rate, playback.name, playback.rate
    );
    let source = DeviceSource::new(
        capture.ring,
        capture.rate,
        processor.clone(),
        Arc::clone(&levels),
    )?
    .watching(capture.clock);
    let sink = DeviceSink::new(playback.ring, playback.rate, processor, Arc::clone(&levels))?
        .watching(playback.clock);
    Ok(DeviceLink {
        shared: Arc::new(Shared {
            source: Mutex::new(Some(source)),
            sink: Mutex::new(Some(sink)),
            levels,
            ringing,
            description,
            _streams: streams,
        }),
    })
}

/// The text of `agentphone devices`: every input and output device, the defaults marked.
pub fn list() -> Result<String, AudioError> {
    let host = cpal::default_host();
    let default_in = host.default_input_device().and_then(|d| d.name().ok());
    let default_out = host.default_output_device().and_then(|d| d.name().ok());
    let mut text = format!("Audio host: {}\n", host.id().name());
    let inputs = host
        .input_devices()
        .map_err(|e| AudioError(format!("listing input devices: {e}")))?;
    text.push_str("Input devices:\n");
    append_devices(&mut text, inputs, default_in.as_deref(), true);
    let outputs = host
        .output_devices()
        .map_err(|e| AudioError(format!("listing output devices: {e}")))?;
    text.push_str("Output devices:\n");
    append_devices(&mut text, outputs, default_out.as_deref(), false);
    text.push_str("Pick one with input_device = \"NAME\" / output_device = \"NAME\" in [phone].\n");
    Ok(text)
}

fn append_devices(
    text: &mut String,
    devices: impl Iterator<Item = cpal::Device>,
    default: Option<&str>,
    input: bool,
) {
    let mut any = false;
    for device in devices {
        any = true;
        let name = device.name().unwrap_or_else(|_| "(unnamed)".into());
        let config = if input {
            device.default_input_config()
        } else {
            device.default_output_config()
        };
        let detail = match config {
            Ok(c) => format!("{} Hz, {} ch", c.sample_rate().0, c.channels()),
            Err(e) => format!("unusable: {e}"),
        };
        let mark = if Some(name.as_str()) == default {
            " (default)"
        } else {
            ""
        };
        text.push_str(&format!("  {name}{mark} — {detail}\n"));
    }
    if !any {
        text.push_str("  (none)\n");
    }
}

// ---------------------------------------------------------------------------------------------
// The callbacks: plain functions, so a test can prove they allocate nothing.

/// Input callback body: mix `channels`-interleaved device samples down to mono and push them into
/// the ring. When the ring is full (the media thread is not reading) the rest is dropped.
pub fn capture_callback<T>(data: &[T], channels: usize, ring: &mut Producer<f32>)
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    let scale = 1.0 / channels as f32;
    for frame in data.chunks_exact(channels) {
        let sum: f32 = frame.iter().map(|&s| f32::from_sample_(s)).sum();
        if ring.push(sum * scale).is_err() {
            return;
        }
    }
}

/// The playback callback's own state: whether the ring has primed, and the ring tone played
/// while a call rings here (R2).
#[derive(Debug, Default)]
pub struct PlaybackState {
    primed: bool,
    prime: usize,
    ring_tone: Arc<[f32]>,
    ring_pos: usize,
    ringing: Arc<AtomicBool>,
}

impl PlaybackState {
    /// Start playing once `prime` samples are queued; play `ring_tone` (device rate, looped)
    /// while `ringing` is set.
    pub fn new(prime: usize, ring_tone: Arc<[f32]>, ringing: Arc<AtomicBool>) -> Self {
        PlaybackState {
            primed: false,
            prime,
            ring_tone,
            ring_pos: 0,
            ringing,
        }
    }

    /// The next ring tone sample (0 when not ringing).
    fn ring_sample(&mut self, ringing: bool) -> f32 {
        if !ringing || self.ring_tone.is_empty() {
            self.ring_pos = 0;
            return 0.0;
        }
        if self.ring_pos >= self.ring_tone.len() {
            self.ring_pos = 0;
        }
        let v = self.ring_tone.get(self.ring_pos).copied().unwrap_or(0.0);
        self.ring_pos += 1;
        v
    }
}

/// Output callback body: fill `channels`-interleaved device samples from the mono ring (the same
/// sample on every channel); silence while the ring primes or when it runs dry; the ring tone
/// mixed in while a call rings here.
pub fn playback_callback<T>(
    data: &mut [T],
    channels: usize,
    ring: &mut Consumer<f32>,
    state: &mut PlaybackState,
) where
    T: SizedSample + FromSample<f32>,
{
    let channels = channels.max(1);
    if !state.primed && ring.slots() >= state.prime {
        state.primed = true;
    }
    let ringing = state.ringing.load(Ordering::Relaxed);
    for frame in data.chunks_exact_mut(channels) {
        let call = if state.primed {
            match ring.pop() {
                Ok(v) => v,
                Err(_) => {
                    state.primed = false;
                    0.0
                }
            }
        } else {
            0.0
        };
        let value = (call + state.ring_sample(ringing)).clamp(-1.0, 1.0);
        let sample = T::from_sample_(value);
        for out in frame.iter_mut() {
            *out = sample;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The media-thread side.

/// The microphone as an [`AudioSource`]: device-rate mono from the capture ring → 48 kHz →
/// echo cancellation / noise suppression / gain (10 ms at a time) → level meter → the frame.
pub struct DeviceSource {
    ring: Consumer<f32>,
    keep: usize,
    resampler: Resampler,
    device_buf: Vec<f32>,
    /// 48 kHz samples waiting to be sent (a FIFO: the resampler's output is not frame-aligned).
    pending: Vec<f32>,
    processor: VoiceProcessor,
    levels: Arc<LevelMeters>,
    watch: Option<StallWatch>,
}

impl DeviceSource {
    /// A source reading `ring` (mono at `rate`).
    pub fn new(
        ring: Consumer<f32>,
        rate: u32,
        processor: VoiceProcessor,
        levels: Arc<LevelMeters>,
    ) -> Result<Self, AudioError> {
        let resampler = Resampler::new(rate, SAMPLE_RATE)
            .map_err(|e| AudioError(format!("capture at {rate} Hz: {e}")))?;
        let per_ms = rate as usize / 1000 + 1;
        Ok(DeviceSource {
            ring,
            keep: CAPTURE_KEEP_MS * per_ms,
            resampler,
            device_buf: Vec::with_capacity(RING_MS * per_ms),
            pending: Vec::with_capacity(8 * FRAME),
            processor,
            levels,
            watch: None,
        })
    }

    /// Log when the capture callback (which stamps `clock`) stops running.
    pub fn watching(mut self, clock: Arc<CallbackClock>) -> Self {
        self.watch = Some(StallWatch::new(clock, "capture"));
        self
    }
}

impl AudioSource for DeviceSource {
    fn fill(&mut self, out: &mut Frame) {
        if let Some(watch) = self.watch.as_mut() {
            watch.check(Instant::now());
        }
        // Drop a stale backlog (we were not reading: no call, muted, on hold).
        let available = self.ring.slots();
        if available > self.keep {
            if let Ok(chunk) = self.ring.read_chunk(available - self.keep) {
                chunk.commit_all();
            }
        }
        self.device_buf.clear();
        while let Ok(v) = self.ring.pop() {
            if self.device_buf.len() == self.device_buf.capacity() {
                break;
            }
            self.device_buf.push(v * 32768.0);
        }
        if self.pending.len() + 2 * self.device_buf.len() + FRAME > self.pending.capacity() {
            // Cannot happen with the backlog cut above; never grow in the tick.
            self.pending.clear();
        }
        self.resampler
            .process_f32(&self.device_buf, &mut self.pending);
        if self.pending.len() > 3 * FRAME {
            // The device clock runs faster than ours: drop the oldest, keep one frame of slack.
            let excess = self.pending.len() - 2 * FRAME;
            self.pending.drain(..excess);
        }
        let have = self.pending.len().min(FRAME);
        // Underrun (start of the stream, slow device clock): pad with silence at the front.
        let pad = FRAME - have;
        let (silence, audio) = out.split_at_mut(pad);
        silence.fill(0);
        for (o, &v) in audio.iter_mut().zip(self.pending.iter()) {
            *o = to_i16(v);
        }
        self.pending.drain(..have);
        // Processing in 10 ms steps, in place (scaled to -1..1 and back).
        let mut scratch = [0f32; PROCESS_FRAME];
        for chunk in out.chunks_exact_mut(PROCESS_FRAME) {
            for (s, &v) in scratch.iter_mut().zip(chunk.iter()) {
                *s = f32::from(v) / 32768.0;
            }
            self.processor.capture(&mut scratch);
            for (o, &s) in chunk.iter_mut().zip(scratch.iter()) {
                *o = to_i16(s * 32768.0);
            }
        }
        self.levels.set_mic(meter_level(out));
    }
}

/// The speaker as an [`AudioSink`]: the frame heard → far-end reference for the echo canceller →
/// device rate → playback ring → level meter.
pub struct DeviceSink {
    ring: Producer<f32>,
    max_queued: usize,
    resampler: Resampler,
    samples: Vec<f32>,
    resampled: Vec<f32>,
    processor: VoiceProcessor,
    levels: Arc<LevelMeters>,
    watch: Option<StallWatch>,
}

impl DeviceSink {
    /// A sink writing into `ring` (mono at `rate`).
    pub fn new(
        ring: Producer<f32>,
        rate: u32,
        processor: VoiceProcessor,
        levels: Arc<LevelMeters>,
    ) -> Result<Self, AudioError> {
        let resampler = Resampler::new(SAMPLE_RATE, rate)
            .map_err(|e| AudioError(format!("playback at {rate} Hz: {e}")))?;
        let per_ms = rate as usize / 1000 + 1;
        Ok(DeviceSink {
            ring,
            max_queued: PLAYBACK_MAX_MS * per_ms,
            resampler,
            samples: Vec::with_capacity(FRAME),
            resampled: Vec::with_capacity(4 * FRAME * per_ms / 48 + 64),
            processor,
            levels,
            watch: None,
        })
    }

    /// Log when the playback callback (which stamps `clock`) stops running.
    pub fn watching(mut self, clock: Arc<CallbackClock>) -> Self {
        self.watch = Some(StallWatch::new(clock, "playback"));
        self
    }
}

impl AudioSink for DeviceSink {
    fn write(&mut self, frame: &Frame) -> Result<(), AudioError> {
        if let Some(watch) = self.watch.as_mut() {
            watch.check(Instant::now());
        }
        self.levels.set_speaker(meter_level(frame));
        let mut reference = [0f32; PROCESS_FRAME];
        for chunk in frame.chunks_exact(PROCESS_FRAME) {
            for (r, &v) in reference.iter_mut().zip(chunk.iter()) {
                *r = f32::from(v) / 32768.0;
            }
            self.processor.render(&mut reference);
        }
        self.samples.clear();
        self.samples
            .extend(frame.iter().map(|&v| f32::from(v) / 32768.0));
        self.resampled.clear();
        self.resampler
            .process_f32(&self.samples, &mut self.resampled);
        let queued = self.ring.buffer().capacity() - self.ring.slots();
        if queued > self.max_queued {
            // The device plays slower than we send: skip this frame rather than lag.
            return Ok(());
        }
        for &v in &self.resampled {
            if self.ring.push(v).is_err() {
                break;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        Ok(())
    }
}

/// The 48 kHz ring tone at the device's rate, as f32 at half level (it is mixed with the call).
fn ring_tone_at(tone: &[i16], rate: u32) -> Result<Arc<[f32]>, AudioError> {
    if tone.is_empty() {
        return Ok(Arc::from(Vec::new()));
    }
    let mut resampler = Resampler::new(SAMPLE_RATE, rate)
        .map_err(|e| AudioError(format!("ring tone at {rate} Hz: {e}")))?;
    let input: Vec<f32> = tone.iter().map(|&v| f32::from(v) / 65536.0).collect();
    let mut out = Vec::with_capacity(resampler.output_len_hint(input.len()));
    resampler.process_f32(&input, &mut out);
    Ok(Arc::from(out))
}

fn to_i16(v: f32) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

// ---------------------------------------------------------------------------------------------
// The thread that owns the cpal streams.

/// One opened direction: its ring end, rate and device name.
struct Opened<R> {
    ring: R,
    rate: u32,
    name: String,
    /// When the stream's callback last ran.
    clock: Arc<CallbackClock>,
}

/// Keeps the streams alive; dropping it stops them (the thread's `recv` returns).
struct StreamThread {
    _stop: mpsc::Sender<()>,
}

/// The capture and playback ends, as the stream thread hands them over.
type Started = (Opened<Consumer<f32>>, Opened<Producer<f32>>);
/// The stream thread with both ends.
type Running = (StreamThread, Opened<Consumer<f32>>, Opened<Producer<f32>>);

impl StreamThread {
    fn start(
        input: Option<String>,
        output: Option<String>,
        ring_tone: Vec<i16>,
        ringing: Arc<AtomicBool>,
    ) -> Result<Running, AudioError> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Started, AudioError>>();
        std::thread::Builder::new()
            .name("audio-devices".into())
            .spawn(move || {
                let host = cpal::default_host();
                let built = build_input(&host, input.as_deref()).and_then(|(inp, in_stream)| {
                    build_output(&host, output.as_deref(), &ring_tone, ringing)
                        .map(|(out, out_stream)| (inp, out, in_stream, out_stream))
                });
                match built {
                    Ok((inp, out, in_stream, out_stream)) => {
                        if ready_tx.send(Ok((inp, out))).is_err() {
                            return;
                        }
                        // Park until the link is dropped; the streams play meanwhile.
                        let _ = stop_rx.recv();
                        drop(in_stream);
                        drop(out_stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| AudioError(format!("starting the audio thread: {e}")))?;
        let (capture, playback) = ready_rx
            .recv()
            .map_err(|_| AudioError("the audio thread stopped".into()))??;
        Ok((StreamThread { _stop: stop_tx }, capture, playback))
    }
}

fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    input: bool,
) -> Result<cpal::Device, AudioError> {
    let kind = if input { "input" } else { "output" };
    match name {
        None => if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        }
        .ok_or_else(|| AudioError(format!("no default {kind} device"))),
        Some(wanted) => {
            let mut devices = if input {
                host.input_devices()
            } else {
                host.output_devices()
            }
            .map_err(|e| AudioError(format!("listing {kind} devices: {e}")))?;
            devices
                .find(|d| d.name().is_ok_and(|n| n == wanted))
                .ok_or_else(|| {
                    AudioError(format!(
                        "no {kind} device named {wanted:?} (see `agentphone devices`)"
                    ))
                })
        }
    }
}

fn build_input(
    host: &cpal::Host,
    name: Option<&str>,
) -> Result<(Opened<Consumer<f32>>, cpal::Stream), AudioError> {
    let device = find_device(host, name, true)?;
    let device_name = device.name().unwrap_or_else(|_| "(unnamed)".into());
    let supported = device
        .default_input_config()
        .map_err(|e| AudioError(format!("input {device_name}: {e}")))?;
    let rate = supported.sample_rate().0;
    let channels = usize::from(supported.channels());
    let (producer, consumer) = RingBuffer::<f32>::new(RING_MS * rate as usize / 1000);
    let config = supported.config();
    let err = |e: cpal::StreamError| tracing::warn!("input stream: {e}");
    let clock = CallbackClock::new();
    let stamp = Arc::clone(&clock);
    let stream = match supported.sample_format() {
        SampleFormat::F32 => {
            let mut ring = producer;
            device.build_input_stream(
                &config,
                move |data: &[f32], _: &_| {
                    stamp.enter();
                    capture_callback(data, channels, &mut ring)
                },
                err,
                None,
            )
        }
        SampleFormat::I16 => {
            let mut ring = producer;
            device.build_input_stream(
                &config,
                move |data: &[i16], _: &_| {
                    stamp.enter();
                    capture_callback(data, channels, &mut ring)
                },
                err,
                None,
            )
        }
        SampleFormat::U16 => {
            let mut ring = producer;
            device.build_input_stream(
                &config,
                move |data: &[u16], _: &_| {
                    stamp.enter();
                    capture_callback(data, channels, &mut ring)
                },
                err,
                None,
            )
        }
        other => {
            return Err(AudioError(format!(
                "input {device_name}: sample format {other} is not supported"
            )))
        }
    }
    .map_err(|e| AudioError(format!("input {device_name}: {e}")))?;
    stream
        .play()
        .map_err(|e| AudioError(format!("input {device_name}: {e}")))?;
    Ok((
        Opened {
            ring: consumer,
            rate,
            name: device_name,
            clock,
        },
        stream,
    ))
}

fn build_output(
    host: &cpal::Host,
    name: Option<&str>,
    ring_tone: &[i16],
    ringing: Arc<AtomicBool>,
) -> Result<(Opened<Producer<f32>>, cpal::Stream), AudioError> {
    let device = find_device(host, name, false)?;
    let device_name = device.name().unwrap_or_else(|_| "(unnamed)".into());
    let supported = device
        .default_output_config()
        .map_err(|e| AudioError(format!("output {device_name}: {e}")))?;
    let rate = supported.sample_rate().0;
    let channels = usize::from(supported.channels());
    let (producer, consumer) = RingBuffer::<f32>::new(RING_MS * rate as usize / 1000);
    let prime = PLAYBACK_PRIME_MS * rate as usize / 1000;
    let ring_tone = ring_tone_at(ring_tone, rate)?;
    let config = supported.config();
    let err = |e: cpal::StreamError| tracing::warn!("output stream: {e}");
    let clock = CallbackClock::new();
    let stamp = Arc::clone(&clock);
    macro_rules! output_stream {
        ($t:ty) => {{
            let mut ring = consumer;
            let mut state = PlaybackState::new(prime, ring_tone, ringing);
            device.build_output_stream(
                &config,
                move |data: &mut [$t], _: &_| {
                    stamp.enter();
                    playback_callback(data, channels, &mut ring, &mut state)
                },
                err,
                None,
            )
        }};
    }
    let stream = match supported.sample_format() {
        SampleFormat::F32 => output_stream!(f32),
        SampleFormat::I16 => output_stream!(i16),
        SampleFormat::U16 => output_stream!(u16),
        other => {
            return Err(AudioError(format!(
                "output {device_name}: sample format {other} is not supported"
            )))
        }
    }
    .map_err(|e| AudioError(format!("output {device_name}: {e}")))?;
    stream
        .play()
        .map_err(|e| AudioError(format!("output {device_name}: {e}")))?;
    Ok((
        Opened {
            ring: producer,
            rate,
            name: device_name,
            clock,
        },
        stream,
    ))
}
