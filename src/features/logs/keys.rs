//! What the log pane's keys do: scrolling and selection, follow, search,
//! level and text filters, the LogQL editor and its completion, the detail
//! and patterns views (Enter filters), the Memory pane's sampler snapshot.

use crate::app::state::State;
use crate::app::views::{InputPurpose, View};
use crate::app::Command;
use crate::features::logs::client::logql::{self, Filter};
use crate::features::logs::engine::CompletionAsk;
use crate::features::logs::{
    base_query, local_patterns, pattern_literal, text_matches, LogsCommand, LogsState,
};
use crate::store::logs::LogLine;
use crate::store::logs::Row;
use crate::text::logline::Level;

/// Rows of lines the log pane shows at the current size.
fn page(state: &State) -> usize {
    crate::app::layout::logs_rect(state)
        .map(|r| crate::app::layout::log_body_rows(r.height, r.height >= 8))
        .unwrap_or(10)
        .max(1)
}

/// Pauses at `pos` (a ring position) and keeps it on screen.
fn select(state: &mut State, pos: usize) {
    let h = page(state);
    let l = &mut state.logs;
    let shown = l.shown_positions();
    let Some(id) = l.ring.get(pos).map(|s| s.id) else {
        return;
    };
    let at = shown.partition_point(|&p| p < pos);
    let anchor_at = match (l.follow, l.anchor.and_then(|a| l.ring.index_of(a))) {
        (false, Some(a)) => shown.partition_point(|&p| p <= a).saturating_sub(1),
        _ => shown.len().saturating_sub(1),
    };
    let top_at = (anchor_at + 1).saturating_sub(h);
    let new_anchor = if at > anchor_at {
        at
    } else if at < top_at {
        (at + h - 1).min(shown.len().saturating_sub(1))
    } else {
        anchor_at
    };
    l.follow = false;
    l.selected = Some(id);
    l.anchor = shown
        .get(new_anchor)
        .and_then(|&p| l.ring.get(p))
        .map(|s| s.id);
}

/// The time cursor moved: select the newest shown line at or before it.
pub fn select_at(state: &mut State, t_ms: i64) {
    let l = &state.logs;
    if !l.common.configured {
        return;
    }
    let t_ns = t_ms.saturating_mul(1_000_000);
    let shown = l.shown_positions();
    let at = shown.partition_point(|&p| l.ring.get(p).is_some_and(|s| s.row.ts_ns() <= t_ns));
    if let Some(&p) = shown.get(at.saturating_sub(1)) {
        select(state, p);
    }
}

/// Back to following the newest line.
pub fn apply_follow(state: &mut State) {
    let l = &mut state.logs;
    l.follow = true;
    l.selected = None;
    l.anchor = None;
}

/// Moves the selection by `delta` shown rows (negative: older).
fn step(state: &mut State, delta: isize) {
    let l = &state.logs;
    let shown = l.shown_positions();
    if shown.is_empty() {
        return;
    }
    let cur = match (l.follow, l.selected.and_then(|id| l.ring.index_of(id))) {
        (false, Some(p)) => shown.partition_point(|&x| x < p),
        _ => shown.len() - 1,
    };
    let next = (cur as isize + delta).clamp(0, shown.len() as isize - 1) as usize;
    select(state, shown[next]);
}

/// The line details open on: the selected line, else the newest.
/// The line the keys act on (the selection, else the newest shown), for
/// the jumps from a line to its trace.
pub fn selected_line(l: &LogsState) -> Option<&LogLine> {
    let p = l.ring.index_of(current_line(l)?)?;
    match &l.ring.get(p)?.row {
        Row::Line(line) => Some(line),
        _ => None,
    }
}

fn current_line(l: &LogsState) -> Option<u64> {
    if !l.follow {
        if let Some(id) = l.selected {
            return Some(id);
        }
    }
    let shown = l.shown_positions();
    shown
        .iter()
        .rev()
        .filter_map(|&p| l.ring.get(p))
        .find(|s| matches!(s.row, Row::Line(_)))
        .map(|s| s.id)
}

/// Fields of a line for the detail view: stream labels, metadata, then
/// the line's own JSON or logfmt fields. (name, value, filterable, logfmt)
pub fn detail_fields(line: &LogLine) -> Vec<(String, String, bool, bool)> {
    let mut out: Vec<(String, String, bool, bool)> = Vec::new();
    if let Some(f) = crate::text::logline::fields(&line.text) {
        let logfmt = f.kind == crate::text::logline::FieldKind::Logfmt;
        for (k, v) in f.pairs {
            out.push((k, v, true, logfmt));
        }
    }
    for (k, v) in line.labels.iter().chain(line.meta.iter()) {
        out.push((k.clone(), v.clone(), false, false));
    }
    out
}

