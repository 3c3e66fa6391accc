//! WAV file reading (any PCM/float format, any rate and channel count → 48 kHz mono) and
//! writing (48 kHz mono i16).

use crate::resample::Resampler;
use crate::{Frame, MediaError, SAMPLE_RATE};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

fn wav_err(path: &Path, e: hound::Error) -> MediaError {
    match e {
        hound::Error::IoError(io) => MediaError::Io(io),
        other => MediaError::Malformed(format!("WAV {}: {other}", path.display())),
    }
}

/// Read a WAV file and convert it to 48 kHz mono i16 (channels are averaged).
pub fn read_mono_48k(path: &Path) -> Result<Vec<i16>, MediaError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| wav_err(path, e))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(MediaError::Malformed(format!(
            "WAV {}: zero channels",
            path.display()
        )));
    }
    // Every format as f32 in i16 scale.
    let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .map(|s| s.map(|v| v * 32768.0))
            .collect::<Result<_, _>>(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let shift = i32::from(bits) - 16;
            reader
                .samples::<i32>()
                .map(|s| {
                    s.map(|v| {
                        if shift >= 0 {
                            v as f32 / (1u32 << shift) as f32
                        } else {
                            v as f32 * (1u32 << -shift) as f32
                        }
                    })
                })
                .collect::<Result<_, _>>()
        }
        (fmt, bits) => {
            return Err(MediaError::Unsupported(format!(
                "WAV {}: {fmt:?} with {bits} bits",
                path.display()
            )))
        }
    }
    .map_err(|e| wav_err(path, e))?;
    let mono: Vec<i16> = samples
        .chunks(channels)
        .map(|c| (c.iter().sum::<f32>() / c.len() as f32).clamp(-32768.0, 32767.0) as i16)
        .collect();
    if spec.sample_rate == SAMPLE_RATE {
        return Ok(mono);
    }
    let mut rs = Resampler::new(spec.sample_rate, SAMPLE_RATE)?;
    let mut out = Vec::with_capacity(rs.output_len_hint(mono.len()) + 64);
    rs.process(&mono, &mut out);
    // Push the tail out of the filter.
    rs.process(&[0i16; 256], &mut out);
    out.truncate(rs.output_len_hint(mono.len()).saturating_sub(1));
    Ok(out)
}

/// Writes 48 kHz mono i16 frames to a WAV file.
pub struct WavSink {
    writer: hound::WavWriter<BufWriter<File>>,
    path: std::path::PathBuf,
}

impl WavSink {
    /// Create (truncate) the file.
    pub fn create(path: &Path) -> Result<Self, MediaError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| wav_err(path, e))?;
        Ok(WavSink {
            writer,
            path: path.to_path_buf(),
        })
    }

    /// Append one frame.
    pub fn write(&mut self, f: &Frame) -> Result<(), MediaError> {
        let mut w = self.writer.get_i16_writer(f.len() as u32);
        for &s in f.iter() {
            w.write_sample(s);
        }
        w.flush().map_err(|e| wav_err(&self.path, e))
    }

    /// Finalise the header and close the file.
    pub fn finish(self) -> Result<(), MediaError> {
        let path = self.path;
        self.writer.finalize().map_err(|e| wav_err(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{detect_tones, ToneGenerator};
    use crate::FRAME;

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("agentphone-media-{}-{name}", std::process::id()))
    }

    #[test]
    fn sink_then_read_back() {
        let path = temp_path("sink.wav");
        let mut sink = WavSink::create(&path).unwrap();
        let mut gen = ToneGenerator::new(800.0, -6.0);
        let mut frames = Vec::new();
        for _ in 0..10 {
            let mut f = [0i16; FRAME];
            gen.fill(&mut f);
            sink.write(&f).unwrap();
            frames.extend_from_slice(&f);
        }
        sink.finish().unwrap();
        let back = read_mono_48k(&path).unwrap();
        assert_eq!(back, frames);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn stereo_16k_is_converted() {
        let path = temp_path("stereo16k.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..16_000 {
            let v = ((i as f64 * std::f64::consts::TAU * 500.0 / 16_000.0).sin() * 8000.0) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let back = read_mono_48k(&path).unwrap();
        assert!((back.len() as i64 - 48_000).abs() <= 3, "{}", back.len());
        assert_eq!(
            detect_tones(&back, SAMPLE_RATE, &[500.0, 1500.0]),
            vec![true, false]
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn garbage_and_missing_files_are_errors() {
        let path = temp_path("garbage.wav");
        std::fs::write(&path, b"RIFF\x10\x00\x00\x00WAVEjunkjunk").unwrap();
        assert!(read_mono_48k(&path).is_err());
        let _ = std::fs::remove_file(&path);
        assert!(read_mono_48k(Path::new("/nonexistent/agentphone.wav")).is_err());
    }
}
