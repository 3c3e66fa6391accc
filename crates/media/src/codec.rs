//! Audio codecs: Opus (48 kHz mono) and G.711 (8 kHz, resampled internally).

use crate::{Frame, MediaError};

/// The codecs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecKind {
    Opus,
    Pcmu,
    Pcma,
}

impl CodecKind {
    /// From an SDP rtpmap encoding name (case-insensitive): "opus", "PCMU", "PCMA".
    pub fn from_name(name: &str) -> Option<CodecKind> {
        let _ = name;
        todo!()
    }
    /// RTP clock rate.
    pub fn clock(self) -> u32 {
        todo!()
    }
    /// Conventional payload type (Opus 111 dynamic, PCMU 0, PCMA 8).
    pub fn default_pt(self) -> u8 {
        todo!()
    }
}

/// Encodes 20 ms frames.
pub struct Encoder {}

impl Encoder {
    /// A new encoder for `kind`.
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        let _ = kind;
        todo!()
    }
    /// Encode one frame into `out`; returns the payload length.
    pub fn encode(&mut self, pcm: &Frame, out: &mut [u8]) -> Result<usize, MediaError> {
        let _ = (pcm, out);
        todo!()
    }
    /// RTP timestamp increment per frame.
    pub fn timestamp_step(&self) -> u32 {
        todo!()
    }
}

/// Decodes 20 ms frames.
pub struct Decoder {}

impl Decoder {
    /// A new decoder for `kind`.
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        let _ = kind;
        todo!()
    }
    /// Decode one payload into a frame.
    pub fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<(), MediaError> {
        let _ = (payload, out);
        todo!()
    }
    /// A frame for a lost packet: FEC from the next packet when there, else PLC.
    pub fn conceal(&mut self, next_payload: Option<&[u8]>, out: &mut Frame) -> Result<(), MediaError> {
        let _ = (next_payload, out);
        todo!()
    }
}
