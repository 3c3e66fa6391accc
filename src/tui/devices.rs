//! Opening the audio devices for the terminal UI: on success the engine's microphone and speaker
//! are the devices and the level meters are wired; without a usable device the UI still runs and
//! says so (A5), with silence sent and nothing played.

use std::path::Path;

use super::model::AudioStatus;
use super::wiring::TuiOptions;
use crate::audio::device;
use crate::audio::{SinkSpec, SourceSpec};
use crate::config_file::PhoneSection;
use crate::phone::PhoneConfig;

/// The audio devices as `agentphone devices` lists them, without what the audio library prints
/// on stderr while it probes ("ALSA lib … Cannot get card index", JACK's complaints): that goes
/// to the log (issue 10 #9).
pub fn list() -> Result<String, String> {
    super::quiet_stderr::run(device::list).map_err(|e| e.to_string())
}

/// Open the devices `section` asks for and point `config` at them; record the outcome in
/// `options`.
pub fn attach(config: &mut PhoneConfig, options: &mut TuiOptions, section: &PhoneSection) {
    let mut settings = section.device_settings();
    if settings.ring_tone.is_none() {
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ring-tone.wav");
        settings.ring_tone = bundled.is_file().then_some(bundled);
    }
    // ALSA's own complaints must not land on the terminal before the UI (issue 10 #9).
    match super::quiet_stderr::run(|| device::open(&settings)) {
        Ok(link) => {
            tracing::info!("audio devices: {}", link.description());
            options.levels = Some(link.levels());
            options.ringing = Some(link.ringing());
            options.audio = Some(AudioStatus::Ready);
            config.source = SourceSpec::Device(link.clone());
            config.sink = SinkSpec::Device(link);
        }
        Err(e) => {
            tracing::warn!("no audio device: {e}");
            options.audio = Some(AudioStatus::NoDevice {
                message: first_sentence(&e.to_string()),
            });
            config.source = SourceSpec::Silence;
            config.sink = SinkSpec::Null;
        }
    }
}

/// The first sentence of an error (cpal's ALSA errors go on to explain "for example, …").
fn first_sentence(text: &str) -> String {
    match text.find(". ") {
        Some(i) => text[..i].to_string(),
        None => text.trim_end_matches('.').to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_device_errors_are_cut_to_their_first_sentence() {
        assert_eq!(
            super::first_sentence("input default: The device is gone. For example, unplugged."),
            "input default: The device is gone"
        );
        assert_eq!(
            super::first_sentence("no default input device"),
            "no default input device"
        );
    }
}