/// A new plan for the log query (the query or its filters changed).
pub(crate) fn replan(state: &mut State) -> Vec<Command> {
    let c = state.logs.plan(&crate::ctx!(state));
    c.into_iter().map(Command::Logs).collect()
}

/// The log pane's actions: they work from anywhere (the pane takes the
/// focus where that is what the action means).
pub fn is_logs_action(a: crate::app::Action) -> bool {
    use crate::app::Action as A;
    matches!(
        a,
        A::FocusLogs
            | A::LogsFollow
            | A::LogsTop
            | A::ToggleWrap
            | A::ToggleColumns
            | A::OpenSearch
            | A::SearchNext
            | A::SearchPrev
            | A::EditLogQuery
            | A::FilterInclude
            | A::FilterExclude
            | A::ClearFilters
            | A::LevelAll
            | A::LevelDebug
            | A::LevelInfo
            | A::LevelWarn
            | A::LevelError
            | A::OpenDetail
            | A::OpenPatterns
            | A::OpenTrace
            | A::TraceSearch
    )
}

/// Keys while the log pane has the focus (and no view is open): scrolling
/// moves the selection, and every log action applies here; the rest goes
/// on to the global actions.
pub fn focused(state: &mut State, action: crate::app::Action) -> crate::app::keys::Handled {
    use crate::app::keys::Handled;
    use crate::app::Action as A;
    match action {
        A::ScrollUp | A::ScrollDown | A::PageUp | A::PageDown => {
            Handled::Consumed(apply(state, action))
        }
        a if is_logs_action(a) => Handled::Consumed(apply(state, a)),
        _ => Handled::Pass,
    }
}

/// The log pane's key hints while it has the focus.
pub const HINTS: &[(crate::app::Action, &str)] = &[
    (crate::app::Action::ToggleHelp, "help"),
    (crate::app::Action::ScrollUp, "older"),
    (crate::app::Action::LogsFollow, "follow"),
    (crate::app::Action::OpenSearch, "search"),
    (crate::app::Action::OpenDetail, "detail"),
    (crate::app::Action::OpenTrace, "trace"),
    (crate::app::Action::EditLogQuery, "query"),
    (crate::app::Action::LevelError, "errors"),
    (crate::app::Action::OpenPatterns, "patterns"),
    (crate::app::Action::FilterInclude, "only"),
    (crate::app::Action::FocusNext, "focus"),
];

/// What the logs add to the dashboard's hints when a log source is on.
pub const FROM_DASHBOARD: &[(crate::app::Action, &str)] = &[
    (crate::app::Action::FocusLogs, "logs"),
    (crate::app::Action::OpenSearch, "search"),
];

/// What a log action does.
pub fn apply(state: &mut State, action: crate::app::Action) -> Vec<Command> {
    use crate::app::Action as A;
    if !state.logs.common.configured {
        if action == A::OpenDetail {
            return open_sampler(state);
        }
        state.ui.message = Some(("no log source: pass --loki URL (or --demo)".into(), true));
        return vec![];
    }
    match action {
        A::FocusLogs
        | A::ScrollUp
        | A::ScrollDown
        | A::PageUp
        | A::PageDown
        | A::LogsFollow
        | A::LogsTop
        | A::ToggleWrap
        | A::ToggleColumns => {
            move_and_show(state, action);
            vec![]
        }
        A::OpenSearch
        | A::SearchNext
        | A::SearchPrev
        | A::FilterInclude
        | A::FilterExclude
        | A::ClearFilters
        | A::LevelAll
        | A::LevelDebug
        | A::LevelInfo
        | A::LevelWarn
        | A::LevelError => search_and_filter(state, action),
        A::EditLogQuery => edit_query(state),
        A::OpenTrace => crate::app::jumps::trace_of_line(state),
        A::TraceSearch => crate::app::jumps::traces_of_line(state),
        A::OpenDetail | A::OpenPatterns | A::PickerUp | A::PickerDown | A::PickerSelect => {
            views(state, action)
        }
        _ => vec![],
    }
}

/// Focus, selection and scrolling, follow, and how lines are laid out.
fn move_and_show(state: &mut State, action: crate::app::Action) {
    use crate::app::Action as A;
    match action {
        A::FocusLogs => state.ui.focused = crate::app::state::Focus::Logs,
        A::ScrollUp => step(state, -1),
        A::ScrollDown => step(state, 1),
        A::PageUp => step(state, -(page(state) as isize)),
        A::PageDown => step(state, page(state) as isize),
        A::LogsFollow => {
            let l = &mut state.logs;
            l.follow = true;
            l.selected = None;
            l.anchor = None;
        }
        A::LogsTop => {
            if let Some(&p) = state.logs.shown_positions().first() {
                select(state, p);
            }
        }
        A::ToggleWrap => state.logs.wrap = !state.logs.wrap,
        A::ToggleColumns => state.logs.columns = state.logs.columns.next(),
        _ => {}
    }
}

