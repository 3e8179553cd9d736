//! Horizontal bars with eighth-block resolution.

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A bar `width` cells wide filled to `ratio` (clamped to 0..=1), padded with spaces.
pub fn bar(ratio: f64, width: usize) -> String {
    let r = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (r * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let rem = eighths % 8;
    let mut s = String::with_capacity(width * 3);
    for _ in 0..full.min(width) {
        s.push('█');
    }
    if full < width {
        s.push(EIGHTHS[rem]);
        for _ in full + 1..width {
            s.push(' ');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bar_fills_proportionally() {
        assert_eq!(bar(0.0, 4), "    ");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██  ");
        assert_eq!(bar(0.5625, 4), "██▎ ");
        assert_eq!(bar(2.0, 3), "███");
        assert_eq!(bar(f64::NAN, 2), "  ");
        assert_eq!(bar(0.3, 10).chars().count(), 10);
    }
}
