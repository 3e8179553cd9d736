//! Rendering. Reads `State` only; never changes it, never does I/O.
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod panes;
pub mod picker;
pub mod widgets;

use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::State;
use crate::config::keymap::Mode;

pub fn draw(f: &mut Frame, state: &State) {
    let area = f.area();
    let l = layout::frame(area);
    header::draw(f, l.header, state);
    footer::draw(f, l.footer, state);
    match &state.dashboard {
        None => {
            let msg = match &state.backend.last_error {
                Some(e) => format!(
                    "Waiting for {} at {} to pick a dashboard…\n\n{}",
                    state.backend.name, state.backend.url, e
                ),
                None => format!(
                    "Asking {} at {} which metrics it has…",
                    state.backend.name, state.backend.url
                ),
            };
            let style = if state.backend.last_error.is_some() {
                state.theme.crit
            } else {
                state.theme.dim
            };
            f.render_widget(
                Paragraph::new(crate::text::display(&msg).into_owned())
                    .style(style)
                    .wrap(Wrap { trim: true })
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .border_style(state.theme.border),
                    ),
                l.body,
            );
        }
        Some(d) => {
            for (idx, rect) in
                layout::pane_rects(d, l.body, state.ui.zoom.then_some(state.ui.focused))
            {
                panes::draw(f, rect, state, &d.panes[idx], idx == state.ui.focused);
            }
        }
    }
    match state.ui.mode {
        Mode::Help => help::draw(f, area, state),
        Mode::Picker => picker::draw(f, area, state),
        Mode::Normal => {}
    }
}
