//! Keys: an action goes to the top view first, then to the focused
//! feature, then to the global actions (each layer says whether it
//! consumed it; kept pure over State). Each layer also publishes its key
//! hints, shown with the keys the keymap binds to them.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::action::Action;
use crate::app::jumps;
use crate::app::keymap::{Key, KeyCodeOrd, Mode};
use crate::app::registry::Command;
use crate::app::state::{Focus, State};
use crate::app::views::{InputPurpose, LineEditor, Pick, Saved, View};
use crate::features::logs::keys as logs_keys;

/// What a layer did with an action.
pub enum Handled {
    Consumed(Vec<Command>),
    Pass,
}

use Handled::{Consumed, Pass};

/// A key: looked up in the mode of the view on top, then applied.
pub fn on_key(state: &mut State, k: KeyEvent) -> (Vec<Command>, bool) {
    if k.kind == KeyEventKind::Release {
        return (vec![], false);
    }
    state.ui.message = None;
    let Some(key) = Key::from_event(&k) else {
        return (vec![], false);
    };
    // ctrl-c always quits, whatever the keymap or mode says
    if key.ctrl && key.code == KeyCodeOrd::Char('c') {
        return (apply(state, Action::Quit), true);
    }
    let mode = state.ui.mode();
    match state.keymap.lookup(mode, &key) {
        Some(action) => (apply(state, action), true),
        None if mode == Mode::Input => (vec![], edit(state, &k)),
        None if mode == Mode::Picker => (vec![], type_filter(state, &k)),
        None => (vec![], false),
    }
}

/// Keys a text-input view handles itself (typing and moving).
fn edit(state: &mut State, k: &KeyEvent) -> bool {
    let Some(View::Input { editor: e, .. }) = state.ui.views.top_mut() else {
        return false;
    };
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    match k.code {
        KeyCode::Char('w') if ctrl => e.delete_word(),
        KeyCode::Char('u') if ctrl => e.kill_to_start(),
        KeyCode::Char('a') if ctrl => e.home(),
        KeyCode::Char('e') if ctrl => e.end(),
        KeyCode::Char('b') if alt => e.word_left(),
        KeyCode::Char('f') if alt => e.word_right(),
        KeyCode::Char(c) if !ctrl && !alt => e.insert(c),
        KeyCode::Backspace => e.backspace(),
        KeyCode::Delete => e.delete(),
        KeyCode::Left if ctrl => e.word_left(),
        KeyCode::Right if ctrl => e.word_right(),
        KeyCode::Left => e.left(),
        KeyCode::Right => e.right(),
        KeyCode::Home => e.home(),
        KeyCode::End => e.end(),
        _ => return false,
    }
    true
}

fn saved(state: &State) -> Saved {
    Saved {
        focused: state.ui.focused,
        zoom: state.ui.zoom,
    }
}

/// Pops the top view and restores what it saved.
fn pop(state: &mut State) {
    if let Some((_, s)) = state.ui.views.pop() {
        state.ui.focused = s.focused;
        state.ui.zoom = s.zoom;
    }
}

/// Runs one action: the top view, then the focused feature, then global.
/// Public so tests and the command line can use it.
pub fn apply(state: &mut State, action: Action) -> Vec<Command> {
    if let Consumed(c) = top_view(state, action) {
        return c;
    }
    if state.ui.views.depth() == 0 && state.ui.focused == Focus::Logs {
        if let Consumed(c) = logs_keys::focused(state, action) {
            return c;
        }
    }
    global(state, action)
}

