//! Where what is heard goes: nowhere, or a WAV file.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use agentphone_media::{Frame, FRAME};

use super::AudioError;

/// Takes one 20 ms frame per tick of call time.
pub trait AudioSink: Send {
    /// Write one frame. Must not block for long; errors are reported once by the caller.
    fn write(&mut self, frame: &Frame) -> Result<(), AudioError>;
    /// Flush and close (a WAV header gets its final sizes here).
    fn finish(self: Box<Self>) -> Result<(), AudioError>;
}

/// Which sink to open.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum SinkSpec {
    /// Discard.
    #[default]
    Null,
    /// 48 kHz mono 16-bit WAV file.
    Wav(PathBuf),
    /// The speaker of opened audio devices (taken once).
    Device(super::device::DeviceLink),
}

impl SinkSpec {
    /// Open the sink (creates the file now).
    pub fn open(&self) -> Result<Box<dyn AudioSink>, AudioError> {
        Ok(match self {
            SinkSpec::Null => Box::new(NullSink),
            SinkSpec::Wav(path) => Box::new(WavFileSink::create(path)?),
            SinkSpec::Device(link) => Box::new(link.take_sink()?),
        })
    }
}

/// Discards everything.
pub struct NullSink;

impl AudioSink for NullSink {
    fn write(&mut self, _frame: &Frame) -> Result<(), AudioError> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        Ok(())
    }
}

/// Records into a 48 kHz mono 16-bit WAV file that is valid after every frame: the header's
/// sizes are rewritten each time, so the file can be read while the call goes on, right after it
/// ends, and even after the process was killed. (A WAV writer that fixes its header only when
/// finished would leave an empty-looking file until then.)
pub struct WavFileSink {
    file: File,
    path: PathBuf,
    data_bytes: u32,
    buf: [u8; FRAME * 2],
}

/// Size of the canonical PCM WAV header.
const WAV_HEADER_LEN: u32 = 44;

impl WavFileSink {
    /// Create (or truncate) the file and write its header.
    pub fn create(path: &Path) -> Result<Self, AudioError> {
        let err = |e: std::io::Error| AudioError(format!("{}: {e}", path.display()));
        let mut file = File::create(path).map_err(err)?;
        file.write_all(&wav_header(0)).map_err(err)?;
        Ok(WavFileSink {
            file,
            path: path.to_path_buf(),
            data_bytes: 0,
            buf: [0; FRAME * 2],
        })
    }

    fn append(&mut self, frame: &Frame) -> std::io::Result<()> {
        for (out, s) in self.buf.chunks_exact_mut(2).zip(frame.iter()) {
            out.copy_from_slice(&s.to_le_bytes());
        }
        let data_bytes = self.data_bytes.saturating_add(self.buf.len() as u32);
        self.file
            .seek(SeekFrom::Start(u64::from(WAV_HEADER_LEN + self.data_bytes)))?;
        self.file.write_all(&self.buf)?;
        self.data_bytes = data_bytes;
        // RIFF chunk size (offset 4) and data chunk size (offset 40).
        self.file.seek(SeekFrom::Start(4))?;
        self.file
            .write_all(&(WAV_HEADER_LEN - 8 + data_bytes).to_le_bytes())?;
        self.file.seek(SeekFrom::Start(40))?;
        self.file.write_all(&data_bytes.to_le_bytes())
    }
}

/// The 44-byte header of a PCM WAV file with `data_bytes` of 48 kHz mono 16-bit samples.
fn wav_header(data_bytes: u32) -> [u8; WAV_HEADER_LEN as usize] {
    let rate = agentphone_media::SAMPLE_RATE;
    let mut h = [0u8; WAV_HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(WAV_HEADER_LEN - 8 + data_bytes).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

impl AudioSink for WavFileSink {
    fn write(&mut self, frame: &Frame) -> Result<(), AudioError> {
        self.append(frame)
            .map_err(|e| AudioError(format!("{}: {e}", self.path.display())))
    }
    fn finish(mut self: Box<Self>) -> Result<(), AudioError> {
        self.file
            .flush()
            .map_err(|e| AudioError(format!("{}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_media::FRAME;

    #[test]
    fn wav_sink_writes_every_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.wav");
        let mut sink = SinkSpec::Wav(path.clone()).open().unwrap();
        let frame = [100i16; FRAME];
        for _ in 0..5 {
            sink.write(&frame).unwrap();
        }
        sink.finish().unwrap();
        let samples = agentphone_media::wav::read_mono_48k(&path).unwrap();
        assert_eq!(samples.len(), 5 * FRAME);
        assert!(samples.iter().all(|&s| s == 100));
    }

    #[test]
    fn wav_file_is_valid_before_it_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.wav");
        let mut sink = WavFileSink::create(&path).unwrap();
        let mut frame = [0i16; FRAME];
        frame[0] = -3;
        frame[FRAME - 1] = 1234;
        sink.write(&frame).unwrap();
        sink.write(&frame).unwrap();
        // Read while the sink is still open.
        let mut reader = hound::WavReader::open(&path).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 48_000, 16)
        );
        let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(samples.len(), 2 * FRAME);
        assert_eq!(
            (samples[0], samples[FRAME - 1], samples[FRAME]),
            (-3, 1234, -3)
        );
        Box::new(sink).finish().unwrap();
    }

    #[test]
    fn wav_sink_in_missing_directory_names_the_path() {
        let err = SinkSpec::Wav("/nonexistent/dir/r.wav".into())
            .open()
            .err()
            .unwrap();
        assert!(err.0.contains("/nonexistent/dir/r.wav"), "{err}");
    }
}
