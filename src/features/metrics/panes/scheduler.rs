//! Scheduler: run queues, process/port counts, or goroutines/threads and
//! scheduler latency, with a sparkline and threshold colour. A query that
//! answers per pod is never summed silently: a total row labelled as one
//! (`run queue Σ3`), then the top pods.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::dashboard::{PaneSpec, ResolvedQuery};
use crate::store::{QueryData, Series};
use crate::text::display;
use crate::ui::widgets::spark::{sparkline_to, tail_max};
use crate::ui::widgets::Level;

/// Points a sparkline can show at most (wider panes are not drawn).
pub const HISTORY: usize = 240;

/// Pods shown under a total, most loaded first.
pub const TOP_PODS: usize = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    /// The value at the cursor (or latest), formatted; "—" without data.
    pub value: String,
    pub level: Level,
    /// The window's values, oldest first, for the sparkline.
    pub history: Vec<f64>,
}

fn row(label: String, v: f64, history: Vec<f64>, q: &ResolvedQuery) -> Row {
    let (value, level) = crate::ui::widgets::figure(v, q);
    Row {
        label,
        value,
        level,
        history,
    }
}

fn rows_of(q: &ResolvedQuery, d: Option<&QueryData>, at: Option<i64>, pod_label: &str) -> Vec<Row> {
    let Some(d) = d.filter(|d| d.series.len() > 1) else {
        let history = d
            .map(|d| d.summed_tail(HISTORY).into_iter().map(|p| p.1).collect())
            .unwrap_or_default();
        let v = d.map(|d| d.sum_at(at)).unwrap_or(f64::NAN);
        return vec![row(q.label.clone(), v, history, q)];
    };
    // the total, labelled as one, then the pods that weigh most
    let total = d.sum_at(at);
    let history = d.summed_tail(HISTORY).into_iter().map(|p| p.1).collect();
    let mut out = vec![row(
        format!("{} Σ{}", q.label, d.series.len()),
        total,
        history,
        q,
    )];
    let mut pods: Vec<(&Series, f64)> = d
        .series
        .iter()
        .map(|s| (s, s.at(at).map(|p| p.1).unwrap_or(f64::NAN)))
        .collect();
    pods.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (s, v) in pods.into_iter().take(TOP_PODS) {
        let name = display(s.label(pod_label)).into_owned();
        let skip = s.points.len().saturating_sub(HISTORY);
        let history = s.points.iter().skip(skip).map(|p| p.1).collect();
        out.push(row(format!("  {name}"), v, history, q));
    }
    out
}

pub fn view(state: &State, pane: &PaneSpec, at: Option<i64>) -> Vec<Row> {
    let pod_label = state.label("pod");
    state
        .pane_queries(&pane.id)
        .flat_map(|(q, d)| rows_of(q, d, at, pod_label))
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, rows: &[Row], t: &Theme) {
    // labels get what they need (up to 20 columns), never cut mid-value
    let label_w = rows
        .iter()
        .map(|r| r.label.chars().count() + 1)
        .max()
        .unwrap_or(13)
        .clamp(13, 20)
        .min(area.width as usize / 2);
    let value_w = rows
        .iter()
        .map(|r| r.value.chars().count() + 1)
        .max()
        .unwrap_or(9)
        .max(9);
    let spark_w = (area.width as usize).saturating_sub(label_w + value_w);
    // a metric's row and its pods' rows (indented) share one scale
    let mut group_hi: Vec<Option<f64>> = vec![None; rows.len()];
    let mut start = 0;
    for i in 0..=rows.len() {
        if i == rows.len() || (i > start && !rows[i].label.starts_with(' ')) {
            let hi = rows[start..i]
                .iter()
                .filter_map(|r| tail_max(&r.history, spark_w))
                .reduce(f64::max);
            group_hi[start..i].fill(hi);
            start = i;
        }
    }
    let lines: Vec<Line> = rows
        .iter()
        .zip(group_hi)
        .map(|(r, hi)| {
            Line::from(vec![
                Span::styled(crate::text::units::fit_middle(&r.label, label_w), t.text),
                Span::styled(sparkline_to(&r.history, spark_w, hi), t.series_style(0)),
                Span::styled(format!("{:>value_w$}", r.value), r.level.style(t)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}
