//! WAV file reading (any format → 48 kHz mono) and writing (48 kHz mono i16).

use crate::{Frame, MediaError};
use std::path::Path;

/// Read a WAV file and convert it to 48 kHz mono i16.
pub fn read_mono_48k(path: &Path) -> Result<Vec<i16>, MediaError> {
    let _ = path;
    todo!()
}

/// Writes 48 kHz mono i16 frames to a WAV file.
pub struct WavSink {}

impl WavSink {
    /// Create (truncate) the file.
    pub fn create(path: &Path) -> Result<Self, MediaError> {
        let _ = path;
        todo!()
    }
    /// Append one frame.
    pub fn write(&mut self, f: &Frame) -> Result<(), MediaError> {
        let _ = f;
        todo!()
    }
    /// Finalise the header and close the file.
    pub fn finish(self) -> Result<(), MediaError> {
        todo!()
    }
}
