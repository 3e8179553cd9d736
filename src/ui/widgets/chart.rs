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

/// A moment marked on the time axis (an OOM kill, a restart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub at_ms: i64,
    pub oom: bool,
}

/// Observations with a trace (exemplars) as dots over the lines, and the
/// one `x` opens (nearest the cursor) as a block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dots<'a> {
    pub points: &'a [(f64, f64)],
    pub chosen: Option<(f64, f64)>,
}

/// The legend's name for the dots.
pub const DOTS_NAME: &str = "trace (x)";

/// Draws lines (x = ms since epoch) over the window, `marks` as vertical
/// lines (OOM kills in the OOM colour, other terminations in the warning
/// colour) and `dots` as points, each named in the legend.
pub fn draw(
    f: &mut Frame,
    full: Rect,
    theme: &Theme,
    lines: &[Line<'_>],
    axes: Axes,
    marks: &[Mark],
    dots: Dots<'_>,
) {
    if full.height < 4 || full.width < 20 {
        return;
    }
    // legend on its own row, so it never hides the data
    let mut legend_lines: Vec<Line> = lines
        .iter()
        .map(|l| Line {
            name: l.name.clone(),
            points: l.points,
            style: l.style,
        })
        .collect();
    let seen = |oom: bool| {
        marks
            .iter()
            .any(|m| m.oom == oom && m.at_ms >= axes.start_ms && m.at_ms <= axes.end_ms)
    };
    if seen(true) {
        legend_lines.push(Line {
            name: "OOM kill".into(),
            points: &[],
            style: theme.oom,
        });
    }
    if seen(false) {
        legend_lines.push(Line {
            name: "restart".into(),
            points: &[],
            style: theme.warn,
        });
    }
    if !dots.points.is_empty() {
        legend_lines.push(Line {
            name: DOTS_NAME.into(),
            points: dots.points,
            style: theme.accent,
        });
    }
    draw_legend(f, Rect { height: 1, ..full }, theme, &legend_lines);
    let area = Rect {
        y: full.y + 1,
        height: full.height - 1,
        ..full
    };
    // a slow observation above every line stays on the chart
    let (lo, hi) = bounds_with_dots(lines, dots.points);
    let cursor: Vec<(f64, f64)> = axes
        .cursor_ms
        .map(|c| vec![(c as f64, lo), (c as f64, hi)])
        .unwrap_or_default();
    let in_window: Vec<&Mark> = marks
        .iter()
        .filter(|m| m.at_ms >= axes.start_ms && m.at_ms <= axes.end_ms)
        .collect();
    // each kind of mark is one dataset of vertical segments
    let vertical = |oom: bool| -> Vec<(f64, f64)> {
        let mut v = vec![];
        for m in in_window.iter().filter(|m| m.oom == oom) {
            let x = m.at_ms as f64;
            let n = 40;
            v.extend((0..=n).map(|i| (x, lo + (hi - lo) * i as f64 / n as f64)));
        }
        v
    };
    let (ooms, others) = (vertical(true), vertical(false));
    let mut sets = datasets(lines, &cursor, theme);
    for (pts, style) in [(&ooms, theme.oom), (&others, theme.warn)] {
        if !pts.is_empty() {
            sets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Scatter)
                    .style(style)
                    .data(pts),
            );
        }
    }
    let chosen: Vec<(f64, f64)> = dots.chosen.into_iter().collect();
    for (pts, marker) in [(dots.points, Marker::Dot), (&chosen[..], Marker::Block)] {
        if !pts.is_empty() {
            sets.push(
                Dataset::default()
                    .marker(marker)
                    .graph_type(GraphType::Scatter)
                    .style(theme.accent)
                    .data(pts),
            );
        }
    }
    let chart = Chart::new(sets)
        .x_axis(time_axis(axes, theme))
        .y_axis(value_axis(lo, hi, axes.unit, theme))
        .legend_position(None)
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Ratio(1, 2),
            ratatui::layout::Constraint::Ratio(1, 2),
        ));
    f.render_widget(chart, area);
}

/// "━ name  " for each line, in its style.
/// Series that colour cannot tell apart (mono, or a theme with fewer
/// colours than series) differ by their marker instead; the legend shows it.
fn markers(lines: &[Line<'_>]) -> Vec<(Marker, &'static str)> {
    const BY_INDEX: [(Marker, &str); 4] = [
        (Marker::Braille, "━"),
        (Marker::Dot, "•"),
        (Marker::Block, "█"),
        (Marker::Bar, "▄"),
    ];
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            // the n-th series sharing its style with an earlier one
            let same = lines[..i].iter().filter(|o| o.style == l.style).count();
            BY_INDEX[same % BY_INDEX.len()]
        })
        .collect()
}

