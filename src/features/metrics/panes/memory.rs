//! Memory breakdown per pod: working set vs limit, runtime total and its
//! categories, memory not explained by the runtime, RSS/cache, and a chart.
//! `view` reads State at a time (latest or the cursor); `draw` lays it out.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::dashboard::{PaneSpec, ResolvedQuery, Role};
use crate::store::QueryData;
use crate::text::display;
use crate::text::units::fit_middle;
use crate::text::units::{format_bytes, format_ratio, Unit};
use crate::ui::widgets::{bar::bar, chart, Level};

/// One pod's working set against its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct PodBar {
    pub name: String,
    pub value: f64,
    pub limit: Option<f64>,
    pub level: Level,
}

/// A labelled amount in the breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub label: String,
    pub value: f64,
    pub level: Level,
}

/// The breakdown of one pod: runtime total, categories, unexplained, rss/cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakdown {
    pub pod: String,
    /// Chosen as the pod closest to its limit in the window (not focused).
    pub peak_note: bool,
    /// What 100% of a bar is: the limit, else the working set.
    pub scale: f64,
    pub runtime: Option<Amount>,
    pub categories: Vec<Amount>,
    pub unexplained: Option<Amount>,
    pub rss_cache: Option<(Option<f64>, Option<f64>)>,
}

/// A chart line: its name, its points, and which of the pane's styles (0
/// working set, 1 runtime total, 2 limit) draws it.
pub type ChartLine = (String, Vec<(f64, f64)>, usize);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryView {
    /// The working-set label when there is a single pod (e.g. "working set").
    pub single_label: Option<String>,
    pub pods: Vec<PodBar>,
    pub breakdown: Option<Breakdown>,
    pub chart: Vec<ChartLine>,
    pub axes: Option<chart::Axes>,
    /// The chosen pod's terminations on the chart's time axis.
    pub marks: Vec<chart::Mark>,
    pub missing_working_set: bool,
    /// What stands in for the limit when it is not the container's own
    /// (e.g. "node mem": the node's memory, when there is no limit).
    pub limit_label: Option<String>,
}

fn first<'a>(state: &'a State, pane: &'a PaneSpec, role: Role) -> Option<&'a QueryData> {
    state.role_queries(&pane.id, role).next().and_then(|x| x.1)
}

