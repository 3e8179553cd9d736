//! `update`: synchronous and pure over State + event, returning commands.
//! Tests drive the app through here without a terminal.
//!
//! Re-targeting happens in one place: `update` compares the Target before
//! and after the event and, when it changed, re-targets every source once at
//! the end. Actions only change the Target; they never start sources.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::state::State;
use super::target::Target;
use super::views::{InputPurpose, LineEditor, Saved, View};
use crate::config::keymap::{Key, KeyCodeOrd, Mode};
use crate::dashboard::detect::detect;
use crate::dashboard::{Dashboard, TargetVars};
use crate::sources::poller::PollPlan;
use crate::sources::probes::{ProbeEvent, ProbePlan};
use crate::sources::prometheus::choose_step;
use crate::sources::{MetricsEvent, SourceEvent};

/// Points per series we aim for: enough for a 300-column chart.
pub const TARGET_POINTS: u64 = 360;

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

/// What the metrics source is told.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsCommand {
    /// Find out which preset fits (metric names).
    Detect {
        gen: u64,
    },
    /// Replace the running poller with this plan.
    Start(PollPlan),
    Stop,
}

/// What the probes source is told.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbesCommand {
    Start(ProbePlan),
    Stop,
}

/// Commands: one variant per source kind, each with its own payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Metrics(MetricsCommand),
    Probes(ProbesCommand),
    Logs(super::logs::LogsCommand),
    Quit,
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
        Event::Source(SourceEvent::Metrics(ev)) => {
            let learned = state.scope.clone();
            let (mut cmds, changed) = on_metrics(state, ev);
            // the job in view has pods the log query does not name yet
            let job = state.target.job.clone();
            if job.is_some_and(|j| state.scope.pods_of(&j) != learned.pods_of(&j)) {
                cmds.extend(super::logs::on_scope(state));
            }
            (cmds, changed)
        }
        Event::Source(SourceEvent::Probes(ev)) => on_probe(state, ev),
        Event::Source(SourceEvent::Logs(ev)) => super::logs::on_event(state, ev),
        Event::Signal => {
            state.quit = true;
            (vec![Command::Quit], true)
        }
    };
    if state.target != before {
        cmds.extend(retarget(state, &before));
    }
    (cmds, changed)
}

/// The first commands: every configured source starts.
pub fn start(state: &mut State) -> Vec<Command> {
    let mut cmds = metrics_plan(state, true);
    if !state.probes.probes.is_empty() {
        state.probes.gen += 1;
        cmds.push(Command::Probes(ProbesCommand::Start(ProbePlan {
            gen: state.probes.gen,
            probes: state.probes.probes.iter().map(|p| p.spec.clone()).collect(),
            interval_secs: state.probes.interval_secs,
        })));
    }
    cmds.extend(super::logs::plan(state));
    cmds
}

/// The target changed: every source that follows it gets a new generation
/// and a new plan, once. Only pausing or resuming keeps the data held.
fn retarget(state: &mut State, before: &Target) -> Vec<Command> {
    let reset = !state.target.same_scope(before);
    if before.pod.is_none() && reset {
        // the picker keeps offering every pod while one is chosen
        state.metrics.known_pods = state.answered_pods();
    }
    state.cursor_ms = None;
    let mut cmds = metrics_plan(state, reset);
    cmds.extend(super::logs::retarget(state, before));
    cmds
}

