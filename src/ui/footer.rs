//! Footer: the keys of what has the keys now (the hints the top view, the
//! focused pane or the dashboard publish), read from the keymap so it never
//! lies; a narrow footer drops whole hints from the end.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::views::{InputPurpose, LineEditor, View};
use crate::app::{Action, State};
use crate::ui::widgets::chart::clock;
use ratatui::style::Modifier;

pub fn draw(f: &mut Frame, area: Rect, state: &State, hidden: &[usize]) {
    let t = &state.theme;
    // a text-input view owns the footer line while it is open
    if let Some(View::Input { purpose, editor }) = state.ui.views.top() {
        f.render_widget(
            Paragraph::new(input_line(state, *purpose, editor, area.width as usize)),
            area,
        );
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    if let Some((msg, is_err)) = &state.ui.message {
        let style = if *is_err { t.crit } else { t.accent };
        spans.push(Span::styled(crate::text::display(msg).into_owned(), style));
        spans.push(Span::raw("  "));
    }
    if let Some(c) = state.cursor_ms {
        spans.push(Span::styled(
            format!("cursor {} UTC  ", clock(c, true)),
            t.accent,
        ));
    }
    if state.ui.zoom {
        spans.push(Span::styled("[zoomed]  ", t.accent));
    }
    // panes not drawn (no data, no room): named, and how to reach them
    let base = state.ui.views.depth() == 0;
    if let (true, false, Some(d)) = (base, hidden.is_empty(), &state.metrics.dashboard) {
        // pane titles come from dashboard files: shown sanitised
        let names: Vec<String> = hidden
            .iter()
            .filter_map(|&i| {
                d.panes
                    .get(i)
                    .map(|p| crate::text::display(&p.title).into_owned())
            })
            .collect();
        let key = state
            .keymap
            .key_in(crate::app::keymap::Mode::Normal, Action::FocusNext)
            .map(|k| k.to_string())
            .unwrap_or_else(|| "Tab".into());
        let plural = if names.len() == 1 { "" } else { "s" };
        let long = format!(
            "+{} pane{plural}: {} — {key}  ",
            names.len(),
            names.join(", ")
        );
        // narrow: the count and the key, never the names without the key
        let text = if long.chars().count() * 3 <= area.width as usize * 2 {
            long
        } else {
            format!("+{} pane{plural} — {key}  ", names.len())
        };
        spans.push(Span::styled(text, t.warn));
    }
    let (mode, keys) = crate::app::keys::hints(state);
    for (action, label) in keys {
        let label = match action {
            Action::TogglePause if !state.target.is_live() => "resume",
            _ => label,
        };
        if let Some(k) = state.keymap.key_in(mode, action) {
            let (k, label) = (k.to_string(), format!(" {label}  "));
            // a hint is shown whole or not at all (`/ searc` helps nobody)
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let need = k.chars().count() + label.trim_end().chars().count();
            if used + need > area.width as usize {
                break;
            }
            spans.push(Span::styled(k, t.footer_key));
            spans.push(Span::styled(label, t.footer));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `:pod app-1▏`: the prompt, the text (sanitised), the cursor as a reversed cell.
/// Text longer than the line scrolls so the cursor stays in view, with `…`
/// where text is hidden; the hint goes first when space runs short.
fn input_line<'a>(state: &State, purpose: InputPurpose, e: &LineEditor, width: usize) -> Line<'a> {
    let t = &state.theme;
    let all: Vec<char> = crate::text::display(&e.text()).chars().collect();
    let cur = e.cursor.min(all.len());
    // room for the text and the cursor cell (one column per char: the
    // sanitiser leaves no wide or zero-width surprises that matter here)
    let room = width
        .saturating_sub(purpose.prompt().chars().count() + 1)
        .max(8);
    let (from, to) = if all.len() < room {
        (0, all.len())
    } else {
        // keep a little context right of the cursor
        let from = (cur + 1 + (room / 4).min(all.len() - cur)).saturating_sub(room);
        (from, (from + room).min(all.len()))
    };
    let mut text: Vec<char> = all[from..to].to_vec();
    if from > 0 {
        text[0] = '…';
    }
    if to < all.len() {
        if let Some(last) = text.last_mut() {
            *last = '…';
        }
    }
    let cur = cur - from;
    let before: String = text[..cur].iter().collect();
    let at: String = text
        .get(cur)
        .map(|c| c.to_string())
        .unwrap_or_else(|| " ".into());
    let after: String = text
        .get(cur + 1..)
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    // what the last key caused (a completion asked for, nothing found),
    // else the keys
    let hint = match &state.ui.message {
        Some((msg, is_err)) => Span::styled(
            format!("   {}", crate::text::display(msg)),
            if *is_err { t.crit } else { t.accent },
        ),
        None => Span::styled(format!("  {}", input_hints(state)), t.dim),
    };
    Line::from(vec![
        Span::styled(purpose.prompt(), t.footer_key),
        Span::styled(before, t.text),
        Span::styled(at, t.text.add_modifier(Modifier::REVERSED)),
        Span::styled(after, t.text),
        hint,
    ])
}

/// The input view's hints, with the keys the keymap binds.
fn input_hints(state: &State) -> String {
    let (mode, keys) = crate::app::keys::hints(state);
    keys.iter()
        .filter_map(|(a, label)| Some(format!(" {} {label}", state.keymap.key_in(mode, *a)?)))
        .collect()
}

/// Tab's choices, in a box just above the input line: up to 8 around the
/// one in the text, which is highlighted.
pub fn draw_menu(f: &mut Frame, area: Rect, state: &State, e: &LineEditor) {
    let Some((list, idx)) = e.menu() else {
        return;
    };
    let t = &state.theme;
    let shown = list.len().min(8);
    let first = idx.saturating_sub(shown - 1).min(list.len() - shown);
    let width = list
        .iter()
        .skip(first)
        .take(shown)
        .map(|c| crate::text::display(c).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(10, 60) as u16
        + 2;
    let h = shown as u16 + 2;
    if area.height < h + 2 || area.width < width {
        return;
    }
    let r = Rect {
        x: area.x + 1.min(area.width - width),
        y: area.y + area.height - 1 - h,
        width,
        height: h,
    };
    let lines: Vec<Line> = list
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, c)| {
            let style = if i == idx {
                t.accent.add_modifier(Modifier::REVERSED)
            } else {
                t.text
            };
            Line::from(Span::styled(crate::text::display(c).into_owned(), style))
        })
        .collect();
    let title = format!(" {}/{} ", idx + 1, list.len());
    f.render_widget(ratatui::widgets::Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            ratatui::widgets::Block::default()
                .borders(ratatui::widgets::Borders::ALL)
                .border_style(t.border_focus)
                .title(title),
        ),
        r,
    );
}
