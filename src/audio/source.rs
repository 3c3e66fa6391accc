//! What the microphone sends: silence, a tone, or a WAV file played in a loop.

use std::path::{Path, PathBuf};

use agentphone_media::tone::ToneGenerator;
use agentphone_media::Frame;

use super::AudioError;

/// Level of generated tones: loud enough to detect, far from clipping.
const TONE_DBFS: f32 = -12.0;

/// Fills one 20 ms frame per tick.
pub trait AudioSource: Send {
    /// Write the next frame into `out`. Must not allocate or block.
    fn fill(&mut self, out: &mut Frame);
}

/// Which source to open; plain data so it can travel in a command.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum SourceSpec {
    /// Digital silence.
    #[default]
    Silence,
    /// A sine tone of this frequency in Hz.
    Tone(f32),
    /// A WAV file (any rate/channels, converted to 48 kHz mono), looped.
    Wav(PathBuf),
    /// The microphone of opened audio devices (taken once: a device has one reader).
    Device(super::device::DeviceLink),
}

impl SourceSpec {
    /// Open the source (reads the whole WAV file now, never in the tick).
    pub fn open(&self) -> Result<Box<dyn AudioSource>, AudioError> {
        Ok(match self {
            SourceSpec::Silence => Box::new(SilenceSource),
            SourceSpec::Tone(hz) => Box::new(ToneSource::new(*hz)?),
            SourceSpec::Wav(path) => Box::new(WavSource::open(path)?),
            SourceSpec::Device(link) => Box::new(link.take_source()?),
        })
    }
}

/// Sends zeros.
pub struct SilenceSource;

impl AudioSource for SilenceSource {
    fn fill(&mut self, out: &mut Frame) {
        out.fill(0);
    }
}

/// A continuous sine tone.
pub struct ToneSource {
    generator: ToneGenerator,
}

impl ToneSource {
    /// A tone of `freq_hz` (must be audible and below Nyquist).
    pub fn new(freq_hz: f32) -> Result<Self, AudioError> {
        if !(freq_hz.is_finite() && freq_hz > 0.0 && freq_hz < 24_000.0) {
            return Err(AudioError(format!(
                "tone frequency {freq_hz} Hz is out of range (0 < Hz < 24000)"
            )));
        }
        Ok(ToneSource {
            generator: ToneGenerator::new(freq_hz, TONE_DBFS),
        })
    }
}

impl AudioSource for ToneSource {
    fn fill(&mut self, out: &mut Frame) {
        self.generator.fill(out);
    }
}

/// A WAV file's samples, played in a loop.
pub struct WavSource {
    samples: Vec<i16>,
    pos: usize,
}

impl WavSource {
    /// Read and convert the whole file.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let samples = agentphone_media::wav::read_mono_48k(path)
            .map_err(|e| AudioError(format!("{}: {e}", path.display())))?;
        Ok(Self::from_samples(samples))
    }

    /// A looped source over `samples` (48 kHz mono). Empty = silence.
    pub fn from_samples(samples: Vec<i16>) -> Self {
        WavSource { samples, pos: 0 }
    }
}

impl AudioSource for WavSource {
    fn fill(&mut self, out: &mut Frame) {
        if self.samples.is_empty() {
            out.fill(0);
            return;
        }
        for sample in out.iter_mut() {
            if self.pos >= self.samples.len() {
                self.pos = 0;
            }
            *sample = self.samples.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_media::{FRAME, SAMPLE_RATE};

    #[test]
    fn wav_source_loops_over_its_samples() {
        let mut src = WavSource::from_samples(vec![1, 2, 3]);
        let mut frame = [0i16; FRAME];
        src.fill(&mut frame);
        assert_eq!(&frame[..7], &[1, 2, 3, 1, 2, 3, 1]);
        // The loop continues across frames: FRAME = 960 = 3 * 320, so the next frame starts at 1.
        src.fill(&mut frame);
        assert_eq!(frame[0], 1);
    }

    #[test]
    fn empty_wav_source_is_silence() {
        let mut src = WavSource::from_samples(Vec::new());
        let mut frame = [7i16; FRAME];
        src.fill(&mut frame);
        assert!(frame.iter().all(|&s| s == 0));
    }

    #[test]
    fn tone_source_produces_its_frequency() {
        let mut src = ToneSource::new(700.0).unwrap();
        let mut all = Vec::new();
        let mut frame = [0i16; FRAME];
        for _ in 0..10 {
            src.fill(&mut frame);
            all.extend_from_slice(&frame);
        }
        let found = agentphone_media::tone::detect_tones(&all, SAMPLE_RATE, &[700.0, 1100.0]);
        assert_eq!(found, vec![true, false]);
    }

    #[test]
    fn bad_tone_frequency_is_refused() {
        assert!(ToneSource::new(0.0).is_err());
        assert!(ToneSource::new(f32::NAN).is_err());
        assert!(ToneSource::new(30_000.0).is_err());
    }

    #[test]
    fn missing_wav_file_names_the_path() {
        let err = SourceSpec::Wav("/nonexistent/x.wav".into())
            .open()
            .err()
            .unwrap();
        assert!(err.0.contains("/nonexistent/x.wav"), "{err}");
    }
}
