//! `p` pod picker: re-targets every pane to one pod.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;

pub fn draw(f: &mut Frame, area: Rect, state: &State, index: usize, filter: &str) {
    let t = &state.theme;
    let mut items = vec!["all pods".to_string()];
    items.extend(crate::app::keys::picker_pods(state));
    if area.height < 3 || area.width < 8 {
        return; // no room for a list: the keys still work
    }
    let h = (items.len() as u16 + 2).min(area.height);
    let w = 40.min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let visible = (h - 2) as usize;
    let first = index.saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, p)| {
            let current = match i {
                0 => state.target.pod.is_none(),
                _ => state.target.pod.as_deref() == Some(p.as_str()),
            };
            let mark = if current { "● " } else { "  " };
            let style = if i == index {
                t.border_focus
                    .add_modifier(ratatui::style::Modifier::REVERSED)
            } else {
                t.text
            };
            Line::from(Span::styled(
                format!("{mark}{}", crate::text::display(p)),
                style,
            ))
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(if filter.is_empty() {
                    " Pod (type to filter, ↑↓ Enter, Esc) ".to_string()
                } else {
                    format!(" Pod: {}▏ ", crate::text::display(filter))
                })
                .border_style(t.border_focus),
        ),
        r,
    );
}
