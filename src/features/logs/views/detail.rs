//! Enter on a log line: its time, level, fields (JSON or logfmt, in order),
//! stream labels and structured metadata, and the whole line wrapped (up to
//! the stored cap). Up/down pick a field; Enter keeps only lines whose field
//! has this value.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
use crate::features::logs::keys::detail_fields;
use crate::store::logs::{LogLine, Row};
use crate::text::display;
use crate::text::units::format_bytes;

pub fn draw(f: &mut Frame, area: ratatui::layout::Rect, state: &State, id: u64, index: usize) {
    let t = &state.theme;
    let r = crate::features::logs::views::full(area);
    if r.height < 3 || r.width < 10 {
        return;
    }
    let l = &state.logs;
    let Some(Row::Line(line)) = l
        .ring
        .index_of(id)
        .and_then(|p| l.ring.get(p))
        .map(|s| &s.row)
    else {
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new("this line left the ring (oldest lines go first); Esc")
                .block(Block::default().borders(Borders::ALL).title(" Log line ")),
            r,
        );
        return;
    };
    let mut lines = vec![header(line, t)];
    lines.extend(cut_note(line, t));
    let list_h = (r.height as usize).saturating_sub(8).max(3);
    lines.extend(field_lines(line, t, index, list_h));
    lines.push(Line::from(Span::styled("line", t.dim)));
    lines.extend(text_lines(line, t));
    lines.extend(cut_note(line, t));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(" Log line (↑↓ field, Enter filter, Esc) "),
        ),
        r,
    );
}

/// The line's full time and its level.
fn header(line: &LogLine, t: &Theme) -> Line<'static> {
    let time = chrono::DateTime::from_timestamp_nanos(line.ts_ns)
        .format("%Y-%m-%d %H:%M:%S%.9f UTC")
        .to_string();
    Line::from(vec![
        Span::styled(time, t.accent),
        Span::raw("  "),
        Span::styled(
            line.level.as_str().to_uppercase(),
            crate::features::logs::pane::level_style(t, line.level),
        ),
    ])
}

/// "[cut: the line was 2 MiB, kept 1 MiB]" when the line was cut.
fn cut_note(line: &LogLine, t: &Theme) -> Option<Line<'static>> {
    line.cut.map(|b| {
        Line::from(Span::styled(
            format!(
                "[cut: the line was {}, kept {}]",
                format_bytes(b as f64),
                format_bytes(line.text.len() as f64)
            ),
            t.warn,
        ))
    })
}

/// The fields, then the stream labels and metadata, each under its heading,
/// scrolled to keep field `index` (highlighted) among `list_h` rows.
fn field_lines(line: &LogLine, t: &Theme, index: usize, list_h: usize) -> Vec<Line<'static>> {
    let fields = detail_fields(line);
    let key_w = fields
        .iter()
        .map(|(k, ..)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(32);
    let first = crate::features::logs::views::first_row(index, list_h);
    let mut lines = Vec::new();
    let mut section = "";
    for (i, (k, v, filterable, _)) in fields.iter().enumerate().skip(first).take(list_h) {
        let here = if *filterable { "fields" } else { "labels" };
        if here != section {
            section = here;
            lines.push(Line::from(Span::styled(
                if *filterable {
                    "fields (Enter: only lines with this value)"
                } else {
                    "stream labels and metadata"
                },
                t.dim,
            )));
        }
        let style = if i == index {
            t.text.add_modifier(Modifier::REVERSED)
        } else {
            t.text
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<key_w$} ", display(k)), t.accent),
            Span::styled(display(v).into_owned(), style),
        ]));
    }
    lines
}

/// The whole line: JSON pretty-printed, anything else as it is.
fn text_lines(line: &LogLine, t: &Theme) -> Vec<Line<'static>> {
    match crate::text::logline::pretty_json(&line.text) {
        Some(p) => p
            .lines()
            .map(|x| Line::from(Span::styled(x.to_string(), t.text)))
            .collect(),
        None => vec![Line::from(Span::styled(line.text.to_string(), t.text))],
    }
}