fn draw_legend(f: &mut Frame, r: Rect, theme: &Theme, lines: &[Line<'_>]) {
    let marks = markers(lines);
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    let (prefix, names) = fit_legend(&names, r.width as usize);
    let mut legend: Vec<Span> = vec![];
    if let Some(p) = prefix {
        legend.push(Span::styled(format!("{p}  "), theme.dim));
    }
    for ((l, (_, sym)), name) in lines.iter().zip(marks).zip(names) {
        // a time mark (no points of its own) is a vertical bar
        let sym = if l.points.is_empty() {
            "┃"
        } else if l.name == DOTS_NAME {
            "•"
        } else {
            sym
        };
        legend.push(Span::styled(format!("{sym} "), l.style));
        legend.push(Span::styled(format!("{name}  "), theme.dim));
    }
    f.render_widget(
        ratatui::widgets::Paragraph::new(ratatui::text::Line::from(legend)),
        r,
    );
}

/// The legend's entries in `width` columns ("━ name  " each): as they are
/// when they fit; else the words every name starts with said once, in
/// front (`queue p95  ━ responses/http  ━ chat/http`); else each name cut
/// in the middle to an equal share, so every series keeps an entry.
pub fn fit_legend(names: &[&str], width: usize) -> (Option<String>, Vec<String>) {
    let cost = |ns: &[String]| ns.iter().map(|n| n.chars().count() + 4).sum::<usize>();
    let mut out: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    if cost(&out) <= width {
        return (None, out);
    }
    let mut prefix = None;
    if names.len() > 1 {
        let words = common_words(names);
        if !words.is_empty() {
            out = names
                .iter()
                .map(|n| n[words.len()..].trim_start().to_string())
                .collect();
            prefix = Some(words.trim_end().to_string());
        }
    }
    let head = prefix.as_ref().map_or(0, |p| p.chars().count() + 2);
    if head + cost(&out) > width {
        let share = (width.saturating_sub(head) / out.len().max(1))
            .saturating_sub(4)
            .max(3);
        out = out
            .iter()
            .map(|n| {
                crate::text::units::fit_middle(n, share)
                    .trim_end()
                    .to_string()
            })
            .collect();
    }
    (prefix, out)
}

/// The whole words (up to and including a space) every name starts with,
/// leaving each name something after them.
fn common_words<'a>(names: &[&'a str]) -> &'a str {
    let first = names[0];
    let mut end = 0;
    for (i, c) in first.char_indices() {
        if c != ' ' {
            continue;
        }
        let p = &first[..=i];
        if names.iter().all(|n| n.starts_with(p) && n.len() > p.len()) {
            end = i + 1;
        } else {
            break;
        }
    }
    &first[..end]
}

