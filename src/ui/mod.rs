//! Rendering. Reads `State` only; never changes it, never does I/O.
pub mod footer;
pub mod header;
pub mod help;
pub use crate::app::layout;
pub mod picker;
pub mod widgets;

use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::views::View;
use crate::app::State;

pub fn draw(f: &mut Frame, state: &State) {
    draw_all(f, state);
    if state.ui.low_bandwidth {
        asciify(f.buffer_mut());
    }
}

/// `--low-bandwidth`: box drawing, blocks and braille become ASCII (one
/// byte a cell on the wire instead of three).
pub fn asciify(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        let Some(c) = cell.symbol().chars().next() else {
            continue;
        };
        let ascii = match c {
            '─' | '━' | '═' => "-",
            '│' | '┃' | '║' => "|",
            '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' => "+",
            '▁' | '▂' | '▃' => ".",
            '▄' | '▅' | '▆' => ":",
            '▇' | '█' | '▉' | '▊' | '▋' | '▌' | '▍' | '▎' | '▏' => "#",
            '\u{2800}'..='\u{28ff}' => {
                if c == '\u{2800}' {
                    " "
                } else {
                    "."
                }
            }
            '…' => "~",
            '·' => ".",
            'Σ' => "S",
            '—' | '–' => "-",
            '↑' => "^",
            '↓' => "v",
            '←' => "<",
            '→' => ">",
            '❚' => "|",
            '≥' => ">",
            '●' => "*",
            '✓' => "+",
            '✗' => "x",
            '▶' | '▸' => ">",
            '⚠' => "!",
            _ => continue,
        };
        cell.set_symbol(ascii);
    }
}

fn draw_all(f: &mut Frame, state: &State) {
    let area = f.area();
    let l = layout::screen(state, area);
    header::draw(f, l.header, state);
    footer::draw(f, l.footer, state, &l.hidden);
    if let Some(r) = l.probes {
        crate::features::probes::pane::draw(
            f,
            r,
            &crate::features::probes::pane::view(state),
            &state.theme,
            false,
        );
    }
    if let Some(r) = l.kube {
        let v = crate::features::kube::pane::view(state, r.height as usize);
        let focused = state.ui.focused == crate::app::state::Focus::Kube;
        crate::features::kube::pane::draw(f, r, &v, state, focused);
    }
    let logs_focused = state.ui.focused == crate::app::state::Focus::Logs;
    if let Some(r) = l.logs {
        let v = crate::features::logs::pane::view(state, r);
        crate::features::logs::pane::draw(f, r, &v, state, logs_focused);
    }
    if l.metrics.height > 0 {
        draw_metrics(f, l.metrics, &l.panes, state);
    }
    // views above the dashboard, bottom to top
    for v in state.ui.views.iter() {
        match v {
            View::Help { scroll } => help::draw(f, area, state, *scroll),
            View::PodPicker {
                index,
                filter,
                kind,
            } => picker::draw(f, area, state, *index, filter, *kind),
            // drawn in the footer line; Tab's choices in a menu above it
            View::Input { editor, .. } => footer::draw_menu(f, area, state, editor),
            View::LogDetail { id, index } => {
                crate::features::logs::views::detail::draw(f, area, state, *id, *index)
            }
            View::Patterns { index } => {
                crate::features::logs::views::patterns::draw(f, area, state, *index)
            }
            View::Sampler { scroll } => {
                crate::features::logs::views::sampler::draw(f, area, state, *scroll)
            }
            View::Trace {
                selected,
                collapsed,
                ..
            } => crate::features::traces::pane::draw(f, area, state, *selected, collapsed),
            View::TraceList { index } => {
                crate::features::traces::list_view::draw(f, area, state, *index)
            }
            View::TraceCompare { scroll } => {
                crate::features::traces::compare_view::draw(f, area, state, *scroll)
            }
        }
    }
}

/// The metric panes, or why there are none yet.
fn draw_metrics(f: &mut Frame, body: Rect, panes: &[(usize, Rect)], state: &State) {
    let m = &state.metrics;
    let note = |f: &mut Frame, msg: String, bad: bool| {
        let style = if bad {
            state.theme.crit
        } else {
            state.theme.dim
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(state.theme.border);
        f.render_widget(
            Paragraph::new(crate::text::display(&msg).into_owned())
                .style(style)
                .wrap(Wrap { trim: true })
                .block(block),
            body,
        );
    };
    if !m.common.configured {
        return note(
            f,
            "Memory, scheduler, restarts and admission panes need a Prometheus: \
             pass --prometheus URL or set prometheus.url in the profile."
                .into(),
            false,
        );
    }
    if let Some(e) = &m.dashboard_error {
        return note(f, format!("The dashboard does not resolve: {e}"), true);
    }
    let Some(d) = &m.dashboard else {
        let h = &m.common.health;
        let msg = match &h.last_error {
            Some(e) => format!(
                "Waiting for {} at {} to pick a dashboard…\n\n{e}",
                h.name, h.url
            ),
            None => format!("Asking {} at {} which metrics it has…", h.name, h.url),
        };
        return note(f, msg, h.last_error.is_some());
    };
    for &(idx, rect) in panes {
        crate::features::metrics::panes::draw(
            f,
            rect,
            state,
            &d.panes[idx],
            state.ui.focused.pane() == Some(idx),
        );
    }
}

/// Only the header over the last full frame (`last`): a clock tick changes
/// nothing else, so nothing else is rendered.
pub fn draw_header_over(f: &mut Frame, state: &State, last: &ratatui::buffer::Buffer) {
    let area = f.area();
    if last.area != area {
        return draw(f, state);
    }
    f.buffer_mut().clone_from(last);
    header::draw(f, layout::frame(area).header, state);
    if state.ui.low_bandwidth {
        asciify(f.buffer_mut());
    }
}

/// The clock tick's path: only the header row of `buf` (the last full
/// frame) is rendered again; false when `buf` is not this screen's size.
pub fn header_into(buf: &mut ratatui::buffer::Buffer, state: &State) -> bool {
    let area = buf.area;
    if area.height < 2 || area.width != state.ui.width || area.height != state.ui.height {
        return false;
    }
    let h = layout::frame(area).header;
    for x in h.x..h.x + h.width {
        buf[(x, h.y)].reset();
    }
    header::render(buf, h, state);
    if state.ui.low_bandwidth {
        let mut row = ratatui::buffer::Buffer::empty(h);
        for x in h.x..h.x + h.width {
            row[(x, h.y)] = buf[(x, h.y)].clone();
        }
        asciify(&mut row);
        for x in h.x..h.x + h.width {
            buf[(x, h.y)] = row[(x, h.y)].clone();
        }
    }
    true
}

/// Renders the state into an off-screen buffer (`--once`, tests).
pub fn render(state: &State, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut term = ratatui::Terminal::new(backend).expect("test backend");
    term.draw(|f| draw(f, state)).expect("draw");
    term.backend().buffer().clone()
}
