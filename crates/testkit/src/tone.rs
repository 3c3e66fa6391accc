//! What was heard: tone (Goertzel) and level analysis of recordings, on top of
//! `agentphone_media::tone`, and WAV files of test tones.

use agentphone_media::tone;
use std::path::Path;

/// Analysis window: 100 ms, long enough for a sharp Goertzel bin, short enough to see gaps.
const WINDOWS_PER_SECOND: usize = 10;
/// Skip the start of each phase recording (half a second): jitter buffer fill and the phase
/// change itself.
const SETTLE_DIVISOR: usize = 2;

/// The fundamentals of the music-on-hold arpeggio (assets/make-assets.sh).
pub const MOH_NOTES: [f32; 8] = [220.0, 261.63, 293.66, 329.63, 349.23, 392.0, 440.0, 523.25];

/// A recording cut into windows, with which test tones each window contains.
pub struct Heard {
    pub path: String,
    windows: Vec<Vec<bool>>,
    levels: Vec<f32>,
    freqs: Vec<f32>,
}

impl Heard {
    /// Analyse `path` for each of `freqs` (all the tones in play in the test).
    pub fn analyse(path: &Path, freqs: &[f32]) -> Heard {
        let (spec, all) = read_wav(path);
        let rate = spec.sample_rate;
        // Other peers' recordings (baresip) may be stereo: the first channel is enough.
        let samples: Vec<i16> = all
            .into_iter()
            .step_by(usize::from(spec.channels.max(1)))
            .collect();
        let body = samples.get(rate as usize / SETTLE_DIVISOR..).unwrap_or(&[]);
        let window = rate as usize / WINDOWS_PER_SECOND;
        let mut windows = Vec::new();
        let mut levels = Vec::new();
        for w in body.chunks_exact(window) {
            windows.push(tone::detect_tones(w, rate, freqs));
            levels.push(tone::level_dbfs(w));
        }
        Heard {
            path: path.display().to_string(),
            windows,
            levels,
            freqs: freqs.to_vec(),
        }
    }

    /// Share of windows in which `freq` was detected.
    pub fn share(&self, freq: f32) -> f32 {
        let i = self
            .freqs
            .iter()
            .position(|f| *f == freq)
            .unwrap_or_else(|| panic!("{freq} Hz was not analysed"));
        if self.windows.is_empty() {
            return 0.0;
        }
        let n = self.windows.iter().filter(|w| w[i]).count();
        n as f32 / self.windows.len() as f32
    }

    /// Share of windows louder than `dbfs`.
    pub fn share_louder_than(&self, dbfs: f32) -> f32 {
        if self.levels.is_empty() {
            return 0.0;
        }
        self.levels.iter().filter(|l| **l > dbfs).count() as f32 / self.levels.len() as f32
    }

    pub fn seconds(&self) -> f32 {
        self.windows.len() as f32 / WINDOWS_PER_SECOND as f32
    }

    fn summary(&self) -> String {
        let shares: Vec<String> = self
            .freqs
            .iter()
            .map(|f| format!("{f} Hz: {:.0}%", 100.0 * self.share(*f)))
            .collect();
        format!(
            "{} ({:.1} s analysed; {}; louder than -45 dBFS: {:.0}%)",
            self.path,
            self.seconds(),
            shares.join(", "),
            100.0 * self.share_louder_than(-45.0)
        )
    }

    /// The tone was heard through most of the phase.
    pub fn assert_hears(&self, freq: f32, who: &str) {
        assert!(
            self.seconds() >= 1.0,
            "recording too short: {}",
            self.summary()
        );
        assert!(
            self.share(freq) >= 0.7,
            "{who} should be heard ({freq} Hz) in {}",
            self.summary()
        );
    }

    /// The tone was (almost) never heard during the phase.
    pub fn assert_not_hears(&self, freq: f32, who: &str) {
        assert!(
            self.seconds() >= 1.0,
            "recording too short: {}",
            self.summary()
        );
        assert!(
            self.share(freq) <= 0.05,
            "{who} should NOT be heard ({freq} Hz) in {}",
            self.summary()
        );
    }

    /// Some sound (music on hold, speech) through most of the phase.
    pub fn assert_sound(&self, what: &str) {
        assert!(
            self.share_louder_than(-45.0) >= 0.7,
            "{what} expected in {}",
            self.summary()
        );
    }

