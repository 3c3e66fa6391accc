//! Where what is heard goes: nowhere, or a WAV file.

use std::path::{Path, PathBuf};

use agentphone_media::Frame;

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
}

impl SinkSpec {
    /// Open the sink (creates the file now).
    pub fn open(&self) -> Result<Box<dyn AudioSink>, AudioError> {
        Ok(match self {
            SinkSpec::Null => Box::new(NullSink),
            SinkSpec::Wav(path) => Box::new(WavFileSink::create(path)?),
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

/// Records into a WAV file.
pub struct WavFileSink {
    inner: agentphone_media::wav::WavSink,
    path: PathBuf,
}

impl WavFileSink {
    /// Create (or truncate) the file.
    pub fn create(path: &Path) -> Result<Self, AudioError> {
        let inner = agentphone_media::wav::WavSink::create(path)
            .map_err(|e| AudioError(format!("{}: {e}", path.display())))?;
        Ok(WavFileSink {
            inner,
            path: path.to_path_buf(),
        })
    }
}

impl AudioSink for WavFileSink {
    fn write(&mut self, frame: &Frame) -> Result<(), AudioError> {
        self.inner
            .write(frame)
            .map_err(|e| AudioError(format!("{}: {e}", self.path.display())))
    }
    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        let path = self.path;
        self.inner
            .finish()
            .map_err(|e| AudioError(format!("{}: {e}", path.display())))
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
    fn wav_sink_in_missing_directory_names_the_path() {
        let err = SinkSpec::Wav("/nonexistent/dir/r.wav".into())
            .open()
            .err()
            .unwrap();
        assert!(err.0.contains("/nonexistent/dir/r.wav"), "{err}");
    }
}
