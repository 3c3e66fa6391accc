//! Microphone processing with webrtc-audio-processing (A2): echo cancellation with what is played
//! as the far-end reference, noise suppression and automatic gain control, each switchable in the
//! config's `[phone]` section.
//!
//! The module works on 10 ms frames at 48 kHz (480 samples, f32 in -1..1). One processor is shared
//! by the capture side (near end) and the playback side (far end).
//!
//! The configuration types come from `webrtc-audio-processing`; the per-frame calls go straight
//! to its `-sys` functions with the one channel pointer on the stack, because the wrapper's
//! `process_*_frame` collects the channel pointers into a new `Vec` every 10 ms and the media
//! path must not allocate.

use std::sync::Arc;

use webrtc_audio_processing::{
    Config, EchoCancellation, EchoCancellationSuppressionLevel, GainControl, GainControlMode,
    NoiseSuppression, NoiseSuppressionLevel, NUM_SAMPLES_PER_FRAME,
};
use webrtc_audio_processing_sys as ffi;

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

/// One webrtc AudioProcessing instance, deleted when the last user drops it.
struct RawProcessor(*mut ffi::AudioProcessing);

// SAFETY: webrtc's AudioProcessing locks internally between its capture and render sides (the
// wrapper crate declares the same); we never hand the pointer out.
unsafe impl Send for RawProcessor {}
// SAFETY: as above.
unsafe impl Sync for RawProcessor {}

impl Drop for RawProcessor {
    fn drop(&mut self) {
        // SAFETY: created by audio_processing_create, non-null, deleted once (Arc's last drop).
        unsafe { ffi::audio_processing_delete(self.0) }
    }
}

/// The shared processor, or nothing when every stage is off.
#[derive(Clone)]
pub struct VoiceProcessor {
    inner: Option<Arc<RawProcessor>>,
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
        let init = ffi::InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            enable_experimental_agc: false,
            enable_intelligibility_enhancer: false,
        };
        let mut code = 0;
        // SAFETY: `init` and `code` outlive the call; a null result is handled.
        let raw = unsafe { ffi::audio_processing_create(&init, &mut code) };
        if raw.is_null() {
            return Err(AudioError(format!(
                "audio processing could not start (webrtc error {code})"
            )));
        }
        let processor = RawProcessor(raw);
        let config: ffi::Config = config_for(settings).into();
        // SAFETY: a live processor and a config that outlives the call.
        unsafe { ffi::set_config(processor.0, &config) };
        Ok(VoiceProcessor {
            inner: Some(Arc::new(processor)),
        })
    }

    /// Process 10 ms of microphone signal in place (echo removed, noise suppressed, gain set).
    pub fn capture(&mut self, frame: &mut [f32]) {
        if let Some(p) = &self.inner {
            if frame.len() == PROCESS_FRAME {
                let mut channels = [frame.as_mut_ptr()];
                // SAFETY: one channel of exactly NUM_SAMPLES_PER_FRAME samples, as the processor
                // was created with; the pointers live through the call.
                let code = unsafe { ffi::process_capture_frame(p.0, channels.as_mut_ptr()) };
                // SAFETY: a plain function of an int.
                if !unsafe { ffi::is_success(code) } {
                    tracing::debug!("capture processing: webrtc error {code}");
                }
            }
        }
    }

    /// Feed 10 ms of what is played (the echo canceller's far-end reference). `frame` may be
    /// changed by the processor: pass a copy of what goes to the speaker.
    pub fn render(&mut self, frame: &mut [f32]) {
        if let Some(p) = &self.inner {
            if frame.len() == PROCESS_FRAME {
                let mut channels = [frame.as_mut_ptr()];
                // SAFETY: as in `capture`.
                let code = unsafe { ffi::process_render_frame(p.0, channels.as_mut_ptr()) };
                // SAFETY: a plain function of an int.
                if !unsafe { ffi::is_success(code) } {
                    tracing::debug!("render processing: webrtc error {code}");
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
