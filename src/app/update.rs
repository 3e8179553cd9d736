//! `update`: synchronous and pure over State + event, returning commands.
//! Tests drive the app through here without a terminal.
//!
//! Re-targeting happens in one place: `update` compares the Target before
//! and after the event and, when it changed, re-targets every source once at
//! the end. Actions only change the Target; they never start sources.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::action::Action;
use crate::app::keymap::{Key, KeyCodeOrd, Mode};
use crate::app::registry;
pub use crate::app::registry::start;
pub use crate::app::registry::{Command, SourceEvent};
use crate::app::state::State;
use crate::app::views::{InputPurpose, LineEditor, Saved, View};
pub use crate::features::metrics::TARGET_POINTS;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock (ms); redraws on second boundaries for ages and the header.
    Tick(i64),
    Source(SourceEvent),
    /// SIGTERM, SIGHUP, SIGINT.
    Signal,
}

/// Applies one event. Returns the commands to run and whether the screen changed.
pub fn update(state: &mut State, event: Event) -> (Vec<Command>, bool) {
    let before = state.target.clone();
    let (mut cmds, changed) = match event {
        Event::Key(k) => on_key(state, k),
        Event::Resize(w, h) => {
            state.ui.width = w;
            state.ui.height = h;
            (vec![], true)
        }
        Event::Tick(now) => {
            let changed = now / 1000 != state.now_ms / 1000;
            state.now_ms = now;
            (vec![], changed)
        }
        Event::Source(ev) => registry::dispatch(state, ev),
        Event::Signal => {
            state.quit = true;
            (vec![Command::Quit], true)
        }
    };
    if state.target != before {
        // the time cursor belongs to the old window
        state.cursor_ms = None;
        cmds.extend(registry::retarget(state, &before));
    }
    (cmds, changed)
}

