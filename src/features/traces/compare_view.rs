//! The comparison of the baseline trace (marked with `c`) and the trace in
//! view: per service and operation, the spans and the time of each, and
//! the difference, largest first.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::text::display;
use crate::text::units::{fit_middle, format_duration};

pub fn draw(f: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let th = &state.theme;
    let r = crate::core::view::full(area);
    if r.height < 4 || r.width < 40 {
        return;
    }
    f.render_widget(Clear, r);
    let (Some(a), Some(b)) = (&state.traces.baseline, &state.traces.trace) else {
        return;
    };
    let inner_w = r.width.saturating_sub(2) as usize;
    let name_w = inner_w.saturating_sub(46).max(10);
    let secs = |ns: i64| format_duration(ns as f64 / 1e9);
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                "A {}  {}  {} spans      B {}  {}  {} spans",
                &a.id[..a.id.len().min(16)],
                secs(a.duration_ns()),
                a.spans.len(),
                &b.id[..b.id.len().min(16)],
                secs(b.duration_ns()),
                b.spans.len()
            ),
            th.title,
        )),
        Line::from(Span::styled(
            format!(
                "{:name_w$} {:>5} {:>5} {:>10} {:>10} {:>11}",
                "service: operation", "A n", "B n", "A time", "B time", "B − A"
            ),
            th.dim,
        )),
    ];
    let rows = &state.traces.comparison;
    let h = r.height.saturating_sub(4) as usize;
    let first = (scroll as usize).min(rows.len().saturating_sub(h));
    for row in rows.iter().skip(first).take(h) {
        let d = row.diff_ns();
        let diff = if d >= 0 {
            format!("+{}", secs(d))
        } else {
            format!("−{}", secs(-d))
        };
        let label = fit_middle(
            &format!("{}: {}", display(&row.service), display(&row.operation)),
            name_w,
        );
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{label:name_w$} {:>5} {:>5} {:>10} {:>10} ",
                row.count.0,
                row.count.1,
                secs(row.total_ns.0),
                secs(row.total_ns.1)
            )),
            Span::styled(format!("{diff:>11}"), if d > 0 { th.crit } else { th.ok }),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(th.border_focus)
                .title(" Compare: A the baseline (c), B the trace in view (↑↓ scroll, Esc) "),
        ),
        r,
    );
}
