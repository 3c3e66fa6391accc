//! When a relayed leg's audio is decoded for its speaking level (issue 9 point 2). Decoding
//! every Opus packet makes relaying about four times as expensive (bench `media_relay`), so a
//! relay decodes only the level windows that may show a change:
//!
//! - the first window after relaying starts;
//! - the window after one whose relayed payloads differ from those of the last measured window
//!   — a different packet count (a pause in sending, DTX) or a mean payload size off by more
//!   than a quarter (an Opus pause costs about half the bytes of speech: talk starting or
//!   stopping shows in the sizes within 200 ms);
//! - a refresh: loudness alone hardly moves the sizes. The first comes `every` windows after
//!   the last measurement, and each refresh in a row without a change in between waits twice
//!   as long as the one before, up to [`MAX_REFRESH_BACKOFF`] × `every` (steady talk is
//!   re-measured after 5, 10, 20, 20 … s; any change in the payloads starts over).
//!
//! Windows in between keep the last level (nothing is reported). In a measured window the
//! first [`WARM_UP_TICKS`] are decoded but not counted: the decoder's state is from audio long
//! gone (its overlap and its energy prediction leaked a loud past into a pause: level 2 for
//! silence). G.711 is measured every window, all of it: its level is read from the 8 kHz
//! samples without a decoder (`RtpSession::relayed_level_is_cheap`).

use agentphone_media::FRAME;

use crate::media_engine::level::WINDOW_FRAMES;

/// While relaying, a level window is decoded at least once in this many (5 s).
pub(super) const LEVEL_REFRESH_EVERY: u32 = 25;

/// A mean payload size this much (fraction) away from the measured window's is a change.
const SIZE_CHANGE: f64 = 0.25;

/// The longest refresh interval, in multiples of `every`.
const MAX_REFRESH_BACKOFF: u32 = 4;

/// Ticks of a measured Opus window decoded only to bring the decoder up to date.
const WARM_UP_TICKS: u32 = 2;

/// Per relayed leg: the payloads of the current window and of the last measured one.
#[derive(Debug, Default)]
pub(crate) struct LevelGate {
    /// Ticks into the current window.
    tick: u32,
    /// This window is decoded.
    measuring: bool,
    /// (bytes, packets) relayed in this window so far.
    window: (u64, u32),
    /// (bytes, packets) of the last measured window; None: none measured since relaying began.
    measured: Option<(u64, u32)>,
    /// (bytes, packets) of the window that just ended when it was not measured.
    last: Option<(u64, u32)>,
    /// Windows since the last measured one.
    since_measured: u32,
    /// Windows between the last measurement and the next refresh (0: `every`).
    refresh: u32,
    /// Warm-up ticks at the start of this measured window (none when measuring is cheap).
    warm_up: u32,
    /// Sum of squares and samples counted in this measured window.
    energy: (f64, u64),
}

impl LevelGate {
    /// Relaying starts: the first window is measured.
    pub(super) fn restart(&mut self) {
        *self = LevelGate::default();
    }

    /// Decide at the start of a tick whether this tick's relayed audio is decoded: a window's
    /// decision is taken at its first tick and holds for all of it. `every`: 0 never decodes,
    /// 1 decodes every window, n at least one window in n; `cheap`: measuring costs no decoder
    /// (every window is measured).
    pub(super) fn measuring(&mut self, every: u32, cheap: bool) -> bool {
        if self.tick == 0 {
            self.measuring = match every {
                0 => false,
                1 => true,
                _ if cheap => true,
                _ => {
                    let refresh = if self.refresh == 0 {
                        every
                    } else {
                        self.refresh
                    };
                    let changed = self.measured.is_none() || self.changed_since_measured();
                    let due = self.since_measured + 1 >= refresh;
                    if changed {
                        self.refresh = every;
                    } else if due {
                        self.refresh = refresh.saturating_mul(2).min(every * MAX_REFRESH_BACKOFF);
                    }
                    changed || due
                }
            };
            if self.measuring {
                self.since_measured = 0;
                self.warm_up = if cheap || every == 1 && self.measured.is_some() {
                    0
                } else {
                    WARM_UP_TICKS
                };
            } else {
                self.since_measured = self.since_measured.saturating_add(1);
            }
        }
        self.measuring
    }

    /// After the tick: the payloads relayed during it, and the sum of squares and samples
    /// decoded from them (while measuring). Ends the window after its last tick; a measured
    /// window returns its (sum of squares, samples) — a tick without audio counts as a frame
    /// of silence.
    pub(super) fn relayed(
        &mut self,
        bytes: u64,
        packets: u32,
        (sum_squares, samples): (f64, u64),
    ) -> Option<(f64, u64)> {
        self.window.0 += bytes;
        self.window.1 += packets;
        // Warm-up ticks are decoded, not counted.
        if self.measuring && self.tick >= self.warm_up {
            self.energy.0 += sum_squares;
            self.energy.1 += if samples == 0 { FRAME as u64 } else { samples };
        }
        self.tick += 1;
        if self.tick < WINDOW_FRAMES {
            return None;
        }
        self.tick = 0;
        let measured = std::mem::take(&mut self.energy);
        if self.measuring {
            self.measured = Some(self.window);
            self.last = None;
        } else {
            self.last = Some(self.window);
        }
        self.window = (0, 0);
        self.measuring.then_some(measured)
    }

