//! The jumps between features: a log line to its trace, a trace to its
//! logs and back, a line's conversation or a span's service to the traces
//! found. They touch two features at once (logs and traces), so they live
//! in the app, which may read and change every feature's state; the
//! features themselves never reach into each other.

use crate::app::action::Action;
use crate::app::keys::push_view;
use crate::app::registry::Command;
use crate::app::state::{Focus, State};
use crate::app::views::View;
use crate::core::Target;
use crate::features::logs::keys as logs_keys;
use crate::features::traces::client::search::Query;

/// Fields of a log line that name a conversation the traces carry too.
const THREAD_KEYS: [&str; 6] = [
    "thread_id",
    "turn_id",
    "threadId",
    "turnId",
    "session_id",
    "request_id",
];

/// `t` on a log line: its trace (the id from structured metadata, a JSON
/// field, a logfmt key or the text), or why there is none.
pub fn trace_of_line(state: &mut State) -> Vec<Command> {
    let id = logs_keys::selected_line(&state.logs)
        .and_then(|l| crate::text::logline::trace_id(&l.text, &l.meta));
    match id {
        Some(id) => open_trace(state, &id),
        None => {
            state.ui.message = Some(("no trace id in this line".into(), true));
            vec![]
        }
    }
}

/// `ctrl-t` on a log line: the traces carrying its `thread_id` (or
/// `turn_id`, …) in the window; a service guessed from the line's labels
/// for Jaeger, which searches one service at a time.
pub fn traces_of_line(state: &mut State) -> Vec<Command> {
    let Some(line) = logs_keys::selected_line(&state.logs) else {
        return vec![];
    };
    let pairs = crate::text::logline::fields(&line.text)
        .map(|f| f.pairs)
        .unwrap_or_default();
    let tag = THREAD_KEYS.iter().find_map(|k| {
        pairs
            .iter()
            .chain(line.meta.iter())
            .find(|(a, v)| a == k && !v.is_empty())
            .cloned()
    });
    let Some(tag) = tag else {
        state.ui.message = Some(("no thread_id or turn_id in this line".into(), true));
        return vec![];
    };
    let service_guess = ["service_name", "app", "container"]
        .iter()
        .find_map(|k| line.label(k).map(str::to_string));
    let query = Query {
        tag: Some(tag),
        service_guess,
        ..window_query(state)
    };
    search_traces(state, query)
}

/// A search over the window in view, 50 traces at most, nothing else
/// asked yet.
fn window_query(state: &State) -> Query {
    Query {
        start_ms: state.target.start_ms(state.now_ms),
        end_ms: state.target.end_ms(state.now_ms),
        limit: 50,
        ..Query::default()
    }
}

/// The log pane is planned again for a change of its filters, unless the
/// Target changed too: `update` re-targets every source once at its end,
/// the log pane with it, and planning here as well would ask twice.
fn replan_unless_retargeted(state: &mut State, before: &Target) -> Vec<Command> {
    if state.target == *before {
        logs_keys::replan(state)
    } else {
        vec![]
    }
}

/// Esc at the dashboard after `l` or `L`: the window, pod, log filters,
/// focus and cursor from before, and the trace view as it was.
pub(crate) fn jump_back(state: &mut State) -> Vec<Command> {
    let Some(r) = state.ui.jump_back.pop() else {
        return vec![];
    };
    let before = state.target.clone();
    state.target = r.target;
    state.logs.filters = r.filters;
    state.ui.focused = r.focused;
    state.cursor_ms = r.cursor_ms;
    let mut cmds = vec![];
    if let Some((view, saved)) = r.view {
        state.ui.views.push(view, saved);
        cmds = reshow_trace(state);
    }
    cmds.extend(replan_unless_retargeted(state, &before));
    cmds
}

/// Most jumps remembered (the oldest are forgotten).
const MAX_JUMPS: usize = 16;

fn push_back(state: &mut State, back: crate::app::state::JumpBack) {
    let trail = &mut state.ui.jump_back;
    if trail.len() >= MAX_JUMPS {
        trail.remove(0);
    }
    trail.push(back);
}

/// What Esc after a jump to the logs goes back to (`view`: the trace view
/// popped for it).
fn remember(
    state: &mut State,
    view: Option<(View, crate::app::views::Saved)>,
) -> crate::app::state::JumpBack {
    crate::app::state::JumpBack {
        target: state.target.clone(),
        filters: state.logs.filters.clone(),
        focused: view.as_ref().map_or(state.ui.focused, |(_, s)| s.focused),
        cursor_ms: state.cursor_ms,
        view,
    }
}