/// The value axis's bounds: from zero (or below) to 5% over the highest
/// finite value; 0..1 when there is none.
fn value_bounds(lines: &[Line<'_>]) -> (f64, f64) {
    // values past this are a hostile or broken answer: the axis stops
    // there, so its span stays finite (an infinite span never draws)
    const LIMIT: f64 = 1e15;
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for l in lines {
        for &(_, v) in l.points {
            if v.is_finite() {
                let v = v.clamp(-LIMIT, LIMIT);
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
    (lo, hi)
}

/// `value_bounds` of the lines, widened by the dots up to ten times the
/// lines' highest value: a slow observation stays on the chart, an absurd
/// one does not flatten the lines.
fn bounds_with_dots(lines: &[Line<'_>], dots: &[(f64, f64)]) -> (f64, f64) {
    let (lo, hi) = value_bounds(lines);
    let has_lines = lines
        .iter()
        .any(|l| l.points.iter().any(|p| p.1.is_finite()));
    let cap = if has_lines { hi * 10.0 } else { f64::INFINITY };
    let top = dots
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(f64::MIN, f64::max);
    if top * 1.05 <= hi {
        return (lo, hi);
    }
    (lo, top.min(cap).min(1e15) * 1.05)
}

/// One braille line per series, then the cursor (if any) as a vertical line.
fn datasets<'a>(lines: &[Line<'a>], cursor: &'a [(f64, f64)], theme: &Theme) -> Vec<Dataset<'a>> {
    let marks = markers(lines);
    let mut datasets: Vec<Dataset> = lines
        .iter()
        .zip(marks)
        .map(|(l, (marker, _))| {
            Dataset::default()
                .name(l.name.clone())
                .marker(marker)
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
                .data(cursor),
        );
    }
    datasets
}

/// The window with its start, middle and end times (seconds for windows
/// of 15 minutes or less), the end marked UTC.
fn time_axis<'a>(axes: Axes, theme: &Theme) -> Axis<'a> {
    let Axes {
        start_ms, end_ms, ..
    } = axes;
    let secs = end_ms - start_ms <= 15 * 60 * 1000;
    let mid = start_ms + (end_ms - start_ms) / 2;
    Axis::default()
        .style(theme.dim)
        .bounds([start_ms as f64, end_ms as f64])
        .labels(vec![
            Span::styled(clock(start_ms, secs), theme.dim),
            Span::styled(clock(mid, secs), theme.dim),
            Span::styled(format!("{} UTC", clock(end_ms, secs)), theme.dim),
        ])
}

/// The value axis with its bounds labelled in `unit`.
fn value_axis<'a>(lo: f64, hi: f64, unit: Unit, theme: &Theme) -> Axis<'a> {
    Axis::default()
        .style(theme.dim)
        .bounds([lo, hi])
        .labels(vec![
            Span::styled(format_value(lo, unit), theme.dim),
            Span::styled(format_value(hi, unit), theme.dim),
        ])
}

/// Series points as chart pairs, finite values only.
pub fn to_xy(points: impl Iterator<Item = (i64, f64)>) -> Vec<(f64, f64)> {
    points
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (t as f64, v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fit_legend;
    use super::{bounds_with_dots, Line, Style};

    #[test]
    fn hostile_values_keep_the_axis_finite_and_the_lines_readable() {
        let pts = [(0.0, 0.5), (1.0, 1.0)];
        let lines = [Line {
            name: "p95".into(),
            points: &pts,
            style: Style::default(),
        }];
        // a slow mark widens the axis
        let (_, hi) = bounds_with_dots(&lines, &[(0.5, 3.0)]);
        assert!((hi - 3.15).abs() < 1e-9, "{hi}");
        // an absurd one widens it ten times at most
        let (_, hi) = bounds_with_dots(&lines, &[(0.5, 1e308), (0.6, f64::INFINITY)]);
        assert!((hi - 11.025).abs() < 1e-9, "{hi}");
        // a series of huge values: still a finite span
        let huge = [(0.0, -1e308), (1.0, 1e308)];
        let l = [Line {
            name: "x".into(),
            points: &huge,
            style: Style::default(),
        }];
        let (lo, hi) = bounds_with_dots(&l, &[(0.5, 1e308)]);
        assert!((hi - lo).is_finite() && hi > lo, "{lo} {hi}");
    }

    const Q: [&str; 3] = [
        "queue p95 responses/http",
        "queue p95 responses/websocket",
        "queue p95 chat/http",
    ];

    fn width(prefix: &Option<String>, names: &[String]) -> usize {
        prefix.as_ref().map_or(0, |p| p.chars().count() + 2)
            + names.iter().map(|n| n.chars().count() + 4).sum::<usize>()
    }

    #[test]
    fn a_legend_that_fits_is_left_alone() {
        let (p, n) = fit_legend(&Q, 200);
        assert_eq!((p, n), (None, Q.map(String::from).to_vec()));
    }

    /// At 120 columns the admission chart (~75 wide) cut its third entry:
    /// the shared words go in front once and every entry stays whole.
    #[test]
    fn shared_words_are_said_once() {
        let (p, n) = fit_legend(&Q, 75);
        assert_eq!(p.as_deref(), Some("queue p95"));
        assert_eq!(n, ["responses/http", "responses/websocket", "chat/http"]);
        assert!(width(&p, &n) <= 75);
    }

    #[test]
    fn still_too_long_cuts_each_name_in_the_middle() {
        let (p, n) = fit_legend(&Q, 40);
        assert!(width(&p, &n) <= 40, "{p:?} {n:?}");
        assert_eq!(n.len(), 3);
        // both ends of each name stay
        assert!(n[1].starts_with('r') && n[1].ends_with('t'), "{n:?}");
        // names with nothing in common are cut without a prefix
        let (p, n) = fit_legend(&["working set", "BEAM total", "limit"], 24);
        assert_eq!(p, None);
        assert!(width(&p, &n) <= 24, "{n:?}");
    }
}
