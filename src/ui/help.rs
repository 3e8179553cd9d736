//! `?` help: every key of every mode, from the keymap. On short terminals the
//! sections flow into a second column instead of being cut off.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::keymap::Mode;
use crate::app::State;

pub fn draw(f: &mut Frame, area: Rect, state: &State, scroll: u16) {
    let t = &state.theme;
    let mut sections: Vec<Vec<Line>> = Vec::new();
    for mode in Mode::ALL {
        let mut lines = vec![Line::from(Span::styled(mode.title(), t.accent))];
        // keys side by side that say the same (`q ctrl-c`, `← →`) share a row
        let mut rows: Vec<(String, String)> = vec![];
        for b in state.keymap.bindings(mode) {
            match rows.last_mut() {
                Some((keys, desc)) if *desc == b.desc => {
                    keys.push(' ');
                    keys.push_str(&b.key.to_string());
                }
                _ => rows.push((b.key.to_string(), b.desc.clone())),
            }
        }
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<10}"), t.footer_key),
                Span::styled(desc, t.text),
            ]));
        }
        if mode == Mode::Input {
            for (cmd, desc) in crate::app::palette::COMMANDS {
                lines.push(Line::from(vec![
                    Span::styled(format!("  :{cmd:<9}"), t.footer_key),
                    Span::styled(desc, t.text),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled("  editing   ", t.footer_key),
                Span::styled("←→ Home End ctrl-w ctrl-u", t.text),
            ]));
        }
        sections.push(lines);
    }
    let mut status = vec![Line::from(Span::styled("Sources", t.accent))];
    status.extend(
        status_lines(state)
            .into_iter()
            .map(|l| Line::from(Span::styled(format!("  {l}"), t.dim))),
    );
    let total: usize = sections.iter().map(|s| s.len() + 1).sum::<usize>() + status.len();
    let two_cols = total + 2 > area.height as usize && area.width >= 70;
    let join = |parts: &[Vec<Line<'static>>]| {
        let mut all = Vec::new();
        for s in parts {
            all.extend(s.iter().cloned());
            all.push(Line::raw(""));
        }
        all
    };
    let (left, right): (Vec<Line>, Vec<Line>) = if two_cols {
        (join(&[sections[0].clone(), status]), join(&sections[1..]))
    } else {
        sections.push(status);
        (join(&sections), vec![])
    };
    let body_h = left.len().max(right.len());
    let h = (body_h as u16 + 2).min(area.height);
    let w = (if two_cols { 96 } else { 72 }).min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    let more = body_h as u16 > h.saturating_sub(2);
    let title = if more {
        " Keys (↑↓ PgUp PgDn scroll) "
    } else {
        " Keys "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(t.border_focus);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let wrap = Wrap { trim: false };
    // never scroll past the end (update cannot know how long help is);
    // the end counts the rows long lines wrap onto
    let (l, rr) = crate::ui::layout::halves(inner);
    let rows = |lines: &[Line], width: u16| -> usize {
        let w = width.max(1) as usize;
        lines
            .iter()
            .map(|line| {
                let n = line.width();
                // word wrapping may leave a word's room unused per row
                if n <= w {
                    1
                } else {
                    n.div_ceil(w) + 1
                }
            })
            .sum()
    };
    let wrapped_h = if two_cols {
        rows(&left, l.width).max(rows(&right, rr.width))
    } else {
        rows(&left, inner.width)
    };
    let scroll = scroll.min((wrapped_h.max(body_h) as u16).saturating_sub(inner.height));
    if two_cols {
        let r = rr;
        f.render_widget(Paragraph::new(left).wrap(wrap).scroll((scroll, 0)), l);
        f.render_widget(Paragraph::new(right).wrap(wrap).scroll((scroll, 0)), r);
    } else {
        f.render_widget(Paragraph::new(left).wrap(wrap).scroll((scroll, 0)), inner);
    }
}

/// What help says about the sources: buffers, requests, detection.
fn status_lines(state: &State) -> Vec<String> {
    let mut out = vec![];
    for src in state.sources() {
        let (c, h) = (src.common(), &src.common().health);
        if !c.configured {
            continue;
        }
        out.push(format!(
            "{}: {} requests ({}/min), {}.",
            h.name,
            h.requests,
            h.per_minute(state.now_ms),
            crate::text::units::format_bytes(h.bytes as f64)
        ));
        out.extend(src.help_lines());
    }
    out
}
