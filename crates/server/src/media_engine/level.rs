//! A coarse speaking level per leg for the room state (SPEC C1): the RMS of what the leg sent over
//! a 200 ms window, quantized to 0..=4. Only a change is reported, so a room sees at most five
//! level updates a second per leg. Allocates nothing.

use agentphone_media::Frame;

/// Frames per measuring window: 10 × 20 ms = 200 ms.
pub const WINDOW_FRAMES: u32 = 10;

/// Lower edges (dBFS) of levels 1..=4; below the first is 0 (silence, line noise).
const STEPS_DBFS: [f64; 4] = [-50.0, -40.0, -28.0, -15.0];

/// The highest quantized level.
pub const MAX_LEVEL: u8 = STEPS_DBFS.len() as u8;

/// Measures one leg's level window by window.
#[derive(Debug, Default)]
pub struct LevelMeter {
    sum_squares: f64,
    samples: u64,
    frames: u32,
    reported: u8,
}

impl LevelMeter {
    /// Add one tick's frame (`None`: nothing was received, counts as silence). Returns the new
    /// quantized level when a window ended and the level differs from the last one returned.
    pub fn add(&mut self, frame: Option<&Frame>) -> Option<u8> {
        match frame {
            Some(f) => {
                let sum = agentphone_media::energy::sum_squares(f) as f64;
                self.add_energy(sum, f.len() as u64)
            }
            None => self.add_energy(0.0, 0),
        }
    }

    /// Add one tick's audio as the sum of its squared samples over `samples` samples (a relayed
    /// leg decodes whatever arrived this tick: 0, 1 or more packets); 0 samples count as a
    /// frame of silence. Returns like [`LevelMeter::add`].
    pub fn add_energy(&mut self, sum_squares: f64, samples: u64) -> Option<u8> {
        self.sum_squares += sum_squares;
        self.samples += if samples == 0 {
            agentphone_media::FRAME as u64
        } else {
            samples
        };
        self.frames += 1;
        if self.frames < WINDOW_FRAMES {
            return None;
        }
        let (sum_squares, samples) = (self.sum_squares, self.samples);
        self.whole_window(sum_squares, samples)
    }

    /// A whole window measured elsewhere (a relayed leg measures part of a window: see
    /// `tick::relay_level`), as the sum of its squared samples over `samples` samples; any
    /// partial window of [`LevelMeter::add`] is dropped. Returns like [`LevelMeter::add`].
    pub fn whole_window(&mut self, sum_squares: f64, samples: u64) -> Option<u8> {
        let level = quantize(sum_squares, samples);
        self.sum_squares = 0.0;
        self.samples = 0;
        self.frames = 0;
        if level == self.reported {
            return None;
        }
        self.reported = level;
        Some(level)
    }
}

/// The level (0..=[`MAX_LEVEL`]) of `samples` samples whose squares sum to `sum_squares`.
fn quantize(sum_squares: f64, samples: u64) -> u8 {
    if samples == 0 || sum_squares <= 0.0 {
        return 0;
    }
    let mean = sum_squares / samples as f64 / (32768.0 * 32768.0);
    let dbfs = 10.0 * mean.log10();
    STEPS_DBFS.iter().filter(|&&edge| dbfs >= edge).count() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_media::tone::ToneGenerator;
    use agentphone_media::FRAME;

    fn window(meter: &mut LevelMeter, frame: Option<&Frame>) -> Vec<Option<u8>> {
        (0..WINDOW_FRAMES).map(|_| meter.add(frame)).collect()
    }

    fn tone_frame(dbfs: f32) -> Frame {
        let mut frame = [0; FRAME];
        ToneGenerator::new(440.0, dbfs).fill(&mut frame);
        frame
    }

    #[test]
    fn a_change_is_reported_once_at_the_end_of_a_window() {
        let mut meter = LevelMeter::default();
        let loud = tone_frame(-6.0);
        let reports = window(&mut meter, Some(&loud));
        assert_eq!(reports.last(), Some(&Some(MAX_LEVEL)));
        assert!(reports[..reports.len() - 1].iter().all(Option::is_none));
        assert!(
            window(&mut meter, Some(&loud)).iter().all(Option::is_none),
            "unchanged"
        );
        assert_eq!(
            window(&mut meter, None).last(),
            Some(&Some(0)),
            "back to silence"
        );
    }

    #[test]
    fn levels_step_with_loudness() {
        let level_of = |dbfs: f32| {
            let mut meter = LevelMeter::default();
            window(&mut meter, Some(&tone_frame(dbfs)))
                .last()
                .copied()
                .flatten()
                .unwrap_or(0)
        };
        assert_eq!(level_of(-70.0), 0);
        assert_eq!(level_of(-45.0), 1);
        assert_eq!(level_of(-35.0), 2);
        assert_eq!(level_of(-20.0), 3);
        assert_eq!(level_of(-10.0), 4);
    }

    #[test]
    fn half_a_window_of_speech_is_averaged_not_peaked() {
        let mut meter = LevelMeter::default();
        let loud = tone_frame(-10.0);
        let mut last = None;
        for i in 0..WINDOW_FRAMES {
            last = meter.add((i % 5 == 0).then_some(&loud));
        }
        // Two loud frames in ten: about 7 dB below the tone.
        assert_eq!(last, Some(3));
    }
}
