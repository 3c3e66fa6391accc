//! RTP fixed header (RFC 3550 §5.1) parsing and writing.

use crate::MediaError;

/// The fields of an RTP header we use (version 2, no CSRCs on write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

/// Parse an RTP packet; returns the header and the payload (CSRCs, extension and padding removed).
pub fn parse(buf: &[u8]) -> Result<(RtpHeader, &[u8]), MediaError> {
    let _ = buf;
    todo!()
}

/// Write header + payload into `out`; returns the bytes written (0 if `out` is too small).
pub fn write(h: &RtpHeader, payload: &[u8], out: &mut [u8]) -> usize {
    let _ = (h, payload, out);
    todo!()
}