/// A new generation and plan for the metrics source. `reset` drops stored
/// data (the scope changed); otherwise polling resumes from what is stored.
fn metrics_plan(state: &mut State, reset: bool) -> Vec<Command> {
    let m = &mut state.metrics;
    if !m.configured {
        return vec![];
    }
    m.gen += 1;
    let Some(d) = &m.dashboard else {
        return vec![Command::Metrics(MetricsCommand::Detect { gen: m.gen })];
    };
    if reset {
        m.store.clear();
    }
    m.step_secs = choose_step(state.target.range_secs, TARGET_POINTS, 1);
    let vars = TargetVars {
        namespace: state.target.namespace.clone(),
        job: state.target.job.clone(),
        pod: state.target.pod.clone(),
        range_secs: state.target.range_secs,
        step_secs: m.step_secs,
    };
    match d.resolve(&vars) {
        Ok(mut q) => {
            // start each query with the convention that answered last time
            for r in &mut q {
                if let Some(&alt) = m.chosen.get(&r.key) {
                    r.use_alt(alt);
                }
            }
            m.queries = q;
            m.dashboard_error = None;
        }
        Err(e) => {
            // the dashboard's fault, not the backend's
            m.queries.clear();
            m.dashboard_error = Some(e);
            return vec![Command::Metrics(MetricsCommand::Stop)];
        }
    }
    vec![Command::Metrics(MetricsCommand::Start(PollPlan {
        gen: m.gen,
        queries: m.queries.clone(),
        range_secs: state.target.range_secs,
        step_secs: m.step_secs,
        refresh_secs: state.refresh_secs,
        pinned_end_ms: state.target.pinned_end_ms,
        resume: m.store.resume_points(),
        max_concurrency: m.max_concurrency,
        default_interval_ms: d
            .variables
            .get("scrape_interval")
            .and_then(|s| crate::text::units::parse_duration(s).ok())
            .map(|s| (s * 1000.0) as i64)
            .unwrap_or(15_000),
    }))]
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
            if state.ui.views.depth() == 0 && state.ui.focused == super::state::Focus::Logs {
                return super::logs_keys::apply(state, action);
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
        Action::RefreshNow => return metrics_plan(state, false),
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
            return super::logs_keys::apply(state, action);
        }
        Action::PickerSelect
            if matches!(
                state.ui.views.top(),
                Some(View::LogDetail { .. } | View::Patterns { .. })
            ) =>
        {
            return super::logs_keys::apply(state, action);
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
                | InputPurpose::Exclude => super::logs_keys::submit(state, purpose, text),
                InputPurpose::Command => match super::palette::run(state, &text) {
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
                }) => super::palette::candidates(state, editor),
                Some(View::Input {
                    purpose: InputPurpose::LogQuery,
                    editor,
                }) => super::logs_keys::candidates(state, editor),
                _ => vec![],
            };
            if let Some(View::Input { editor, .. }) = state.ui.views.top_mut() {
                editor.complete(&candidates);
            }
            if candidates.is_empty() {
                return super::logs_keys::completion_asks(state);
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
                Some(c) => super::logs_keys::select_at(state, c),
                None => super::logs_keys::apply_follow(state),
            }
        }
        Action::CursorClear => {
            state.cursor_ms = None;
            super::logs_keys::apply_follow(state);
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
        | Action::OpenPatterns => return super::logs_keys::apply(state, action),
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
fn visible(state: &State) -> Vec<super::state::Focus> {
    let area = ratatui::layout::Rect::new(0, 0, state.ui.width, state.ui.height);
    let l = super::layout::screen_zoomed(state, area, false);
    let mut v: Vec<_> = l
        .panes
        .iter()
        .map(|(i, _)| super::state::Focus::Pane(*i))
        .collect();
    if l.logs.is_some() {
        v.push(super::state::Focus::Logs);
    }
    v
}

fn on_metrics(state: &mut State, ev: MetricsEvent) -> (Vec<Command>, bool) {
    if ev.gen() != state.metrics.gen {
        return (vec![], false); // an answer for an old target
    }
    let m = &mut state.metrics;
    match ev {
        MetricsEvent::Clock { at_ms, clock, .. } => {
            m.health.count(at_ms, 0);
            m.clock = clock.or(m.clock);
            (vec![], false)
        }
        MetricsEvent::Inventory { at_ms, result, .. } => {
            m.health.count(at_ms, 0);
            match result {
                Ok(inv) => {
                    m.health.succeeded(at_ms);
                    (on_inventory(state, inv), true)
                }
                Err(e) => {
                    m.health.failed(at_ms, e.to_string(), e.is_permanent());
                    (vec![], true)
                }
            }
        }
        MetricsEvent::Query {
            key,
            alt,
            incremental,
            until_ms,
            at_ms,
            result,
            ..
        } => {
            let window_start = until_ms - state.target.range_secs as i64 * 1000;
            if let Ok(f) = &result {
                let (job_l, pod_l) = (
                    state.label("job").to_string(),
                    state.label("pod").to_string(),
                );
                for s in &f.series {
                    if let (Some(j), Some(p)) = (s.labels.get(&job_l), s.labels.get(&pod_l)) {
                        state.scope.learn(j, p);
                    }
                }
            }
            let m = &mut state.metrics;
            let bytes = result.as_ref().map(|f| f.bytes as u64).unwrap_or(0);
            m.health.count(at_ms, bytes);
            let entry = m.store.entry(&key);
            match result {
                Ok(f) => {
                    if !f.series.is_empty() && m.chosen.get(&key) != Some(&alt) {
                        m.chosen.insert(key.clone(), alt);
                        if let Some(q) = m.queries.iter_mut().find(|q| q.key == key) {
                            q.use_alt(alt);
                        }
                    }
                    if f.series.is_empty() {
                        entry.empty_alts |= 1u64 << alt.min(63);
                    } else {
                        entry.empty_alts = 0;
                    }
                    if incremental {
                        entry.merge(f.series, f.dropped, until_ms, window_start);
                    } else {
                        entry.replace(f.series, f.dropped, until_ms);
                    }
                    entry.last_ok = Some(at_ms);
                    entry.error = None;
                    entry.failures = 0;
                    entry.warnings = f
                        .warnings
                        .iter()
                        .map(|w| crate::text::display(w).into_owned())
                        .collect();
                    m.health.succeeded(at_ms);
                }
                Err(e) => {
                    entry.error = Some(e.to_string());
                    entry.failures += 1;
                    m.health.failed(at_ms, e.to_string(), e.is_permanent());
                }
            }
            (vec![], true)
        }
    }
}

/// Detection per job: the preset and job that fit best, label names from
/// what exists (the user's variables win), scoped to that job unless the
/// user chose one. Re-targeting follows from the job; otherwise a new plan.
fn on_inventory(state: &mut State, inv: crate::dashboard::detect::Inventory) -> Vec<Command> {
    let presets = Dashboard::builtins();
    let det = detect(&presets, &inv, state.target.job.as_deref());
    let m = &mut state.metrics;
    m.jobs = inv.all_jobs.clone();
    let (chosen, job) = match &det {
        Some(d) => (
            Dashboard::builtin(&d.preset).expect("detected a built-in"),
            d.job.clone(),
        ),
        None => {
            state
                .warnings
                .push("no preset matched the metric names; showing `http`".into());
            (Dashboard::builtin("http").expect("http preset"), None)
        }
    };
    let labels = det.as_ref().map(|d| d.labels.clone()).unwrap_or_default();
    let m = &mut state.metrics;
    m.dashboard = Some(chosen.with_overrides(&labels).with_overrides(&m.user_vars));
    m.detection = det;
    state.ui.focused = super::state::Focus::Pane(0);
    // several jobs: scope to the chosen one, so unrelated jobs are never summed
    if state.target.job.is_none() && inv.jobs.len() > 1 {
        if let Some(j) = job {
            state.target.job = Some(j);
            return vec![]; // the target changed: update re-targets once
        }
    }
    metrics_plan(state, true)
}

fn on_probe(state: &mut State, ev: ProbeEvent) -> (Vec<Command>, bool) {
    let p = &mut state.probes;
    if ev.gen != p.gen {
        return (vec![], false);
    }
    p.health.count(ev.at_ms, 0);
    let Some(st) = p.probes.get_mut(ev.index) else {
        return (vec![], false);
    };
    let healthy = ev.result.is_ok();
    let was = st.last.as_ref().map(Result::is_ok);
    if was != Some(healthy) {
        st.changed_at_ms = Some(ev.at_ms);
    }
    st.history.push_back(healthy);
    while st.history.len() > super::state::PROBE_HISTORY {
        st.history.pop_front();
    }
    st.last = Some(ev.result.map_err(|e| e.to_string()));
    st.last_at_ms = Some(ev.at_ms);
    // the source is healthy when every probe answered as expected
    let failing = p.probes.iter().find_map(|s| match &s.last {
        Some(Err(e)) => Some(format!("{}: {e}", s.spec.name)),
        _ => None,
    });
    match failing {
        None => p.health.succeeded(ev.at_ms),
        Some(e) => p.health.failed(ev.at_ms, e, false),
    }
    (vec![], true)
}
