//! G.711 µ-law (PCMU) and A-law (PCMA) sample conversion (ITU-T G.711, the classic
//! segment/quantisation tables).

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

fn segment(value: i32, ends: &[i32; 8]) -> usize {
    ends.iter().position(|&e| value <= e).unwrap_or(8)
}

/// Encode one linear sample to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 2;
    let mask: i32 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(v, &ULAW_SEG_END);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let uval = ((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F);
    (uval ^ mask) as u8
}

/// Decode one µ-law byte to a linear sample.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = i32::from(!byte);
    let mut t = ((u & 0x0F) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    let v = if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    };
    v as i16
}

/// Encode one linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 3;
    let mask: i32 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &ALAW_SEG_END);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut aval = (seg as i32) << 4;
    aval |= if seg < 2 {
        (v >> 1) & 0x0F
    } else {
        (v >> seg) & 0x0F
    };
    (aval ^ mask) as u8
}

/// Decode one A-law byte to a linear sample.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = i32::from(byte ^ 0x55);
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Which G.711 law.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Law {
    /// µ-law, PCMU.
    Mu,
    /// A-law, PCMA.
    A,
}

/// Encode `pcm` into `out` (one byte per sample, up to the shorter length); returns bytes written.
pub fn encode(law: Law, pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out.iter_mut().zip(pcm.iter()) {
        *o = match law {
            Law::Mu => ulaw_encode(s),
            Law::A => alaw_encode(s),
        };
    }
    n
}

/// Decode `bytes` into `out` (up to the shorter length); returns samples written.
pub fn decode(law: Law, bytes: &[u8], out: &mut [i16]) -> usize {
    let n = bytes.len().min(out.len());
    for (o, &b) in out.iter_mut().zip(bytes.iter()) {
        *o = match law {
            Law::Mu => ulaw_decode(b),
            Law::A => alaw_decode(b),
        };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            // 0x7F and 0xFF are both zero in µ-law.
            let ub = ulaw_encode(ulaw_decode(b));
            assert!(
                ub == b || (ulaw_decode(ub) == ulaw_decode(b)),
                "ulaw {b:#x}"
            );
            assert_eq!(alaw_encode(alaw_decode(b)), b, "alaw {b:#x}");
        }
    }

    #[test]
    fn quantisation_error_is_relative() {
        for s in (-32768i32..32768).step_by(37) {
            let s = s as i16;
            let tol = (i32::from(s).abs() / 16).max(16);
            let u = i32::from(ulaw_decode(ulaw_encode(s)));
            let a = i32::from(alaw_decode(alaw_encode(s)));
            assert!((u - i32::from(s)).abs() <= tol, "ulaw {s} -> {u}");
            assert!((a - i32::from(s)).abs() <= tol, "alaw {s} -> {a}");
        }
    }

    #[test]
    fn slice_helpers_stop_at_shorter() {
        let pcm = [0i16, 1000, -1000];
        let mut out = [0u8; 2];
        assert_eq!(encode(Law::Mu, &pcm, &mut out), 2);
        let mut back = [0i16; 5];
        assert_eq!(decode(Law::Mu, &out, &mut back), 2);
        assert!((back[1] - 1000).abs() < 64);
    }
}