/// `x`: the trace of the latency chart's exemplar nearest the time cursor
/// (the end of the window without one), the one its chart marks.
pub(crate) fn exemplar_trace(state: &mut State) -> Vec<Command> {
    let (start, end) = (
        state.target.start_ms(state.now_ms),
        state.target.end_ms(state.now_ms),
    );
    let near = state
        .metrics
        .exemplar_near(state.cursor_ms.unwrap_or(end), start, end)
        .map(|(_, e)| e.trace_id.clone());
    match near {
        Some(id) => open_trace(state, &id),
        None => {
            let why = match state.metrics.exemplars.errors.values().next() {
                Some(e) => format!("no exemplars: {e}"),
                None => "no exemplar in the window (a histogram with trace ids; Prometheus \
                         needs --enable-feature=exemplar-storage)"
                    .into(),
            };
            state.ui.message = Some((why, true));
            vec![]
        }
    }
}

/// `L`: the log pane over the time cursor ± a step (at least 10 s), paused
/// there, with the focus. On the Restarts or Kubernetes pane, around the
/// termination nearest the cursor (the newest without one) instead, for
/// that pod: from 1 min (or two steps) before the kill to 30 s after, so a
/// restarted container's last lines and its successor's first are both
/// there. Esc goes back.
pub(crate) fn logs_at_cursor(state: &mut State) -> Vec<Command> {
    if !state.logs.common.configured {
        state.ui.message = Some(("no log source: pass --loki URL (or --demo)".into(), true));
        return vec![];
    }
    let step = state.metrics.step_secs.max(1) as i64 * 1000;
    let (start, end) = (
        state.target.start_ms(state.now_ms),
        state.target.end_ms(state.now_ms),
    );
    let on_kills = match state.ui.focused {
        Focus::Kube => true,
        Focus::Pane(i) => state
            .metrics
            .dashboard
            .as_ref()
            .and_then(|d| d.panes.get(i))
            .is_some_and(|p| p.kind == crate::dashboard::PaneKind::Restarts),
        Focus::Logs => false,
    };
    let (from, to, at, pod) = if on_kills {
        let near = state.cursor_ms.unwrap_or(end);
        let kill = state
            .marks
            .iter()
            .filter(|m| m.at_ms >= start && m.at_ms <= end)
            .filter(|m| state.target.pod.as_deref().is_none_or(|p| p == m.pod))
            .min_by_key(|m| ((m.at_ms - near).abs(), std::cmp::Reverse(m.at_ms)));
        let Some(k) = kill else {
            state.ui.message = Some(("no restart or OOM kill in the window".into(), true));
            return vec![];
        };
        let before = (2 * step).max(60_000);
        let after = step.max(30_000);
        (
            k.at_ms - before,
            k.at_ms + after,
            k.at_ms,
            Some(k.pod.clone()),
        )
    } else {
        let Some(c) = state.cursor_ms else {
            state.ui.message = Some((
                "move the time cursor (← →) to the moment first".into(),
                true,
            ));
            return vec![];
        };
        let half = step.max(10_000);
        (c - half, c + half, c, None)
    };
    let before = state.target.clone();
    let back = remember(state, None);
    push_back(state, back);
    // never paused in the future
    let to = to.min(state.now_ms).max(from + 1000);
    state.target.pinned_end_ms = Some(to);
    state.target.range_secs = ((to - from) as u64).div_ceil(1000);
    if let Some(p) = pod {
        state.target.pod = Some(p);
    }
    state.cursor_ms = Some(at);
    state.ui.focused = Focus::Logs;
    state.ui.zoom = false;
    replan_unless_retargeted(state, &before)
}

/// Shows a trace: the trace id becomes the context's, the trace view is
/// pushed (or kept, moved to the top row), and the trace is asked for.
pub fn open_trace(state: &mut State, id: &str) -> Vec<Command> {
    let Some(id) = crate::features::traces::client::normalise_id(id) else {
        state.ui.message = Some((
            format!("`{}` is not a trace id", crate::text::display(id)),
            true,
        ));
        return vec![];
    };
    match state.ui.views.top_mut() {
        Some(View::Trace {
            id: shown,
            selected,
            collapsed,
        }) => {
            *shown = id.clone();
            *selected = 0;
            collapsed.clear();
        }
        _ => push_view(
            state,
            View::Trace {
                id: id.clone(),
                selected: 0,
                collapsed: vec![],
            },
        ),
    }
    reshow_trace(state)
}

/// The trace view on top shows its trace: the id becomes the context's,
/// and the trace is asked for unless it is the one held (a view back on
/// top after another trace was opened above it).
pub(crate) fn reshow_trace(state: &mut State) -> Vec<Command> {
    let Some(View::Trace { id, .. }) = state.ui.views.top() else {
        return vec![];
    };
    let id = id.clone();
    state.trace_id = Some(id.clone());
    state
        .traces
        .open(&id)
        .into_iter()
        .map(Command::Traces)
        .collect()
}