    /// Music on hold: at least four different notes of the arpeggio stand out during the phase,
    /// which neither a test tone nor noise would do.
    pub fn assert_music_on_hold(&self, path: &Path) {
        let notes = Heard::analyse(path, &MOH_NOTES);
        let distinct = MOH_NOTES.iter().filter(|f| notes.share(**f) > 0.0).count();
        assert!(
            distinct >= 4 && notes.share_louder_than(-45.0) >= 0.7,
            "music on hold expected: {} of {} notes heard in {}",
            distinct,
            MOH_NOTES.len(),
            notes.summary()
        );
    }

    /// Silence: nothing louder than -50 dBFS in almost every window.
    pub fn assert_silent(&self, what: &str) {
        assert!(
            self.share_louder_than(-50.0) <= 0.05,
            "{what}: expected silence in {}",
            self.summary()
        );
    }
}

/// One window of a recording: which of the analysed tones it holds and how loud it is.
#[derive(Clone, Debug)]
pub struct Window {
    pub tones: Vec<bool>,
    pub dbfs: f32,
}

/// Bytes of the canonical PCM WAV header the phone writes before the samples.
const WAV_HEADER_LEN: usize = 44;

/// The last `n` windows of a 16-bit WAV recording that is still being written (the phone writes
/// each frame as it plays it), analysed for `freqs`; the first channel only. `Err` says what is
/// there instead (no file yet, too little recorded).
pub fn last_windows(path: &Path, freqs: &[f32], n: usize) -> Result<Vec<Window>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let field = |at: usize, len: usize| bytes.get(at..at + len).map(<[u8]>::to_vec);
    let (Some(rate), Some(channels)) = (field(24, 4), field(22, 2)) else {
        return Err(format!("{}: no WAV header yet", path.display()));
    };
    let rate = u32::from_le_bytes([rate[0], rate[1], rate[2], rate[3]]);
    let channels = usize::from(u16::from_le_bytes([channels[0], channels[1]]).max(1));
    let samples: Vec<i16> = bytes
        .get(WAV_HEADER_LEN..)
        .unwrap_or_default()
        .chunks_exact(2 * channels)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    let window = (rate as usize / WINDOWS_PER_SECOND).max(1);
    let have = samples.len() / window;
    if have < n {
        return Err(format!(
            "{}: {:.1} s recorded so far",
            path.display(),
            samples.len() as f32 / rate.max(1) as f32
        ));
    }
    Ok(samples[(have - n) * window..have * window]
        .chunks_exact(window)
        .map(|w| Window {
            tones: tone::detect_tones(w, rate, freqs),
            dbfs: tone::level_dbfs(w),
        })
        .collect())
}

/// What `windows` hold, for failure messages: per tone the windows that held it, and the levels.
pub fn describe_windows(windows: &[Window], freqs: &[f32]) -> String {
    let tones: Vec<String> = freqs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let n = windows.iter().filter(|w| w.tones[i]).count();
            format!("{f} Hz in {n}/{}", windows.len())
        })
        .collect();
    let levels: Vec<String> = windows.iter().map(|w| format!("{:.0}", w.dbfs)).collect();
    format!(
        "last windows: {}; levels [{}] dBFS",
        tones.join(", "),
        levels.join(" ")
    )
}

/// The samples of a 16-bit WAV file (every channel, interleaved) and its format. A recording cut
/// short (its writer killed) yields the samples up to the cut.
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut reader = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("open recording {}: {e}", path.display()));
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map_while(Result::ok).collect();
    (spec, samples)
}

/// `seconds` of a sine tone at -12 dBFS as a mono 16-bit WAV at `rate`.
pub fn write_tone_wav(path: &Path, hz: f32, rate: u32, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap_or_else(|e| panic!("wav: {e}"));
    for n in 0..rate * seconds {
        let v = 0.25 * (std::f32::consts::TAU * hz * n as f32 / rate as f32).sin();
        w.write_sample((v * i16::MAX as f32) as i16)
            .unwrap_or_else(|e| panic!("wav: {e}"));
    }
    w.finalize().unwrap_or_else(|e| panic!("wav: {e}"));
}
