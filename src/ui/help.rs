//! `?` help: every key of every mode, from the keymap. On short terminals the
//! sections flow into a second column instead of being cut off.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::State;
use crate::config::keymap::Mode;

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut sections: Vec<Vec<Line>> = Vec::new();
    for (mode, title) in [
        (Mode::Normal, "Dashboard"),
        (Mode::Picker, "Pod picker"),
        (Mode::Help, "This help"),
    ] {
        let mut lines = vec![Line::from(Span::styled(title, t.accent))];
        for b in state.keymap.bindings(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.key.to_string()), t.footer_key),
                Span::styled(b.desc.clone(), t.text),
            ]));
        }
        sections.push(lines);
    }
    // memory is bounded by construction; say how, and how much is held now
    let points: usize = state.store.queries.values().map(|q| q.point_count()).sum();
    let footer = Line::from(Span::styled(
        format!(
            "Buffers: {points} points held; caps {} points/series, {} series/query. \
             Fetched: {} requests, {}",
            crate::store::series::MAX_POINTS,
            crate::store::series::MAX_SERIES,
            state.backend.requests,
            crate::text::units::format_bytes(state.backend.bytes as f64)
        ),
        t.dim,
    ));
    let total: usize = sections.iter().map(|s| s.len() + 1).sum::<usize>() + 1;
    let two_cols = total + 2 > area.height as usize && area.width >= 70;
    let (left, right): (Vec<Line>, Vec<Line>) = if two_cols {
        let mut right = Vec::new();
        for s in sections.iter().skip(1) {
            right.extend(s.iter().cloned());
            right.push(Line::raw(""));
        }
        (sections[0].clone(), right)
    } else {
        let mut all = Vec::new();
        for s in &sections {
            all.extend(s.iter().cloned());
            all.push(Line::raw(""));
        }
        (all, vec![])
    };
    let body_h = left.len().max(right.len()) + 2;
    let h = (body_h as u16 + 2).min(area.height);
    let w = (if two_cols { 76 } else { 72 }).min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys ")
        .border_style(t.border_focus);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let foot_h = 2.min(inner.height);
    let body = Rect {
        height: inner.height - foot_h,
        ..inner
    };
    if two_cols {
        let (l, r) = crate::ui::layout::halves(body);
        f.render_widget(Paragraph::new(left), l);
        f.render_widget(Paragraph::new(right), r);
    } else {
        f.render_widget(Paragraph::new(left), body);
    }
    let foot = Rect {
        y: inner.y + inner.height - foot_h,
        height: foot_h,
        ..inner
    };
    f.render_widget(Paragraph::new(footer).wrap(Wrap { trim: true }), foot);
}
