//! Header: profile, namespace, pod, window, LIVE/PAUSED, backend health.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::State;
use crate::text::units::{format_age, prom_duration};
use crate::ui::widgets::chart::clock;

pub fn draw(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut spans = vec![
        Span::styled(
            if area.width >= 100 {
                " watchfloor "
            } else {
                " wf "
            },
            t.header_live,
        ),
        Span::styled(" ", t.header),
    ];
    let mut kv = |k: &str, v: String| {
        spans.push(Span::styled(format!("{k} "), t.header));
        spans.push(Span::styled(
            format!("{v}  "),
            t.header.add_modifier(ratatui::style::Modifier::BOLD),
        ));
    };
    // narrow terminals keep what matters in an incident: scope, window, LIVE, health
    let wide = area.width >= 120;
    if let (Some(p), true) = (&state.profile, wide) {
        kv("profile", p.clone());
    }
    kv(
        "ns",
        state
            .focus
            .namespace
            .clone()
            .unwrap_or_else(|| "all".into()),
    );
    kv(
        "pod",
        state.focus.pod.clone().unwrap_or_else(|| "all".into()),
    );
    kv("last", prom_duration(state.focus.range_secs));
    if let (Some(d), true) = (&state.dashboard, wide) {
        kv("dash", d.name.clone());
    }
    if state.focus.is_live() {
        spans.push(Span::styled("● LIVE", t.header_live));
    } else {
        let at = clock(state.focus.end_ms(state.now_ms), true);
        spans.push(Span::styled(format!("❚❚ PAUSED at {at}"), t.header_paused));
    }
    spans.push(Span::styled("   ", t.header));
    let b = &state.backend;
    if b.ok() {
        spans.push(Span::styled(format!("{} ✓", b.name), t.header));
    } else if let Some(e) = &b.last_error {
        let age = b
            .last_error_ms
            .map(|e| format_age((state.now_ms - e) / 1000))
            .unwrap_or_default();
        let short: String = e.chars().take(60).collect();
        spans.push(Span::styled(
            format!("{} ✗ {short} ({age} ago)", b.name),
            t.crit,
        ));
    } else {
        spans.push(Span::styled(format!("{} …", b.name), t.header));
    }
    for w in &state.warnings {
        spans.push(Span::styled("  ", t.header));
        spans.push(Span::styled(format!("⚠ {w}"), t.warn));
    }
    if wide {
        spans.push(Span::styled(
            format!("  {} UTC ", clock(state.now_ms, true)),
            t.header,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.header), area);
}
