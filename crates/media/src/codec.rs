//! Audio codecs: Opus (48 kHz mono, 20 ms) and G.711 PCMU/PCMA (8 kHz; resampled 48k↔8k here).

use crate::g711::{self, Law};
use crate::resample::{Downsampler48to8, Upsampler8to48, FRAME_8K};
use crate::takeover::Takeover;
use crate::{Frame, MediaError, FRAME, SAMPLE_RATE};

/// Opus bitrate on a clean path. Measured on speech (crates/media/examples/loss_sim.rs, WB-PESQ):
/// 32 kb/s 4.09, 44 kb/s 4.31, 48 kb/s 4.38; from ≈ 56 kb/s Opus picks CELT-only for speech and
/// scores lower again (3.94).
const OPUS_BITRATE: i32 = 48_000;
/// Opus bitrate whenever the peer reports loss: in-band FEC (SILK's LBRR, which also keeps the
/// encoder in SILK/hybrid mode) takes its share and the primary layer keeps its quality.
/// Measured, 5 % random loss with FEC decoded from the next packet: 48 kb/s 3.69, 64 kb/s 3.99;
/// 10 %: 64 kb/s 3.69. Without FEC 5 % loss scores 2.06 (PLC alone).
const OPUS_LOSSY_BITRATE: i32 = 64_000;
/// Highest quality: two-party calls are relayed, so the server rarely encodes.
const OPUS_COMPLEXITY: i32 = 10;
/// G.711 concealment: gain applied per consecutive lost frame, and how many repeats before silence.
const G711_PLC_DECAY: f32 = 0.7;
const G711_PLC_MAX_REPEATS: u32 = 5;

/// The codecs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// Opus, 48 kHz mono (we send 20 ms; we receive 2.5–120 ms packets).
    Opus,
    /// G.711 µ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
}

impl CodecKind {
    /// From an SDP rtpmap encoding name (case-insensitive): "opus", "PCMU", "PCMA".
    pub fn from_name(name: &str) -> Option<CodecKind> {
        match name.to_ascii_lowercase().as_str() {
            "opus" => Some(CodecKind::Opus),
            "pcmu" => Some(CodecKind::Pcmu),
            "pcma" => Some(CodecKind::Pcma),
            _ => None,
        }
    }

    /// RTP clock rate.
    pub fn clock(self) -> u32 {
        match self {
            CodecKind::Opus => 48_000,
            CodecKind::Pcmu | CodecKind::Pcma => 8_000,
        }
    }

    /// Conventional payload type (Opus 111 dynamic, PCMU 0, PCMA 8).
    pub fn default_pt(self) -> u8 {
        match self {
            CodecKind::Opus => 111,
            CodecKind::Pcmu => 0,
            CodecKind::Pcma => 8,
        }
    }

    /// The SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            CodecKind::Opus => "opus",
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
        }
    }

    pub(crate) fn law(self) -> Option<Law> {
        match self {
            CodecKind::Opus => None,
            CodecKind::Pcmu => Some(Law::Mu),
            CodecKind::Pcma => Some(Law::A),
        }
    }
}

fn opus_err(e: opus::Error) -> MediaError {
    MediaError::Codec(e.to_string())
}

enum EncoderImpl {
    Opus(opus::Encoder),
    G711 {
        law: Law,
        down: Box<Downsampler48to8>,
        narrow: Box<[i16; FRAME_8K]>,
    },
}

/// Encodes 20 ms frames into RTP payloads.
pub struct Encoder {
    kind: CodecKind,
    inner: EncoderImpl,
    /// Continuing a stream another encoder fed the phone (Opus; see [`crate::takeover`]).
    takeover: Takeover,
}

