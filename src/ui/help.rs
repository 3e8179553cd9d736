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
    for mode in Mode::ALL {
        let mut lines = vec![Line::from(Span::styled(mode.title(), t.accent))];
        for b in state.keymap.bindings(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", b.key.to_string()), t.footer_key),
                Span::styled(b.desc.clone(), t.text),
            ]));
        }
        if mode == Mode::Input {
            for (cmd, desc) in crate::app::palette::COMMANDS {
                lines.push(Line::from(vec![
                    Span::styled(format!("  :{cmd:<9}"), t.footer_key),
                    Span::styled(desc, t.text),
                ]));
            }
        }
        sections.push(lines);
    }
    // memory is bounded by construction; say how, and how much is held now
    let m = &state.metrics;
    let points: usize = m.store.queries.values().map(|q| q.point_count()).sum();
    let mut text = format!(
        "Buffers: {points} points held; caps {} points/series, {} series/query.",
        crate::store::series::MAX_POINTS,
        crate::store::series::MAX_SERIES,
    );
    for (configured, h) in [
        (m.configured, &m.health),
        (!state.probes.probes.is_empty(), &state.probes.health),
    ] {
        if configured {
            text.push_str(&format!(
                " {}: {} requests ({}/min), {}.",
                h.name,
                h.requests,
                h.per_minute(state.now_ms),
                crate::text::units::format_bytes(h.bytes as f64)
            ));
        }
    }
    if let Some(c) = m.clock {
        text.push_str(&format!(
            " Samples every {}.",
            crate::text::units::format_duration(c.interval_ms as f64 / 1000.0)
        ));
    }
    let footer = Line::from(Span::styled(text, t.dim));
    let total: usize = sections.iter().map(|s| s.len() + 1).sum::<usize>() + 2;
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
    let body_h = left.len().max(right.len()) + 3;
    let h = (body_h as u16 + 2).min(area.height);
    let w = (if two_cols { 96 } else { 72 }).min(area.width);
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
    let foot_h = 3.min(inner.height);
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
