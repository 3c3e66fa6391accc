//! The crate's error type.

/// Everything that can go wrong in media handling. Malformed input is always an error, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A packet or file did not have the expected structure.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The codec library reported an error.
    #[error("codec error: {0}")]
    Codec(String),
    /// Something we do not support (codec, sample format...).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An output buffer was too small.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// I/O error (files, sockets).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
