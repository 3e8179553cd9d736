//! One pane per file. Each draws from the queries its dashboard pane names.
pub mod admission;
pub mod memory;
pub mod restarts;
pub mod scheduler;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::State;
use crate::config::theme::Theme;
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
    /// Queries answered with no series, each saying what it needs.
    pub empty: Vec<String>,
    /// Every query of the pane answered, and none had a series.
    pub all_empty: bool,
}

pub fn status(state: &State, pane: &str) -> PaneStatus {
    let mut st = PaneStatus {
        loading: true,
        error: None,
        failures: 0,
        age_secs: None,
        warnings: vec![],
        empty: vec![],
        all_empty: true,
    };
    let mut oldest: Option<i64> = None;
    let mut any = false;
    for (q, d) in state.pane_queries(pane) {
        let Some(d) = d else {
            st.all_empty = false;
            continue;
        };
        any = true;
        if d.last_ok.is_some() && d.series.is_empty() && d.error.is_none() {
            let needs: Vec<String> = q
                .alternatives
                .iter()
                .filter_map(|e| crate::dashboard::signals::needs(e))
                .collect();
            let why = if needs.is_empty() {
                format!("{}: no series", q.label.trim())
            } else {
                format!("{}: no series; {}", q.label.trim(), needs.join(" or "))
            };
            if !st.empty.contains(&why) {
                st.empty.push(why);
            }
        } else {
            st.all_empty = false;
        }
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
    let now_only = pane.queries.iter().all(|q| q.instant);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(title(state, pane, &st, now_only));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let body = draw_notes(f, inner, notes(&st, t));
    if st.loading {
        f.render_widget(Paragraph::new(Span::styled("loading…", t.dim)), body);
        return;
    }
    if st.all_empty {
        draw_all_empty(f, body, state, &st);
        return;
    }
    // each pane: a pure view of State at the cursor (or latest), then layout;
    // a pane of instant queries has only "now" and says so
    let at = if now_only { None } else { state.cursor_ms };
    match pane.kind {
        PaneKind::Memory => memory::draw(f, body, &memory::view(state, pane, at), t),
        PaneKind::Scheduler => scheduler::draw(f, body, &scheduler::view(state, pane, at), t),
        PaneKind::Restarts => restarts::draw(f, body, &restarts::view(state, pane, at), t),
        PaneKind::Admission => admission::draw(f, body, &admission::view(state, pane, at), t),
    }
}

/// " Memory · pod-0  now, not at the cursor  stale 2m  retrying (3 failed) ".
fn title<'a>(state: &State, pane: &PaneSpec, st: &PaneStatus, now_only: bool) -> Line<'a> {
    let t = &state.theme;
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
    if now_only && state.cursor_ms.is_some() {
        title.push(Span::styled(" now, not at the cursor ", t.dim));
    }
    if let Some(age) = stale {
        title.push(Span::styled(format!(" stale {} ", format_age(age)), t.warn));
    }
    if st.error.is_some() {
        title.push(Span::styled(
            format!(" retrying ({} failed) ", st.failures),
            t.crit,
        ));
    }
    Line::from(title)
}

/// The pane's error, first warning and (when some data came) the first
/// query that answered empty.
fn notes<'a>(st: &PaneStatus, t: &Theme) -> Vec<Line<'a>> {
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
    if let (false, Some(first)) = (st.all_empty, st.empty.first()) {
        let more = st.empty.len() - 1;
        let more = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        notes.push(Line::from(Span::styled(
            format!("∅ {}{more}", crate::text::display(first)),
            t.dim,
        )));
    }
    notes
}

/// The notes take the last lines, the data keeps the rest: returns the
/// area left for the data.
fn draw_notes(f: &mut Frame, inner: Rect, notes: Vec<Line>) -> Rect {
    let mut body = inner;
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
    body
}

/// Every query answered with nothing: say why instead of drawing empty rows.
fn draw_all_empty(f: &mut Frame, body: Rect, state: &State, st: &PaneStatus) {
    let t = &state.theme;
    let mut lines = vec![Line::from(Span::styled(scope_note(state), t.warn))];
    // a pod no answer for all pods has named: that is why, not a collector
    if let Some(pod) = unknown_pod(state) {
        let known = &state.metrics.known_pods;
        let some: Vec<String> = known
            .iter()
            .take(5)
            .map(|p| crate::text::display(p).into_owned())
            .collect();
        lines.push(Line::from(Span::styled(
            format!(
                "no answer has named pod {} (pods seen: {}{}; p to pick)",
                crate::text::display(pod),
                some.join(", "),
                if known.len() > 5 { ", …" } else { "" }
            ),
            t.dim,
        )));
        f.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
            body,
        );
        return;
    }
    lines.extend(
        st.empty
            .iter()
            .map(|w| Line::from(Span::styled(crate::text::display(w).into_owned(), t.dim))),
    );
    f.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        body,
    );
}

/// Why a pane has nothing: the scope matches nothing, or the collectors
/// its queries need are absent.
/// The chosen pod, when the answers for all pods (before it was chosen)
/// never named it.
fn unknown_pod(state: &State) -> Option<&str> {
    let pod = state.target.pod.as_deref()?;
    let known = &state.metrics.known_pods;
    (!known.is_empty() && !known.iter().any(|p| p == pod)).then_some(pod)
}

pub fn scope_note(state: &State) -> String {
    let scope = scope_text(state);
    if scope.is_empty() {
        "no series for this pane:".into()
    } else {
        format!("no series for this pane in scope {scope}:")
    }
}

/// "ns=nope job=x" for the parts of the target that narrow the scope.
pub fn scope_text(state: &State) -> String {
    let mut scope = Vec::new();
    for (k, v) in [
        ("ns", &state.target.namespace),
        ("job", &state.target.job),
        ("pod", &state.target.pod),
    ] {
        if let Some(v) = v {
            scope.push(format!("{k}={}", crate::text::display(v)));
        }
    }
    scope.join(" ")
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
    (interval * f64::from(1u32 << crate::features::metrics::poller::MAX_SLOWDOWN)).ceil() as i64 + 2
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
