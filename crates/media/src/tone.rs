//! Sine tone generation, Goertzel tone detection and signal level.

use crate::Frame;
use std::f64::consts::TAU;

/// How far above the off-frequency probes a tone's power must be to count as present.
const DETECT_MARGIN_DB: f32 = 15.0;
/// Minimum level (peak amplitude, dBFS) of a tone to count as present.
const DETECT_MIN_DBFS: f32 = -50.0;
/// Off-frequency probes: the "rest of the spectrum" a tone is compared with (speech band, so
/// signals that went through G.711 are judged fairly too).
const PROBES_HZ: [f32; 24] = [
    170.0, 230.0, 310.0, 370.0, 470.0, 530.0, 610.0, 730.0, 830.0, 970.0, 1130.0, 1270.0, 1410.0,
    1570.0, 1730.0, 1930.0, 2110.0, 2290.0, 2470.0, 2690.0, 2870.0, 3070.0, 3230.0, 3370.0,
];

/// Continuous sine generator (phase carries over between frames).
pub struct ToneGenerator {
    phase: f64,
    step: f64,
    amplitude: f64,
}

impl ToneGenerator {
    /// A sine at `freq_hz` with peak amplitude `amplitude_dbfs` (0 dBFS = full scale).
    pub fn new(freq_hz: f32, amplitude_dbfs: f32) -> Self {
        let amplitude = 32767.0 * 10f64.powf(f64::from(amplitude_dbfs.min(0.0)) / 20.0);
        ToneGenerator {
            phase: 0.0,
            step: TAU * f64::from(freq_hz) / f64::from(crate::SAMPLE_RATE),
            amplitude,
        }
    }

    /// Fill the next frame.
    pub fn fill(&mut self, out: &mut Frame) {
        for s in out.iter_mut() {
            *s = (self.phase.sin() * self.amplitude) as i16;
            self.phase += self.step;
            if self.phase >= TAU {
                self.phase -= TAU;
            }
        }
    }
}

/// Hann window value for sample `i` of `n`.
fn hann(i: usize, n: usize) -> f64 {
    if n < 2 {
        return 1.0;
    }
    0.5 - 0.5 * (TAU * i as f64 / (n - 1) as f64).cos()
}

