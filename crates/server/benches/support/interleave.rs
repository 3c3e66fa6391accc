//! Same-run comparisons that hold on a noisy shared machine (issue 9 point 3).
//!
//! Criterion measures one function after another, seconds apart; on a 2-core machine shared with
//! builds the load changes between the two and a ratio swung by ±10 % from run to run. Here the
//! subjects of a comparison run in turn, round after round (A B A B …), each round a fixed number
//! of ticks timed by the thread's CPU clock; a figure is the median over rounds, and a ratio the
//! median of the rounds' own ratios (each from two neighbouring measurements), so a slow spell
//! hits both sides of the rounds it falls in and the medians drop it.

use std::time::Duration;

/// The calling thread's CPU time so far (`CLOCK_THREAD_CPUTIME_ID`: other processes do not
/// count, the kernel time of its own sends and receives does).
pub fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `(rounds, ticks)` for a comparison: `full` under `cargo bench` (criterion is given `--bench`),
/// one round of one tick under `cargo test`, which runs each bench once to show it still works
/// (the full comparisons took 35 s of CI's test run).
pub fn rounds_and_ticks(full: (usize, u64)) -> (usize, u64) {
    if std::env::args().any(|a| a == "--bench") {
        full
    } else {
        (1, 1)
    }
}

/// One side of a comparison: runs `ticks` ticks, returns the CPU time they took.
pub type Subject<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// CPU µs per tick of every round, per subject (`rounds` rounds of `ticks` ticks, the subjects
/// in turn within each round; every subject's first round is run once untimed before).
pub fn interleave(subjects: &mut [Subject<'_>], rounds: usize, ticks: u64) -> Vec<Vec<f64>> {
    for s in subjects.iter_mut() {
        s(ticks);
    }
    let mut per_round = vec![Vec::with_capacity(rounds); subjects.len()];
    for _ in 0..rounds {
        for (s, out) in subjects.iter_mut().zip(per_round.iter_mut()) {
            let t = s(ticks);
            out.push(t.as_secs_f64() * 1e6 / ticks.max(1) as f64);
        }
    }
    per_round
}

/// The median of `values` (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The median over rounds of `numerator[i] / denominator[i]`.
pub fn paired_ratio(numerator: &[f64], denominator: &[f64]) -> f64 {
    let ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .map(|(n, d)| n / d)
        .collect();
    median(&ratios)
}

/// The spread of the rounds' ratios: (lowest, highest) of the middle half.
pub fn ratio_quartiles(numerator: &[f64], denominator: &[f64]) -> (f64, f64) {
    let mut ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .map(|(n, d)| n / d)
        .filter(|r| r.is_finite())
        .collect();
    if ratios.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    ratios.sort_by(f64::total_cmp);
    let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
    (q(0.25), q(0.75))
}
