//! Admission & latency: headline rates and quantiles, a chart of the `chart`
//! queries over the window, and per-series details (route classes, status
//! classes, DB queue, stream buffers). A `folded` query says how many series
//! the rows above it aggregate ("412 folded"), so a high-cardinality metric is
//! never drawn one by one and never summed silently.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::dashboard::{PaneSpec, Role};
use crate::features::metrics::panes::series_name;
use crate::ui::widgets::{chart, Level};

/// A label with its formatted value and level.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub level: Level,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionView {
    pub headline: Vec<Figure>,
    pub details: Vec<Figure>,
    pub chart: Vec<(String, Vec<(f64, f64)>)>,
    pub axes: chart::Axes,
    /// Every pod in view's terminations (the chart is the service's).
    pub marks: Vec<chart::Mark>,
    /// The latency charts' exemplars in the window, scaled as the chart.
    pub dots: Vec<(f64, f64)>,
    /// The exemplar `x` opens: the one nearest the cursor (or the end).
    pub chosen: Option<(f64, f64)>,
}

/// The exemplars of the pane's latency charts in the window, as points in
/// the chart's unit, and the one nearest `at` (the cursor, else the end).
/// A point on a chart: (ms since the epoch, value).
type Point = (f64, f64);

fn dots(state: &State, pane: &PaneSpec, at: Option<i64>) -> (Vec<Point>, Option<Point>) {
    use crate::features::metrics::client::exemplars::{scale, wants};
    let (start, end) = (
        state.target.start_ms(state.now_ms),
        state.target.end_ms(state.now_ms),
    );
    let ex = &state.metrics.exemplars;
    let mut dots = vec![];
    for (q, _) in state.pane_queries(&pane.id).filter(|(q, _)| wants(q)) {
        let k = scale(&q.expr);
        for e in ex.of(&q.key) {
            let v = e.value * k;
            if e.at_ms >= start && e.at_ms <= end && v.is_finite() {
                dots.push((e.at_ms as f64, v));
            }
        }
    }
    // the one `x` opens, when it is this pane's
    let chosen = state
        .metrics
        .exemplar_near(at.unwrap_or(end), start, end)
        .filter(|(q, _)| q.pane == pane.id)
        .map(|(q, e)| (e.at_ms as f64, e.value * scale(&q.expr)));
    (dots, chosen.filter(|p| p.1.is_finite()))
}

fn figure(label: String, v: f64, q: &crate::dashboard::ResolvedQuery) -> Figure {
    let (value, level) = crate::ui::widgets::figure(v, q);
    Figure {
        label,
        value,
        level,
    }
}

