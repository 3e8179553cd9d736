//! A time chart over the focus window with a clear UTC time axis.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
use ratatui::Frame;

use crate::config::theme::Theme;
use crate::text::units::{format_value, Unit};

pub struct Line<'a> {
    pub name: String,
    pub points: &'a [(f64, f64)],
    pub style: Style,
}

/// "HH:MM" (or "HH:MM:SS" for short windows) in UTC.
pub fn clock(t_ms: i64, seconds: bool) -> String {
    let dt = chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default();
    if seconds {
        dt.format("%H:%M:%S").to_string()
    } else {
        dt.format("%H:%M").to_string()
    }
}

/// The time axis of a chart: the target's window, the value unit, and the
/// shared time cursor (drawn as a vertical line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes {
    pub start_ms: i64,
    pub end_ms: i64,
    pub unit: Unit,
    pub cursor_ms: Option<i64>,
}

/// Draws lines (x = ms since epoch) over the window.
pub fn draw(f: &mut Frame, full: Rect, theme: &Theme, lines: &[Line<'_>], axes: Axes) {
    let Axes {
        start_ms,
        end_ms,
        unit,
        cursor_ms,
    } = axes;
    if full.height < 4 || full.width < 20 {
        return;
    }
    // legend on its own row, so it never hides the data
    let legend: Vec<Span> = lines
        .iter()
        .flat_map(|l| {
            [
                Span::styled("━ ", l.style),
                Span::styled(format!("{}  ", l.name), theme.dim),
            ]
        })
        .collect();
    f.render_widget(
        ratatui::widgets::Paragraph::new(ratatui::text::Line::from(legend)),
        Rect { height: 1, ..full },
    );
    let area = Rect {
        y: full.y + 1,
        height: full.height - 1,
        ..full
    };
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for l in lines {
        for &(_, v) in l.points {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if lo > hi {
        lo = 0.0;
        hi = 1.0;
    }
    lo = lo.min(0.0);
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + 1.0;
    }
    hi *= 1.05;
    let cursor: Vec<(f64, f64)> = cursor_ms
        .map(|c| vec![(c as f64, lo), (c as f64, hi)])
        .unwrap_or_default();
    let mut datasets: Vec<Dataset> = lines
        .iter()
        .map(|l| {
            Dataset::default()
                .name(l.name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(l.style)
                .data(l.points)
        })
        .collect();
    if !cursor.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.accent)
                .data(&cursor),
        );
    }
    let secs = end_ms - start_ms <= 15 * 60 * 1000;
    let mid = start_ms + (end_ms - start_ms) / 2;
    let x = Axis::default()
        .style(theme.dim)
        .bounds([start_ms as f64, end_ms as f64])
        .labels(vec![
            Span::styled(clock(start_ms, secs), theme.dim),
            Span::styled(clock(mid, secs), theme.dim),
            Span::styled(format!("{} UTC", clock(end_ms, secs)), theme.dim),
        ]);
    let y = Axis::default()
        .style(theme.dim)
        .bounds([lo, hi])
        .labels(vec![
            Span::styled(format_value(lo, unit), theme.dim),
            Span::styled(format_value(hi, unit), theme.dim),
        ]);
    let chart = Chart::new(datasets)
        .x_axis(x)
        .y_axis(y)
        .legend_position(None)
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Ratio(1, 2),
            ratatui::layout::Constraint::Ratio(1, 2),
        ));
    f.render_widget(chart, area);
}

/// Series points as chart pairs, finite values only.
pub fn to_xy(points: impl Iterator<Item = (i64, f64)>) -> Vec<(f64, f64)> {
    points
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (t as f64, v))
        .collect()
}