/// Search, the include/exclude filters and the minimum level.
fn search_and_filter(state: &mut State, action: crate::app::Action) -> Vec<Command> {
    use crate::app::Action as A;
    match action {
        A::OpenSearch => {
            state.ui.focused = crate::app::state::Focus::Logs;
            // a new search starts empty (↑ recalls the last ones)
            crate::app::update::open_input(state, InputPurpose::Search, "");
        }
        A::SearchNext | A::SearchPrev => return search_step(state, action == A::SearchNext),
        A::FilterInclude => crate::app::update::open_input(state, InputPurpose::Include, ""),
        A::FilterExclude => crate::app::update::open_input(state, InputPurpose::Exclude, ""),
        A::ClearFilters => {
            let l = &mut state.logs;
            l.search = None;
            l.min_level = None;
            if !l.filters.is_empty() {
                l.filters.clear();
                return replan(state);
            }
        }
        A::LevelAll => state.logs.min_level = None,
        A::LevelDebug => state.logs.min_level = Some(Level::Debug),
        A::LevelInfo => state.logs.min_level = Some(Level::Info),
        A::LevelWarn => state.logs.min_level = Some(Level::Warn),
        A::LevelError => state.logs.min_level = Some(Level::Error),
        _ => {}
    }
    vec![]
}

/// Opens the LogQL editor and asks for what its completion starts with.
fn edit_query(state: &mut State) -> Vec<Command> {
    let q = base_query(&state.logs, &crate::ctx!(state));
    crate::app::update::open_input(state, InputPurpose::LogQuery, &q);
    // completion over the pane's window: the label names, every
    // label's values in the current query's scope (`series`), and
    // the namespaces (to move elsewhere); other labels' values are
    // asked for when first completed
    let l = &mut state.logs;
    l.completions.clear();
    l.label_names.clear();
    l.asked.clear();
    let mut asks = vec![
        CompletionAsk::Names,
        CompletionAsk::Values("namespace".into()),
    ];
    if let Some(sel) = logql::selector_of(&q) {
        asks.push(CompletionAsk::Scope(sel.to_string()));
    }
    let (gen, window_ns) = (
        state.logs.common.gen,
        crate::features::logs::window_ns(&crate::ctx!(state)),
    );
    asks.into_iter()
        .map(|ask| {
            Command::Logs(LogsCommand::Complete {
                gen,
                ask,
                window_ns,
            })
        })
        .collect()
}

/// The detail and patterns views: opening them, moving in them, Enter.
fn views(state: &mut State, action: crate::app::Action) -> Vec<Command> {
    use crate::app::Action as A;
    let logs_focus = state.ui.focused == crate::app::state::Focus::Logs;
    match action {
        A::OpenDetail if !logs_focus => return open_sampler(state),
        A::OpenDetail => {
            if let Some(id) = current_line(&state.logs) {
                crate::app::update::push_view(state, View::LogDetail { id, index: 0 });
            }
        }
        A::OpenPatterns => {
            state.logs.patterns = Some(Ok(local_patterns(&state.logs)));
            crate::app::update::push_view(state, View::Patterns { index: 0 });
            let start_ns = state.target.start_ms(state.now_ms) * 1_000_000;
            return vec![Command::Logs(LogsCommand::Patterns {
                gen: state.logs.common.gen,
                query: state.logs.query.clone(),
                start_ns,
            })];
        }
        A::PickerUp | A::PickerDown => pick_step(state, action == A::PickerUp),
        A::PickerSelect => return select_item(state),
        _ => {}
    }
    vec![]
}

/// Moves the highlighted row of the detail or patterns view.
fn pick_step(state: &mut State, up: bool) {
    let n = match state.ui.views.top() {
        Some(View::LogDetail { id, .. }) => state
            .logs
            .ring
            .index_of(*id)
            .and_then(|p| state.logs.ring.get(p))
            .map(|s| match &s.row {
                Row::Line(l) => detail_fields(l).len(),
                Row::Marker(_) => 0,
            })
            .unwrap_or(0),
        Some(View::Patterns { .. }) => match &state.logs.patterns {
            Some(Ok(p)) => p.len(),
            _ => 0,
        },
        _ => 0,
    };
    if let Some(View::LogDetail { index, .. } | View::Patterns { index }) = state.ui.views.top_mut()
    {
        *index = if up {
            index.saturating_sub(1)
        } else {
            (*index + 1).min(n.saturating_sub(1))
        };
    }
}

