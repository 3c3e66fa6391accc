//! Looped audio sources for music on hold and ringback (SPEC A4): loaded once from `assets/`
//! (any WAV, converted to 48 kHz mono), or a generated soft tone pattern when the file is missing.

use std::f32::consts::TAU;
use std::path::Path;
use std::sync::Arc;

use agentphone_media::{Frame, FRAME, SAMPLE_RATE};

/// A loop of 48 kHz mono samples, shared by every leg that plays it; each leg keeps its own position.
#[derive(Clone)]
pub struct LoopedAudio {
    samples: Arc<[i16]>,
}

impl LoopedAudio {
    /// Samples as a loop. An empty slice plays silence.
    pub fn new(samples: Vec<i16>) -> Self {
        LoopedAudio {
            samples: samples.into(),
        }
    }

    /// Load a WAV file; on any problem log a warning and use `fallback`.
    pub fn load_or(path: &Path, what: &str, fallback: impl FnOnce() -> Vec<i16>) -> Self {
        match agentphone_media::wav::read_mono_48k(path) {
            Ok(samples) if !samples.is_empty() => LoopedAudio::new(samples),
            Ok(_) => {
                tracing::warn!(path = %path.display(), "{what} file is empty; using a generated tone");
                LoopedAudio::new(fallback())
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot load {what}; using a generated tone");
                LoopedAudio::new(fallback())
            }
        }
    }

    /// Copy the next 20 ms from `*pos` into `out`, wrapping around; no allocation.
    pub fn fill(&self, pos: &mut usize, out: &mut Frame) {
        let len = self.samples.len();
        if len == 0 {
            out.fill(0);
            return;
        }
        let mut written = 0;
        while written < FRAME {
            let start = *pos % len;
            let n = (FRAME - written).min(len - start);
            if let (Some(dst), Some(src)) = (
                out.get_mut(written..written + n),
                self.samples.get(start..start + n),
            ) {
                dst.copy_from_slice(src);
            }
            written += n;
            *pos = (start + n) % len;
        }
    }
}

/// A soft two-note pattern (A4, C#5, E5, rests) at about -24 dBFS, 4 s long: the fallback music.
pub fn fallback_music() -> Vec<i16> {
    let notes: [(f32, f32); 8] = [
        (440.0, 0.4),
        (554.4, 0.4),
        (659.3, 0.4),
        (0.0, 0.4),
        (659.3, 0.4),
        (554.4, 0.4),
        (440.0, 0.8),
        (0.0, 0.8),
    ];
    let mut out = Vec::new();
    for (freq, secs) in notes {
        push_note(&mut out, freq, secs, 0.06);
    }
    out
}

/// Ringback: 440 Hz + 480 Hz, 2 s on, 4 s off (the North American cadence), at about -20 dBFS.
pub fn fallback_ringback() -> Vec<i16> {
    let on = (SAMPLE_RATE as f32 * 2.0) as usize;
    let off = (SAMPLE_RATE as f32 * 4.0) as usize;
    let mut out = Vec::with_capacity(on + off);
    for n in 0..on {
        let t = n as f32 / SAMPLE_RATE as f32;
        let v = 0.05 * ((TAU * 440.0 * t).sin() + (TAU * 480.0 * t).sin());
        out.push((v * i16::MAX as f32) as i16);
    }
    out.resize(on + off, 0);
    out
}

/// A note with 10 ms fades (no clicks); freq 0 = rest.
fn push_note(out: &mut Vec<i16>, freq: f32, secs: f32, amplitude: f32) {
    let n = (SAMPLE_RATE as f32 * secs) as usize;
    let fade = (SAMPLE_RATE / 100) as usize;
    for i in 0..n {
        let t = i as f32 / SAMPLE_RATE as f32;
        let env = (i.min(n - i) as f32 / fade as f32).min(1.0);
        let v = if freq > 0.0 {
            amplitude * env * (TAU * freq * t).sin()
        } else {
            0.0
        };
        out.push((v * i16::MAX as f32) as i16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_wraps_around_short_loops() {
        let audio = LoopedAudio::new((0..500).map(|i| i as i16).collect());
        let mut pos = 0;
        let mut frame = [0i16; FRAME];
        audio.fill(&mut pos, &mut frame);
        assert_eq!(frame[499], 499);
        assert_eq!(frame[500], 0);
        assert_eq!(frame[959], 459);
        assert_eq!(pos, 460);
    }

    #[test]
    fn missing_file_falls_back_to_a_tone() {
        let audio = LoopedAudio::load_or(
            Path::new("/nonexistent/moh.wav"),
            "music on hold",
            fallback_music,
        );
        let mut pos = 0;
        let mut frame = [0i16; FRAME];
        audio.fill(&mut pos, &mut frame);
        assert!(frame.iter().any(|&s| s != 0));
    }
}
