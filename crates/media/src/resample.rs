//! Resampling.
//!
//! * [`Downsampler48to8`] / [`Upsampler8to48`]: the fixed 6:1 polyphase FIR used by the G.711
//!   codec path (one 20 ms frame in, one out, no allocation).
//! * [`Resampler`]: a general-ratio streaming resampler (windowed-sinc polyphase table) for audio
//!   devices and WAV files at other rates. Allocation-free in steady state (its buffer only grows
//!   when a call brings more input than any call before).

use crate::{MediaError, FRAME};
use std::f64::consts::PI;

/// 48 kHz / 8 kHz.
const RATIO: usize = 6;
/// Taps of the 48 kHz low-pass FIR (a multiple of RATIO: 32 taps per polyphase branch).
const TAPS: usize = 192;
/// Samples of one 20 ms frame at 8 kHz.
pub const FRAME_8K: usize = FRAME / RATIO;

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// Blackman window on x ∈ [-1, 1].
fn blackman(x: f64) -> f64 {
    if x.abs() > 1.0 {
        0.0
    } else {
        0.42 + 0.5 * (PI * x).cos() + 0.08 * (2.0 * PI * x).cos()
    }
}

/// Low-pass FIR at 48 kHz with cutoff 3.5 kHz, unity DC gain. Designed once per process: every
/// G.711 leg's encoder and decoder takes a copy, and designing it (≈ 600 sin/cos) per leg was
/// ≈ 1.5 % of the server's CPU at 300 calls/s.
fn lowpass_48k_for_8k() -> [f32; TAPS] {
    static LOWPASS: std::sync::OnceLock<[f32; TAPS]> = std::sync::OnceLock::new();
    *LOWPASS.get_or_init(design_lowpass_48k_for_8k)
}

fn design_lowpass_48k_for_8k() -> [f32; TAPS] {
    let fc = 3500.0 / 48_000.0;
    let centre = (TAPS - 1) as f64 / 2.0;
    let mut h = [0f64; TAPS];
    for (n, v) in h.iter_mut().enumerate() {
        let d = n as f64 - centre;
        *v = 2.0 * fc * sinc(2.0 * fc * d) * blackman(d / (centre + 1.0));
    }
    let sum: f64 = h.iter().sum();
    let mut out = [0f32; TAPS];
    for (o, v) in out.iter_mut().zip(h.iter()) {
        *o = (v / sum) as f32;
    }
    out
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(-32768.0, 32767.0) as i16
}

/// 48 kHz → 8 kHz, one 20 ms frame at a time (anti-alias low-pass, then keep every 6th sample).
pub struct Downsampler48to8 {
    h: [f32; TAPS],
    /// TAPS-1 samples of history followed by the current frame.
    buf: Box<[f32; TAPS - 1 + FRAME]>,
}

impl Default for Downsampler48to8 {
    fn default() -> Self {
        Self::new()
    }
}

impl Downsampler48to8 {
    /// A new downsampler with silent history.
    pub fn new() -> Self {
        Downsampler48to8 {
            h: lowpass_48k_for_8k(),
            buf: Box::new([0.0; TAPS - 1 + FRAME]),
        }
    }

    /// Convert one 48 kHz frame into 160 samples at 8 kHz.
    pub fn process(&mut self, input: &[i16; FRAME], out: &mut [i16; FRAME_8K]) {
        for (b, &s) in self.buf[TAPS - 1..].iter_mut().zip(input.iter()) {
            *b = f32::from(s);
        }
        for (i, o) in out.iter_mut().enumerate() {
            // Output i is aligned to input sample RATIO*i + RATIO-1 of this frame.
            let newest = TAPS - 1 + RATIO * i + RATIO - 1;
            let window = &self.buf[newest + 1 - TAPS..=newest];
            let acc: f32 = window
                .iter()
                .rev()
                .zip(self.h.iter())
                .map(|(x, h)| x * h)
                .sum();
            *o = to_i16(acc);
        }
        self.buf.copy_within(FRAME.., 0);
    }
}

