//! Audio codecs: Opus (48 kHz mono, 20 ms) and G.711 PCMU/PCMA (8 kHz; resampled 48k↔8k here).

use crate::g711::{self, Law};
use crate::resample::{Downsampler48to8, Upsampler8to48, FRAME_8K};
use crate::{Frame, MediaError, FRAME, SAMPLE_RATE};

/// Opus target bitrate: high enough that in-band FEC is actually produced.
const OPUS_BITRATE: i32 = 32_000;
/// Expected loss hint: makes the encoder spend bits on FEC.
const OPUS_LOSS_PERC: i32 = 10;
const OPUS_COMPLEXITY: i32 = 5;
/// G.711 concealment: gain applied per consecutive lost frame, and how many repeats before silence.
const G711_PLC_DECAY: f32 = 0.7;
const G711_PLC_MAX_REPEATS: u32 = 5;

/// The codecs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// Opus, 48 kHz mono, 20 ms.
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

    fn law(self) -> Option<Law> {
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
}

impl Encoder {
    /// A new encoder for `kind` (Opus: VOIP, 32 kb/s, FEC on, 10 % loss hint, complexity 5).
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        let inner = match kind.law() {
            None => {
                let mut enc =
                    opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                        .map_err(opus_err)?;
                enc.set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
                    .map_err(opus_err)?;
                enc.set_inband_fec(true).map_err(opus_err)?;
                enc.set_packet_loss_perc(OPUS_LOSS_PERC).map_err(opus_err)?;
                enc.set_complexity(OPUS_COMPLEXITY).map_err(opus_err)?;
                EncoderImpl::Opus(enc)
            }
            Some(law) => EncoderImpl::G711 {
                law,
                down: Box::new(Downsampler48to8::new()),
                narrow: Box::new([0; FRAME_8K]),
            },
        };
        Ok(Encoder { kind, inner })
    }

    /// Which codec.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Encode one frame into `out`; returns the payload length.
    pub fn encode(&mut self, pcm: &Frame, out: &mut [u8]) -> Result<usize, MediaError> {
        match &mut self.inner {
            EncoderImpl::Opus(enc) => enc.encode(pcm, out).map_err(opus_err),
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

    /// RTP timestamp increment per frame (20 ms at the codec clock).
    pub fn timestamp_step(&self) -> u32 {
        self.kind.clock() / 50
    }
}

enum DecoderImpl {
    Opus(opus::Decoder),
    G711 {
        law: Law,
        up: Box<Upsampler8to48>,
        narrow: Box<[i16; FRAME_8K]>,
        /// Consecutive concealed frames (for the fade-out).
        lost_run: u32,
    },
}

/// Decodes 20 ms frames.
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
                narrow: Box::new([0; FRAME_8K]),
                lost_run: 0,
            },
        };
        Ok(Decoder { kind, inner })
    }

    /// Which codec.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Decode one payload into a frame. Payloads of another duration than 20 ms are an error
    /// (shorter G.711 payloads are zero-padded).
    pub fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<(), MediaError> {
        match &mut self.inner {
            DecoderImpl::Opus(dec) => {
                if payload.is_empty() {
                    return Err(MediaError::Malformed("empty Opus payload".into()));
                }
                let samples =
                    opus::packet::get_nb_samples(payload, SAMPLE_RATE).map_err(opus_err)?;
                if samples > FRAME {
                    return Err(MediaError::Unsupported(format!(
                        "Opus packet of {samples} samples (only 20 ms frames)"
                    )));
                }
                let n = dec.decode(payload, out, false).map_err(opus_err)?;
                out.get_mut(n..).into_iter().flatten().for_each(|s| *s = 0);
                Ok(())
            }
            DecoderImpl::G711 {
                law,
                up,
                narrow,
                lost_run,
            } => {
                if payload.len() > FRAME_8K {
                    return Err(MediaError::Unsupported(format!(
                        "G.711 payload of {} bytes (only 20 ms frames)",
                        payload.len()
                    )));
                }
                let n = g711::decode(*law, payload, &mut narrow[..]);
                narrow[n..].fill(0);
                *lost_run = 0;
                up.process(narrow, out);
                Ok(())
            }
        }
    }

    /// A frame for a lost packet: Opus in-band FEC from the next packet when there, else PLC.
    /// G.711 repeats the last frame, fading out, then goes silent.
    pub fn conceal(
        &mut self,
        next_payload: Option<&[u8]>,
        out: &mut Frame,
    ) -> Result<(), MediaError> {
        match &mut self.inner {
            DecoderImpl::Opus(dec) => {
                let n = match next_payload {
                    Some(next) if !next.is_empty() => dec.decode(next, out, true),
                    _ => dec.decode(&[], out, false),
                }
                .map_err(opus_err)?;
                out.get_mut(n..).into_iter().flatten().for_each(|s| *s = 0);
                Ok(())
            }
            DecoderImpl::G711 {
                up,
                narrow,
                lost_run,
                ..
            } => {
                *lost_run += 1;
                if *lost_run > G711_PLC_MAX_REPEATS {
                    narrow.fill(0);
                } else {
                    for s in narrow.iter_mut() {
                        *s = (f32::from(*s) * G711_PLC_DECAY) as i16;
                    }
                }
                up.process(narrow, out);
                Ok(())
            }
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

    /// In-band FEC really is in the packets: recovering a lost frame from the next packet is
    /// closer to the real frame than plain PLC.
    #[test]
    fn opus_fec_recovers_better_than_plc() {
        // Speech-like: a tone whose pitch and level change every frame, so PLC cannot just
        // continue the waveform.
        let mut enc = Encoder::new(CodecKind::Opus).unwrap();
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
        let (fec_err, plc_err) = (error(&recover(true)), error(&recover(false)));
        assert!(
            fec_err < plc_err * 0.5,
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
}
