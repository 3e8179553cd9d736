//! Memory breakdown per pod: working set vs limit, runtime total and its
//! categories, memory not explained by the runtime, RSS/cache, and a chart.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::dashboard::{PaneSpec, ResolvedQuery};
use crate::store::QueryData;
use crate::text::display as sanitize;
use crate::text::units::{format_bytes, format_ratio};
use crate::ui::widgets::{bar::bar, chart, level_style};

fn role<'a>(
    state: &'a State,
    pane: &'a PaneSpec,
    role: &str,
) -> Vec<(&'a ResolvedQuery, Option<&'a QueryData>)> {
    state
        .pane_queries(&pane.id)
        .filter(|(q, _)| q.role == role)
        .collect()
}

fn pod_value(d: Option<&QueryData>, pod: &str) -> Option<f64> {
    d.and_then(|d| d.latest_for("pod", pod))
}

/// The pod whose working set came closest to its limit within the window.
fn peak_pod(ws: Option<&QueryData>, limit: Option<&QueryData>) -> Option<String> {
    ws?.series
        .iter()
        .filter_map(|s| {
            let pod = s.label("pod");
            let peak = s
                .points
                .iter()
                .map(|p| p.1)
                .filter(|v| v.is_finite())
                .fold(f64::NAN, f64::max);
            let l = pod_value(limit, pod).unwrap_or(1.0);
            (!peak.is_nan()).then(|| (pod.to_string(), peak / l))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|p| p.0)
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, pane: &PaneSpec) {
    let t = &state.theme;
    let ws = role(state, pane, "working_set");
    let limit = role(state, pane, "limit");
    let Some(&(ws_q, ws_d)) = ws.first() else {
        f.render_widget(
            Paragraph::new("this dashboard's memory pane has no working_set query"),
            area,
        );
        return;
    };
    let limit_d = limit.first().and_then(|x| x.1);
    // pods, worst (highest share of limit) first
    let mut pods: Vec<(String, f64, Option<f64>)> = ws_d
        .map(|d| {
            d.series
                .iter()
                .filter_map(|s| {
                    let pod = s.label("pod").to_string();
                    let v = s.last()?.1;
                    Some((pod.clone(), v, pod_value(limit_d, &pod)))
                })
                .collect()
        })
        .unwrap_or_default();
    pods.sort_by(|a, b| {
        let ra = a.2.map_or(0.0, |l| a.1 / l);
        let rb = b.2.map_or(0.0, |l| b.1 / l);
        rb.total_cmp(&ra).then(a.0.cmp(&b.0))
    });
    let w = area.width as usize;
    // narrow panes drop the "/limit" text to keep the bar readable
    let narrow = w < 60;
    let label_w = if narrow { 11 } else { 12 };
    let bar_w = w
        .saturating_sub(label_w + if narrow { 15 } else { 24 })
        .clamp(4, 40);
    let mut lines: Vec<Line> = Vec::new();
    let max_pod_lines = if pods.len() == 1 {
        1
    } else {
        (area.height as usize / 3).clamp(1, 6)
    };
    for (pod, v, l) in pods.iter().take(max_pod_lines) {
        let ratio = l.map(|l| v / l);
        let style = level_style(t, *v, ws_q.warn, ws_q.crit);
        let name = if pods.len() == 1 {
            ws_q.label.clone()
        } else {
            sanitize(pod).into_owned()
        };
        let mut spans = vec![
            Span::styled(format!("{:<label_w$.label_w$} ", name), t.text),
            Span::styled(bar(ratio.unwrap_or(0.0), bar_w), style),
            Span::styled(format!(" {}", format_bytes(*v)), style),
        ];
        match (l, ratio) {
            (Some(l), Some(r)) if !narrow => spans.push(Span::styled(
                format!("/{} {}", format_bytes(*l), format_ratio(r)),
                t.dim,
            )),
            (_, Some(r)) => spans.push(Span::styled(format!(" {}", format_ratio(r)), style)),
            _ => {}
        }
        lines.push(Line::from(spans));
    }
    if pods.len() > max_pod_lines {
        lines.push(Line::from(Span::styled(
            format!("  … {} more pods (p to pick)", pods.len() - max_pod_lines),
            t.dim,
        )));
    }
    // breakdown of the focused pod, else the one that came closest to its
    // limit anywhere in the window (a pod that was just OOM-killed is low now)
    let focus_pod = state.focus.pod.clone().or_else(|| peak_pod(ws_d, limit_d));
    if let Some(pod) = &focus_pod {
        let limit_v = pod_value(limit_d, pod);
        let scale = limit_v
            .or_else(|| pods.iter().find(|p| &p.0 == pod).map(|p| p.1))
            .unwrap_or(1.0);
        if state.focus.pod.is_none() && pods.len() > 1 {
            lines.push(Line::from(Span::styled(
                format!("▸ {} (peak vs limit in window)", sanitize(pod)),
                t.accent,
            )));
        }
        if let Some(&(q, d)) = role(state, pane, "runtime_total").first() {
            if let Some(v) = pod_value(d, pod) {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<label_w$.label_w$} ", q.label), t.text),
                    Span::styled(bar(v / scale, bar_w), t.series_style(1)),
                    Span::styled(format!(" {}", format_bytes(v)), t.text),
                ]));
            }
        }
        let cats = role(state, pane, "category");
        if !cats.is_empty() {
            let mut spans = vec![Span::raw(" ")];
            let mut vals: Vec<(String, f64)> = cats
                .iter()
                .filter_map(|(q, d)| pod_value(*d, pod).map(|v| (q.label.clone(), v)))
                .collect();
            vals.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (i, (label, v)) in vals.iter().enumerate() {
                let blocks =
                    ((v / scale) * bar_w as f64)
                        .round()
                        .max(if *v > 0.0 { 1.0 } else { 0.0 }) as usize;
                spans.push(Span::styled(format!("{label} "), t.dim));
                spans.push(Span::styled(
                    "█".repeat(blocks.min(bar_w)),
                    t.series_style(i + 2),
                ));
                spans.push(Span::styled(format!(" {}  ", format_bytes(*v)), t.text));
            }
            lines.push(Line::from(spans));
        }
        if let Some(&(q, d)) = role(state, pane, "unexplained").first() {
            if let Some(v) = pod_value(d, pod) {
                let style = level_style(t, v, q.warn, q.crit);
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<label_w$.label_w$} ", q.label), t.text),
                    Span::styled(bar(v / scale, bar_w), style),
                    Span::styled(format!(" {}", format_bytes(v)), style),
                ]));
            }
        }
        let rss = role(state, pane, "rss")
            .first()
            .and_then(|x| pod_value(x.1, pod));
        let cache = role(state, pane, "cache")
            .first()
            .and_then(|x| pod_value(x.1, pod));
        if rss.is_some() || cache.is_some() {
            let fmt = |v: Option<f64>| v.map(format_bytes).unwrap_or_else(|| "—".into());
            lines.push(Line::from(vec![
                Span::styled(format!("{:<label_w$} ", "rss / cache"), t.text),
                Span::styled(format!("{} / {}", fmt(rss), fmt(cache)), t.text),
            ]));
        }
    }
    let text_h = (lines.len() as u16).min(area.height);
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: text_h,
            ..area
        },
    );
    // chart of working set, runtime total and limit for the pod
    let chart_area = Rect {
        y: area.y + text_h,
        height: area.height - text_h,
        ..area
    };
    if chart_area.height >= 5 {
        if let Some(pod) = &focus_pod {
            let pick = |role_name: &str| -> Vec<(f64, f64)> {
                role(state, pane, role_name)
                    .first()
                    .and_then(|(_, d)| *d)
                    .and_then(|d| d.series.iter().find(|s| s.label("pod") == pod))
                    .map(|s| chart::to_xy(s.points.iter().copied()))
                    .unwrap_or_default()
            };
            let (wsp, rtp, lp) = (pick("working_set"), pick("runtime_total"), pick("limit"));
            let mut lines = vec![chart::Line {
                name: "working set".into(),
                points: &wsp,
                style: t.series_style(0),
            }];
            if !rtp.is_empty() {
                let name = role(state, pane, "runtime_total")
                    .first()
                    .map(|q| q.0.label.clone())
                    .unwrap_or_default();
                lines.push(chart::Line {
                    name,
                    points: &rtp,
                    style: t.series_style(1),
                });
            }
            if !lp.is_empty() {
                lines.push(chart::Line {
                    name: "limit".into(),
                    points: &lp,
                    style: t.crit,
                });
            }
            let (start, end) = (
                state.focus.start_ms(state.now_ms),
                state.focus.end_ms(state.now_ms),
            );
            chart::draw(
                f,
                chart_area,
                t,
                &lines,
                start,
                end,
                crate::text::units::Unit::Bytes,
            );
        }
    }
}
