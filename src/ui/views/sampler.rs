//! Enter on the Memory pane: the latest memory-sampler snapshot logged by
//! the pod in view (placeholder until the sampler parser lands).
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::State;

pub fn draw(f: &mut Frame, area: ratatui::layout::Rect, state: &State, scroll: u16) {
    let r = super::full(area);
    let text = state
        .logs
        .snapshots
        .values()
        .next()
        .map(|(_, s)| format!("{s:?}"))
        .unwrap_or_else(|| "no sampler snapshot in the logs yet".into());
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(crate::text::display(&text).into_owned())
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::default().borders(Borders::ALL).title(" Sampler snapshot ")),
        r,
    );
}