/// Taps per polyphase branch of the upsampler.
const BRANCH: usize = TAPS / RATIO;

/// 8 kHz → 48 kHz, one 20 ms frame at a time (polyphase interpolation).
pub struct Upsampler8to48 {
    /// branches[p][j] = RATIO * h[p + RATIO*j]
    branches: [[f32; BRANCH]; RATIO],
    /// BRANCH-1 samples of history followed by the current 8 kHz frame.
    buf: [f32; BRANCH - 1 + FRAME_8K],
}

impl Default for Upsampler8to48 {
    fn default() -> Self {
        Self::new()
    }
}

impl Upsampler8to48 {
    /// A new upsampler with silent history.
    pub fn new() -> Self {
        let h = lowpass_48k_for_8k();
        let mut branches = [[0f32; BRANCH]; RATIO];
        for (p, branch) in branches.iter_mut().enumerate() {
            for (j, tap) in branch.iter_mut().enumerate() {
                *tap = RATIO as f32 * h[p + RATIO * j];
            }
        }
        Upsampler8to48 {
            branches,
            buf: [0.0; BRANCH - 1 + FRAME_8K],
        }
    }

    /// Convert 160 samples at 8 kHz into one 48 kHz frame.
    pub fn process(&mut self, input: &[i16; FRAME_8K], out: &mut [i16; FRAME]) {
        self.process_chunk(input, out);
    }

    /// Convert any number of 8 kHz samples into six times as many at 48 kHz (packets of
    /// 10, 30, 60 ms...). Only the first `min(input.len(), out.len() / 6)` samples are used;
    /// returns the number of 48 kHz samples written.
    pub fn process_slice(&mut self, input: &[i16], out: &mut [i16]) -> usize {
        let n = input.len().min(out.len() / RATIO);
        for (inp, o) in input[..n]
            .chunks(FRAME_8K)
            .zip(out[..n * RATIO].chunks_mut(FRAME))
        {
            self.process_chunk(inp, o);
        }
        n * RATIO
    }

    /// Up to [`FRAME_8K`] input samples; `out` has `RATIO` times as many.
    fn process_chunk(&mut self, input: &[i16], out: &mut [i16]) {
        let n = input.len().min(FRAME_8K);
        for (b, &s) in self.buf[BRANCH - 1..].iter_mut().zip(input[..n].iter()) {
            *b = f32::from(s);
        }
        for (k, o) in out.iter_mut().take(n * RATIO).enumerate() {
            let (i, p) = (k / RATIO, k % RATIO);
            let newest = BRANCH - 1 + i;
            let window = &self.buf[newest + 1 - BRANCH..=newest];
            let acc: f32 = window
                .iter()
                .rev()
                .zip(self.branches[p].iter())
                .map(|(x, h)| x * h)
                .sum();
            *o = to_i16(acc);
        }
        // Keep the newest BRANCH-1 samples as history.
        self.buf.copy_within(n..n + BRANCH - 1, 0);
    }
}

/// Phases of the general resampler's kernel table (nearest phase is used: the timing error
/// is below 1/1000 of a sample).
const PHASES: usize = 512;
/// Kernel half-width in input samples when upsampling (scaled up when downsampling).
const HALF_WIDTH: usize = 16;

