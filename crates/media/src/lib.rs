//! agentphone-media: RTP/RTCP, codecs (Opus, G.711), jitter buffer, resampling, N-1 mixer,
//! tone generation/detection and WAV I/O.
//!
//! Audio everywhere is 48 kHz mono i16 in 20 ms frames of [`FRAME`] samples.

#![warn(missing_docs)]

pub mod arrival;
pub mod codec;
pub mod dtmf;
pub mod energy;
mod error;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod realtime;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod session;
pub mod srtp;
mod takeover;
pub mod tone;
pub mod wav;

pub use error::MediaError;

/// Sample rate of all audio inside agentphone.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME: usize = 960;
/// One 20 ms frame of 48 kHz mono audio.
pub type Frame = [i16; FRAME];

#[cfg(test)]
mod tests {
    /// The server moves sessions, codecs and mixers into its media threads.
    #[test]
    fn hot_path_types_are_send() {
        fn is_send<T: Send>() {}
        is_send::<crate::session::RtpSession>();
        is_send::<crate::codec::Encoder>();
        is_send::<crate::codec::Decoder>();
        is_send::<crate::mixer::Mixer>();
        is_send::<crate::jitter::JitterBuffer>();
        is_send::<crate::resample::Resampler>();
    }

    /// Random bytes never panic any parser.
    #[test]
    fn parsers_survive_random_bytes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(4733);
        let mut buf = [0u8; 96];
        for _ in 0..20_000 {
            let len = rng.gen_range(0..buf.len());
            rng.fill(&mut buf[..len]);
            // Bias towards version 2 so deeper paths are reached.
            if len > 0 && rng.gen_bool(0.7) {
                buf[0] = (buf[0] & 0x3F) | 0x80;
            }
            let b = &buf[..len];
            let _ = crate::rtp::parse(b);
            for p in crate::rtcp::packets(b) {
                if let Ok(crate::rtcp::RtcpPacket::SenderReport { blocks, .. })
                | Ok(crate::rtcp::RtcpPacket::ReceiverReport { blocks, .. }) = p
                {
                    blocks.for_each(drop);
                }
            }
            let _ = crate::dtmf::parse(b);
        }
    }
}
