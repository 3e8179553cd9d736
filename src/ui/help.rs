//! `?` help: every key of every mode, from the keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::config::keymap::Mode;

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut lines = Vec::new();
    for (mode, title) in [
        (Mode::Normal, "Dashboard"),
        (Mode::Picker, "Pod picker"),
        (Mode::Help, "This help"),
    ] {
        lines.push(Line::from(Span::styled(title, t.accent)));
        for b in state.keymap.bindings(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.key.to_string()), t.footer_key),
                Span::styled(b.desc.clone(), t.text),
            ]));
        }
        lines.push(Line::raw(""));
    }
    // memory is bounded by construction; say how, and how much is held now
    let points: usize = state.store.queries.values().map(|q| q.point_count()).sum();
    lines.push(Line::from(Span::styled(
        format!(
            "Buffers: {points} points held; caps {} points/series, {} series/query",
            crate::store::series::MAX_POINTS,
            crate::store::series::MAX_SERIES
        ),
        t.dim,
    )));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 72.min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys ")
                .border_style(t.border_focus),
        ),
        r,
    );
}
