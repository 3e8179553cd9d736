//! `update`: synchronous and pure over State + event, returning commands.
//! Tests drive the app through here without a terminal.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::action::Action;
use super::state::{DashboardChoice, State};
use crate::config::keymap::{Key, Mode};
use crate::dashboard::detect::detect;
use crate::dashboard::model::FocusVars;
use crate::dashboard::Dashboard;
use crate::sources::poller::PollPlan;
use crate::sources::prometheus::choose_step;
use crate::sources::DataEvent;

/// Points per series we aim for: enough for a 300-column chart.
pub const TARGET_POINTS: u64 = 360;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock (ms); redraws on second boundaries for ages and the header.
    Tick(i64),
    Data(DataEvent),
    /// SIGTERM, SIGHUP, SIGINT.
    Signal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Find out which preset fits (metric names).
    Detect {
        gen: u64,
    },
    /// Replace the running poller with this plan.
    StartPolling(PollPlan),
    StopPolling,
    Quit,
}

/// Applies one event. Returns the commands to run and whether the screen changed.
pub fn update(state: &mut State, event: Event) -> (Vec<Command>, bool) {
    match event {
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
        Event::Data(d) => on_data(state, d),
        Event::Signal => {
            state.quit = true;
            (vec![Command::Quit], true)
        }
    }
}

/// The first commands: detect the preset, or start polling a fixed one.
pub fn start(state: &mut State) -> Vec<Command> {
    match state.choice {
        DashboardChoice::Auto if state.dashboard.is_none() => {
            state.gen += 1;
            vec![Command::Detect { gen: state.gen }]
        }
        _ => retarget(state, true),
    }
}

fn on_key(state: &mut State, k: KeyEvent) -> (Vec<Command>, bool) {
    if k.kind == KeyEventKind::Release {
        return (vec![], false);
    }
    let Some(key) = Key::from_event(&k) else {
        return (vec![], false);
    };
    // ctrl-c always quits, whatever the keymap or mode says
    if key.ctrl && key.code == crate::config::keymap::KeyCodeOrd::Char('c') {
        return (apply(state, Action::Quit), true);
    }
    let Some(action) = state.keymap.lookup(state.ui.mode, &key) else {
        return (vec![], false);
    };
    (apply(state, action), true)
}

/// Runs one action. Public so tests and the command palette can use it.
pub fn apply(state: &mut State, action: Action) -> Vec<Command> {
    let panes = visible(state);
    match action {
        Action::Quit => {
            state.quit = true;
            vec![Command::Quit]
        }
        Action::ToggleHelp => {
            state.ui.mode = if state.ui.mode == Mode::Help {
                Mode::Normal
            } else {
                Mode::Help
            };
            vec![]
        }
        Action::Close => {
            state.ui.mode = Mode::Normal;
            vec![]
        }
        Action::FocusNext | Action::FocusPrev => {
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
            vec![]
        }
        Action::ToggleZoom => {
            state.ui.zoom = !state.ui.zoom;
            vec![]
        }
        Action::TogglePause => {
            if state.focus.is_live() {
                state.focus.pinned_end_ms = Some(state.now_ms);
                vec![Command::StopPolling]
            } else {
                state.focus.pinned_end_ms = None;
                retarget(state, false)
            }
        }
        Action::ShrinkWindow | Action::GrowWindow => {
            let w = state.focus.step_window(action == Action::GrowWindow);
            if w == state.focus.range_secs {
                return vec![];
            }
            state.focus.range_secs = w;
            retarget(state, true)
        }
        Action::RefreshNow => retarget(state, false),
        Action::OpenPodPicker => {
            state.ui.mode = Mode::Picker;
            let pods = state.pods();
            state.ui.picker_index = state
                .focus
                .pod
                .as_ref()
                .and_then(|p| pods.iter().position(|x| x == p))
                .map(|i| i + 1)
                .unwrap_or(0);
            vec![]
        }
        Action::PickerUp => {
            state.ui.picker_index = state.ui.picker_index.saturating_sub(1);
            vec![]
        }
        Action::PickerDown => {
            // entry 0 is "all pods"
            state.ui.picker_index = (state.ui.picker_index + 1).min(state.pods().len());
            vec![]
        }
        Action::PickerSelect => {
            state.ui.mode = Mode::Normal;
            let pod = match state.ui.picker_index {
                0 => None,
                i => state.pods().get(i - 1).cloned(),
            };
            set_pod(state, pod)
        }
        Action::AllPods => set_pod(state, None),
    }
}

