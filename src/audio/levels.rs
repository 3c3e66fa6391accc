//! Level meters shared between the media path (which measures) and the UI (which shows): two
//! atomics, so neither side ever waits for the other.

use std::sync::atomic::{AtomicU32, Ordering};

/// The latest microphone and speaker levels, 0.0 (silence) to 1.0 (full scale).
#[derive(Debug, Default)]
pub struct LevelMeters {
    mic: AtomicU32,
    speaker: AtomicU32,
}

impl LevelMeters {
    /// Record the level of the frame just captured (after processing).
    pub fn set_mic(&self, level: f32) {
        self.mic.store(level.to_bits(), Ordering::Relaxed);
    }

    /// Record the level of the frame just played.
    pub fn set_speaker(&self, level: f32) {
        self.speaker.store(level.to_bits(), Ordering::Relaxed);
    }

    /// The latest microphone level.
    pub fn mic(&self) -> f32 {
        f32::from_bits(self.mic.load(Ordering::Relaxed))
    }

    /// The latest speaker level.
    pub fn speaker(&self) -> f32 {
        f32::from_bits(self.speaker.load(Ordering::Relaxed))
    }
}

/// The level of a frame for a meter: its RMS in dBFS mapped from -60..0 dB onto 0..1, so speech
/// moves the bar and background noise stays near the left.
pub fn meter_level(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        return 0.0;
    }
    let db = 20.0 * rms.log10();
    ((db + 60.0) / 60.0).clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_zero_and_full_scale_is_one() {
        assert_eq!(meter_level(&[0; 480]), 0.0);
        assert_eq!(meter_level(&[]), 0.0);
        let full: Vec<i16> = (0..480)
            .map(|i| if i % 2 == 0 { i16::MAX } else { -i16::MAX })
            .collect();
        assert!(meter_level(&full) > 0.99);
    }

    #[test]
    fn minus_twenty_dbfs_is_two_thirds() {
        // A square wave at 0.1 of full scale has an RMS of -20 dBFS.
        let quiet: Vec<i16> = (0..480)
            .map(|i| if i % 2 == 0 { 3277 } else { -3277 })
            .collect();
        let level = meter_level(&quiet);
        assert!((level - 2.0 / 3.0).abs() < 0.01, "{level}");
    }

    #[test]
    fn meters_keep_the_last_value() {
        let m = LevelMeters::default();
        m.set_mic(0.25);
        m.set_speaker(0.75);
        assert_eq!((m.mic(), m.speaker()), (0.25, 0.75));
    }
}