/// General-ratio streaming resampler (windowed-sinc, polyphase table).
pub struct Resampler {
    from: u64,
    to: u64,
    half: usize,
    /// PHASES rows of 2*half taps.
    table: Vec<f32>,
    /// Pending input; `pos` indexes the input sample the next output is based on.
    buf: Vec<f32>,
    pos: usize,
    /// Fractional position of the next output: frac/to input samples after `pos`.
    frac: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Resampler {
    /// A resampler from `from_rate` to `to_rate` (both in 1..=384000).
    pub fn new(from_rate: u32, to_rate: u32) -> Result<Self, MediaError> {
        if !(1..=384_000).contains(&from_rate) || !(1..=384_000).contains(&to_rate) {
            return Err(MediaError::Unsupported(format!(
                "resampling {from_rate} Hz -> {to_rate} Hz"
            )));
        }
        let g = gcd(u64::from(from_rate), u64::from(to_rate));
        let (from, to) = (u64::from(from_rate) / g, u64::from(to_rate) / g);
        let ratio = (to as f64 / from as f64).min(1.0);
        let half = (HALF_WIDTH as f64 / ratio).ceil() as usize;
        let fc = 0.5 * ratio * 0.92;
        let mut table = vec![0f32; PHASES * 2 * half];
        for (ph, row) in table.chunks_mut(2 * half).enumerate() {
            let frac = ph as f64 / PHASES as f64;
            let mut raw = vec![0f64; 2 * half];
            for (j, v) in raw.iter_mut().enumerate() {
                let d = j as f64 - (half as f64 - 1.0) - frac;
                *v = 2.0 * fc * sinc(2.0 * fc * d) * blackman(d / half as f64);
            }
            let sum: f64 = raw.iter().sum();
            for (o, v) in row.iter_mut().zip(raw.iter()) {
                *o = (v / sum) as f32;
            }
        }
        let mut buf = Vec::with_capacity(4 * half + 8192);
        buf.resize(half, 0.0);
        Ok(Resampler {
            from,
            to,
            half,
            table,
            buf,
            pos: half,
            frac: 0,
        })
    }

    /// Output samples `input_len` input samples will produce (±1).
    pub fn output_len_hint(&self, input_len: usize) -> usize {
        (input_len as u64 * self.to / self.from) as usize + 1
    }

    /// Resample `input`, appending to `out`. Output lags input by the kernel half-width.
    pub fn process_f32(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.buf.extend_from_slice(input);
        self.run(|v| out.push(v));
    }

    /// Resample i16 samples, appending to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        self.buf.extend(input.iter().map(|&s| f32::from(s)));
        self.run(|v| out.push(to_i16(v)));
    }