/// The pod whose working set came closest to its limit within the window.
fn peak_pod(ws: &QueryData, limit: Option<&QueryData>, pod_label: &str) -> Option<String> {
    ws.series
        .iter()
        .filter_map(|s| {
            let pod = s.label(pod_label);
            let peak = s
                .points
                .iter()
                .map(|p| p.1)
                .filter(|v| v.is_finite())
                .fold(f64::NAN, f64::max);
            let l = limit
                .and_then(|d| d.value_for(pod_label, pod, None))
                .unwrap_or(1.0);
            (!peak.is_nan()).then(|| (pod.to_string(), peak / l))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|p| p.0)
}

pub fn view(state: &State, pane: &PaneSpec, at: Option<i64>) -> MemoryView {
    let Some((ws_q, ws_d)) = state.role_queries(&pane.id, Role::WorkingSet).next() else {
        return MemoryView {
            missing_working_set: true,
            ..Default::default()
        };
    };
    let pods = pod_bars(state, pane, ws_q, ws_d, at);
    let mut v = MemoryView {
        single_label: (pods.len() == 1).then(|| ws_q.label.clone()),
        limit_label: limit_label(state, pane),
        ..Default::default()
    };
    if let Some(pod) = chosen_pod(state, pane) {
        v.breakdown = Some(breakdown(state, pane, &pod, at, pods.len()));
        v.chart = pod_chart(state, pane, &pod);
        v.axes = Some(chart::Axes {
            start_ms: state.target.start_ms(state.now_ms),
            end_ms: state.target.end_ms(state.now_ms),
            unit: Unit::Bytes,
            cursor_ms: at,
        });
        v.marks = state
            .marks
            .iter()
            .filter(|m| m.pod == pod)
            .map(|m| chart::Mark {
                at_ms: m.at_ms,
                oom: m.oom,
            })
            .collect();
    }
    v.pods = pods;
    v
}

/// The limit query's label when it is a stand-in (an alternative query)
/// that has data.
fn limit_label(state: &State, pane: &PaneSpec) -> Option<String> {
    state
        .role_queries(&pane.id, Role::Limit)
        .next()
        .filter(|(q, d)| q.alt > 0 && d.is_some_and(|d| !d.series.is_empty()))
        .map(|(q, _)| q.label.clone())
}

/// Each pod's working set at `at` against its limit, worst (highest share
/// of limit) first.
fn pod_bars(
    state: &State,
    pane: &PaneSpec,
    ws_q: &ResolvedQuery,
    ws_d: Option<&QueryData>,
    at: Option<i64>,
) -> Vec<PodBar> {
    let pod_label = state.label("pod");
    let limit_d = first(state, pane, Role::Limit);
    let mut pods: Vec<PodBar> = ws_d
        .map(|d| {
            d.series
                .iter()
                .filter_map(|s| {
                    let pod = s.label(pod_label);
                    let v = s.at(at)?.1;
                    Some(PodBar {
                        name: display(pod).into_owned(),
                        value: v,
                        limit: limit_d.and_then(|d| d.value_for(pod_label, pod, at)),
                        level: Level::of(v, ws_q.warn, ws_q.crit),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let share = |p: &PodBar| p.limit.map_or(0.0, |l| p.value / l);
    pods.sort_by(|a, b| share(b).total_cmp(&share(a)).then(a.name.cmp(&b.name)));
    pods
}

/// The pod to break down: the chosen pod, else the one that came closest
/// to its limit anywhere in the window (a pod that was just OOM-killed is
/// low now); with no working set at all (no cAdvisor, no resident memory),
/// the pod with the largest runtime total, so the runtime's own figures
/// still show.
fn chosen_pod(state: &State, pane: &PaneSpec) -> Option<String> {
    let pod_label = state.label("pod");
    let ws_d = first(state, pane, Role::WorkingSet);
    let limit_d = first(state, pane, Role::Limit);
    let runtime_d = first(state, pane, Role::RuntimeTotal);
    state
        .target
        .pod
        .clone()
        .or_else(|| ws_d.and_then(|d| peak_pod(d, limit_d, pod_label)))
        .or_else(|| runtime_d.and_then(|d| peak_pod(d, None, pod_label)))
}

/// One pod's runtime total, categories (largest first), unexplained memory
/// and rss/cache at `at`, scaled to its limit (else working set, else
/// runtime total).
fn breakdown(
    state: &State,
    pane: &PaneSpec,
    pod: &str,
    at: Option<i64>,
    n_pods: usize,
) -> Breakdown {
    let pod_label = state.label("pod");
    let value = |d: Option<&QueryData>| d.and_then(|d| d.value_for(pod_label, pod, at));
    let scale = value(first(state, pane, Role::Limit))
        .or_else(|| value(first(state, pane, Role::WorkingSet)))
        .or_else(|| value(first(state, pane, Role::RuntimeTotal)))
        .unwrap_or(1.0);
    let amount = |role: Role| {
        state
            .role_queries(&pane.id, role)
            .filter_map(|(q, d)| {
                value(d).map(|x| Amount {
                    label: q.label.clone(),
                    value: x,
                    level: Level::of(x, q.warn, q.crit),
                })
            })
            .collect::<Vec<_>>()
    };
    let mut categories = amount(Role::Category);
    categories.sort_by(|a, b| b.value.total_cmp(&a.value));
    let (rss, cache) = (
        value(first(state, pane, Role::Rss)),
        value(first(state, pane, Role::Cache)),
    );
    Breakdown {
        peak_note: state.target.pod.is_none() && n_pods > 1,
        pod: display(pod).into_owned(),
        scale,
        runtime: amount(Role::RuntimeTotal).into_iter().next(),
        categories,
        unexplained: amount(Role::Unexplained).into_iter().next(),
        rss_cache: (rss.is_some() || cache.is_some()).then_some((rss, cache)),
    }
}

/// The pod's working set, runtime total and limit over the window, those
/// that have points.
fn pod_chart(state: &State, pane: &PaneSpec, pod: &str) -> Vec<ChartLine> {
    let pod_label = state.label("pod");
    let series = |role: Role| -> Option<(String, Vec<(f64, f64)>)> {
        let (q, d) = state.role_queries(&pane.id, role).next()?;
        let s = d?.series.iter().find(|s| s.label(pod_label) == pod)?;
        Some((q.label.clone(), chart::to_xy(s.points.iter().copied())))
    };
    let mut out = Vec::new();
    for (i, role) in [Role::WorkingSet, Role::RuntimeTotal, Role::Limit]
        .into_iter()
        .enumerate()
    {
        if let Some((name, pts)) = series(role).filter(|s| !s.1.is_empty()) {
            out.push((name, pts, i));
        }
    }
    // a limit far above the values (a node's memory standing in for a
    // missing container limit) would flatten them on the zero row: the
    // chart scales to the values, the bars still say the share
    let top = |pts: &[(f64, f64)]| pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let values = out
        .iter()
        .filter(|(_, _, i)| *i != 2)
        .map(|(_, p, _)| top(p))
        .fold(0.0, f64::max);
    out.retain(|(_, p, i)| *i != 2 || values <= 0.0 || top(p) <= values * 10.0);
    out
}

/// Layout: pod bars, the breakdown, and the chart in what is left.
pub fn draw(f: &mut Frame, area: Rect, v: &MemoryView, t: &Theme) {
    if v.missing_working_set {
        let msg = "this dashboard's memory pane has no working_set query";
        f.render_widget(Paragraph::new(msg), area);
        return;
    }
    let w = area.width as usize;
    // narrow panes drop the "/limit" text to keep the bar readable
    let narrow = w < 60;
    // a stand-in limit's label ("node mem") takes its room from the bar
    let of = v.limit_label.as_ref().map_or(0, |l| l.chars().count() + 1);
    let max_pods = if v.pods.len() == 1 {
        1
    } else {
        // "… 1 more pod" would take the row that pod needs: show it
        let n = (area.height as usize / 3).clamp(1, 6);
        if v.pods.len() == n + 1 {
            n + 1
        } else {
            n
        }
    };
    // names get the width they need, up to what leaves the bar 8 columns;
    // the bar stops at 40 and gives the rest to the names
    let room = w.saturating_sub(of + if narrow { 15 } else { 24 });
    let longest = v
        .pods
        .iter()
        .take(max_pods)
        .map(|p| v.single_label.as_deref().unwrap_or(&p.name).chars().count())
        .max()
        .unwrap_or(0)
        .max(if narrow { 11 } else { 12 });
    let lw = longest.min(room.saturating_sub(8)).max(6);
    let bw = room.saturating_sub(lw).clamp(4, 40);
    let mut lines: Vec<Line> = Vec::new();
    for p in v.pods.iter().take(max_pods) {
        lines.push(pod_line(p, v, lw, bw, narrow, t));
    }
    if v.pods.len() > max_pods {
        let more = v.pods.len() - max_pods;
        lines.push(Line::from(Span::styled(
            format!(
                "  … {more} more pod{} (p to pick)",
                if more == 1 { "" } else { "s" }
            ),
            t.dim,
        )));
    }
    if let Some(b) = &v.breakdown {
        let before = lines.len();
        breakdown_lines(&mut lines, b, (lw, bw, w), t);
        // the chart (the climb to the limit, the OOM drop) needs 5 rows:
        // the breakdown's detail rows give way to it, its first two stay
        let room = (area.height as usize).saturating_sub(5);
        if v.axes.is_some() && lines.len() > room && room >= before + 2 {
            lines.truncate(room);
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
    let chart_area = Rect {
        y: area.y + text_h,
        height: area.height - text_h,
        ..area
    };
    if let (true, Some(axes)) = (chart_area.height >= 5, v.axes) {
        let styles = [t.series_style(0), t.series_style(1), t.crit];
        let lines: Vec<chart::Line> = v
            .chart
            .iter()
            .map(|(name, pts, i)| chart::Line {
                name: name.clone(),
                points: pts,
                style: styles[(*i).min(2)],
            })
            .collect();
        if !lines.is_empty() {
            chart::draw(f, chart_area, t, &lines, axes, &v.marks, Default::default());
        }
    }
}

fn pod_line<'a>(
    p: &PodBar,
    v: &MemoryView,
    lw: usize,
    bw: usize,
    narrow: bool,
    t: &Theme,
) -> Line<'a> {
    let ratio = p.limit.map(|l| p.value / l);
    let style = p.level.style(t);
    let name = v.single_label.as_deref().unwrap_or(&p.name);
    // a stand-in limit says what it is ("/7.6GiB node mem 21%")
    let of = v
        .limit_label
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!("{} ", fit_middle(name, lw)), t.text),
        Span::styled(bar(ratio.unwrap_or(0.0), bw), style),
        Span::styled(format!(" {}", format_bytes(p.value)), style),
    ];
    match (p.limit, ratio) {
        (Some(l), Some(r)) if !narrow => spans.push(Span::styled(
            format!("/{}{of} {}", format_bytes(l), format_ratio(r)),
            t.dim,
        )),
        (_, Some(r)) => spans.push(Span::styled(format!(" {}{of}", format_ratio(r)), style)),
        _ => {}
    }
    Line::from(spans)
}

/// `(label, bar, line)` widths.
fn breakdown_lines(lines: &mut Vec<Line>, b: &Breakdown, widths: (usize, usize, usize), t: &Theme) {
    let (lw, bw, w) = widths;
    if b.peak_note {
        lines.push(Line::from(Span::styled(
            // the pod is chosen by its peak; the rows below are its values now
            format!("▸ {} · closest to its limit · now", b.pod),
            t.accent,
        )));
    }
    let amount_line = |a: &Amount, style| {
        // a label longer than the pods' column takes free columns beside
        // the bar rather than being cut mid-word
        let room = w.saturating_sub(bw + 12);
        let lw = lw.max(a.label.chars().count().min(room));
        Line::from(vec![
            Span::styled(format!("{} ", fit_middle(&a.label, lw)), t.text),
            Span::styled(bar(a.value / b.scale, bw), style),
            Span::styled(format!(" {}", format_bytes(a.value)), a.level.style(t)),
        ])
    };
    if let Some(a) = &b.runtime {
        lines.push(amount_line(a, t.series_style(1)));
    }
    if !b.categories.is_empty() {
        // whole items only: what does not fit is counted, never cut mid-value
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1;
        let n = b.categories.len();
        for (i, a) in b.categories.iter().enumerate() {
            let blocks = ((a.value / b.scale) * bw as f64).round();
            let blocks = (blocks.max(if a.value > 0.0 { 1.0 } else { 0.0 }) as usize).min(bw);
            let label = format!("{} ", a.label);
            let value = format!(" {}  ", format_bytes(a.value));
            let item = label.chars().count() + blocks + value.chars().count();
            let rest = n - i - 1;
            let more = if rest > 0 {
                format!("+{rest} more").len()
            } else {
                0
            };
            if used + item + more > w && i > 0 {
                spans.push(Span::styled(format!("+{} more", n - i), t.dim));
                break;
            }
            used += item;
            spans.push(Span::styled(label, t.dim));
            spans.push(Span::styled("█".repeat(blocks), t.series_style(i + 2)));
            spans.push(Span::styled(value, t.text));
        }
        lines.push(Line::from(spans));
    }
    if let Some(a) = &b.unexplained {
        lines.push(amount_line(a, a.level.style(t)));
    }
    if let Some((rss, cache)) = b.rss_cache {
        let fmt = |v: Option<f64>| v.map(format_bytes).unwrap_or_else(|| "—".into());
        lines.push(Line::from(vec![
            Span::styled(format!("{:<lw$} ", "rss / cache"), t.text),
            Span::styled(format!("{} / {}", fmt(rss), fmt(cache)), t.text),
        ]));
    }
}
