//! Scheduler: one row per query (run queues, process/port counts, or
//! goroutines/threads/scheduler latency) with a sparkline and threshold colour.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::dashboard::PaneSpec;
use crate::text::units::format_value;
use crate::ui::widgets::{level_style, spark::sparkline};

pub fn draw(f: &mut Frame, area: Rect, state: &State, pane: &PaneSpec) {
    let t = &state.theme;
    let w = area.width as usize;
    let label_w = 13usize;
    let value_w = 9usize;
    let spark_w = w.saturating_sub(label_w + value_w + 1);
    let mut lines = Vec::new();
    for (q, d) in state.pane_queries(&pane.id) {
        let pts: Vec<(i64, f64)> = d.map(|d| d.summed_points()).unwrap_or_default();
        let vals: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let latest = d.map(|d| d.latest_sum()).unwrap_or(f64::NAN);
        let style = level_style(t, latest, q.warn, q.crit);
        let value = if latest.is_nan() {
            "—".to_string()
        } else {
            format_value(latest, q.unit)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<label_w$.label_w$}", q.label), t.text),
            Span::styled(sparkline(&vals, spark_w), t.series_style(0)),
            Span::styled(format!(" {value:>width$}", width = value_w - 1), style),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}