/// The view on top, if any, handles its own keys.
fn top_view(state: &mut State, action: Action) -> Handled {
    let Some(top) = state.ui.views.top() else {
        return Pass;
    };
    match (top, action) {
        (_, Action::Close) => {
            pop(state);
            Consumed(jumps::reshow_trace(state))
        }
        (View::Help { .. }, Action::ToggleHelp) => {
            pop(state);
            Consumed(vec![])
        }
        (
            View::Help { .. } | View::Sampler { .. } | View::TraceCompare { .. },
            Action::ScrollDown | Action::ScrollUp | Action::PageDown | Action::PageUp,
        ) => {
            let page = state.ui.height.saturating_sub(4).max(1);
            if let Some(
                View::Help { scroll } | View::Sampler { scroll } | View::TraceCompare { scroll },
            ) = state.ui.views.top_mut()
            {
                *scroll = match action {
                    Action::ScrollDown => scroll.saturating_add(1),
                    Action::ScrollUp => scroll.saturating_sub(1),
                    Action::PageDown => scroll.saturating_add(page),
                    _ => scroll.saturating_sub(page),
                }
                .min(200);
            }
            Consumed(vec![])
        }
        (View::PodPicker { .. }, Action::PickerUp | Action::PickerDown | Action::PickerSelect) => {
            Consumed(pod_picker(state, action))
        }
        (
            View::LogDetail { .. } | View::Patterns { .. },
            Action::PickerUp | Action::PickerDown | Action::PickerSelect,
        ) => Consumed(logs_keys::apply(state, action)),
        (View::Trace { .. }, Action::TraceLogs) => Consumed(jumps::trace_logs(state)),
        (View::Trace { .. }, Action::TraceSearch) => Consumed(jumps::service_traces(state, false)),
        (View::Trace { .. }, Action::TraceOperation) => {
            Consumed(jumps::service_traces(state, true))
        }
        (View::TraceList { .. }, Action::PickerUp | Action::PickerDown | Action::PickerSelect) => {
            Consumed(jumps::trace_list(state, action))
        }
        (
            View::TraceList { .. },
            Action::TraceErrorsOnly | Action::TraceMinDuration | Action::TraceLookback,
        ) => Consumed(jumps::refine_search(state, action)),
        (View::Trace { .. }, a) if crate::features::traces::keys::takes(a) => {
            crate::features::traces::keys::apply(state, a);
            Consumed(vec![])
        }
        (
            View::Input { .. },
            Action::InputSubmit
            | Action::InputComplete
            | Action::InputHistoryPrev
            | Action::InputHistoryNext,
        ) => Consumed(input(state, action)),
        _ => Pass,
    }
}

/// Keys the pod picker takes when the keymap binds nothing to them:
/// typing narrows the list, Backspace widens it.
fn type_filter(state: &mut State, k: &KeyEvent) -> bool {
    let Some(View::PodPicker { index, filter, .. }) = state.ui.views.top_mut() else {
        return false;
    };
    let plain = !k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match k.code {
        KeyCode::Char(c) if plain && !c.is_control() && filter.chars().count() < 100 => {
            filter.push(c)
        }
        KeyCode::Backspace => {
            filter.pop();
        }
        _ => return false,
    }
    // the first match is the one Enter takes
    let _ = index;
    let n = picker_pods(state).len();
    if let Some(View::PodPicker { index, .. }) = state.ui.views.top_mut() {
        *index = if n == 0 { 0 } else { 1 };
    }
    true
}

/// What the picker lists (pods, namespaces or contexts), narrowed by what
/// was typed.
pub fn picker_pods(state: &State) -> Vec<String> {
    let (filter, kind) = match state.ui.views.top() {
        Some(View::PodPicker { filter, kind, .. }) => (filter.as_str(), *kind),
        _ => ("", Pick::Pod),
    };
    let pods = picker_items(state, kind);
    if filter.is_empty() {
        return pods;
    }
    pods.into_iter()
        .filter(|p| crate::features::logs::text_matches(p, filter))
        .collect()
}

/// Everything a picker of `kind` offers.
pub fn picker_items(state: &State, kind: Pick) -> Vec<String> {
    match kind {
        Pick::Pod => state.pods(),
        Pick::Namespace => crate::app::palette::namespaces(state),
        Pick::Context => state.kube.contexts.clone(),
    }
}

/// The current choice of a picker of `kind` (None: its first entry).
pub fn picked(state: &State, kind: Pick) -> Option<&str> {
    match kind {
        Pick::Pod => state.target.pod.as_deref(),
        Pick::Namespace => state.target.namespace.as_deref(),
        Pick::Context => state.target.context.as_deref(),
    }
}

/// Opens a picker of `kind` on the current choice.
pub fn open_picker(state: &mut State, kind: Pick) {
    let items = picker_items(state, kind);
    let index = picked(state, kind)
        .and_then(|p| items.iter().position(|x| x == p))
        .map(|i| i + 1)
        .unwrap_or(0);
    push_view(
        state,
        View::PodPicker {
            index,
            filter: String::new(),
            kind,
        },
    );
}

