//! RTP fixed header (RFC 3550 §5.1) parsing and writing.

use crate::MediaError;

/// Length of the fixed RTP header we write (no CSRCs, no extension).
pub const HEADER_LEN: usize = 12;

/// The fields of an RTP header we use (version 2, no CSRCs on write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit (start of a talkspurt; start of a telephone-event).
    pub marker: bool,
    /// Payload type (7 bits).
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// Timestamp in the codec's clock.
    pub ts: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

fn malformed(what: &str) -> MediaError {
    MediaError::Malformed(format!("RTP: {what}"))
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// True when a datagram on an RTCP-muxed port is RTCP rather than RTP (RFC 5761 §4: the
/// second byte is an RTCP packet type 200–204, which as RTP would be marker + PT 72–76).
pub fn is_rtcp(buf: &[u8]) -> bool {
    matches!(buf.get(1), Some(200..=204))
}

/// Parse an RTP packet; returns the header and the payload (CSRCs, extension and padding removed).
pub fn parse(buf: &[u8]) -> Result<(RtpHeader, &[u8]), MediaError> {
    if buf.len() < HEADER_LEN {
        return Err(malformed("shorter than 12 bytes"));
    }
    let b0 = buf[0];
    if b0 >> 6 != 2 {
        return Err(malformed("version is not 2"));
    }
    let has_padding = b0 & 0x20 != 0;
    let has_extension = b0 & 0x10 != 0;
    let csrc_count = usize::from(b0 & 0x0F);
    let b1 = buf[1];
    let header = RtpHeader {
        marker: b1 & 0x80 != 0,
        pt: b1 & 0x7F,
        seq: be_u16(buf, 2).ok_or_else(|| malformed("truncated"))?,
        ts: be_u32(buf, 4).ok_or_else(|| malformed("truncated"))?,
        ssrc: be_u32(buf, 8).ok_or_else(|| malformed("truncated"))?,
    };
    let mut start = HEADER_LEN + 4 * csrc_count;
    if has_extension {
        let words = be_u16(buf, start + 2).ok_or_else(|| malformed("truncated extension"))?;
        start += 4 + 4 * usize::from(words);
    }
    let mut end = buf.len();
    if start > end {
        return Err(malformed("header longer than packet"));
    }
    if has_padding {
        let pad = usize::from(buf[end - 1]);
        if pad == 0 || pad > end - start {
            return Err(malformed("bad padding length"));
        }
        end -= pad;
    }
    Ok((header, &buf[start..end]))
}

/// Write header + payload into `out`; returns the bytes written (0 if `out` is too small).
pub fn write(h: &RtpHeader, payload: &[u8], out: &mut [u8]) -> usize {
    let total = HEADER_LEN + payload.len();
    if out.len() < total {
        return 0;
    }
    out[0] = 0x80;
    out[1] = (u8::from(h.marker) << 7) | (h.pt & 0x7F);
    out[2..4].copy_from_slice(&h.seq.to_be_bytes());
    out[4..8].copy_from_slice(&h.ts.to_be_bytes());
    out[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
    out[HEADER_LEN..total].copy_from_slice(payload);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: RtpHeader = RtpHeader {
        marker: true,
        pt: 111,
        seq: 65535,
        ts: 0xDEAD_BEEF,
        ssrc: 0x1234_5678,
    };

    #[test]
    fn write_then_parse() {
        let mut buf = [0u8; 64];
        let n = write(&H, b"hello", &mut buf);
        assert_eq!(n, 17);
        let (h, p) = parse(&buf[..n]).unwrap();
        assert_eq!(h, H);
        assert_eq!(p, b"hello");
        assert!(!is_rtcp(&buf[..n]));
    }

    #[test]
    fn write_refuses_small_buffer() {
        assert_eq!(write(&H, b"hello", &mut [0u8; 16]), 0);
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        let mut pkt = vec![
            0x80 | 0x20 | 0x10 | 0x02,
            0x00,
            0,
            1,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
            3,
        ];
        pkt.extend_from_slice(&[0xAA; 8]); // two CSRCs
        pkt.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 1, 2, 3, 4]); // extension, 1 word
        pkt.extend_from_slice(b"pay");
        pkt.extend_from_slice(&[0, 0, 3]); // 3 bytes padding
        let (h, p) = parse(&pkt).unwrap();
        assert_eq!((h.pt, h.seq, h.ts, h.ssrc), (0, 1, 2, 3));
        assert_eq!(p, b"pay");
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x80; 11]).is_err());
        assert!(parse(&[0x40; 12]).is_err()); // version 1
        let mut cc = [0u8; 12];
        cc[0] = 0x8F; // 15 CSRCs, none present
        assert!(parse(&cc).is_err());
        let mut ext = [0u8; 16];
        ext[0] = 0x90;
        ext[14] = 0xFF; // extension longer than packet
        assert!(parse(&ext).is_err());
        let mut pad = [0u8; 13];
        pad[0] = 0xA0;
        pad[12] = 5; // more padding than payload
        assert!(parse(&pad).is_err());
        pad[12] = 0;
        assert!(parse(&pad).is_err());
    }

    #[test]
    fn rtcp_is_told_apart() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 201]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80]));
    }
}
