//! One pane per file. Each draws from the queries its dashboard pane names.
pub mod admission;
pub mod memory;
pub mod probes;
pub mod restarts;
pub mod scheduler;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::dashboard::{PaneKind, PaneSpec};
use crate::text::units::format_age;

/// What a pane says about its data: loading, error, staleness.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneStatus {
    pub loading: bool,
    pub error: Option<String>,
    pub failures: u32,
    /// Seconds since the oldest query of the pane last succeeded.
    pub age_secs: Option<i64>,
    pub warnings: Vec<String>,
}

pub fn status(state: &State, pane: &str) -> PaneStatus {
    let mut st = PaneStatus {
        loading: true,
        error: None,
        failures: 0,
        age_secs: None,
        warnings: vec![],
    };
    let mut oldest: Option<i64> = None;
    let mut any = false;
    for (_, d) in state.pane_queries(pane) {
        let Some(d) = d else { continue };
        any = true;
        if let Some(ok) = d.last_ok {
            oldest = Some(oldest.map_or(ok, |o: i64| o.min(ok)));
        }
        if let Some(e) = &d.error {
            if st.error.is_none() {
                st.error = Some(e.clone());
            }
            st.failures = st.failures.max(d.failures);
        }
        if d.truncated_series > 0 {
            let w = format!(
                "{} series left out (cap {} per query)",
                d.truncated_series,
                crate::store::series::MAX_SERIES
            );
            if !st.warnings.contains(&w) {
                st.warnings.push(w);
            }
        }
        for w in &d.warnings {
            if !st.warnings.contains(w) {
                st.warnings.push(w.clone());
            }
        }
    }
    st.loading = !any;
    st.age_secs = oldest.map(|o| (state.now_ms - o) / 1000);
    st
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, pane: &PaneSpec, focused: bool) {
    let t = &state.theme;
    let st = status(state, &pane.id);
    let mut title = vec![Span::styled(format!(" {}", pane.title), t.title)];
    if let Some(p) = &state.target.pod {
        title.push(Span::styled(
            format!(" · {}", crate::text::display(p)),
            t.title,
        ));
    }
    title.push(Span::raw(" "));
    // stale: an error, or data older than three refreshes
    let stale = st
        .age_secs
        .filter(|&a| st.error.is_some() || (state.target.is_live() && a > expected_gap(state) * 2));
    if let Some(age) = stale {
        title.push(Span::styled(format!(" stale {} ", format_age(age)), t.warn));
    }
    if st.error.is_some() {
        title.push(Span::styled(
            format!(" retrying ({} failed) ", st.failures),
            t.crit,
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    // The error takes the last line, the data keeps the rest.
    let mut body = inner;
    let mut notes: Vec<Line> = Vec::new();
    if let Some(e) = &st.error {
        notes.push(Line::from(Span::styled(
            format!("✗ {}", crate::text::display(e)),
            t.crit,
        )));
    }
    if let Some(w) = st.warnings.first() {
        notes.push(Line::from(Span::styled(
            format!("⚠ {}", crate::text::display(w)),
            t.warn,
        )));
    }
    if !notes.is_empty() && inner.height > 2 {
        let n = (notes.len() as u16).min(inner.height - 1);
        body.height -= n;
        let r = Rect {
            y: inner.y + body.height,
            height: n,
            ..inner
        };
        f.render_widget(Paragraph::new(notes), r);
    }
    if st.loading {
        f.render_widget(Paragraph::new(Span::styled("loading…", t.dim)), body);
        return;
    }
    // each pane: a pure view of State at the cursor (or latest), then layout
    let (at, t) = (state.cursor_ms, &state.theme);
    match pane.kind {
        PaneKind::Memory => memory::draw(f, body, &memory::view(state, pane, at), t),
        PaneKind::Scheduler => scheduler::draw(f, body, &scheduler::view(state, pane, at), t),
        PaneKind::Restarts => restarts::draw(f, body, &restarts::view(state, pane, at), t),
        PaneKind::Admission => admission::draw(f, body, &admission::view(state, pane, at), t),
    }
}

/// The longest a live pane may wait between answers when all is well: the
/// sample interval (or refresh), slowed down for answers with nothing new.
pub fn expected_gap(state: &State) -> i64 {
    let interval = state
        .metrics
        .clock
        .map(|c| c.interval_ms as f64 / 1000.0)
        .unwrap_or(0.0)
        .max(state.refresh_secs);
    (interval * f64::from(1u32 << crate::sources::poller::MAX_SLOWDOWN)).ceil() as i64 + 2
}

/// Label text for a series: the values of `by` labels joined with "/",
/// sanitised (the store keeps raw values, for exact queries).
pub fn series_name(labels: &crate::store::Labels, by: &[String]) -> String {
    let parts: Vec<&str> = by
        .iter()
        .filter_map(|b| labels.get(b).map(String::as_str))
        .collect();
    if parts.is_empty() {
        "total".into()
    } else {
        crate::text::display(&parts.join("/")).into_owned()
    }
}