pub fn view(state: &State, pane: &PaneSpec, at: Option<i64>) -> AdmissionView {
    let mut headline = Vec::new();
    let mut details = Vec::new();
    let mut chart_series = Vec::new();
    let mut unit = None;
    for (q, d) in state.pane_queries(&pane.id) {
        // headline: headline queries (sum) and chart queries (worst series)
        let v = match (q.role, d) {
            (Role::Headline, Some(d)) => d.sum_at(at),
            (Role::Chart, Some(d)) => d
                .series
                .iter()
                .filter_map(|s| s.at(at).map(|p| p.1))
                .filter(|v| v.is_finite())
                .fold(f64::NAN, f64::max),
            _ => f64::NAN,
        };
        if matches!(q.role, Role::Headline | Role::Chart) {
            headline.push(figure(q.label.clone(), v, q));
        }
        if q.role == Role::Folded {
            let n = d.map(|d| d.sum_at(at)).unwrap_or(f64::NAN);
            if n.is_finite() {
                details.push(Figure {
                    label: format!("  {}", q.label),
                    value: format!("{} folded", crate::text::units::format_value(n, q.unit)),
                    level: Level::Normal,
                });
            }
            continue;
        }
        if !matches!(q.role, Role::Chart | Role::Detail) {
            continue;
        }
        let Some(d) = d else { continue };
        let name = |s: &crate::store::Series| {
            if q.by.is_empty() {
                q.label.clone()
            } else {
                format!("{} {}", q.label, series_name(&s.labels, &q.by))
            }
        };
        let mut rows: Vec<(String, f64)> = d
            .series
            .iter()
            .filter_map(|s| s.at(at).map(|p| (name(s), p.1)))
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        details.extend(rows.into_iter().map(|(l, v)| figure(l, v, q)));
        if q.role == Role::Chart {
            unit.get_or_insert(q.unit);
            for s in &d.series {
                chart_series.push((name(s), chart::to_xy(s.points.iter().copied())));
            }
        }
    }
    let (dots, chosen) = dots(state, pane, at);
    AdmissionView {
        dots,
        chosen,
        headline,
        details,
        chart: chart_series,
        axes: chart::Axes {
            start_ms: state.target.start_ms(state.now_ms),
            end_ms: state.target.end_ms(state.now_ms),
            unit: unit.unwrap_or_default(),
            cursor_ms: at,
        },
        marks: state
            .marks
            .iter()
            .filter(|m| state.target.pod.as_deref().is_none_or(|p| p == m.pod))
            .map(|m| chart::Mark {
                at_ms: m.at_ms,
                oom: m.oom,
            })
            .collect(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, v: &AdmissionView, t: &Theme) {
    let head_h = draw_headline(f, area, v, t);
    let rest = Rect {
        y: area.y + head_h,
        height: area.height - head_h,
        ..area
    };
    if rest.height == 0 {
        return;
    }
    // details on the right when wide enough, else below the chart
    let detail_w = if rest.width >= 100 { 40 } else { 0 };
    // a column between the chart (its time axis ends in "UTC") and the
    // details, so neither runs into the other
    let gap = if detail_w > 0 { 2 } else { 0 };
    let chart_area = Rect {
        width: rest.width - detail_w - gap,
        ..rest
    };
    if detail_w > 0 {
        let r = Rect {
            x: rest.x + rest.width - detail_w,
            width: detail_w,
            ..rest
        };
        f.render_widget(
            Paragraph::new(detail_lines(&v.details, detail_w as usize, t)),
            r,
        );
    }
    let (chart_rect, below) = if detail_w == 0 && chart_area.height > 8 {
        split_below(chart_area, v.details.len())
    } else {
        (chart_area, None)
    };
    if let Some((r, n)) = below {
        draw_details_below(f, r, n, &v.details, t);
    }
    if chart_rect.height >= 4 && !v.chart.is_empty() {
        draw_chart(f, chart_rect, v, t);
    } else if detail_w == 0 && below.is_none() {
        let lines = detail_lines(&v.details, chart_rect.width as usize, t);
        f.render_widget(Paragraph::new(lines), chart_rect);
    }
}

/// The headline figures on the first line (two when they do not fit);
/// returns the rows they took.
fn draw_headline(f: &mut Frame, area: Rect, v: &AdmissionView, t: &Theme) -> u16 {
    // whole figures per line: a label never wraps away from its value
    let width = area.width as usize;
    let mut lines: Vec<Vec<Span>> = vec![vec![]];
    let mut used = 0;
    for h in &v.headline {
        let item = h.label.chars().count() + 1 + h.value.chars().count();
        if used > 0 && used + item > width {
            lines.push(vec![]);
            used = 0;
        }
        let line = lines.last_mut().expect("one line");
        line.push(Span::styled(format!("{} ", h.label), t.dim));
        line.push(Span::styled(
            h.value.clone(),
            h.level.style(t).add_modifier(Modifier::BOLD),
        ));
        line.push(Span::raw("   "));
        used += item + 3;
    }
    let head_h = (lines.len() as u16).min(2).min(area.height);
    let lines: Vec<Line> = lines.into_iter().take(2).map(Line::from).collect();
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: head_h,
            ..area
        },
    );
    head_h
}

/// The chart's area above, and the rows below it for `n_details` details
/// (at most half the height) with how many rows that is.
fn split_below(chart_area: Rect, n_details: usize) -> (Rect, Option<(Rect, u16)>) {
    let n = (n_details as u16).min(chart_area.height / 2);
    let below = Rect {
        y: chart_area.y + chart_area.height - n,
        height: n,
        ..chart_area
    };
    (
        Rect {
            height: chart_area.height - n,
            ..chart_area
        },
        Some((below, n)),
    )
}

/// Two columns of details under the chart on narrow screens, `n` rows each.
fn draw_details_below(f: &mut Frame, r: Rect, n: u16, details: &[Figure], t: &Theme) {
    let (lr, rr) = crate::ui::layout::halves(r);
    let per_col = (n as usize).min(details.len());
    let left = detail_lines(
        &details[..per_col],
        (lr.width as usize).saturating_sub(1),
        t,
    );
    let right = detail_lines(details.get(per_col..).unwrap_or(&[]), rr.width as usize, t);
    f.render_widget(Paragraph::new(left), lr);
    f.render_widget(Paragraph::new(right), rr);
}

/// The `chart` queries' series over the window, one style each.
fn draw_chart(f: &mut Frame, r: Rect, v: &AdmissionView, t: &Theme) {
    let lines: Vec<chart::Line> = v
        .chart
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| chart::Line {
            name: name.clone(),
            points: pts,
            style: t.series_style(i),
        })
        .collect();
    let dots = chart::Dots {
        points: &v.dots,
        chosen: v.chosen,
    };
    chart::draw(f, r, t, &lines, v.axes, &v.marks, dots);
}

/// Detail rows as "label ....... value" fitted to `width` columns.
fn detail_lines<'a>(rows: &[Figure], width: usize, t: &Theme) -> Vec<Line<'a>> {
    rows.iter()
        .map(|r| {
            let vw = r.value.chars().count() + 1;
            let lw = width.saturating_sub(vw);
            Line::from(vec![
                Span::styled(crate::text::units::fit_middle(&r.label, lw), t.text),
                Span::styled(format!(" {}", r.value), r.level.style(t)),
            ])
        })
        .collect()
}
