//! The pickers: `p` a pod, `C` a Kubernetes context, `:ns` a namespace;
//! the choice re-targets every pane.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::State;

pub fn draw(
    f: &mut Frame,
    area: Rect,
    state: &State,
    index: usize,
    filter: &str,
    kind: crate::app::views::Pick,
) {
    let t = &state.theme;
    let (none, noun) = kind.words();
    // no namespace chosen: Kubernetes watches its context's own
    let k = &state.kube;
    let none = match (kind, &k.namespace) {
        (crate::app::views::Pick::Namespace, Some(ns))
            if k.common.configured && !k.all_namespaces =>
        {
            format!("{none} (Kubernetes: the context's, {ns})")
        }
        _ => none.to_string(),
    };
    let chosen = crate::app::keys::picked(state, kind);
    let mut items = vec![none];
    items.extend(crate::app::keys::picker_pods(state));
    if area.height < 3 || area.width < 8 {
        return; // no room for a list: the keys still work
    }
    let h = (items.len() as u16 + 2).min(area.height);
    let title = if filter.is_empty() {
        format!(" {noun} (type to filter, ↑↓ Enter, Esc) ")
    } else {
        format!(" {noun}: {}▏ ", crate::text::display(filter))
    };
    // as wide as the longest entry and the title, within reason
    let longest = items.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    let widest = (longest + 6).max(title.chars().count() + 2) as u16;
    let w = widest.clamp(40, 90).min(area.width);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let visible = (h - 2) as usize;
    let first = index.saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, p)| {
            let current = match i {
                0 => chosen.is_none(),
                _ => chosen == Some(p.as_str()),
            };
            let mark = if current { "● " } else { "  " };
            let style = if i == index {
                t.border_focus
                    .add_modifier(ratatui::style::Modifier::REVERSED)
            } else {
                t.text
            };
            Line::from(Span::styled(
                format!("{mark}{}", crate::text::display(p)),
                style,
            ))
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(t.border_focus),
        ),
        r,
    );
}
