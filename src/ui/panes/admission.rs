//! Admission & latency: headline rates and quantiles, a chart of the `chart`
//! queries over the window, and per-series details (route classes, status
//! classes, DB queue, stream buffers).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::series_name;
use crate::app::State;
use crate::dashboard::PaneSpec;
use crate::text::units::format_value;
use crate::ui::widgets::{chart, level_style};

pub fn draw(f: &mut Frame, area: Rect, state: &State, pane: &PaneSpec) {
    let t = &state.theme;
    // headline: headline queries (sum) and chart queries (worst series)
    let mut head = Vec::new();
    for (q, d) in state.pane_queries(&pane.id) {
        let v = match (q.role.as_str(), d) {
            ("headline", Some(d)) => d.latest_sum(),
            ("chart", Some(d)) => d
                .series
                .iter()
                .filter_map(|s| s.last().map(|p| p.1))
                .filter(|v| v.is_finite())
                .fold(f64::NAN, f64::max),
            ("headline" | "chart", None) => f64::NAN,
            _ => continue,
        };
        let text = if v.is_nan() {
            "—".into()
        } else {
            format_value(v, q.unit)
        };
        head.push(Span::styled(format!("{} ", q.label), t.dim));
        head.push(Span::styled(
            text,
            level_style(t, v, q.warn, q.crit).add_modifier(ratatui::style::Modifier::BOLD),
        ));
        head.push(Span::raw("   "));
    }
    let head_line = Line::from(head);
    let head_h = if head_line.width() > area.width as usize {
        2
    } else {
        1
    }
    .min(area.height);
    let head_lines = vec![head_line];
    f.render_widget(
        Paragraph::new(head_lines).wrap(ratatui::widgets::Wrap { trim: true }),
        Rect {
            height: head_h,
            ..area
        },
    );
    let rest = Rect {
        y: area.y + head_h,
        height: area.height - head_h,
        ..area
    };
    if rest.height == 0 {
        return;
    }
    // details on the right when wide enough, else below the chart
    let mut details: Vec<(String, String, ratatui::style::Style)> = Vec::new();
    for (q, d) in state.pane_queries(&pane.id) {
        if !matches!(q.role.as_str(), "chart" | "detail") {
            continue;
        }
        let Some(d) = d else { continue };
        let mut series: Vec<_> = d
            .series
            .iter()
            .filter_map(|s| s.last().map(|p| (series_name(&s.labels, &q.by), p.1)))
            .collect();
        series.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (name, v) in series {
            let label = if q.by.is_empty() {
                q.label.clone()
            } else {
                format!("{} {}", q.label, name)
            };
            details.push((
                label,
                format_value(v, q.unit),
                level_style(t, v, q.warn, q.crit),
            ));
        }
    }
    let detail_w = if rest.width >= 100 { 40 } else { 0 };
    let chart_area = Rect {
        width: rest.width - detail_w,
        ..rest
    };
    if detail_w > 0 {
        let r = Rect {
            x: rest.x + rest.width - detail_w,
            width: detail_w,
            ..rest
        };
        f.render_widget(
            Paragraph::new(detail_lines(&details, detail_w as usize, t)),
            r,
        );
    }
    let chart_series: Vec<(String, Vec<(f64, f64)>)> = state
        .pane_queries(&pane.id)
        .filter(|(q, _)| q.role == "chart")
        .filter_map(|(q, d)| d.map(|d| (q, d)))
        .flat_map(|(q, d)| {
            d.series.iter().map(move |s| {
                let name = if q.by.is_empty() {
                    q.label.clone()
                } else {
                    format!("{} {}", q.label, series_name(&s.labels, &q.by))
                };
                (name, chart::to_xy(s.points.iter().copied()))
            })
        })
        .collect();
    let unit = state
        .pane_queries(&pane.id)
        .find(|(q, _)| q.role == "chart")
        .map(|(q, _)| q.unit)
        .unwrap_or_default();
    let (chart_rect, below) = if detail_w == 0 && chart_area.height > 8 {
        let n = (details.len() as u16).min(chart_area.height / 2);
        (
            Rect {
                height: chart_area.height - n,
                ..chart_area
            },
            Some((
                Rect {
                    y: chart_area.y + chart_area.height - n,
                    height: n,
                    ..chart_area
                },
                n,
            )),
        )
    } else {
        (chart_area, None)
    };
    if let Some((r, n)) = below {
        // two columns of details under the chart on narrow screens
        let (lr, rr) = crate::ui::layout::halves(r);
        let per_col = n as usize;
        let left = detail_lines(
            &details[..per_col.min(details.len())],
            (lr.width as usize).saturating_sub(1),
            t,
        );
        let right = detail_lines(details.get(per_col..).unwrap_or(&[]), rr.width as usize, t);
        f.render_widget(Paragraph::new(left), lr);
        f.render_widget(Paragraph::new(right), rr);
    }
    if chart_rect.height >= 4 && !chart_series.is_empty() {
        let lines: Vec<chart::Line> = chart_series
            .iter()
            .enumerate()
            .map(|(i, (name, pts))| chart::Line {
                name: name.clone(),
                points: pts,
                style: t.series_style(i),
            })
            .collect();
        let (start, end) = (
            state.focus.start_ms(state.now_ms),
            state.focus.end_ms(state.now_ms),
        );
        chart::draw(f, chart_rect, t, &lines, start, end, unit);
    } else if detail_w == 0 && below.is_none() {
        f.render_widget(
            Paragraph::new(detail_lines(&details, chart_rect.width as usize, t)),
            chart_rect,
        );
    }
}

/// Detail rows as "label ....... value" fitted to `width` columns.
fn detail_lines<'a>(
    rows: &[(String, String, ratatui::style::Style)],
    width: usize,
    t: &crate::config::theme::Theme,
) -> Vec<Line<'a>> {
    rows.iter()
        .map(|(label, value, style)| {
            let vw = value.chars().count() + 1;
            let lw = width.saturating_sub(vw);
            Line::from(vec![
                Span::styled(format!("{label:<lw$.lw$}"), t.text),
                Span::styled(format!(" {value}"), *style),
            ])
        })
        .collect()
}