    /// The window that just ended (not measured) differs from the last measured one.
    fn changed_since_measured(&self) -> bool {
        let (Some((bytes, packets)), Some((ref_bytes, ref_packets))) = (self.last, self.measured)
        else {
            return false;
        };
        if packets != ref_packets {
            return true;
        }
        if packets == 0 {
            return false;
        }
        let (mean, ref_mean) = (
            bytes as f64 / f64::from(packets),
            ref_bytes as f64 / f64::from(ref_packets),
        );
        (mean - ref_mean).abs() > SIZE_CHANGE * ref_mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run one window of `packets` packets of `size` bytes; whether it was measured.
    fn window(gate: &mut LevelGate, every: u32, packets: u32, size: u64) -> bool {
        let mut measured = None;
        for t in 0..WINDOW_FRAMES {
            let now = gate.measuring(every, false);
            assert_eq!(*measured.get_or_insert(now), now, "one decision a window");
            let n = u32::from(t < packets);
            let done = gate.relayed(u64::from(n) * size, n, (0.0, 0));
            assert_eq!(done.is_some(), now && t + 1 == WINDOW_FRAMES);
        }
        measured.unwrap_or(false)
    }

    #[test]
    fn steady_talk_is_measured_first_then_once_in_every() {
        let mut gate = LevelGate::default();
        let measured: Vec<bool> = (0..2 * LEVEL_REFRESH_EVERY)
            .map(|_| window(&mut gate, LEVEL_REFRESH_EVERY, 10, 120))
            .collect();
        let at: Vec<usize> = (0..measured.len()).filter(|&i| measured[i]).collect();
        assert_eq!(at, vec![0, 25], "the first window, then the refresh");
        let mut gate = LevelGate::default();
        let measured: Vec<bool> = (0..300)
            .map(|_| window(&mut gate, LEVEL_REFRESH_EVERY, 10, 120))
            .collect();
        let at: Vec<usize> = (0..measured.len()).filter(|&i| measured[i]).collect();
        assert_eq!(
            at,
            vec![0, 25, 75, 175, 275],
            "refreshes back off to 4 × every"
        );
    }

    #[test]
    fn a_change_restarts_the_refresh_backoff() {
        let mut gate = LevelGate::default();
        let measured: Vec<bool> = (0..110)
            .map(|i| window(&mut gate, 25, 10, if i == 80 { 60 } else { 120 }))
            .collect();
        let at: Vec<usize> = (0..measured.len()).filter(|&i| measured[i]).collect();
        // 0, refreshes at 25 and 75; the short pause at 80 measures 81 (talk again: the
        // reference), and the next refresh is `every` after it.
        assert_eq!(at, vec![0, 25, 75, 81, 106]);
    }

    #[test]
    fn a_change_in_payload_sizes_or_counts_measures_the_next_window() {
        let mut gate = LevelGate::default();
        assert!(window(&mut gate, 25, 10, 120), "first window");
        assert!(
            !window(&mut gate, 25, 10, 110),
            "within a quarter: no change"
        );
        assert!(
            !window(&mut gate, 25, 10, 60),
            "talk stopped: this window is not decoded…"
        );
        assert!(window(&mut gate, 25, 10, 60), "…the next one is");
        assert!(!window(&mut gate, 25, 10, 62), "steady pause");
        assert!(!window(&mut gate, 25, 4, 62), "fewer packets…");
        assert!(window(&mut gate, 25, 10, 62), "…measure");
    }

    #[test]
    fn every_zero_never_one_always_cheap_always() {
        for (every, cheap, expected) in [(0, false, false), (1, false, true), (25, true, true)] {
            let mut gate = LevelGate::default();
            for _ in 0..5 {
                let m = gate.measuring(every, cheap);
                assert_eq!(m, expected, "every {every}, cheap {cheap}");
                for _ in 0..WINDOW_FRAMES {
                    gate.relayed(160, 1, (0.0, 0));
                }
            }
        }
    }

    #[test]
    fn a_measured_opus_window_counts_all_but_its_warm_up_ticks() {
        let mut gate = LevelGate::default();
        let mut result = None;
        for t in 0..WINDOW_FRAMES {
            assert!(gate.measuring(25, false));
            // Loud leftovers in the warm-up, then silence.
            let sum = if t < WARM_UP_TICKS { 1e12 } else { 0.0 };
            result = gate.relayed(100, 1, (sum, FRAME as u64));
        }
        let counted = u64::from(WINDOW_FRAMES - WARM_UP_TICKS) * FRAME as u64;
        assert_eq!(result, Some((0.0, counted)));
    }
}
