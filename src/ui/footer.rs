//! Footer: the main keys, read from the keymap so it never lies.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::views::{InputPurpose, LineEditor, View};
use crate::app::{Action, State};
use crate::ui::widgets::chart::clock;
use ratatui::style::Modifier;

/// The main keys, most needed first: a narrow footer cuts from the end.
const MAIN: [(Action, &str); 9] = [
    (Action::ToggleHelp, "help"),
    (Action::Quit, "quit"),
    (Action::TogglePause, "pause"),
    (Action::OpenPodPicker, "pod"),
    (Action::OpenCommand, "command"),
    (Action::ToggleZoom, "zoom"),
    (Action::FocusNext, "focus"),
    (Action::ShrinkWindow, "shorter"),
    (Action::GrowWindow, "longer"),
];

/// With the log pane focused: its keys first.
const LOGS: [(Action, &str); 10] = [
    (Action::ToggleHelp, "help"),
    (Action::ScrollUp, "older"),
    (Action::LogsFollow, "follow"),
    (Action::OpenSearch, "search"),
    (Action::OpenDetail, "detail"),
    (Action::EditLogQuery, "query"),
    (Action::LevelError, "errors"),
    (Action::OpenPatterns, "patterns"),
    (Action::FilterInclude, "only"),
    (Action::FocusNext, "focus"),
];

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
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
    let logs_mode = state.ui.mode() == crate::app::keymap::Mode::Logs;
    let mut keys: Vec<(Action, &str)> = if logs_mode {
        LOGS.to_vec()
    } else {
        MAIN.to_vec()
    };
    if !logs_mode && state.logs.common.configured {
        keys.insert(2, (Action::FocusLogs, "logs"));
        keys.insert(3, (Action::OpenSearch, "search"));
    }
    for (action, label) in keys {
        let label = match action {
            Action::TogglePause if !state.target.is_live() => "resume",
            _ => label,
        };
        let mode = if logs_mode {
            crate::app::keymap::Mode::Logs
        } else {
            crate::app::keymap::Mode::Normal
        };
        if let Some(k) = state.keymap.key_in(mode, action) {
            spans.push(Span::styled(k.to_string(), t.footer_key));
            spans.push(Span::styled(format!(" {label}  "), t.footer));
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
        None => Span::styled("   Tab complete  ↑↓ history  Enter run  Esc cancel", t.dim),
    };
    Line::from(vec![
        Span::styled(purpose.prompt(), t.footer_key),
        Span::styled(before, t.text),
        Span::styled(at, t.text.add_modifier(Modifier::REVERSED)),
        Span::styled(after, t.text),
        hint,
    ])
}
