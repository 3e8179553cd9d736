//! Restarts & OOMs: per pod/container, current restart count, restarts in the
//! last 15 minutes, and the last terminated reason with OOMKilled highlighted
//! and how long ago it happened.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::dashboard::{PaneSpec, Role};
use crate::text::display;
use crate::text::units::format_count;
use crate::ui::widgets::Level;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodRow {
    pub pod: String,
    pub container: String,
    pub total: Option<f64>,
    pub recent: Option<f64>,
    pub recent_level: Level,
    pub reason: Option<String>,
    /// Seconds since the container last terminated (at the cursor, else now).
    pub ago_s: Option<i64>,
}

pub fn view(state: &State, pane: &PaneSpec, at: Option<i64>) -> Vec<PodRow> {
    let (pod_l, cont_l) = (state.label("pod"), state.label("container"));
    let mut rows: Vec<PodRow> = Vec::new();
    let mut recent_q = None;
    for (q, d) in state.pane_queries(&pane.id) {
        let Some(d) = d else { continue };
        if q.role == Role::RestartsRecent {
            recent_q = Some(q);
        }
        for s in &d.series {
            let (pod, cont) = (display(s.label(pod_l)), display(s.label(cont_l)));
            let idx = match rows
                .iter()
                .position(|r| r.pod == pod && r.container == cont)
            {
                Some(i) => i,
                None => {
                    rows.push(PodRow {
                        pod: pod.into_owned(),
                        container: cont.into_owned(),
                        ..Default::default()
                    });
                    rows.len() - 1
                }
            };
            let v = s.at(at).map(|p| p.1);
            match q.role {
                Role::RestartsTotal => rows[idx].total = v,
                Role::RestartsRecent => rows[idx].recent = v,
                Role::LastReason => {
                    rows[idx].reason = Some(display(s.label("reason")).into_owned())
                }
                Role::LastTerminatedAt => {
                    let now_s = at.unwrap_or(state.now_ms).div_euclid(1000);
                    rows[idx].ago_s = v
                        .filter(|t| t.is_finite() && *t > 0.0)
                        .map(|t| (now_s - t as i64).max(0));
                }
                _ => {}
            }
        }
    }
    for r in &mut rows {
        r.recent_level = recent_q
            .map(|q| Level::of(r.recent.unwrap_or(0.0), q.warn, q.crit))
            .unwrap_or_default();
    }
    let key = |r: &PodRow| (r.recent.unwrap_or(0.0), r.total.unwrap_or(0.0));
    rows.sort_by(|a, b| {
        key(b)
            .0
            .total_cmp(&key(a).0)
            .then(key(b).1.total_cmp(&key(a).1))
            .then(a.pod.cmp(&b.pod))
    });
    rows
}

pub fn draw(f: &mut Frame, area: Rect, rows: &[PodRow], t: &Theme) {
    let wide = area.width >= 50;
    let header = if wide {
        Row::new(["POD", "CONTAINER", "RESTARTS", "15m", "LAST TERMINATED"])
    } else {
        Row::new(["POD", "RESTARTS", "15m", "LAST"])
    }
    .style(t.dim);
    // the POD column's width: what the fixed columns and spacing leave
    let fixed: u16 = if wide {
        10 + 8 + 5 + 20 + 4
    } else {
        8 + 4 + 14 + 3
    };
    let pod_w = area.width.saturating_sub(fixed).max(6) as usize;
    let body: Vec<Row> = rows.iter().map(|r| row(r, wide, pod_w, t)).collect();
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Min(10),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(20),
        ]
    } else {
        vec![
            Constraint::Min(6),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Length(14),
        ]
    };
    f.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        area,
    );
}

fn row<'a>(r: &PodRow, wide: bool, pod_w: usize, t: &Theme) -> Row<'a> {
    let recent = r.recent.unwrap_or(0.0);
    let reason = r.reason.clone().unwrap_or_else(|| "—".into());
    let reason_style = match reason.as_str() {
        "OOMKilled" => t.oom,
        "Error" | "ContainerCannotRun" => t.crit,
        "—" => t.dim,
        _ => t.text,
    };
    let pod = crate::text::units::fit_middle(&r.pod, pod_w);
    let mut cells = vec![Cell::from(pod.trim_end().to_string()).style(t.text)];
    if wide {
        cells.push(Cell::from(r.container.clone()).style(t.dim));
    }
    let recent_text = if recent > 0.0 {
        format!("+{}", format_count(recent))
    } else {
        "0".into()
    };
    cells.extend([
        Cell::from(r.total.map(format_count).unwrap_or_else(|| "—".into())).style(t.text),
        Cell::from(Line::from(Span::styled(
            recent_text,
            r.recent_level.style(t),
        ))),
        Cell::from(Line::from(vec![
            Span::styled(reason, reason_style),
            // how long ago: "OOMKilled 3m ago" ("3m" where narrow)
            Span::styled(
                r.ago_s
                    .filter(|_| r.reason.is_some())
                    .map(|s| {
                        let age = crate::text::units::format_age(s);
                        if wide {
                            format!(" {age} ago")
                        } else {
                            format!(" {age}")
                        }
                    })
                    .unwrap_or_default(),
                t.dim,
            ),
        ])),
    ]);
    Row::new(cells)
}