fn set_pod(state: &mut State, pod: Option<String>) -> Vec<Command> {
    if state.focus.pod == pod {
        return vec![];
    }
    state.focus.pod = pod;
    retarget(state, true)
}

fn visible(state: &State) -> Vec<usize> {
    match &state.dashboard {
        Some(d) => crate::ui::layout::visible_panes(d, state.ui.width, state.ui.height),
        None => vec![],
    }
}

/// Re-targets every pane at once: a new generation, queries resolved for the
/// focus, and a poller plan. `reset` drops stored data (the target changed);
/// otherwise the poller resumes incrementally from what is stored.
pub fn retarget(state: &mut State, reset: bool) -> Vec<Command> {
    state.gen += 1;
    let Some(d) = &state.dashboard else {
        return vec![Command::Detect { gen: state.gen }];
    };
    if reset {
        state.store.clear();
    }
    state.step_secs = choose_step(state.focus.range_secs, TARGET_POINTS, 1);
    let vars = FocusVars {
        namespace: state.focus.namespace.clone(),
        pod: state.focus.pod.clone(),
        range_secs: state.focus.range_secs,
        step_secs: state.step_secs,
    };
    match d.resolve(&vars) {
        Ok(q) => state.queries = q,
        Err(e) => {
            state.backend.last_error = Some(e);
            state.backend.last_error_ms = Some(state.now_ms);
            return vec![Command::StopPolling];
        }
    }
    vec![Command::StartPolling(PollPlan {
        gen: state.gen,
        queries: state.queries.clone(),
        range_secs: state.focus.range_secs,
        step_secs: state.step_secs,
        refresh_secs: state.refresh_secs,
        pinned_end_ms: state.focus.pinned_end_ms,
        resume: state.store.resume_points(),
        max_concurrency: state.max_concurrency,
    })]
}

fn on_data(state: &mut State, ev: DataEvent) -> (Vec<Command>, bool) {
    if ev.gen() != state.gen {
        return (vec![], false); // an answer for an old target
    }
    state.backend.requests += 1;
    match ev {
        DataEvent::MetricNames { result, .. } => match result {
            Ok(names) => {
                state.backend.last_ok_ms = Some(state.now_ms);
                let presets = Dashboard::builtins();
                let chosen = detect(&presets, &names).cloned().unwrap_or_else(|| {
                    state
                        .warnings
                        .push("no preset matched the metric names; showing `http`".into());
                    Dashboard::builtin("http").unwrap()
                });
                state.dashboard = Some(chosen.with_overrides(&state.user_vars));
                state.ui.focused = 0;
                (retarget(state, true), true)
            }
            Err(e) => {
                state.backend.last_error = Some(e.to_string());
                state.backend.last_error_ms = Some(state.now_ms);
                (vec![], true)
            }
        },
        DataEvent::Query {
            key,
            incremental,
            until_ms,
            at_ms,
            result,
            ..
        } => {
            let window_start = until_ms - state.focus.range_secs as i64 * 1000;
            let entry = state.store.entry(&key);
            match result {
                Ok(f) => {
                    state.backend.bytes += f.bytes as u64;
                    if incremental {
                        entry.merge(f.series, f.dropped, until_ms, window_start);
                    } else {
                        entry.replace(f.series, f.dropped, until_ms);
                    }
                    entry.last_ok = Some(at_ms);
                    entry.error = None;
                    entry.failures = 0;
                    entry.warnings = f.warnings;
                    state.backend.last_ok_ms = Some(at_ms);
                }
                Err(e) => {
                    entry.error = Some(e.to_string());
                    entry.failures += 1;
                    state.backend.last_error = Some(e.to_string());
                    state.backend.last_error_ms = Some(at_ms);
                }
            }
            (vec![], true)
        }
    }
}
