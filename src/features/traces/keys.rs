//! Keys of the trace view: up and down move the selection over the spans
//! shown, a page at a time with PgUp/PgDn; Enter folds or unfolds the
//! selected span's subtree; Esc goes back (the view stack restores focus).

use crate::app::state::State;
use crate::app::views::View;
use crate::app::Action;

/// The view's key hints.
pub const HINTS: &[(Action, &str)] = &[
    (Action::PickerDown, "down"),
    (Action::PickerUp, "up"),
    (Action::PickerSelect, "fold"),
    (Action::TraceLogs, "logs"),
    (Action::TraceCompare, "compare"),
    (Action::TraceSearch, "service"),
    (Action::TraceOperation, "operation"),
    (Action::Close, "back"),
];

/// Whether the trace view takes the action.
pub fn takes(a: Action) -> bool {
    matches!(
        a,
        Action::PickerUp
            | Action::PickerDown
            | Action::PickerSelect
            | Action::ScrollUp
            | Action::ScrollDown
            | Action::PageUp
            | Action::PageDown
            | Action::TraceCompare
    )
}

pub fn apply(state: &mut State, action: Action) {
    let Some(t) = state.traces.trace.clone() else {
        return;
    };
    if action == Action::TraceCompare {
        return compare(state, t);
    }
    let page = state.ui.height.saturating_sub(16).max(1) as usize;
    let Some(View::Trace {
        selected,
        collapsed,
        ..
    }) = state.ui.views.top_mut()
    else {
        return;
    };
    let shown = super::pane::shown(&t, collapsed);
    let last = shown.len().saturating_sub(1);
    match action {
        Action::PickerUp | Action::ScrollUp => *selected = selected.saturating_sub(1),
        Action::PickerDown | Action::ScrollDown => *selected = (*selected + 1).min(last),
        Action::PageUp => *selected = selected.saturating_sub(page),
        Action::PageDown => *selected = (*selected + page).min(last),
        Action::PickerSelect => {
            if let Some(&span) = shown.get(*selected) {
                match collapsed.iter().position(|&c| c == span) {
                    Some(i) => {
                        collapsed.remove(i);
                    }
                    None if !t.spans[span].children.is_empty() => collapsed.push(span),
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// `c`: the first press marks the trace in view as the baseline; on
/// another trace, the comparison of the two opens.
fn compare(state: &mut State, t: std::sync::Arc<super::tree::Trace>) {
    match &state.traces.baseline {
        Some(b) if b.id != t.id => {
            state.traces.comparison = super::compare::compare(b, &t);
            crate::app::keys::push_view(state, View::TraceCompare { scroll: 0 })
        }
        _ => {
            state.traces.baseline = Some(t);
            state.ui.message = Some((
                "baseline marked: open another trace (t on a log line) and press c to compare"
                    .into(),
                false,
            ));
        }
    }
}