impl Encoder {
    /// A new encoder for `kind` (Opus: the AUDIO application, 48 kb/s, complexity 10, loss hint
    /// 0 and so no FEC until [`Encoder::set_loss_hint`] reports loss from the peer's RTCP).
    /// AUDIO rather than VOIP: VOIP's input high-pass and intelligibility tuning cost ≈ 0.5
    /// WB-PESQ on speech through the server (bench/voice-quality: 3.3–3.6 → 4.1 clean, together
    /// with complexity 5 → 10).
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        let inner = match kind.law() {
            None => {
                let mut enc =
                    opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                        .map_err(opus_err)?;
                enc.set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
                    .map_err(opus_err)?;
                enc.set_inband_fec(false).map_err(opus_err)?;
                enc.set_packet_loss_perc(0).map_err(opus_err)?;
                enc.set_complexity(OPUS_COMPLEXITY).map_err(opus_err)?;
                EncoderImpl::Opus(enc)
            }
            Some(law) => EncoderImpl::G711 {
                law,
                down: Box::new(Downsampler48to8::new()),
                narrow: Box::new([0; FRAME_8K]),
            },
        };
        Ok(Encoder {
            kind,
            inner,
            takeover: Takeover::default(),
        })
    }

    /// Which codec.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Another encoder's `payload` (a relayed packet, a shared encode) went out on the stream
    /// this encoder feeds: [`Encoder::prime`] takes its coding mode over. No effect on G.711.
    pub fn note_foreign_packet(&mut self, payload: &[u8]) {
        if matches!(self.inner, EncoderImpl::Opus(_)) {
            self.takeover.note_foreign(payload);
        }
    }

    /// Encode `pcm` (the audio the phone heard last) and drop the result, before this encoder
    /// continues the phone's stream: its history (lookahead, overlap, predictors) is then that
    /// audio. When the phone last decoded another encoder's packet
    /// ([`Encoder::note_foreign_packet`]), this encoder is first hinted into that packet's
    /// Opus coding mode, so that the decoder does not switch mode on our first frame (a click;
    /// see [`crate::takeover`]). `scratch` receives the dropped payload.
    pub fn prime(&mut self, pcm: &Frame, scratch: &mut [u8]) {
        if let EncoderImpl::Opus(enc) = &mut self.inner {
            self.takeover.before_prime(enc);
        }
        let _ = self.encode(pcm, scratch);
    }

    /// Encode one frame into `out`; returns the payload length.
    pub fn encode(&mut self, pcm: &Frame, out: &mut [u8]) -> Result<usize, MediaError> {
        match &mut self.inner {
            EncoderImpl::Opus(enc) => {
                let n = enc.encode(pcm, out).map_err(opus_err);
                self.takeover.after_encode(enc);
                n
            }
            EncoderImpl::G711 { law, down, narrow } => {
                if out.len() < FRAME_8K {
                    return Err(MediaError::BufferTooSmall {
                        need: FRAME_8K,
                        have: out.len(),
                    });
                }
                down.process(pcm, narrow);
                Ok(g711::encode(*law, &narrow[..], out))
            }
        }
    }

    /// Change the Opus encoder complexity (0–10; default 5): lower trades quality for CPU, e.g.
    /// on a loaded server. No effect on G.711.
    pub fn set_complexity(&mut self, complexity: i32) -> Result<(), MediaError> {
        match &mut self.inner {
            EncoderImpl::Opus(enc) => enc
                .set_complexity(complexity.clamp(0, 10))
                .map_err(opus_err),
            EncoderImpl::G711 { .. } => Ok(()),
        }
    }

    /// The loss (percent, clamped to 0–100) the peer reports on our stream: Opus spends bits on
    /// in-band FEC only when it is above 0. No effect on G.711.
    /// The bitrate follows ([`opus_bitrate_for_loss`]): 48 kb/s clean, 64 kb/s with loss.
    pub fn set_loss_hint(&mut self, percent: u8) -> Result<(), MediaError> {
        match &mut self.inner {
            EncoderImpl::Opus(enc) => {
                let percent = percent.min(100);
                enc.set_inband_fec(percent > 0).map_err(opus_err)?;
                enc.set_packet_loss_perc(i32::from(percent))
                    .map_err(opus_err)?;
                enc.set_bitrate(opus::Bitrate::Bits(opus_bitrate_for_loss(percent)))
                    .map_err(opus_err)
            }
            EncoderImpl::G711 { .. } => Ok(()),
        }
    }

    /// Override the Opus bitrate (b/s, clamped to 6–510 kb/s) until the next loss hint.
    /// No effect on G.711.
    pub fn set_bitrate(&mut self, bits: i32) -> Result<(), MediaError> {
        match &mut self.inner {
            EncoderImpl::Opus(enc) => enc
                .set_bitrate(opus::Bitrate::Bits(bits.clamp(6_000, 510_000)))
                .map_err(opus_err),
            EncoderImpl::G711 { .. } => Ok(()),
        }
    }

    /// What the Opus encoder is set to: (bitrate b/s, in-band FEC on, loss hint %). None for
    /// G.711.
    pub fn opus_settings(&mut self) -> Option<(i32, bool, i32)> {
        let EncoderImpl::Opus(enc) = &mut self.inner else {
            return None;
        };
        let bitrate = match enc.get_bitrate().ok()? {
            opus::Bitrate::Bits(b) => b,
            _ => return None,
        };
        Some((
            bitrate,
            enc.get_inband_fec().ok()?,
            enc.get_packet_loss_perc().ok()?,
        ))
    }

    /// RTP timestamp increment per frame (20 ms at the codec clock).
    pub fn timestamp_step(&self) -> u32 {
        self.kind.clock() / 50
    }
}

