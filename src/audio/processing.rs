//! Microphone processing with webrtc-audio-processing (A2): echo cancellation with what is played
//! as the far-end reference, noise suppression and automatic gain control, each switchable in the
//! config's `[phone]` section.
//!
//! The module works on 10 ms frames at 48 kHz (480 samples, f32 in -1..1). One processor is shared
//! by the capture side (near end) and the playback side (far end): `Processor` clones share the
//! same webrtc instance.
//!
//! Note: the crate's wrapper collects one channel pointer into a `Vec` per frame (one tiny
//! allocation per 10 ms on the media thread, never in a device callback).

use webrtc_audio_processing::{
    Config, EchoCancellation, EchoCancellationSuppressionLevel, GainControl, GainControlMode,
    InitializationConfig, NoiseSuppression, NoiseSuppressionLevel, Processor,
    NUM_SAMPLES_PER_FRAME,
};

use super::AudioError;

/// Samples in one processing frame (10 ms at 48 kHz).
pub const PROCESS_FRAME: usize = NUM_SAMPLES_PER_FRAME as usize;

/// Which stages run (the `[phone]` keys `echo_cancellation`, `noise_suppression`,
/// `gain_control`; all on by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessingSettings {
    /// Acoustic echo cancellation, far end = the played signal.
    pub echo_cancellation: bool,
    /// Noise suppression.
    pub noise_suppression: bool,
    /// Automatic gain control.
    pub gain_control: bool,
}

impl Default for ProcessingSettings {
    fn default() -> Self {
        ProcessingSettings {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
        }
    }
}

impl ProcessingSettings {
    /// True when at least one stage is on.
    pub fn any(&self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.gain_control
    }
}

/// The shared processor, or nothing when every stage is off.
#[derive(Clone)]
pub struct VoiceProcessor {
    inner: Option<Processor>,
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor")
            .field("active", &self.inner.is_some())
            .finish()
    }
}

impl VoiceProcessor {
    /// A mono processor with the given stages.
    pub fn new(settings: ProcessingSettings) -> Result<Self, AudioError> {
        if !settings.any() {
            return Ok(VoiceProcessor { inner: None });
        }
        let init = InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            enable_experimental_agc: false,
            enable_intelligibility_enhancer: false,
        };
        let mut processor =
            Processor::new(&init).map_err(|e| AudioError(format!("audio processing: {e}")))?;
        processor.set_config(config_for(settings));
        Ok(VoiceProcessor {
            inner: Some(processor),
        })
    }

    /// Process 10 ms of microphone signal in place (echo removed, noise suppressed, gain set).
    pub fn capture(&mut self, frame: &mut [f32]) {
        if let Some(p) = self.inner.as_mut() {
            if frame.len() == PROCESS_FRAME {
                if let Err(e) = p.process_capture_frame(frame) {
                    tracing::debug!("capture processing: {e}");
                }
            }
        }
    }

    /// Feed 10 ms of what is played (the echo canceller's far-end reference). `frame` may be
    /// changed by the processor: pass a copy of what goes to the speaker.
    pub fn render(&mut self, frame: &mut [f32]) {
        if let Some(p) = self.inner.as_mut() {
            if frame.len() == PROCESS_FRAME {
                if let Err(e) = p.process_render_frame(frame) {
                    tracing::debug!("render processing: {e}");
                }
            }
        }
    }
}

/// The webrtc configuration for `settings`.
fn config_for(settings: ProcessingSettings) -> Config {
    Config {
        echo_cancellation: settings.echo_cancellation.then_some(EchoCancellation {
            suppression_level: EchoCancellationSuppressionLevel::High,
            enable_extended_filter: true,
            // The device round trip is not measured: let the canceller find the delay itself.
            enable_delay_agnostic: true,
            stream_delay_ms: None,
        }),
        noise_suppression: settings.noise_suppression.then_some(NoiseSuppression {
            suppression_level: NoiseSuppressionLevel::High,
        }),
        gain_control: settings.gain_control.then_some(GainControl {
            mode: GainControlMode::AdaptiveDigital,
            target_level_dbfs: 3,
            compression_gain_db: 9,
            enable_limiter: true,
        }),
        enable_high_pass_filter: true,
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, start: usize, amp: f32) -> Vec<f32> {
        (0..PROCESS_FRAME)
            .map(|i| {
                amp * (2.0 * std::f32::consts::PI * freq * (start + i) as f32 / 48_000.0).sin()
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn all_off_passes_audio_through_untouched() {
        let mut p = VoiceProcessor::new(ProcessingSettings {
            echo_cancellation: false,
            noise_suppression: false,
            gain_control: false,
        })
        .unwrap();
        let original = tone(440.0, 0, 0.3);
        let mut frame = original.clone();
        p.capture(&mut frame);
        assert_eq!(frame, original);
    }

    #[test]
    fn echo_canceller_removes_the_played_signal_from_the_microphone() {
        let mut p = VoiceProcessor::new(ProcessingSettings {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        })
        .unwrap();
        // The microphone hears exactly what is played (a perfect, delay-free echo path) for 4 s.
        let mut last = 1.0;
        let mut first = 0.0;
        for n in 0..400 {
            let played = tone(700.0, n * PROCESS_FRAME, 0.3);
            let mut far = played.clone();
            p.render(&mut far);
            let mut near: Vec<f32> = played.iter().map(|v| v * 0.5).collect();
            p.capture(&mut near);
            if n == 0 {
                first = rms(&played) * 0.5;
            }
            last = rms(&near);
        }
        assert!(
            last < first * 0.25,
            "echo left after 4 s: rms {last} vs {first} before processing"
        );
    }
}