    fn run(&mut self, mut emit: impl FnMut(f32)) {
        let width = 2 * self.half;
        while self.pos + self.half < self.buf.len() {
            let phase = ((self.frac * PHASES as u64 + self.to / 2) / self.to) as usize;
            // Phase PHASES means "next sample, phase 0".
            let (base, phase) = if phase >= PHASES {
                (self.pos + 1, 0)
            } else {
                (self.pos, phase)
            };
            let start = base + 1 - self.half;
            let (Some(window), Some(kernel)) = (
                self.buf.get(start..start + width),
                self.table.get(phase * width..(phase + 1) * width),
            ) else {
                break;
            };
            emit(window.iter().zip(kernel).map(|(x, h)| x * h).sum());
            self.frac += self.from;
            self.pos += (self.frac / self.to) as usize;
            self.frac %= self.to;
        }
        // Keep only what future outputs can still reach.
        let keep_from = (self.pos + 1).saturating_sub(self.half).min(self.buf.len());
        self.buf.drain(..keep_from);
        self.pos -= keep_from;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{detect_tones, level_dbfs, ToneGenerator};
    use crate::SAMPLE_RATE;

    #[test]
    fn down_then_up_keeps_speech_band_tone() {
        let mut gen = ToneGenerator::new(1000.0, -10.0);
        let (mut down, mut up) = (Downsampler48to8::new(), Upsampler8to48::new());
        let mut all8 = Vec::new();
        let mut all48 = Vec::new();
        for _ in 0..25 {
            let mut f = [0i16; FRAME];
            gen.fill(&mut f);
            let mut n = [0i16; FRAME_8K];
            down.process(&f, &mut n);
            all8.extend_from_slice(&n);
            let mut back = [0i16; FRAME];
            up.process(&n, &mut back);
            all48.extend_from_slice(&back);
        }
        assert_eq!(
            detect_tones(&all8, 8000, &[1000.0, 2000.0]),
            vec![true, false]
        );
        assert_eq!(
            detect_tones(&all48, SAMPLE_RATE, &[1000.0, 2000.0]),
            vec![true, false]
        );
        // Level preserved within 0.5 dB (sine at -10 dBFS peak → -13 dBFS RMS).
        let lvl = level_dbfs(&all48[FRAME..]);
        assert!((lvl + 13.0).abs() < 0.5, "{lvl}");
    }

    /// Packets of 30 ms (240 samples) through `process_slice` give exactly what 20 ms frames
    /// through `process` give: the filter state carries across any chunking.
    #[test]
    fn upsampler_chunking_does_not_matter() {
        let input: Vec<i16> = (0..FRAME_8K * 9)
            .map(|i| ((i as f64 * 0.37).sin() * 8000.0) as i16)
            .collect();
        let mut by_frame = Upsampler8to48::new();
        let mut want = Vec::new();
        for c in input.chunks(FRAME_8K) {
            let mut out = [0i16; FRAME];
            by_frame.process(c.try_into().unwrap(), &mut out);
            want.extend_from_slice(&out);
        }
        for chunk in [240, 80, 480, 7] {
            let mut up = Upsampler8to48::new();
            let mut got = Vec::new();
            for c in input.chunks(chunk) {
                let mut out = vec![0i16; c.len() * RATIO];
                assert_eq!(up.process_slice(c, &mut out), c.len() * RATIO);
                got.extend_from_slice(&out);
            }
            assert_eq!(got, want, "chunks of {chunk}");
        }
        // A short output buffer limits what is used.
        let mut up = Upsampler8to48::new();
        assert_eq!(up.process_slice(&input[..10], &mut [0i16; 13]), 12);
    }

    #[test]
    fn downsampler_removes_aliasing_tone() {
        // 6 kHz would alias to 2 kHz at 8 kHz without the low-pass.
        let mut gen = ToneGenerator::new(6000.0, -6.0);
        let mut down = Downsampler48to8::new();
        let mut all8 = Vec::new();
        for _ in 0..25 {
            let mut f = [0i16; FRAME];
            gen.fill(&mut f);
            let mut n = [0i16; FRAME_8K];
            down.process(&f, &mut n);
            all8.extend_from_slice(&n);
        }
        assert!(
            level_dbfs(&all8[FRAME_8K..]) < -50.0,
            "{}",
            level_dbfs(&all8)
        );
    }

    #[test]
    fn general_resampler_44k1_to_48k() {
        let mut r = Resampler::new(44_100, 48_000).unwrap();
        let src: Vec<i16> = (0..44_100)
            .map(|i| ((i as f64 * 2.0 * PI * 440.0 / 44_100.0).sin() * 10_000.0) as i16)
            .collect();
        let mut out = Vec::new();
        for chunk in src.chunks(441) {
            r.process(chunk, &mut out);
        }
        assert!((out.len() as i64 - 48_000).abs() < 40, "{}", out.len());
        assert_eq!(
            detect_tones(&out, 48_000, &[440.0, 1000.0]),
            vec![true, false]
        );
        let lvl = level_dbfs(&out[1000..]);
        assert!((lvl - level_dbfs(&src)).abs() < 0.3, "{lvl}");
    }

    #[test]
    fn general_resampler_downsamples_without_alias() {
        let mut r = Resampler::new(48_000, 16_000).unwrap();
        let mut gen = ToneGenerator::new(1000.0, -10.0);
        let mut alias = ToneGenerator::new(10_000.0, -10.0);
        let mut out = Vec::new();
        let mut out_alias = Vec::new();
        let mut r2 = Resampler::new(48_000, 16_000).unwrap();
        for _ in 0..50 {
            let mut f = [0i16; FRAME];
            gen.fill(&mut f);
            r.process(&f, &mut out);
            alias.fill(&mut f);
            r2.process(&f, &mut out_alias);
        }
        assert!((out.len() as i64 - 16_000).abs() < 40);
        assert_eq!(detect_tones(&out, 16_000, &[1000.0]), vec![true]);
        assert!(level_dbfs(&out_alias[200..]) < -50.0);
    }

    #[test]
    fn rejects_silly_rates() {
        assert!(Resampler::new(0, 48_000).is_err());
        assert!(Resampler::new(48_000, 10_000_000).is_err());
    }
}