/// The Opus bitrate for a reported loss: 48 kb/s at 0 %, 64 kb/s (with FEC) above.
pub fn opus_bitrate_for_loss(percent: u8) -> i32 {
    if percent == 0 {
        OPUS_BITRATE
    } else {
        OPUS_LOSSY_BITRATE
    }
}

enum DecoderImpl {
    Opus(opus::Decoder),
    G711 {
        law: Law,
        up: Box<Upsampler8to48>,
        /// Scratch for one payload at 8 kHz (up to [`MAX_PACKET_8K`] samples).
        narrow: Box<[i16; MAX_PACKET_8K]>,
        /// The last 20 ms decoded at 8 kHz: what concealment repeats.
        last: Box<[i16; FRAME_8K]>,
        /// Consecutive 20 ms concealment periods started (for the fade-out).
        lost_run: u32,
        /// Position in `last` of the next concealed sample (0 = a new period starts).
        plc_pos: usize,
    },
}

/// Longest packet we decode, in 48 kHz samples: 120 ms, Opus's maximum.
pub const MAX_PACKET_SAMPLES: usize = 5_760;
/// The same at 8 kHz (a 120 ms G.711 payload).
const MAX_PACKET_8K: usize = MAX_PACKET_SAMPLES / 6;
/// Opus decodes and conceals in multiples of 2.5 ms.
const OPUS_GRANULE: usize = 120;

/// Decodes RTP payloads of any duration (Opus 2.5–120 ms, G.711 up to 120 ms) to 48 kHz.
pub struct Decoder {
    kind: CodecKind,
    inner: DecoderImpl,
}