/// Goertzel over already windowed samples; normalised for a Hann window so a full-scale sine
/// gives ~1.0 (i.e. the result is the squared peak amplitude relative to full scale).
fn goertzel_windowed(windowed: &[f64], freq_hz: f32, rate: u32) -> f32 {
    let n = windowed.len();
    if n == 0 || rate == 0 {
        return 0.0;
    }
    let coeff = 2.0 * (TAU * f64::from(freq_hz) / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in windowed {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    // A Hann-windowed sine of amplitude A gives |X| = A * N / 4.
    let scale = n as f64 / 4.0 * 32768.0;
    (power / (scale * scale)) as f32
}

fn windowed(samples: &[i16]) -> Vec<f64> {
    let n = samples.len();
    samples
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * hann(i, n))
        .collect()
}

/// Goertzel power of `freq_hz` in `samples` (Hann windowed), normalised so a full-scale sine at
/// that frequency gives ~1.0.
pub fn goertzel_power(samples: &[i16], freq_hz: f32, rate: u32) -> f32 {
    goertzel_windowed(&windowed(samples), freq_hz, rate)
}

/// Which of `freqs` are present in `samples` (each clearly above the rest of the spectrum).
///
/// A tone is present when its power is at least 15 dB above the median power of a set of
/// off-frequency probes and its level is above -50 dBFS. Probes close to any of `freqs`
/// (within the window's main lobe) are left out.
pub fn detect_tones(samples: &[i16], rate: u32, freqs: &[f32]) -> Vec<bool> {
    if samples.is_empty() || rate == 0 {
        return vec![false; freqs.len()];
    }
    let w = windowed(samples);
    // Hann main lobe half-width is 2 bins; keep probes well outside it.
    let exclusion_hz = (4.0 * rate as f32 / samples.len() as f32).max(40.0);
    let nyquist = rate as f32 / 2.0;
    let mut probe_powers: Vec<f32> = PROBES_HZ
        .iter()
        .copied()
        .filter(|p| *p < nyquist * 0.95)
        .filter(|p| freqs.iter().all(|f| (p - f).abs() > exclusion_hz))
        .map(|p| goertzel_windowed(&w, p, rate))
        .collect();
    if probe_powers.is_empty() {
        return vec![false; freqs.len()];
    }
    probe_powers.sort_by(f32::total_cmp);
    let median = probe_powers[probe_powers.len() / 2];
    let margin = 10f32.powf(DETECT_MARGIN_DB / 10.0);
    let min_power = 10f32.powf(DETECT_MIN_DBFS / 10.0);
    freqs
        .iter()
        .map(|&f| {
            let p = goertzel_windowed(&w, f, rate);
            p > min_power && p > median * margin
        })
        .collect()
}

/// RMS level in dBFS (a full-scale square wave is 0 dBFS, a full-scale sine ≈ -3 dBFS).
/// Silence and empty input give -120.
pub fn level_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-6 {
        -120.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FRAME, SAMPLE_RATE};

    fn tone_samples(freqs: &[f32], dbfs: f32, frames: usize) -> Vec<i16> {
        let mut gens: Vec<ToneGenerator> =
            freqs.iter().map(|&f| ToneGenerator::new(f, dbfs)).collect();
        let mut out = Vec::with_capacity(frames * FRAME);
        let mut buf = [0i16; FRAME];
        let mut acc = [0i32; FRAME];
        for _ in 0..frames {
            acc.fill(0);
            for g in gens.iter_mut() {
                g.fill(&mut buf);
                for (a, &s) in acc.iter_mut().zip(buf.iter()) {
                    *a += i32::from(s);
                }
            }
            out.extend(acc.iter().map(|&a| a.clamp(-32768, 32767) as i16));
        }
        out
    }

    #[test]
    fn generator_level_matches_request() {
        let s = tone_samples(&[1000.0], -6.0, 10);
        // sine RMS = peak - 3.01 dB
        assert!((level_dbfs(&s) - (-9.02)).abs() < 0.2, "{}", level_dbfs(&s));
    }

    #[test]
    fn goertzel_power_of_full_scale_sine_is_about_one() {
        let s = tone_samples(&[440.0], 0.0, 10);
        let p = goertzel_power(&s, 440.0, SAMPLE_RATE);
        assert!((0.9..1.1).contains(&p), "{p}");
        assert!(goertzel_power(&s, 1000.0, SAMPLE_RATE) < 1e-4);
    }

    #[test]
    fn detects_pure_tone_only() {
        let s = tone_samples(&[440.0], -20.0, 25);
        assert_eq!(
            detect_tones(&s, SAMPLE_RATE, &[440.0, 1000.0, 2000.0]),
            vec![true, false, false]
        );
    }

    #[test]
    fn detects_mixed_tones() {
        let s = tone_samples(&[440.0, 1000.0, 2500.0], -20.0, 25);
        assert_eq!(
            detect_tones(&s, SAMPLE_RATE, &[440.0, 700.0, 1000.0, 2500.0]),
            vec![true, false, true, true]
        );
    }

    #[test]
    fn silence_has_no_tones_and_low_level() {
        let s = vec![0i16; FRAME * 10];
        assert_eq!(detect_tones(&s, SAMPLE_RATE, &[440.0]), vec![false]);
        assert_eq!(level_dbfs(&s), -120.0);
        assert_eq!(detect_tones(&[], SAMPLE_RATE, &[440.0]), vec![false]);
    }

    #[test]
    fn very_quiet_tone_is_not_present() {
        let s = tone_samples(&[440.0], -60.0, 25);
        assert_eq!(detect_tones(&s, SAMPLE_RATE, &[440.0]), vec![false]);
    }

    #[test]
    fn white_noise_has_no_tones() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let s: Vec<i16> = (0..FRAME * 25)
            .map(|_| rng.gen_range(-8000..8000))
            .collect();
        assert_eq!(
            detect_tones(&s, SAMPLE_RATE, &[440.0, 1000.0, 2000.0]),
            vec![false, false, false]
        );
        assert!(level_dbfs(&s) > -20.0);
    }

    #[test]
    fn tone_in_noise_is_detected() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let mut s = tone_samples(&[1000.0], -20.0, 25);
        for x in s.iter_mut() {
            *x = x.saturating_add(rng.gen_range(-1000..1000));
        }
        assert_eq!(
            detect_tones(&s, SAMPLE_RATE, &[1000.0, 440.0]),
            vec![true, false]
        );
    }
}
