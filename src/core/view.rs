//! Geometry every full-screen view shares (the log detail, the trace
//! view, the trace list…): where it goes, and which row a list starts at.

use ratatui::layout::Rect;

/// The area of a full-screen view: the whole frame but the header and footer.
pub fn full(area: Rect) -> Rect {
    Rect {
        y: area.y + 1.min(area.height),
        height: area.height.saturating_sub(2),
        ..area
    }
}

/// First row of a list of `n` rows so that `index` stays visible in `h`.
pub fn first_row(index: usize, h: usize) -> usize {
    index.saturating_sub(h.saturating_sub(1))
}