fn pod_picker(state: &mut State, action: Action) -> Vec<Command> {
    let pods = picker_pods(state);
    let n = pods.len();
    if action == Action::PickerSelect {
        if let Some(View::PodPicker { index, kind, .. }) = state.ui.views.top() {
            let choice = match *index {
                0 => None,
                i => pods.get(i - 1).cloned(),
            };
            let kind = *kind;
            pop(state);
            // the one re-target follows from the Target's change
            match kind {
                Pick::Pod => state.target.pod = choice,
                Pick::Namespace => state.target.namespace = choice,
                Pick::Context => state.target.context = choice,
            }
        }
    } else if let Some(View::PodPicker { index, .. }) = state.ui.views.top_mut() {
        // entry 0 is "all pods"
        *index = if action == Action::PickerUp {
            index.saturating_sub(1)
        } else {
            (*index + 1).min(n)
        };
    }
    vec![]
}

/// A text-input view: submit, complete, history.
fn input(state: &mut State, action: Action) -> Vec<Command> {
    match action {
        Action::InputSubmit => {
            let Some(View::Input { purpose, editor }) = state.ui.views.top_mut() else {
                return vec![];
            };
            let purpose = *purpose;
            let (text, history) = editor.submit();
            state.ui.history.insert(purpose, history);
            pop(state);
            match purpose {
                InputPurpose::Search
                | InputPurpose::LogQuery
                | InputPurpose::Include
                | InputPurpose::Exclude => logs_keys::submit(state, purpose, text),
                InputPurpose::Command => match crate::app::palette::run(state, &text) {
                    Ok((cmds, msg)) => {
                        state.ui.message = msg.map(|m| (m, false));
                        cmds
                    }
                    Err(e) => {
                        state.ui.message = Some((e, true));
                        vec![]
                    }
                },
            }
        }
        Action::InputComplete => {
            let candidates = match state.ui.views.top() {
                Some(View::Input {
                    purpose: InputPurpose::Command,
                    editor,
                }) => crate::app::palette::candidates(state, editor),
                Some(View::Input {
                    purpose: InputPurpose::LogQuery,
                    editor,
                }) => logs_keys::candidates(state, editor),
                _ => vec![],
            };
            if let Some(View::Input { editor, .. }) = state.ui.views.top_mut() {
                editor.complete(&candidates);
            }
            if candidates.is_empty() {
                return logs_keys::completion_asks(state);
            }
            vec![]
        }
        _ => {
            if let Some(View::Input { editor, .. }) = state.ui.views.top_mut() {
                if action == Action::InputHistoryPrev {
                    editor.history_prev();
                } else {
                    editor.history_next();
                }
            }
            vec![]
        }
    }
}

/// Actions that mean the same wherever the focus is.
fn global(state: &mut State, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => {
            state.quit = true;
            return vec![Command::Quit];
        }
        Action::ToggleHelp => {
            let s = saved(state);
            state.ui.views.push(View::Help { scroll: 0 }, s);
        }
        Action::Close => {
            // at the base: back from a jump to the logs (to the trace
            // whose logs these are), else the time cursor, then the zoom
            if !state.ui.jump_back.is_empty() {
                return crate::app::jumps::jump_back(state);
            }
            if state.cursor_ms.is_some() {
                state.cursor_ms = None;
            } else {
                state.ui.zoom = false;
            }
        }
        Action::FocusNext | Action::FocusPrev => focus_step(state, action == Action::FocusNext),
        Action::ToggleZoom => state.ui.zoom = !state.ui.zoom,
        Action::TogglePause => {
            state.target.pinned_end_ms = match state.target.pinned_end_ms {
                None => Some(state.now_ms),
                Some(_) => None,
            };
        }
        Action::ShrinkWindow | Action::GrowWindow => {
            state.target.range_secs = state.target.step_window(action == Action::GrowWindow);
        }
        Action::RefreshNow => {
            let c = state.metrics.plan(&crate::ctx!(state), false);
            return c.into_iter().map(Command::Metrics).collect();
        }
        Action::OpenPodPicker => open_picker(state, Pick::Pod),
        Action::OpenContextPicker => open_picker(state, Pick::Context),
        Action::AllPods => state.target.pod = None,
        Action::OpenCommand => open_input(state, InputPurpose::Command, ""),
        Action::CursorLeft | Action::CursorRight => cursor_step(state, action),
        Action::OpenExemplar => return crate::app::jumps::exemplar_trace(state),
        Action::LogsAtCursor => return crate::app::jumps::logs_at_cursor(state),
        Action::CursorClear => {
            state.cursor_ms = None;
            logs_keys::apply_follow(state);
        }
        // the log pane's actions that work from anywhere (focus the logs,
        // search, filters, levels, detail, patterns)
        a if logs_keys::is_logs_action(a) => return logs_keys::apply(state, a),
        // scrolling, lists and input keys with nothing to act on
        _ => {}
    }
    vec![]
}

