//! The top patterns of the window ("top 10 error messages"): from Loki's
//! /patterns when it has them, else clustered from the retained lines with
//! numbers, ids and hex masked. Enter keeps only lines of one pattern.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::text::display;
use crate::text::units::format_count;

pub fn draw(f: &mut Frame, area: ratatui::layout::Rect, state: &State, index: usize) {
    let t = &state.theme;
    let r = crate::features::logs::views::full(area);
    if r.height < 3 || r.width < 10 {
        return;
    }
    let mut lines = Vec::new();
    let mut source = "";
    match &state.logs.patterns {
        None => lines.push(Line::from(Span::styled("asking for patterns…", t.dim))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("✗ {}", display(e)),
            t.crit,
        ))),
        Some(Ok(p)) if p.is_empty() => lines.push(Line::from(Span::styled(
            "no lines in the window yet",
            t.dim,
        ))),
        Some(Ok(p)) => {
            source = if p[0].from_server {
                "from Loki"
            } else {
                "clustered from retained lines"
            };
            let h = (r.height as usize).saturating_sub(2);
            let first = crate::features::logs::views::first_row(index, h);
            for (i, row) in p.iter().enumerate().skip(first).take(h) {
                let style = if i == index {
                    t.text.add_modifier(Modifier::REVERSED)
                } else {
                    crate::features::logs::pane::level_style(t, row.level)
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{:>7} ", format_count(row.count as f64)), t.accent),
                    Span::styled(format!("{:<5} ", row.level.as_str()), t.dim),
                    Span::styled(display(&row.pattern).into_owned(), style),
                ]));
            }
        }
    }
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(format!(" Top patterns {source} (↑↓, Enter filter, Esc) ")),
        ),
        r,
    );
}
