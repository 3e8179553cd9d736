//! Text sparklines: the last `width` values scaled from a baseline (zero for
//! non-negative values) to their max.

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn sparkline(values: &[f64], width: usize) -> String {
    sparkline_to(values, width, None)
}

/// The largest of the last `width` finite values (what a row would scale to).
pub fn tail_max(values: &[f64], width: usize) -> Option<f64> {
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    vals[vals.len().saturating_sub(width)..]
        .iter()
        .copied()
        .reduce(f64::max)
}

/// A sparkline scaled to at least `hi`: rows of one group (a sum and its
/// pods) share a scale, so a small steady pod is not drawn as tall as the sum.
pub fn sparkline_to(values: &[f64], width: usize, group_hi: Option<f64>) -> String {
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if vals.is_empty() || width == 0 {
        return " ".repeat(width);
    }
    let tail = &vals[vals.len().saturating_sub(width)..];
    let (lo, hi) = tail
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let hi = group_hi.map_or(hi, |g| g.max(hi));
    // a baseline: zero for non-negative values, so a 0.03% wobble does not
    // swing from ▁ to █; below zero, at least 5% of the magnitude
    let lo = if lo >= 0.0 {
        0.0
    } else {
        lo.min(hi - 0.05 * hi.abs().max(lo.abs()))
    };
    let span = hi - lo;
    let mut s: String = tail
        .iter()
        .map(|&v| {
            if span <= f64::EPSILON {
                LEVELS[0]
            } else {
                LEVELS[(((v - lo) / span) * 7.0).round() as usize]
            }
        })
        .collect();
    let pad = width - tail.len();
    if pad > 0 {
        s = " ".repeat(pad) + &s;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{sparkline, sparkline_to};

    #[test]
    fn a_group_shares_a_scale() {
        // alone, a steady 1 is drawn at full height; beside a sum of 40 it
        // is at the bottom
        assert_eq!(sparkline(&[1.0, 1.0], 2), "██");
        assert_eq!(sparkline_to(&[1.0, 1.0], 2, Some(40.0)), "▁▁");
        assert_eq!(sparkline_to(&[20.0, 40.0], 2, Some(40.0)), "▅█");
    }

    #[test]
    fn scales_and_pads() {
        assert_eq!(sparkline(&[0.0, 7.0], 2), "▁█");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 5), "  ▃▆█");
        assert_eq!(sparkline(&[5.0, 5.0], 2), "██");
        assert_eq!(sparkline(&[0.0, 0.0], 2), "▁▁");
        assert_eq!(sparkline(&[], 3), "   ");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 4.0], 2), "▆█");
    }

    #[test]
    fn noise_on_a_large_value_is_not_a_cliff() {
        // 31,337 ± 0.03%: from zero, every bar is full height
        let s = sparkline(&[31_337.0, 31_346.0, 31_330.0], 3);
        assert_eq!(s, "███");
        // negative values keep a span of at least 5% of their size
        let s = sparkline(&[-100.0, -100.01], 2);
        assert!(!s.contains('▁') || !s.contains('█'), "{s}");
    }
}