/// `l` in the trace view: the log pane, filtered to lines carrying the
/// trace id, over the trace's time ± a margin (at least 30 s, or the
/// trace's length), paused there, with the focus; `t` on a line goes back.
pub(crate) fn trace_logs(state: &mut State) -> Vec<Command> {
    use crate::features::logs::client::logql::Filter;
    let Some(t) = state.traces.trace.clone() else {
        return vec![];
    };
    if !state.logs.common.configured {
        state.ui.message = Some(("no log source: pass --loki URL (or --demo)".into(), true));
        return vec![];
    }
    // what Esc at the dashboard goes back to
    let before_target = state.target.clone();
    if let Some((view, saved)) = state.ui.views.pop() {
        state.ui.focused = saved.focused;
        state.ui.zoom = saved.zoom;
        let back = remember(state, Some((view, saved)));
        push_back(state, back);
    }
    let (start, end) = (t.start_ns / 1_000_000, t.end_ns / 1_000_000);
    let margin = (end - start).max(30_000);
    // never paused in the future: a trace of the last seconds ends now
    let until = (end + margin).min(state.now_ms);
    state.target.pinned_end_ms = Some(until);
    state.target.range_secs = ((until - (start - margin)) as u64).div_ceil(1000).max(60);
    // lines write a 64-bit id in 16 digits, not padded to 32
    let id = match t.id.strip_prefix("0000000000000000") {
        Some(short) => short.to_string(),
        None => t.id.clone(),
    };
    state
        .logs
        .filters
        .retain(|f| !matches!(f, Filter::Include(x) if crate::features::traces::client::normalise_id(x).is_some()));
    state.logs.filters.push(Filter::Include(id));
    state.ui.focused = Focus::Logs;
    state.ui.zoom = false;
    replan_unless_retargeted(state, &before_target)
}

/// Lists the traces a query finds (the list view pushed, or kept and
/// moved to its top).
pub(crate) fn search_traces(
    state: &mut State,
    query: crate::features::traces::client::search::Query,
) -> Vec<Command> {
    match state.ui.views.top_mut() {
        Some(View::TraceList { index }) => *index = 0,
        _ => push_view(state, View::TraceList { index: 0 }),
    }
    state
        .traces
        .find(query)
        .into_iter()
        .map(Command::Traces)
        .collect()
}

/// `e`, `m`, `w` in the list of traces found: the same search with errors
/// only (or all again), the next minimum duration, or further back (the
/// window, 1h, 6h, 24h, 7d, around again).
pub(crate) fn refine_search(state: &mut State, action: Action) -> Vec<Command> {
    use crate::features::traces::client::search::{LOOKBACKS, MIN_DURATIONS};
    let Some(mut q) = state.traces.search.as_ref().map(|s| s.query.clone()) else {
        return vec![];
    };
    let next = |all: &[_], cur| {
        let i = all.iter().position(|x| *x == cur).map_or(0, |i| i + 1);
        all[i % all.len()]
    };
    match action {
        Action::TraceErrorsOnly => q.errors_only = !q.errors_only,
        Action::TraceMinDuration => q.min_ms = next(&MIN_DURATIONS, q.min_ms),
        Action::TraceLookback => {
            let window_start = state.target.start_ms(state.now_ms);
            let cur = (q.end_ms - q.start_ms) / 1000;
            // the lookbacks longer than the window, then the window again
            let longer = LOOKBACKS
                .iter()
                .copied()
                .find(|&s| s > cur && q.end_ms - s * 1000 < window_start);
            q.start_ms = match longer {
                Some(s) => q.end_ms - s * 1000,
                None => q.end_ms - state.target.range_secs as i64 * 1000,
            };
        }
        _ => return vec![],
    }
    search_traces(state, q)
}

/// Keys of the list of traces found: up, down, Enter opens one.
pub(crate) fn trace_list(state: &mut State, action: Action) -> Vec<Command> {
    let found: Vec<String> = match &state.traces.search {
        Some(crate::features::traces::Search {
            result: Some(Ok(v)),
            ..
        }) => v.iter().map(|t| t.id.clone()).collect(),
        _ => vec![],
    };
    let Some(View::TraceList { index }) = state.ui.views.top_mut() else {
        return vec![];
    };
    match action {
        Action::PickerUp => *index = index.saturating_sub(1),
        Action::PickerDown => *index = (*index + 1).min(found.len().saturating_sub(1)),
        Action::PickerSelect => {
            if let Some(id) = found.get(*index).cloned() {
                return open_trace(state, &id);
            }
        }
        _ => {}
    }
    vec![]
}

/// `s` in the trace view: the traces of the selected span's service in
/// the window, slowest first; `o`: those with the selected span's
/// operation in that service.
pub(crate) fn service_traces(state: &mut State, operation: bool) -> Vec<Command> {
    let Some(t) = state.traces.trace.clone() else {
        return vec![];
    };
    let Some(View::Trace {
        selected,
        collapsed,
        ..
    }) = state.ui.views.top()
    else {
        return vec![];
    };
    let shown = crate::features::traces::pane::shown(&t, collapsed);
    let Some(&span) = shown.get(*selected) else {
        return vec![];
    };
    let query = Query {
        service: Some(t.spans[span].raw.service.to_string()),
        operation: operation.then(|| t.spans[span].raw.name.clone()),
        ..window_query(state)
    };
    search_traces(state, query)
}