/// A text every line of a pattern contains: the longest literal piece of
/// the pattern (quoted values first: a JSON line's `msg` is quoted in the
/// template and verbatim in the line) that a retained line of the pattern
/// really holds.
fn pattern_filter(l: &LogsState, pattern: &str) -> Option<String> {
    use crate::text::patterns::template;
    let example = l.ring.lines().find(|x| template(&x.text) == pattern);
    let mut pieces: Vec<String> = Vec::new();
    for q in pattern.split('"').skip(1).step_by(2) {
        pieces.extend(q.split("<_>").map(|x| x.trim().to_string()));
    }
    pieces.extend(pattern.split("<_>").map(|x| x.trim().to_string()));
    pieces.retain(|x| x.len() >= 3);
    pieces.sort_by_key(|x| std::cmp::Reverse(x.len()));
    match example {
        Some(line) => pieces
            .into_iter()
            .find(|x| line.text.contains(x.as_str()))
            .or_else(|| pattern_literal(pattern)),
        // a server pattern: its literal text is the line's
        None => pattern_literal(pattern),
    }
}

/// Enter in the detail view (filter on the field) or patterns (filter to one).
fn select_item(state: &mut State) -> Vec<Command> {
    use crate::app::views::View;
    let filter = match state.ui.views.top() {
        Some(View::LogDetail { id, index }) => {
            let line = state
                .logs
                .ring
                .index_of(*id)
                .and_then(|p| state.logs.ring.get(p))
                .and_then(|s| match &s.row {
                    Row::Line(l) => Some(l),
                    Row::Marker(_) => None,
                });
            let Some(line) = line else { return vec![] };
            match detail_fields(line).into_iter().nth(*index) {
                // a masked value would only match the mask
                Some((name, value, ..)) if value.contains(crate::text::redact::MASK) => {
                    crate::app::update::pop_view(state);
                    state.ui.message = Some((
                        format!("{name} is masked: cannot filter on its value"),
                        true,
                    ));
                    return vec![];
                }
                Some((name, value, true, logfmt)) => Some(Filter::Field {
                    name,
                    value,
                    logfmt,
                }),
                // a stream label or metadata: a label filter
                Some((name, value, false, _)) => Some(Filter::Label { name, value }),
                None => None,
            }
        }
        Some(View::Patterns { index }) => match &state.logs.patterns {
            Some(Ok(p)) => p
                .get(*index)
                .and_then(|r| pattern_filter(&state.logs, &r.pattern))
                .map(Filter::Include),
            _ => None,
        },
        _ => None,
    };
    crate::app::update::pop_view(state);
    match filter {
        Some(f) => {
            state.ui.message = Some((format!("filter {}", f.label()), false));
            state.logs.filters.push(f);
            replan(state)
        }
        None => {
            state.ui.message = Some(("nothing to filter on here".into(), true));
            vec![]
        }
    }
}

fn open_sampler(state: &mut State) -> Vec<Command> {
    let focused_memory = state
        .metrics
        .dashboard
        .as_ref()
        .and_then(|d| d.panes.get(state.ui.focused.pane()?))
        .is_some_and(|p| p.kind == crate::dashboard::PaneKind::Memory);
    if focused_memory {
        crate::app::update::push_view(state, crate::app::views::View::Sampler { scroll: 0 });
    }
    vec![]
}

/// n / N: the next older / newer line matching the search.
pub(super) fn search_step(state: &mut State, older: bool) -> Vec<Command> {
    let l = &state.logs;
    let Some(needle) = l.search.clone().filter(|s| !s.is_empty()) else {
        state.ui.message = Some(("no search: press / first".into(), true));
        return vec![];
    };
    let shown = l.shown_positions();
    let cur = match (l.follow, l.selected.and_then(|id| l.ring.index_of(id))) {
        (false, Some(p)) => Some(p),
        _ => None,
    };
    let is_match = |p: usize| matches!(l.ring.get(p).map(|s| &s.row), Some(Row::Line(x)) if text_matches(&x.text, &needle));
    let found = if older {
        shown
            .iter()
            .rev()
            .copied()
            .filter(|&p| cur.is_none_or(|c| p < c))
            .find(|&p| is_match(p))
    } else {
        shown
            .iter()
            .copied()
            .filter(|&p| cur.is_none_or(|c| p > c))
            .find(|&p| is_match(p))
    };
    match found {
        Some(p) => select(state, p),
        None => {
            state.ui.message = Some((
                format!("no {} match", if older { "older" } else { "newer" }),
                false,
            ));
        }
    }
    vec![]
}

pub use super::input::{candidates, completion_asks, submit};
