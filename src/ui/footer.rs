//! Footer: the main keys, read from the keymap so it never lies.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{Action, State};

const MAIN: [(Action, &str); 8] = [
    (Action::ToggleHelp, "help"),
    (Action::FocusNext, "focus"),
    (Action::ToggleZoom, "zoom"),
    (Action::TogglePause, "pause"),
    (Action::ShrinkWindow, "shorter"),
    (Action::GrowWindow, "longer"),
    (Action::OpenPodPicker, "pod"),
    (Action::Quit, "quit"),
];

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut spans = vec![Span::raw(" ")];
    for (action, label) in MAIN {
        if let Some(k) = state.keymap.key_for(action) {
            spans.push(Span::styled(k.to_string(), t.footer_key));
            spans.push(Span::styled(format!(" {label}  "), t.footer));
        }
    }
    if state.ui.zoom {
        spans.push(Span::styled("[zoomed]", t.accent));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