/// Moves the focus over the panes drawn at this size.
fn focus_step(state: &mut State, forward: bool) {
    let panes = visible(state);
    if panes.is_empty() {
        return;
    }
    let pos = panes
        .iter()
        .position(|&p| p == state.ui.focused)
        .unwrap_or(0);
    let n = panes.len();
    let next = if forward {
        (pos + 1) % n
    } else {
        (pos + n - 1) % n
    };
    state.ui.focused = panes[next];
    // a pane the layout leaves out is shown while it has the focus
    let area = ratatui::layout::Rect::new(0, 0, state.ui.width, state.ui.height);
    state.ui.peek = false;
    let drawn = crate::app::layout::screen_zoomed(state, area, false).panes;
    state.ui.peek = !drawn.iter().any(|(i, _)| Focus::Pane(*i) == panes[next]);
}

/// The time cursor moves a step; the log pane reads at the same moment
/// (the line nearest the cursor).
fn cursor_step(state: &mut State, action: Action) {
    let step = state.metrics.step_secs.max(1) as i64 * 1000;
    let (start, end) = (
        state.target.start_ms(state.now_ms),
        state.target.end_ms(state.now_ms),
    );
    let cur = state.cursor_ms.unwrap_or(end);
    let next = if action == Action::CursorLeft {
        cur - step
    } else {
        cur + step
    };
    state.cursor_ms = (next < end).then_some(next.max(start));
    match state.cursor_ms {
        Some(c) => logs_keys::select_at(state, c),
        None => logs_keys::apply_follow(state),
    }
}

