//! Probes: each health endpoint's status, latency, when it last changed,
//! and its recent history, so a flapping endpoint is visible at a glance.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::text::display;
use crate::text::units::format_age;

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    pub name: String,
    /// None: not answered yet.
    pub healthy: Option<bool>,
    pub status: String,
    pub latency: String,
    pub changed: String,
    /// Oldest first.
    pub history: Vec<bool>,
    /// Changes between healthy and not in the history: flapping when high.
    pub flips: usize,
}

pub fn view(state: &State) -> Vec<ProbeRow> {
    state
        .probes
        .probes
        .iter()
        .map(|p| {
            let (healthy, status, latency) = match &p.last {
                None => (None, "…".to_string(), String::new()),
                Some(Ok(ok)) => (
                    Some(true),
                    ok.status.to_string(),
                    format!("{} ms", ok.latency_ms),
                ),
                Some(Err(e)) => (Some(false), display(e).into_owned(), String::new()),
            };
            let history: Vec<bool> = p.history.iter().copied().collect();
            ProbeRow {
                name: display(&p.spec.name).into_owned(),
                healthy,
                status,
                latency,
                changed: p
                    .changed_at_ms
                    .map(|c| format!("{} ago", format_age((state.now_ms - c) / 1000)))
                    .unwrap_or_default(),
                flips: history.windows(2).filter(|w| w[0] != w[1]).count(),
                history,
            }
        })
        .collect()
}

pub fn draw(f: &mut Frame, area: Rect, rows: &[ProbeRow], t: &Theme, focused: bool) {
    let flapping = rows.iter().filter(|r| r.flips >= 4).count();
    let mut title = vec![Span::styled(" Probes ", t.title)];
    if flapping > 0 {
        title.push(Span::styled(format!(" {flapping} flapping "), t.warn));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Line::from(title));
    let hist_w = (area.width as usize).saturating_sub(70).clamp(4, 30);
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let (mark, style) = match r.healthy {
                Some(true) => ("✓", t.ok),
                Some(false) => ("✗", t.crit),
                None => ("…", t.dim),
            };
            let strip: Vec<Span> = r.history[r.history.len().saturating_sub(hist_w)..]
                .iter()
                .map(|&ok| {
                    if ok {
                        Span::styled("▁", t.ok)
                    } else {
                        Span::styled("█", t.crit)
                    }
                })
                .collect();
            Row::new(vec![
                Cell::from(Span::styled(mark, style)),
                Cell::from(r.name.clone()).style(t.text),
                Cell::from(Span::styled(r.status.clone(), style)),
                Cell::from(r.latency.clone()).style(t.text),
                Cell::from(r.changed.clone()).style(t.dim),
                Cell::from(Line::from(strip)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(1),
        Constraint::Min(12),
        Constraint::Length(24),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(hist_w as u16),
    ];
    let header = Row::new(["", "ENDPOINT", "STATUS", "LATENCY", "CHANGED", "HISTORY"]).style(t.dim);
    f.render_widget(
        Table::new(body, widths)
            .header(header)
            .column_spacing(1)
            .block(block),
        area,
    );
}