fn on_key(state: &mut State, k: KeyEvent) -> (Vec<Command>, bool) {
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

/// Runs one action. Public so tests and the command line can use it.
pub fn apply(state: &mut State, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => {
            state.quit = true;
            return vec![Command::Quit];
        }
        Action::ToggleHelp => {
            if matches!(state.ui.views.top(), Some(View::Help { .. })) {
                pop(state);
            } else {
                let s = saved(state);
                state.ui.views.push(View::Help { scroll: 0 }, s);
            }
        }
        Action::ScrollDown | Action::ScrollUp | Action::PageDown | Action::PageUp => {
            let page = state.ui.height.saturating_sub(4).max(1);
            if state.ui.views.depth() == 0 && state.ui.focused == crate::app::state::Focus::Logs {
                return crate::features::logs::keys::apply(state, action);
            }
            if let Some(View::Help { scroll } | View::Sampler { scroll }) = state.ui.views.top_mut()
            {
                *scroll = match action {
                    Action::ScrollDown => scroll.saturating_add(1),
                    Action::ScrollUp => scroll.saturating_sub(1),
                    Action::PageDown => scroll.saturating_add(page),
                    _ => scroll.saturating_sub(page),
                }
                .min(200);
            }
        }
        Action::Close => {
            // the top view; at the base, the time cursor, then the zoom
            if state.ui.views.depth() > 0 {
                pop(state);
            } else if state.cursor_ms.is_some() {
                state.cursor_ms = None;
            } else {
                state.ui.zoom = false;
            }
        }
        Action::FocusNext | Action::FocusPrev => {
            let panes = visible(state);
            if !panes.is_empty() {
                let pos = panes
                    .iter()
                    .position(|&p| p == state.ui.focused)
                    .unwrap_or(0);
                let n = panes.len();
                let next = if action == Action::FocusNext {
                    (pos + 1) % n
                } else {
                    (pos + n - 1) % n
                };
                state.ui.focused = panes[next];
            }
        }
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
        Action::OpenPodPicker => {
            let pods = state.pods();
            let index = state
                .target
                .pod
                .as_ref()
                .and_then(|p| pods.iter().position(|x| x == p))
                .map(|i| i + 1)
                .unwrap_or(0);
            let s = saved(state);
            state.ui.views.push(View::PodPicker { index }, s);
        }
        Action::PickerUp | Action::PickerDown
            if matches!(
                state.ui.views.top(),
                Some(View::LogDetail { .. } | View::Patterns { .. })
            ) =>
        {
            return crate::features::logs::keys::apply(state, action);
        }
        Action::PickerSelect
            if matches!(
                state.ui.views.top(),
                Some(View::LogDetail { .. } | View::Patterns { .. })
            ) =>
        {
            return crate::features::logs::keys::apply(state, action);
        }
        Action::PickerUp | Action::PickerDown => {
            let n = state.pods().len();
            if let Some(View::PodPicker { index }) = state.ui.views.top_mut() {
                // entry 0 is "all pods"
                *index = if action == Action::PickerUp {
                    index.saturating_sub(1)
                } else {
                    (*index + 1).min(n)
                };
            }
        }
        Action::PickerSelect => {
            if let Some(View::PodPicker { index }) = state.ui.views.top() {
                let pod = match *index {
                    0 => None,
                    i => state.pods().get(i - 1).cloned(),
                };
                pop(state);
                state.target.pod = pod;
            }
        }
        Action::AllPods => state.target.pod = None,
        Action::OpenCommand => open_input(state, InputPurpose::Command, ""),
        Action::InputSubmit => {
            let Some(View::Input { purpose, editor }) = state.ui.views.top_mut() else {
                return vec![];
            };
            let purpose = *purpose;
            let (text, history) = editor.submit();
            state.ui.history.insert(purpose, history);
            pop(state);
            return match purpose {
                InputPurpose::Search
                | InputPurpose::LogQuery
                | InputPurpose::Include
                | InputPurpose::Exclude => {
                    crate::features::logs::keys::submit(state, purpose, text)
                }
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
            };
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
                }) => crate::features::logs::keys::candidates(state, editor),
                _ => vec![],
            };
            if let Some(View::Input { editor, .. }) = state.ui.views.top_mut() {
                editor.complete(&candidates);
            }
            if candidates.is_empty() {
                return crate::features::logs::keys::completion_asks(state);
            }
        }
        Action::InputHistoryPrev | Action::InputHistoryNext => {
            if let Some(View::Input { editor, .. }) = state.ui.views.top_mut() {
                if action == Action::InputHistoryPrev {
                    editor.history_prev();
                } else {
                    editor.history_next();
                }
            }
        }
        Action::CursorLeft | Action::CursorRight => {
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
            // the log pane reads at the same moment: the line nearest the cursor
            match state.cursor_ms {
                Some(c) => crate::features::logs::keys::select_at(state, c),
                None => crate::features::logs::keys::apply_follow(state),
            }
        }
        Action::CursorClear => {
            state.cursor_ms = None;
            crate::features::logs::keys::apply_follow(state);
        }
        Action::FocusLogs
        | Action::LogsFollow
        | Action::LogsTop
        | Action::ToggleWrap
        | Action::ToggleColumns
        | Action::OpenSearch
        | Action::SearchNext
        | Action::SearchPrev
        | Action::EditLogQuery
        | Action::FilterInclude
        | Action::FilterExclude
        | Action::ClearFilters
        | Action::LevelAll
        | Action::LevelDebug
        | Action::LevelInfo
        | Action::LevelWarn
        | Action::LevelError
        | Action::OpenDetail
        | Action::OpenPatterns => return crate::features::logs::keys::apply(state, action),
    }
    vec![]
}

/// Pushes a text-input view with the purpose's history.
pub(crate) fn open_input(state: &mut State, purpose: InputPurpose, text: &str) {
    let history = state.ui.history.get(&purpose).cloned().unwrap_or_default();
    let mut editor = LineEditor::with_history(history);
    editor.set_text(text);
    let s = saved(state);
    state.ui.views.push(View::Input { purpose, editor }, s);
}

pub(crate) fn push_view(state: &mut State, view: View) {
    let s = saved(state);
    state.ui.views.push(view, s);
}

pub(crate) fn pop_view(state: &mut State) {
    pop(state)
}

/// Focusable panes: the metric panes drawn at this size, then the logs
/// (the same layout `draw` uses, so Tab never lands on a pane not drawn;
/// while zoomed, the panes behind the zoom).
fn visible(state: &State) -> Vec<crate::app::state::Focus> {
    let area = ratatui::layout::Rect::new(0, 0, state.ui.width, state.ui.height);
    let l = crate::app::layout::screen_zoomed(state, area, false);
    let mut v: Vec<_> = l
        .panes
        .iter()
        .map(|(i, _)| crate::app::state::Focus::Pane(*i))
        .collect();
    if l.logs.is_some() {
        v.push(crate::app::state::Focus::Logs);
    }
    v
}
