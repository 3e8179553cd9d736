//! Restarts & OOMs: per pod/container, current restart count, restarts in the
//! last 15 minutes, and the last terminated reason with OOMKilled highlighted.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use crate::app::State;
use crate::dashboard::PaneSpec;
use crate::text::units::format_count;
use crate::ui::widgets::level_style;

#[derive(Debug, Default, Clone)]
struct PodRow {
    pod: String,
    container: String,
    total: Option<f64>,
    recent: Option<f64>,
    reason: Option<String>,
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, pane: &PaneSpec) {
    let t = &state.theme;
    let mut rows: Vec<PodRow> = Vec::new();
    let mut recent_q = None;
    for (q, d) in state.pane_queries(&pane.id) {
        let Some(d) = d else { continue };
        if q.role == "restarts_recent" {
            recent_q = Some(q);
        }
        for s in &d.series {
            let key = (s.label("pod").to_string(), s.label("container").to_string());
            let idx = match rows.iter().position(|r| {
                (r.pod.as_str(), r.container.as_str()) == (key.0.as_str(), key.1.as_str())
            }) {
                Some(i) => i,
                None => {
                    rows.push(PodRow {
                        pod: key.0,
                        container: key.1,
                        ..Default::default()
                    });
                    rows.len() - 1
                }
            };
            let v = s.last().map(|p| p.1);
            match q.role.as_str() {
                "restarts_total" => rows[idx].total = v,
                "restarts_recent" => rows[idx].recent = v,
                "last_reason" => {
                    rows[idx].reason = Some(crate::text::display(s.label("reason")).into_owned())
                }
                _ => {}
            }
        }
    }
    rows.sort_by(|a, b| {
        let k = |r: &PodRow| (r.recent.unwrap_or(0.0), r.total.unwrap_or(0.0));
        k(b).0
            .total_cmp(&k(a).0)
            .then(k(b).1.total_cmp(&k(a).1))
            .then(a.pod.cmp(&b.pod))
    });
    let wide = area.width >= 50;
    let header = if wide {
        Row::new(["POD", "CONTAINER", "RESTARTS", "15m", "LAST TERMINATED"])
    } else {
        Row::new(["POD", "RESTARTS", "15m", "LAST"])
    }
    .style(t.dim);
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let recent = r.recent.unwrap_or(0.0);
            let recent_style = recent_q
                .map(|q| level_style(t, recent, q.warn, q.crit))
                .unwrap_or(t.text);
            let reason = r.reason.clone().unwrap_or_else(|| "—".into());
            let reason_style = match reason.as_str() {
                "OOMKilled" => t.oom,
                "Error" | "ContainerCannotRun" => t.crit,
                "—" => t.dim,
                _ => t.text,
            };
            let mut cells =
                vec![Cell::from(crate::text::display(&r.pod).into_owned()).style(t.text)];
            if wide {
                cells
                    .push(Cell::from(crate::text::display(&r.container).into_owned()).style(t.dim));
            }
            cells.extend([
                Cell::from(r.total.map(format_count).unwrap_or_else(|| "—".into())).style(t.text),
                Cell::from(Line::from(Span::styled(
                    if recent > 0.0 {
                        format!("+{}", format_count(recent))
                    } else {
                        "0".into()
                    },
                    recent_style,
                ))),
                Cell::from(Line::from(Span::styled(reason, reason_style))),
            ]);
            Row::new(cells)
        })
        .collect();
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Min(10),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(16),
        ]
    } else {
        vec![
            Constraint::Min(6),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Length(10),
        ]
    };
    f.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        area,
    );
}
