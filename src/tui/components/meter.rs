//! Text level meters ("█████░░░"): readable in snapshots and without colour.

/// A meter `cells` wide for a level from 0.0 to 1.0 (out-of-range and NaN levels are clamped).
pub fn meter(level: f32, cells: usize) -> String {
    let level = if level.is_nan() {
        0.0
    } else {
        level.clamp(0.0, 1.0)
    };
    let full = (level * cells as f32).round() as usize;
    let full = full.min(cells);
    let mut s = String::with_capacity(cells * 3);
    s.extend(std::iter::repeat_n('█', full));
    s.extend(std::iter::repeat_n('░', cells - full));
    s
}

#[cfg(test)]
mod tests {
    use super::meter;

    #[test]
    fn meter_fills_in_proportion_and_clamps() {
        assert_eq!(meter(0.0, 4), "░░░░");
        assert_eq!(meter(0.5, 4), "██░░");
        assert_eq!(meter(1.0, 4), "████");
        assert_eq!(meter(7.0, 4), "████");
        assert_eq!(meter(-1.0, 4), "░░░░");
        assert_eq!(meter(f32::NAN, 4), "░░░░");
    }
}
