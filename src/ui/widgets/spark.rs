//! Text sparklines: the last `width` values scaled between their min and max.

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn sparkline(values: &[f64], width: usize) -> String {
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if vals.is_empty() || width == 0 {
        return " ".repeat(width);
    }
    let tail = &vals[vals.len().saturating_sub(width)..];
    let (lo, hi) = tail
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
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
    use super::sparkline;

    #[test]
    fn scales_and_pads() {
        assert_eq!(sparkline(&[0.0, 7.0], 2), "▁█");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 5), "  ▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0], 2), "▁▁");
        assert_eq!(sparkline(&[], 3), "   ");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 4.0], 2), "▁█");
    }
}