impl Decoder {
    /// A new decoder for `kind`.
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        let inner = match kind.law() {
            None => DecoderImpl::Opus(
                opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(opus_err)?,
            ),
            Some(law) => DecoderImpl::G711 {
                law,
                up: Box::new(Upsampler8to48::new()),
                narrow: Box::new([0; MAX_PACKET_8K]),
                last: Box::new([0; FRAME_8K]),
                lost_run: 0,
                plc_pos: 0,
            },
        };
        Ok(Decoder { kind, inner })
    }

    /// Which codec.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Forget the stream decoded so far (as a new decoder would start).
    pub fn reset(&mut self) {
        match &mut self.inner {
            DecoderImpl::Opus(dec) => {
                let _ = dec.reset_state();
            }
            DecoderImpl::G711 {
                last,
                lost_run,
                plc_pos,
                ..
            } => {
                last.fill(0);
                *lost_run = 0;
                *plc_pos = 0;
            }
        }
    }

    /// How many 48 kHz samples `payload` decodes to: Opus from the packet's TOC byte(s)
    /// (opus_packet_get_nb_samples), G.711 one byte per 8 kHz sample. None for an empty or
    /// malformed payload, or one longer than 120 ms. Never allocates.
    pub fn payload_samples(&self, payload: &[u8]) -> Option<usize> {
        if payload.is_empty() {
            return None;
        }
        let samples = match self.inner {
            DecoderImpl::Opus(_) => opus::packet::get_nb_samples(payload, SAMPLE_RATE).ok()?,
            DecoderImpl::G711 { .. } => payload.len().checked_mul(6)?,
        };
        (1..=MAX_PACKET_SAMPLES)
            .contains(&samples)
            .then_some(samples)
    }

    /// Decode a payload of any supported duration into the start of `out` (48 kHz); returns
    /// the number of samples written (= [`Decoder::payload_samples`]). Errors when the payload
    /// is malformed or `out` is too short for it.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        let samples = self
            .payload_samples(payload)
            .ok_or_else(|| MediaError::Malformed("empty, malformed or over-long payload".into()))?;
        if out.len() < samples {
            return Err(MediaError::BufferTooSmall {
                need: samples,
                have: out.len(),
            });
        }
        match &mut self.inner {
            DecoderImpl::Opus(dec) => dec.decode(payload, out, false).map_err(opus_err),
            DecoderImpl::G711 {
                law,
                up,
                narrow,
                last,
                lost_run,
                plc_pos,
            } => {
                let n = g711::decode(*law, payload, &mut narrow[..]);
                remember_tail(last, &narrow[..n]);
                *lost_run = 0;
                *plc_pos = 0;
                Ok(up.process_slice(&narrow[..n], out))
            }
        }
    }

    /// Fill `out` (48 kHz) with concealment for lost audio of that duration: Opus in-band FEC
    /// from `next_payload` (the packet after the gap) when given, else PLC; G.711 repeats the
    /// last 20 ms received, fading by a step every 20 ms, then goes silent. Returns the samples
    /// written: all of `out`, rounded down to 2.5 ms for Opus and to whole 8 kHz samples for
    /// G.711.
    pub fn conceal_into(
        &mut self,
        next_payload: Option<&[u8]>,
        out: &mut [i16],
    ) -> Result<usize, MediaError> {
        match &mut self.inner {
            DecoderImpl::Opus(dec) => {
                let n = out.len() / OPUS_GRANULE * OPUS_GRANULE;
                if n == 0 {
                    return Ok(0);
                }
                let span = &mut out[..n];
                match next_payload {
                    Some(next) if !next.is_empty() => dec.decode(next, span, true),
                    _ => dec.decode(&[], span, false),
                }
                .map_err(opus_err)
            }
            DecoderImpl::G711 {
                up,
                narrow,
                last,
                lost_run,
                plc_pos,
                ..
            } => {
                let mut written = 0;
                while out.len() - written >= 6 {
                    let n = ((out.len() - written) / 6).min(MAX_PACKET_8K);
                    for s in narrow[..n].iter_mut() {
                        if *plc_pos == 0 {
                            *lost_run += 1;
                            fade(last, *lost_run);
                        }
                        *s = last[*plc_pos];
                        *plc_pos = (*plc_pos + 1) % FRAME_8K;
                    }
                    written += up.process_slice(&narrow[..n], &mut out[written..]);
                }
                Ok(written)
            }
        }
    }

    /// Decode one 20 ms payload into a frame. Longer payloads are an error here (use
    /// [`Decoder::decode_into`]); shorter ones are zero-padded.
    pub fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<(), MediaError> {
        match self.payload_samples(payload) {
            Some(n) if n > FRAME => {
                return Err(MediaError::Unsupported(format!(
                    "payload of {n} samples in a 20 ms frame (use decode_into)"
                )))
            }
            None => {
                return Err(MediaError::Malformed(
                    "empty, malformed or over-long payload".into(),
                ))
            }
            Some(_) => {}
        }
        let n = self.decode_into(payload, out)?;
        out.get_mut(n..).into_iter().flatten().for_each(|s| *s = 0);
        Ok(())
    }

    /// A 20 ms frame for a lost packet: Opus in-band FEC from the next packet when there, else
    /// PLC; G.711 repeats the last frame, fading out, then goes silent.
    pub fn conceal(
        &mut self,
        next_payload: Option<&[u8]>,
        out: &mut Frame,
    ) -> Result<(), MediaError> {
        let n = self.conceal_into(next_payload, out)?;
        out.get_mut(n..).into_iter().flatten().for_each(|s| *s = 0);
        Ok(())
    }
}

