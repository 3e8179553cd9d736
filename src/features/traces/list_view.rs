//! The traces a search found (a log line's `thread_id`, or a service),
//! slowest first: duration, start, root service and operation, and, when
//! the backend sent whole traces, spans and errors. Enter opens one.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::text::display;
use crate::text::units::{fit_middle, format_duration};

pub fn draw(f: &mut Frame, area: Rect, state: &State, index: usize) {
    let th = &state.theme;
    let r = crate::core::view::full(area);
    if r.height < 4 || r.width < 40 {
        return;
    }
    f.render_widget(Clear, r);
    let Some(s) = &state.traces.search else {
        return;
    };
    let w = r.width.saturating_sub(2) as usize;
    let mut lines = vec![];
    match &s.result {
        None => lines.push(Line::from(Span::styled("searching…", th.dim))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("✗ {}", display(e)),
            th.crit,
        ))),
        Some(Ok(v)) if v.is_empty() => lines.push(Line::from(Span::styled(
            "no trace found in the window",
            th.dim,
        ))),
        Some(Ok(v)) => {
            let h = r.height.saturating_sub(2) as usize;
            let first = crate::core::view::first_row(index, h);
            let name_w = w.saturating_sub(8 + 1 + 11 + 1 + 17 + 1 + 14);
            for (i, t) in v.iter().enumerate().skip(first).take(h) {
                // another day's trace says its date
                let today = state.now_ms.div_euclid(86_400_000);
                let fmt = if t.start_ms.div_euclid(86_400_000) == today {
                    "%H:%M:%S"
                } else {
                    "%m-%d %H:%M"
                };
                let when = chrono::DateTime::from_timestamp_millis(t.start_ms)
                    .map(|d| d.format(fmt).to_string())
                    .unwrap_or_default();
                let counts = match (t.spans, t.errors) {
                    (Some(n), Some(e)) if e > 0 => format!("{n} spans {e}✗"),
                    (Some(n), _) => format!("{n} spans"),
                    _ => String::new(),
                };
                let text = format!(
                    "{:>8} {when:>11} {:.16} {:name_w$} {counts:>14}",
                    format_duration(t.dur_ms / 1000.0),
                    t.id,
                    fit_middle(
                        &format!("{}: {}", display(&t.service), display(&t.name)),
                        name_w
                    ),
                );
                let style = if i == index {
                    th.text.add_modifier(Modifier::REVERSED)
                } else if t.errors.is_some_and(|e| e > 0) {
                    th.crit
                } else {
                    th.text
                };
                lines.push(Line::from(Span::styled(text, style)));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(th.border_focus)
                .title(format!(
                    " Traces of {}, slowest first (↑↓, Enter open, Esc) ",
                    s.query.describe()
                )),
        ),
        r,
    );
}
