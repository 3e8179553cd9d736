//! The trace view: the waterfall over the screen between the header and
//! the footer, the selected span's detail (attributes, events, resource)
//! below it. Only the rows on screen are laid out, so a trace of 100,000
//! spans draws as fast as a small one wherever it is scrolled.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::tree::Trace;
use super::waterfall::{axis, columns, rows};
use crate::app::State;
use crate::text::display;
use crate::text::units::format_duration;

/// The spans shown, in order: every span but those under a folded one.
pub fn shown(t: &Trace, collapsed: &[usize]) -> Vec<usize> {
    if collapsed.is_empty() {
        return t.order.clone();
    }
    let mut out = Vec::with_capacity(t.order.len());
    let mut hide_below: Option<u32> = None;
    for &i in &t.order {
        let d = t.spans[i].depth;
        if let Some(h) = hide_below {
            if d > h {
                continue;
            }
            hide_below = None;
        }
        out.push(i);
        if collapsed.contains(&i) {
            hide_below = Some(d);
        }
    }
    out
}

/// Lines of the selected span's detail.
const DETAIL: u16 = 8;

pub fn draw(f: &mut Frame, area: Rect, state: &State, selected: usize, collapsed: &[usize]) {
    let th = &state.theme;
    let r = crate::core::view::full(area);
    if r.height < 4 || r.width < 20 {
        return;
    }
    f.render_widget(Clear, r);
    let tr = &state.traces;
    let id = state.trace_id.as_deref().unwrap_or("");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border_focus);
    let inner = block.inner(r);
    let (title, body): (String, Vec<Line>) = match (&tr.trace, &tr.loading, &tr.error) {
        (_, Some(l), _) => (
            format!(" Trace {l} "),
            vec![Line::from(Span::styled(
                "asking the trace backend…",
                th.dim,
            ))],
        ),
        (_, None, Some((eid, e))) if eid == id => (
            format!(" Trace {} ", display(eid)),
            vec![Line::from(Span::styled(
                format!("✗ {}", display(e)),
                th.crit,
            ))],
        ),
        (Some(t), None, _) => (
            format!(
                " Trace {}  {}  {} spans  {} services  {} errors{} (↑↓, Enter fold, l logs, Esc) ",
                t.id,
                format_duration(t.duration_ns() as f64 / 1e9),
                t.spans.len(),
                t.services().len(),
                t.errors(),
                if t.partial { "  partial" } else { "" }
            ),
            waterfall_lines(t, state, inner, selected, collapsed),
        ),
        (None, None, _) => (" Trace ".into(), vec![]),
    };
    f.render_widget(Paragraph::new(body).block(block.title(title)), r);
}

fn waterfall_lines<'a>(
    t: &'a Trace,
    state: &State,
    inner: Rect,
    selected: usize,
    collapsed: &[usize],
) -> Vec<Line<'a>> {
    let th = &state.theme;
    let width = inner.width as usize;
    let shown = shown(t, collapsed);
    let selected = selected.min(shown.len().saturating_sub(1));
    let detail_h = if inner.height > DETAIL + 6 { DETAIL } else { 0 };
    let h = (inner.height.saturating_sub(1 + detail_h)) as usize;
    let first = crate::core::view::first_row(selected, h);
    let window = &shown[first.min(shown.len())..(first + h).min(shown.len())];
    let colour = |svc: &str| -> Style {
        let i = t.service_index(svc);
        th.series
            .get(i % th.series.len().max(1))
            .copied()
            .unwrap_or(th.text)
    };
    let (label_w, dur_w, _) = columns(width);
    let mut lines = vec![Line::from(Span::styled(axis(t, width), th.dim))];
    for (k, row) in rows(t, width, window).into_iter().enumerate() {
        let svc = &*t.spans[row.span].raw.service;
        let mut label = Style::default();
        if row.error {
            label = th.crit;
        }
        let mut bar = colour(svc);
        if first + k == selected {
            label = label.add_modifier(Modifier::REVERSED);
            bar = bar.add_modifier(Modifier::BOLD);
        }
        let folded = collapsed.contains(&row.span);
        lines.push(Line::from(vec![
            Span::styled(format!("{:label_w$}", row.label), label),
            Span::styled(
                format!(" {:>dur_w$} ", row.duration),
                if folded { th.accent } else { th.dim },
            ),
            Span::styled(row.bar, bar),
        ]));
    }
    while lines.len() < h + 1 {
        lines.push(Line::from(""));
    }
    if detail_h > 0 {
        if let Some(&span) = shown.get(selected) {
            lines.extend(detail(t, span, state, width, detail_h as usize));
        }
    }
    lines
}

/// The selected span: what it is, when, its status, then its attributes,
/// events and resource, as many as fit.
fn detail<'a>(t: &Trace, i: usize, state: &State, width: usize, h: usize) -> Vec<Line<'a>> {
    let th = &state.theme;
    let s = &t.spans[i];
    let r = &s.raw;
    let mut flags = vec![];
    for (on, f) in [
        (s.critical, "critical path"),
        (s.orphan, "parent not in the trace"),
        (s.duplicate, "span id seen twice"),
        (s.skewed, "started before its parent (clock skew)"),
    ] {
        if on {
            flags.push(f);
        }
    }
    let head = format!(
        "{}: {}  {}  +{}  {}  span {}{}",
        display(&r.service),
        display(&r.name),
        r.kind,
        format_duration((r.start_ns - t.start_ns) as f64 / 1e9),
        format_duration(r.dur_ns as f64 / 1e9),
        r.span_id,
        if flags.is_empty() {
            String::new()
        } else {
            format!("  ({})", flags.join(", "))
        }
    );
    let mut out = vec![
        Line::from(Span::styled("─".repeat(width), th.border)),
        Line::from(Span::styled(head, th.title)),
    ];
    if r.error {
        out.push(Line::from(Span::styled(
            format!("✗ {}", display(r.status.as_deref().unwrap_or("error"))),
            th.crit,
        )));
    }
    let pairs = |v: &[(std::sync::Arc<str>, String)]| -> String {
        v.iter()
            .map(|(k, v)| format!("{}={}", display(k), display(v)))
            .collect::<Vec<_>>()
            .join("  ")
    };
    if !r.attrs.is_empty() {
        out.push(Line::from(vec![
            Span::styled("attributes ", th.dim),
            Span::raw(pairs(&r.attrs)),
        ]));
    }
    for e in &r.events {
        out.push(Line::from(vec![
            Span::styled(
                format!("+{} ", format_duration((e.at_ns - t.start_ns) as f64 / 1e9)),
                th.dim,
            ),
            Span::styled(display(&e.name).into_owned(), th.accent),
            Span::raw(format!(" {}", pairs(&e.attrs))),
        ]));
    }
    if !r.resource.is_empty() {
        out.push(Line::from(vec![
            Span::styled("resource ", th.dim),
            Span::raw(pairs(&r.resource)),
        ]));
    }
    out.truncate(h);
    out
}