/// Keep the newest [`FRAME_8K`] samples of the stream in `last`.
fn remember_tail(last: &mut [i16; FRAME_8K], new: &[i16]) {
    if new.len() >= FRAME_8K {
        last.copy_from_slice(&new[new.len() - FRAME_8K..]);
    } else {
        last.copy_within(new.len().., 0);
        last[FRAME_8K - new.len()..].copy_from_slice(new);
    }
}

/// The G.711 concealment fade for the `lost_run`-th concealed 20 ms period.
fn fade(last: &mut [i16; FRAME_8K], lost_run: u32) {
    if lost_run > G711_PLC_MAX_REPEATS {
        last.fill(0);
    } else {
        for s in last.iter_mut() {
            *s = (f32::from(*s) * G711_PLC_DECAY) as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{detect_tones, level_dbfs, ToneGenerator};

    fn run_through(kind: CodecKind, freqs: &[f32], frames: usize, lose_every: usize) -> Vec<i16> {
        let mut gens: Vec<_> = freqs
            .iter()
            .map(|&f| ToneGenerator::new(f, -12.0))
            .collect();
        let mut enc = Encoder::new(kind).unwrap();
        let mut dec = Decoder::new(kind).unwrap();
        let mut packets = Vec::new();
        for _ in 0..frames {
            let mut f = [0i16; FRAME];
            let mut t = [0i16; FRAME];
            for g in gens.iter_mut() {
                g.fill(&mut t);
                for (a, b) in f.iter_mut().zip(t.iter()) {
                    *a = a.saturating_add(*b);
                }
            }
            let mut buf = [0u8; 1500];
            let n = enc.encode(&f, &mut buf).unwrap();
            packets.push(buf[..n].to_vec());
        }
        let mut out = Vec::new();
        for i in 0..packets.len() {
            let mut f = [0i16; FRAME];
            if lose_every > 0 && i % lose_every == lose_every - 1 {
                dec.conceal(packets.get(i + 1).map(|p| p.as_slice()), &mut f)
                    .unwrap();
            } else {
                dec.decode(&packets[i], &mut f).unwrap();
            }
            out.extend_from_slice(&f);
        }
        out
    }

    #[test]
    fn names_clock_pt() {
        assert_eq!(CodecKind::from_name("OPUS"), Some(CodecKind::Opus));
        assert_eq!(CodecKind::from_name("pcmu"), Some(CodecKind::Pcmu));
        assert_eq!(CodecKind::from_name("PCMA"), Some(CodecKind::Pcma));
        assert_eq!(CodecKind::from_name("G729"), None);
        assert_eq!(CodecKind::Opus.clock(), 48_000);
        assert_eq!(CodecKind::Pcma.clock(), 8_000);
        assert_eq!(CodecKind::Pcmu.default_pt(), 0);
        assert_eq!(Encoder::new(CodecKind::Pcmu).unwrap().timestamp_step(), 160);
        assert_eq!(Encoder::new(CodecKind::Opus).unwrap().timestamp_step(), 960);
        let mut enc = Encoder::new(CodecKind::Opus).unwrap();
        enc.set_complexity(2).unwrap();
        let mut buf = [0u8; 1500];
        assert!(enc.encode(&[100; FRAME], &mut buf).unwrap() > 0);
    }

    #[test]
    fn tones_survive_opus() {
        let out = run_through(CodecKind::Opus, &[440.0, 1300.0], 50, 0);
        assert_eq!(
            detect_tones(&out[FRAME * 5..], SAMPLE_RATE, &[440.0, 1300.0, 2000.0]),
            vec![true, true, false]
        );
    }

    #[test]
    fn tones_survive_pcmu_and_pcma() {
        for kind in [CodecKind::Pcmu, CodecKind::Pcma] {
            let out = run_through(kind, &[697.0, 1209.0], 50, 0);
            assert_eq!(
                detect_tones(&out[FRAME..], SAMPLE_RATE, &[697.0, 1209.0, 941.0]),
                vec![true, true, false],
                "{kind:?}"
            );
            assert!(level_dbfs(&out[FRAME..]) > -20.0);
        }
    }

    #[test]
    fn opus_fec_and_plc_keep_tone_under_loss() {
        let out = run_through(CodecKind::Opus, &[600.0], 100, 10);
        assert_eq!(
            detect_tones(&out[FRAME * 5..], SAMPLE_RATE, &[600.0, 1500.0]),
            vec![true, false]
        );
    }

    /// Squared error of recovering lost frame 40 from the next packet's FEC and by plain PLC,
    /// with the encoder told to expect `loss_hint` percent loss.
    fn fec_and_plc_error(loss_hint: u8) -> (f64, f64) {
        // Speech-like: a tone whose pitch and level change every frame, so PLC cannot just
        // continue the waveform.
        let mut enc = Encoder::new(CodecKind::Opus).unwrap();
        enc.set_loss_hint(loss_hint).unwrap();
        let mut packets = Vec::new();
        for i in 0..60 {
            let mut f = [0i16; FRAME];
            let freq = 200.0 + 37.0 * (i % 11) as f32;
            ToneGenerator::new(freq, -10.0 - (i % 5) as f32 * 3.0).fill(&mut f);
            let mut buf = [0u8; 1500];
            let n = enc.encode(&f, &mut buf).unwrap();
            packets.push(buf[..n].to_vec());
        }
        let lost = 40;
        let reference = {
            let mut dec = Decoder::new(CodecKind::Opus).unwrap();
            let mut f = [0i16; FRAME];
            for p in &packets[..=lost] {
                dec.decode(p, &mut f).unwrap();
            }
            f
        };
        let recover = |use_fec: bool| {
            let mut dec = Decoder::new(CodecKind::Opus).unwrap();
            let mut f = [0i16; FRAME];
            for p in &packets[..lost] {
                dec.decode(p, &mut f).unwrap();
            }
            let next = use_fec.then(|| packets[lost + 1].as_slice());
            dec.conceal(next, &mut f).unwrap();
            f
        };
        let error = |f: &Frame| -> f64 {
            f.iter()
                .zip(reference.iter())
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum()
        };
        (error(&recover(true)), error(&recover(false)))
    }

    /// With a loss hint, in-band FEC really is in the packets: recovering a lost frame from the
    /// next packet is closer to the real frame than plain PLC.
    #[test]
    fn opus_fec_recovers_better_than_plc() {
        let (fec_err, plc_err) = fec_and_plc_error(10);
        assert!(
            fec_err < plc_err * 0.5,
            "FEC {fec_err:.3e} vs PLC {plc_err:.3e}"
        );
    }

    /// Without loss the encoder spends no bits on FEC: the next packet recovers nothing more
    /// than PLC does.
    #[test]
    fn no_loss_hint_means_no_fec() {
        let (fec_err, plc_err) = fec_and_plc_error(0);
        assert!(
            fec_err > plc_err * 0.9,
            "FEC {fec_err:.3e} vs PLC {plc_err:.3e}"
        );
    }

    #[test]
    fn g711_plc_keeps_tone_under_loss() {
        let out = run_through(CodecKind::Pcmu, &[600.0], 100, 10);
        assert_eq!(
            detect_tones(&out[FRAME..], SAMPLE_RATE, &[600.0, 1500.0]),
            vec![true, false]
        );
    }

    #[test]
    fn garbage_payloads_are_errors_not_panics() {
        let mut dec = Decoder::new(CodecKind::Opus).unwrap();
        let mut f = [0i16; FRAME];
        assert!(dec.decode(&[], &mut f).is_err());
        // TOC for a 60 ms frame.
        assert!(dec.decode(&[0xFF, 0x03, 0x00], &mut f).is_err());
        for len in 1..64u8 {
            let junk: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(len))
                .collect();
            let _ = dec.decode(&junk, &mut f);
        }
        let mut g = Decoder::new(CodecKind::Pcma).unwrap();
        assert!(g.decode(&[0u8; 400], &mut f).is_err());
        assert!(g.decode(&[0xD5; 80], &mut f).is_ok());
    }

    #[test]
    fn encoder_reports_small_buffer() {
        let mut enc = Encoder::new(CodecKind::Pcmu).unwrap();
        let f = [0i16; FRAME];
        assert!(matches!(
            enc.encode(&f, &mut [0u8; 10]),
            Err(MediaError::BufferTooSmall { .. })
        ));
    }

    /// A tone encoded as G.711 packets of `ms` milliseconds.
    fn g711_packets(law: Law, ms: usize, count: usize) -> Vec<Vec<u8>> {
        let mut gen = ToneGenerator::new(700.0, -12.0);
        let mut down = Downsampler48to8::new();
        let mut narrow = Vec::new();
        for _ in 0..(ms * count).div_ceil(20) {
            let mut f = [0i16; FRAME];
            gen.fill(&mut f);
            let mut n = [0i16; FRAME_8K];
            down.process(&f, &mut n);
            narrow.extend_from_slice(&n);
        }
        narrow
            .chunks(ms * 8)
            .take(count)
            .map(|c| {
                let mut out = vec![0u8; c.len()];
                g711::encode(law, c, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn g711_packets_of_any_duration_decode_whole() {
        for ms in [10usize, 30, 60, 120] {
            let mut dec = Decoder::new(CodecKind::Pcma).unwrap();
            let mut out = Vec::new();
            for p in g711_packets(Law::A, ms, 3000 / ms) {
                assert_eq!(dec.payload_samples(&p), Some(ms * 48));
                let mut buf = [0i16; MAX_PACKET_SAMPLES];
                assert_eq!(dec.decode_into(&p, &mut buf).unwrap(), ms * 48);
                out.extend_from_slice(&buf[..ms * 48]);
            }
            assert_eq!(out.len(), 3000 * 48);
            assert_eq!(
                detect_tones(&out[FRAME..], SAMPLE_RATE, &[700.0, 1500.0]),
                vec![true, false],
                "{ms} ms"
            );
            assert!((level_dbfs(&out[FRAME..]) + 15.0).abs() < 1.0, "{ms} ms");
        }
    }

    #[test]
    fn opus_packets_of_40_and_60_ms_decode_whole() {
        for ms in [40usize, 60] {
            let samples = ms * 48;
            let mut enc =
                opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                    .unwrap();
            let mut dec = Decoder::new(CodecKind::Opus).unwrap();
            let mut gen = ToneGenerator::new(500.0, -12.0);
            let mut out = Vec::new();
            for _ in 0..(2000 / ms) {
                let mut pcm = vec![0i16; samples];
                for f in pcm.chunks_mut(FRAME) {
                    let mut frame = [0i16; FRAME];
                    gen.fill(&mut frame);
                    f.copy_from_slice(&frame[..f.len()]);
                }
                let mut packet = [0u8; 1500];
                let n = enc.encode(&pcm, &mut packet).unwrap();
                assert_eq!(dec.payload_samples(&packet[..n]), Some(samples));
                let mut buf = [0i16; MAX_PACKET_SAMPLES];
                assert_eq!(dec.decode_into(&packet[..n], &mut buf).unwrap(), samples);
                out.extend_from_slice(&buf[..samples]);
                // The 20 ms API refuses it rather than truncating.
                assert!(dec.decode(&packet[..n], &mut [0; FRAME]).is_err());
            }
            assert_eq!(
                detect_tones(&out[samples..], SAMPLE_RATE, &[500.0, 1500.0]),
                vec![true, false],
                "{ms} ms"
            );
        }
    }

    #[test]
    fn concealment_covers_any_duration() {
        let mut g = Decoder::new(CodecKind::Pcmu).unwrap();
        let p = &g711_packets(Law::Mu, 20, 1)[0];
        g.decode_into(p, &mut [0; FRAME]).unwrap();
        let mut buf = [0i16; MAX_PACKET_SAMPLES];
        // 30 ms, then 25 ms (whole 8 kHz samples), then nothing.
        assert_eq!(g.conceal_into(None, &mut buf[..1440]).unwrap(), 1440);
        assert!(level_dbfs(&buf[..1440]) > -30.0);
        assert_eq!(g.conceal_into(None, &mut buf[..1203]).unwrap(), 1200);
        assert_eq!(g.conceal_into(None, &mut buf[..5]).unwrap(), 0);
        // After 100 ms it has faded to silence.
        g.conceal_into(None, &mut buf[..4800]).unwrap();
        assert!(buf[4000..4800].iter().all(|&s| s == 0));

        let mut o = Decoder::new(CodecKind::Opus).unwrap();
        assert_eq!(o.conceal_into(None, &mut buf[..2880]).unwrap(), 2880);
        // Opus conceals in 2.5 ms steps.
        assert_eq!(o.conceal_into(None, &mut buf[..1000]).unwrap(), 960);
        assert_eq!(o.conceal_into(None, &mut buf[..100]).unwrap(), 0);
    }

    #[test]
    fn payload_samples_rejects_garbage_without_panicking() {
        let o = Decoder::new(CodecKind::Opus).unwrap();
        assert_eq!(o.payload_samples(&[]), None);
        // Code 3 with zero frames is invalid.
        assert_eq!(o.payload_samples(&[0x03, 0x00]), None);
        // 20 ms CELT: 960 samples.
        assert_eq!(o.payload_samples(&[0xF8, 0x00]), Some(960));
        let g = Decoder::new(CodecKind::Pcma).unwrap();
        assert_eq!(g.payload_samples(&[]), None);
        assert_eq!(g.payload_samples(&[0xD5; 961]), None, "over 120 ms");
        let mut dec = Decoder::new(CodecKind::Opus).unwrap();
        let mut buf = [0i16; MAX_PACKET_SAMPLES];
        for len in 1..200usize {
            let junk: Vec<u8> = (0..len).map(|i| (i * 89 + len * 7) as u8).collect();
            let _ = dec.payload_samples(&junk);
            let _ = dec.decode_into(&junk, &mut buf);
            let _ = dec.decode_into(&junk, &mut buf[..10]);
            let _ = dec.conceal_into(Some(&junk), &mut buf[..960]);
        }
    }
}
