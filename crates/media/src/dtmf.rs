//! RFC 4733 telephone-event payloads (events 0–15: DTMF digits).

use crate::MediaError;

/// Length of one telephone-event payload.
pub const EVENT_LEN: usize = 4;

/// One telephone-event payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfEvent {
    /// Event code (0–9 digits, 10 '*', 11 '#', 12–15 'A'–'D').
    pub event: u8,
    /// E bit: the event has ended.
    pub end: bool,
    /// Power level in -dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

/// Parse a telephone-event payload (only the first event when several are present).
pub fn parse(payload: &[u8]) -> Result<DtmfEvent, MediaError> {
    match payload {
        [event, flags, d0, d1, ..] => Ok(DtmfEvent {
            event: *event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([*d0, *d1]),
        }),
        _ => Err(MediaError::Malformed(
            "telephone-event payload shorter than 4 bytes".into(),
        )),
    }
}

/// Write the payload; returns bytes written (0 if `out` is too small).
pub fn write(ev: &DtmfEvent, out: &mut [u8]) -> usize {
    let Some(dst) = out.get_mut(..EVENT_LEN) else {
        return 0;
    };
    let d = ev.duration.to_be_bytes();
    dst.copy_from_slice(&[
        ev.event,
        (u8::from(ev.end) << 7) | (ev.volume & 0x3F),
        d[0],
        d[1],
    ]);
    EVENT_LEN
}

/// The event code of a DTMF digit (`0-9 * # A-D`, case-insensitive).
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// The digit of an event code (None for non-DTMF events).
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_map_both_ways() {
        for d in "0123456789*#ABCD".chars() {
            let e = digit_to_event(d).unwrap();
            assert_eq!(event_to_digit(e), Some(d));
        }
        assert_eq!(digit_to_event('a'), Some(12));
        assert_eq!(digit_to_event('x'), None);
        assert_eq!(event_to_digit(16), None);
    }

    #[test]
    fn payload_round_trip() {
        let ev = DtmfEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        let mut buf = [0u8; 8];
        assert_eq!(write(&ev, &mut buf), 4);
        assert_eq!(&buf[..4], &[11, 0x8A, 0x05, 0x00]);
        assert_eq!(parse(&buf[..4]).unwrap(), ev);
        assert_eq!(write(&ev, &mut [0u8; 3]), 0);
        assert!(parse(&[1, 2, 3]).is_err());
    }
}
