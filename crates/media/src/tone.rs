//! Sine tone generation, Goertzel tone detection and signal level.

use crate::Frame;

/// Continuous sine generator (phase carries over between frames).
pub struct ToneGenerator {}

impl ToneGenerator {
    /// A sine at `freq_hz` with peak amplitude `amplitude_dbfs` (0 dBFS = full scale).
    pub fn new(freq_hz: f32, amplitude_dbfs: f32) -> Self {
        let _ = (freq_hz, amplitude_dbfs);
        todo!()
    }
    /// Fill the next frame.
    pub fn fill(&mut self, out: &mut Frame) {
        let _ = out;
        todo!()
    }
}

/// Goertzel power of `freq_hz` in `samples`, normalised so a full-scale sine gives ~1.0.
pub fn goertzel_power(samples: &[i16], freq_hz: f32, rate: u32) -> f32 {
    let _ = (samples, freq_hz, rate);
    todo!()
}

/// Which of `freqs` are present in `samples` (each clearly above the rest of the spectrum).
pub fn detect_tones(samples: &[i16], rate: u32, freqs: &[f32]) -> Vec<bool> {
    let _ = (samples, rate, freqs);
    todo!()
}

/// RMS level in dBFS (full-scale sine ≈ -3 dBFS); silence gives a very low value.
pub fn level_dbfs(samples: &[i16]) -> f32 {
    let _ = samples;
    todo!()
}