/// The key hints of what has the keys now: the top view's, else the
/// focused feature's, else the dashboard's. (mode to look keys up in,
/// action, label)
pub fn hints(state: &State) -> (Mode, Vec<(Action, &'static str)>) {
    match state.ui.views.top() {
        Some(View::Input { .. }) => (Mode::Input, INPUT_HINTS.to_vec()),
        Some(View::Help { .. } | View::Sampler { .. } | View::TraceCompare { .. }) => {
            (Mode::Help, TEXT_HINTS.to_vec())
        }
        Some(View::PodPicker { .. } | View::LogDetail { .. } | View::Patterns { .. }) => {
            (Mode::Picker, LIST_HINTS.to_vec())
        }
        Some(View::Trace { .. }) => (Mode::Trace, crate::features::traces::keys::HINTS.to_vec()),
        Some(View::TraceList { .. }) => {
            let mut h = LIST_HINTS.to_vec();
            h.splice(
                3..3,
                [
                    (Action::TraceErrorsOnly, "errors"),
                    (Action::TraceMinDuration, "min"),
                    (Action::TraceLookback, "back"),
                ],
            );
            (Mode::Trace, h)
        }
        None if state.ui.focused == Focus::Logs => {
            let mut h = logs_keys::HINTS.to_vec();
            match state.ui.jump_back.last() {
                Some(b) if b.view.is_some() => h.insert(0, (Action::Close, "back to the trace")),
                Some(_) => h.insert(0, (Action::Close, "back")),
                None => {}
            }
            (Mode::Logs, h)
        }
        None => {
            let mut h = DASHBOARD_HINTS.to_vec();
            if state.logs.common.configured {
                h.splice(2..2, logs_keys::FROM_DASHBOARD.iter().copied());
            }
            // the jumps, where they have something to jump to
            if !state.ui.jump_back.is_empty() {
                h.insert(0, (Action::Close, "back"));
            }
            if state.logs.common.configured && state.cursor_ms.is_some() {
                h.insert(2, (Action::LogsAtCursor, "logs here"));
            }
            if state.traces.common.configured && state.metrics.exemplars.any() {
                h.insert(2, (Action::OpenExemplar, "trace"));
            }
            (Mode::Normal, h)
        }
    }
}

/// The dashboard's hints, most useful first (the footer cuts from the end).
const DASHBOARD_HINTS: &[(Action, &str)] = &[
    (Action::ToggleHelp, "help"),
    (Action::Quit, "quit"),
    (Action::TogglePause, "pause"),
    (Action::OpenPodPicker, "pod"),
    (Action::OpenCommand, "command"),
    (Action::ToggleZoom, "zoom"),
    (Action::FocusNext, "focus"),
    (Action::ShrinkWindow, "shorter"),
    (Action::GrowWindow, "longer"),
];

const INPUT_HINTS: &[(Action, &str)] = &[
    (Action::InputComplete, "complete"),
    (Action::InputHistoryPrev, "history"),
    (Action::InputSubmit, "run"),
    (Action::Close, "cancel"),
];

const TEXT_HINTS: &[(Action, &str)] = &[
    (Action::ScrollDown, "scroll"),
    (Action::PageDown, "page"),
    (Action::Close, "close"),
    (Action::Quit, "quit"),
];

const LIST_HINTS: &[(Action, &str)] = &[
    (Action::PickerDown, "down"),
    (Action::PickerUp, "up"),
    (Action::PickerSelect, "choose"),
    (Action::Close, "back"),
];

/// Pushes a text-input view with the purpose's history.
pub(crate) fn open_input(state: &mut State, purpose: InputPurpose, text: &str) {
    let history = state.ui.history.get(&purpose).cloned().unwrap_or_default();
    let mut editor = LineEditor::with_history(history);
    editor.set_text(text);
    let s = saved(state);
    state.ui.views.push(View::Input { purpose, editor }, s);
}

pub fn push_view(state: &mut State, view: View) {
    let s = saved(state);
    state.ui.views.push(view, s);
}

pub(crate) fn pop_view(state: &mut State) {
    pop(state)
}

/// Focusable panes: every metric pane, drawn or not (a pane with no data
/// or no room is listed in the footer and shown when focused), then the
/// logs when they are on screen.
fn visible(state: &State) -> Vec<Focus> {
    let area = ratatui::layout::Rect::new(0, 0, state.ui.width, state.ui.height);
    let l = crate::app::layout::screen_zoomed(state, area, false);
    let mut v: Vec<usize> = l.panes.iter().map(|(i, _)| *i).chain(l.hidden).collect();
    v.sort_unstable();
    v.dedup();
    let mut v: Vec<Focus> = v.into_iter().map(Focus::Pane).collect();
    if l.kube.is_some() {
        v.push(Focus::Kube);
    }
    if l.logs.is_some() {
        v.push(Focus::Logs);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::{Event, Target};
    use crossterm::event::KeyModifiers;

    fn state(keymap: Keymap) -> State {
        let target = Target {
            context: None,
            namespace: None,
            job: None,
            pod: None,
            range_secs: 3600,
            pinned_end_ms: None,
        };
        State::new(
            None,
            target,
            5.0,
            crate::config::theme::Theme::default_theme(),
            keymap,
        )
    }

    fn press(s: &mut State, c: KeyCode) {
        crate::app::update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    }

    /// A key goes to the top view first: with the help open, Esc closes
    /// the help (not the time cursor beneath), and scrolling scrolls it.
    #[test]
    fn the_top_view_consumes_its_keys_first() {
        let mut s = state(Keymap::default_keymap());
        s.cursor_ms = Some(s.now_ms - 60_000);
        press(&mut s, KeyCode::Char('?'));
        press(&mut s, KeyCode::Down);
        assert_eq!(s.ui.views.top(), Some(&View::Help { scroll: 1 }));
        press(&mut s, KeyCode::Esc);
        assert!(s.ui.views.top().is_none());
        assert!(
            s.cursor_ms.is_some(),
            "Esc went to the help, not the cursor"
        );
        press(&mut s, KeyCode::Esc);
        assert!(s.cursor_ms.is_none(), "at the base Esc clears the cursor");
    }
}
