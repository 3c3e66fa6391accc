//! agentphone-media: RTP/RTCP, codecs (Opus, G.711), jitter buffer, resampling, N-1 mixer,
//! tone generation/detection and WAV I/O.
//!
//! Audio everywhere is 48 kHz mono i16 in 20 ms frames of [`FRAME`] samples.

pub mod codec;
pub mod dtmf;
mod error;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod session;
pub mod tone;
pub mod wav;

pub use error::MediaError;

/// Sample rate of all audio inside agentphone.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME: usize = 960;
/// One 20 ms frame of 48 kHz mono audio.
pub type Frame = [i16; FRAME];
