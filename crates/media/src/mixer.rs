//! N-1 mixing for one room: every participant hears the sum of everyone else.

use crate::{Frame, FRAME};

/// N-1 mixing for one room without allocation after construction.
pub struct Mixer {
    max_participants: usize,
    /// Sum of all heard inputs; i32 so up to 65536 full-scale inputs cannot overflow.
    acc: Box<[i32; FRAME]>,
}

fn saturate(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

impl Mixer {
    /// A mixer for up to `max_participants` (extra participants are ignored by `mix`).
    pub fn new(max_participants: usize) -> Self {
        Mixer {
            max_participants,
            acc: Box::new([0; FRAME]),
        }
    }

    /// The participant limit given at construction.
    pub fn max_participants(&self) -> usize {
        self.max_participants
    }

    /// inputs[i] = the frame participant i sends (None = nothing this tick); heard[i] = may others hear i;
    /// outputs[i] receives the sum of every other heard input (saturating).
    ///
    /// Slices of different lengths are fine: a missing `inputs`/`heard` entry counts as
    /// silent/not heard; only `outputs.len()` (up to `max_participants`) outputs are written.
    pub fn mix(&mut self, inputs: &[Option<&Frame>], heard: &[bool], outputs: &mut [Frame]) {
        let n = self.max_participants;
        let contributes = |i: usize| -> Option<&Frame> {
            match (inputs.get(i), heard.get(i)) {
                (Some(Some(f)), Some(true)) => Some(*f),
                _ => None,
            }
        };
        self.acc.fill(0);
        for i in 0..inputs.len().min(n) {
            if let Some(f) = contributes(i) {
                for (a, &s) in self.acc.iter_mut().zip(f.iter()) {
                    *a += i32::from(s);
                }
            }
        }
        for (i, out) in outputs.iter_mut().take(n).enumerate() {
            match contributes(i) {
                Some(own) => {
                    for ((o, &a), &s) in out.iter_mut().zip(self.acc.iter()).zip(own.iter()) {
                        *o = saturate(a - i32::from(s));
                    }
                }
                None => {
                    for (o, &a) in out.iter_mut().zip(self.acc.iter()) {
                        *o = saturate(a);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(v: i16) -> Frame {
        [v; FRAME]
    }

    #[test]
    fn three_party_n_minus_one() {
        let (a, b, c) = (constant(100), constant(20), constant(3));
        let mut m = Mixer::new(4);
        let mut out = [[0i16; FRAME]; 3];
        m.mix(
            &[Some(&a), Some(&b), Some(&c)],
            &[true, true, true],
            &mut out,
        );
        assert_eq!(out[0][0], 23);
        assert_eq!(out[1][0], 103);
        assert_eq!(out[2][FRAME - 1], 120);
    }

    #[test]
    fn unheard_and_absent_inputs() {
        let (a, b, c) = (constant(100), constant(20), constant(3));
        let mut m = Mixer::new(4);
        let mut out = [[7i16; FRAME]; 4];
        // b is on hold (not heard), c sent nothing, d has no input entry at all.
        m.mix(&[Some(&a), Some(&b), None], &[true, false, true], &mut out);
        assert_eq!(out[0][0], 0); // nobody else heard
        assert_eq!(out[1][0], 100); // b still hears a
        assert_eq!(out[2][0], 100);
        assert_eq!(out[3][0], 100);
        let _ = c;
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let hi = constant(30_000);
        let lo = constant(-30_000);
        let mut m = Mixer::new(3);
        let mut out = [[0i16; FRAME]; 3];
        m.mix(&[Some(&hi), Some(&hi), Some(&hi)], &[true; 3], &mut out);
        assert_eq!(out[0][0], i16::MAX);
        m.mix(&[Some(&lo), Some(&lo), Some(&lo)], &[true; 3], &mut out);
        assert_eq!(out[2][5], i16::MIN);
    }

    #[test]
    fn respects_max_participants() {
        let a = constant(1);
        let mut m = Mixer::new(2);
        let mut out = [[9i16; FRAME]; 3];
        m.mix(&[Some(&a), Some(&a), Some(&a)], &[true; 3], &mut out);
        assert_eq!(out[0][0], 1);
        assert_eq!(out[2][0], 9); // untouched
    }
}
