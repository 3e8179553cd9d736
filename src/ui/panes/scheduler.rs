//! Scheduler: one row per query (run queues, process/port counts, or
//! goroutines/threads/scheduler latency) with a sparkline and threshold colour.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::dashboard::PaneSpec;
use crate::text::units::format_value;
use crate::ui::widgets::{spark::sparkline, Level};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    /// The value at the cursor (or latest), formatted; "—" without data.
    pub value: String,
    pub level: Level,
    /// The window's values, oldest first, for the sparkline.
    pub history: Vec<f64>,
}

pub fn view(state: &State, pane: &PaneSpec, at: Option<i64>) -> Vec<Row> {
    state
        .pane_queries(&pane.id)
        .map(|(q, d)| {
            let history: Vec<f64> = d
                .map(|d| d.summed_points().into_iter().map(|p| p.1).collect())
                .unwrap_or_default();
            let v = d.map(|d| d.sum_at(at)).unwrap_or(f64::NAN);
            Row {
                label: q.label.clone(),
                value: if v.is_nan() {
                    "—".into()
                } else {
                    format_value(v, q.unit)
                },
                level: Level::of(v, q.warn, q.crit),
                history,
            }
        })
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, rows: &[Row], t: &Theme) {
    let (label_w, value_w) = (13usize, 9usize);
    let spark_w = (area.width as usize).saturating_sub(label_w + value_w + 1);
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| {
            Line::from(vec![
                Span::styled(format!("{:<label_w$.label_w$}", r.label), t.text),
                Span::styled(sparkline(&r.history, spark_w), t.series_style(0)),
                Span::styled(
                    format!(" {:>width$}", r.value, width = value_w - 1),
                    r.level.style(t),
                ),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}
