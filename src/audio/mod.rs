//! Audio sources (what the microphone sends) and sinks (where what is heard goes) for the media
//! thread. All frames are 48 kHz mono, 20 ms (`agentphone_media::FRAME` samples).
//!
//! The media thread is the only owner of a source or sink: no locks, and `fill`/`write` allocate
//! nothing.

pub mod device;
mod device_watch;
mod levels;
pub mod processing;
mod sink;
mod source;

pub use levels::{meter_level, LevelMeters};
pub use sink::{AudioSink, NullSink, SinkSpec, WavFileSink};
pub use source::{AudioSource, SilenceSource, SourceSpec, ToneSource, WavSource};

/// An audio source or sink that could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AudioError(pub String);
