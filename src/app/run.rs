//! The event loop: keys, resizes, ticks, signals and source data go through
//! `update`; commands start and stop source tasks; the screen is drawn only
//! when something changed.

use std::time::Duration;

use futures_util::StreamExt;
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::app::keymap::Keymap;
use crate::app::registry::SourceEvent;
pub use crate::app::registry::{Backends, Tasks};
use crate::app::state::{DashboardChoice, Health, State};
use crate::app::update::{self, Event};
use crate::app::Target;
use crate::config::settings::Settings;
use crate::config::theme::Theme;
use crate::core::now_ms;
use crate::dashboard::Dashboard;

/// Builds the initial state from settings. `metrics` names the metrics
/// source and where it reads from (None: no Prometheus configured).
pub fn initial_state(
    s: &Settings,
    metrics: Option<(&str, &str)>,
    theme: Theme,
    keymap: Keymap,
) -> Result<State, String> {
    let target = Target {
        context: None,
        namespace: s.namespace.clone(),
        job: s.job.clone(),
        pod: s.pod.clone(),
        range_secs: s.range_secs,
        pinned_end_ms: None,
    };
    let mut state = State::new(s.profile.clone(), target, s.refresh_secs, theme, keymap);
    state.production = s.production;
    state.metrics.common.configured = metrics.is_some();
    if let Some((name, url)) = metrics {
        state.metrics.common.health = Health::named(name, url);
    }
    state.metrics.user_vars = s.variables.clone();
    state.warnings.extend(state.theme.warnings.iter().cloned());
    if let Some(ep) = &s.prometheus {
        state.metrics.max_concurrency = ep.max_concurrency;
    }
    if let Some(d) = &s.dashboard {
        state.metrics.dashboard = Some(Dashboard::load(d)?.with_overrides(&s.variables));
        state.metrics.choice = DashboardChoice::Fixed;
    }
    state.logs.ring = crate::store::logs::LogRing::new(s.logs.max_lines, s.logs.max_bytes);
    state.logs.backfill = s.logs.backfill;
    state.logs.reread_secs = s.logs.reread_secs;
    state.logs.user_query = s.logs.query.clone();
    state.probes.set(&s.probes, s.refresh_secs.max(1.0));
    Ok(state)
}

/// Turns the Kubernetes pane on: the context to start in (None: the
/// kubeconfig's current one) and whether every namespace is watched.
pub fn configure_kube(state: &mut State, context: Option<String>, all_namespaces: bool) {
    state.kube.common.configured = true;
    state.kube.all_namespaces = all_namespaces;
    state.target.context = context;
}

/// Turns traces on: the backend's description for the header; with a
/// trace id (`--trace ID`), the trace view opens at start and the trace is
/// asked for with the first commands.
pub fn configure_traces(state: &mut State, url: &str, open: Option<&str>) -> Result<(), String> {
    state.traces.common.configured = true;
    state.traces.common.health = Health::named("traces", url);
    if let Some(id) = open {
        let id = crate::features::traces::client::normalise_id(id).ok_or_else(|| {
            format!(
                "--trace `{}`: a trace id is 16 or 32 hex digits",
                crate::text::display(id)
            )
        })?;
        state.trace_id = Some(id.clone());
        crate::app::keys::push_view(
            state,
            crate::app::views::View::Trace {
                id,
                selected: 0,
                collapsed: vec![],
            },
        );
    }
    Ok(())
}

/// Turns the log pane on: its source's name and URL for the header, and
/// whether lines are redacted (off only with --no-redaction).
pub fn configure_logs(state: &mut State, name: &str, url: &str, redact: bool) {
    state.logs.common.configured = true;
    state.logs.common.health = Health::named(name, url);
    state.logs.redact = redact;
    if !redact {
        state.warnings.push("REDACTION OFF".into());
    }
}

/// Waits for SIGTERM, SIGHUP or SIGINT; returns its number.
#[cfg(unix)]
async fn next_signal(
    term: &mut tokio::signal::unix::Signal,
    hup: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) -> i32 {
    tokio::select! {
        _ = term.recv() => 15,
        _ = hup.recv() => 1,
        _ = int.recv() => 2,
    }
}

/// Why the interactive loop ended: the exit status follows from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// SIGTERM, SIGHUP or SIGINT (its number).
    Signal(i32),
    /// The terminal went away (SSH drop, closed window): a write or the
    /// key stream failed. Not an error of ours: exit quietly.
    TerminalGone(String),
}

impl Exit {
    /// 0 for a quit or a lost terminal, 128+signal for a signal.
    pub fn status(&self) -> i32 {
        match self {
            Exit::Quit | Exit::TerminalGone(_) => 0,
            Exit::Signal(n) => 128 + n,
        }
    }
}

/// Each source's health before an event: (ok, time of the last error).
fn health_marks(state: &State) -> Vec<(bool, Option<i64>)> {
    state
        .sources()
        .iter()
        .map(|s| (s.common().health.ok(), s.common().health.last_error_ms))
        .collect()
}

/// Source errors and recoveries go to the log file (never the screen's
/// stdout), once per transition rather than once per failed request.
fn log_health_changes(was: Vec<(bool, Option<i64>)>, state: &State) {
    for ((was_ok, was_err), s) in was.into_iter().zip(state.sources()) {
        let (configured, h) = (s.common().configured, &s.common().health);
        if !configured {
            continue;
        }
        let ok = h.ok();
        // failing after working, or failing from the start (first error)
        let first_error = was_err.is_none() && h.last_error_ms.is_some();
        if !ok && (was_ok || first_error) {
            crate::warn!(
                "{} at {} failing: {}",
                h.name,
                h.url,
                h.last_error.as_deref().unwrap_or("?")
            );
        } else if !was_ok && ok {
            crate::info!("{} at {} answering again", h.name, h.url);
        }
    }
}

/// One frame inside a synchronized update (DEC private mode 2026): the
/// terminal shows it whole, never half old and half new, which matters
/// over a slow SSH link and on a shared screen. Terminals without the
/// mode ignore it.
fn frame<B: Backend + std::io::Write>(
    t: &mut Terminal<B>,
    state: &State,
    draw: Draw,
    last: &mut Frames,
    header_only: bool,
) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::queue!(t.backend_mut(), BeginSynchronizedUpdate)?;
    let now = std::time::Instant::now();
    // a clock tick redraws the header over the last full frame; ages and
    // live axes are brought up to date by a full frame at least every
    // FULL_FRAME_EVERY
    let reuse = header_only
        && last
            .full_at
            .is_some_and(|t| now.duration_since(t) < FULL_FRAME_EVERY)
        && last.buffer.is_some();
    let drawn = if reuse {
        header_frame(t, state, draw, last)
    } else {
        t.draw(|f| (draw.full)(f, state))
            .map(|done| {
                last.buffer = Some(done.buffer.clone());
                last.full_at = Some(now);
            })
            .inspect(|_| {
                // smoothed over about four frames
                last.cost = (last.cost * 3 + now.elapsed()) / 4;
            })
    };
    // always end the update, even after a failed draw
    let ended = crossterm::execute!(t.backend_mut(), EndSynchronizedUpdate);
    drawn.and(ended)
}

/// A clock tick: only the header row is rendered, compared and written
/// (not the whole screen), then ratatui's idea of the screen is brought
/// in line so the next full frame's diff is right.
fn header_frame<B: Backend + std::io::Write>(
    t: &mut Terminal<B>,
    state: &State,
    draw: Draw,
    last: &mut Frames,
) -> std::io::Result<()> {
    let Some(mut buf) = last.buffer.take() else {
        return Ok(());
    };
    let row = ratatui::layout::Rect {
        height: 1.min(buf.area.height),
        ..buf.area
    };
    let copy_row = |b: &ratatui::buffer::Buffer| {
        let mut r = ratatui::buffer::Buffer::empty(row);
        for x in row.x..row.x + row.width {
            r[(x, row.y)] = b[(x, row.y)].clone();
        }
        r
    };
    let before = copy_row(&buf);
    if !(draw.header)(&mut buf, state) {
        // the size changed under us: a full frame sorts it out
        return t.draw(|f| (draw.full)(f, state)).map(|done| {
            last.buffer = Some(done.buffer.clone());
            last.full_at = Some(std::time::Instant::now());
        });
    }
    let after = copy_row(&buf);
    let updates = before.diff(&after);
    if !updates.is_empty() {
        t.backend_mut().draw(updates.into_iter())?;
        Backend::flush(t.backend_mut())?;
    }
    // what the terminal shows now becomes ratatui's previous frame
    t.current_buffer_mut().clone_from(&buf);
    t.swap_buffers();
    last.buffer = Some(buf);
    Ok(())
}

/// The last frame drawn, and when the last full one was.
#[derive(Default)]
struct Frames {
    buffer: Option<ratatui::buffer::Buffer>,
    full_at: Option<std::time::Instant>,
    /// What a full frame costs (drawn and written), smoothed.
    cost: Duration,
}

impl Frames {
    /// Least time between frames caused by data: [`MIN_FRAME`], or longer
    /// when frames are dear (5,000 pods, a log flood), so that redrawing
    /// for data takes at most 1/[`DATA_FRAME_SHARE`] of a core; never more
    /// than a second. Keys still draw at once.
    fn data_pace(&self) -> Duration {
        (self.cost * DATA_FRAME_SHARE).clamp(MIN_FRAME, Duration::from_secs(1))
    }
}

/// Data-driven frames may take 1/this of a core (0.25%): a frame of
/// 5,000 pods (about 1 ms) then comes every 400 ms while they change; a
/// screen that draws in 0.25 ms keeps [`MIN_FRAME`].
pub const DATA_FRAME_SHARE: u32 = 400;

/// A full frame at least this often, whatever changed.
pub const FULL_FRAME_EVERY: Duration = Duration::from_secs(5);

/// How the ui draws: a full frame, or the header over the last one (the
/// app does not import the ui: the binary hands these in).
#[derive(Clone, Copy)]
pub struct Draw {
    pub full: fn(&mut ratatui::Frame, &State),
    /// The header row into the last full frame; false when that frame is
    /// not the screen's size.
    pub header: fn(&mut ratatui::buffer::Buffer, &State) -> bool,
}

/// Least time between two frames caused by data (keys draw at once).
pub const MIN_FRAME: Duration = Duration::from_millis(100);
/// The same with `--low-bandwidth`, where the clock also moves only every
/// 10 s (`update` reports a tick as a change at those boundaries only).
pub const LOW_BANDWIDTH_FRAME: Duration = Duration::from_secs(3);

/// Source events applied after one event before the loop looks at keys
/// and the frame again, and the time such a batch may take.
pub const MAX_DRAIN: usize = 256;
pub const MAX_DRAIN_TIME: Duration = Duration::from_millis(20);

/// Hands what is already waiting to `apply`, at most [`MAX_DRAIN`] events
/// and [`MAX_DRAIN_TIME`]; returns how many it took.
pub fn drain_some<T>(rx: &mut mpsc::Receiver<T>, mut apply: impl FnMut(T)) -> usize {
    let started = std::time::Instant::now();
    let mut n = 0;
    while n < MAX_DRAIN && started.elapsed() < MAX_DRAIN_TIME {
        let Ok(d) = rx.try_recv() else { break };
        apply(d);
        n += 1;
    }
    n
}

/// The interactive loop. Returns when the user quits, a signal arrives or the
/// terminal goes away; it never fails on a write.
pub async fn run_tui<B: Backend + std::io::Write>(
    terminal: &mut Terminal<B>,
    mut state: State,
    backends: Backends,
    draw: Draw,
) -> (State, Exit) {
    use tokio::signal::unix::{signal, SignalKind};
    let gone = |what: &str, e: std::io::Error| Exit::TerminalGone(format!("{what}: {e}"));
    let (tx, mut rx) = mpsc::channel::<SourceEvent>(256);
    let mut tasks = Tasks::new(backends, tx, state.refresh_secs);
    let size = match terminal.size() {
        Ok(s) => s,
        Err(e) => return (state, gone("terminal size", e)),
    };
    update::update(&mut state, Event::Resize(size.width, size.height));
    tasks.exec(update::start(&mut state));
    let mut keys = crossterm::event::EventStream::new();
    // the clock: one wake-up a second, just after the second turns (not
    // four: a quiet screen costs what its clock costs)
    let next_second = || {
        let ms = now_ms();
        tokio::time::Instant::now() + Duration::from_millis((1000 - ms.rem_euclid(1000)) as u64 + 2)
    };
    let mut tick_at = next_second();
    let (mut sigterm, mut sighup, mut sigint) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return (state, Exit::TerminalGone(format!("signal handlers: {e}")))
        }
    };
    let mut frames = Frames::default();
    if let Err(e) = frame(terminal, &state, draw, &mut frames, false) {
        return (state, gone("draw", e));
    }
    // Redraw only when something changed, and at most every MIN_FRAME:
    // answers that arrive together become one frame, not thirty.
    let mut dirty_since: Option<tokio::time::Instant> = None;
    // whether anything but the clock changed since the last frame
    let mut full = false;
    let mut last_draw = tokio::time::Instant::now();
    let exit = loop {
        // (the first answers are drawn at the usual pace: a slow link
        // waits for data, not for the throttle)
        let min_frame = if state.ui.low_bandwidth && state.sources_answered() {
            LOW_BANDWIDTH_FRAME
        } else {
            frames.data_pace()
        };
        let draw_at = dirty_since.map(|_| last_draw + min_frame);
        let mut signal_no = None;
        let event = tokio::select! {
            k = keys.next() => match k {
                Some(Ok(crossterm::event::Event::Key(k))) => Some(Event::Key(k)),
                Some(Ok(crossterm::event::Event::Resize(w, h))) => Some(Event::Resize(w, h)),
                Some(Ok(_)) => continue,
                // the terminal is gone (SSH drop): leave
                Some(Err(e)) => break gone("reading keys", e),
                None => break Exit::TerminalGone("the key stream ended".into()),
            },
            Some(d) = rx.recv() => Some(Event::Source(d)),
            _ = tokio::time::sleep_until(tick_at) => {
                tick_at = next_second();
                Some(Event::Tick(now_ms()))
            }
            n = next_signal(&mut sigterm, &mut sighup, &mut sigint) => {
                signal_no = Some(n);
                Some(Event::Signal)
            }
            _ = tokio::time::sleep_until(draw_at.unwrap_or_else(tokio::time::Instant::now)), if draw_at.is_some() => None,
        };
        if let Some(event) = event {
            let input = matches!(event, Event::Key(_) | Event::Resize(..));
            let tick = matches!(event, Event::Tick(_));
            // (the terminal's own resize, with its clear, happens inside
            // the next frame's synchronized update: Terminal::draw does it)
            let was = health_marks(&state);
            let (cmds, changed) = update::update(&mut state, event);
            log_health_changes(was, &state);
            if tasks.exec(cmds) || state.quit {
                break signal_no.map(Exit::Signal).unwrap_or(Exit::Quit);
            }
            // apply what else is already waiting before drawing, but no
            // more than a bounded batch: a tail or watcher flood must not
            // starve keys, resizes and frames
            drain_some(&mut rx, |d| {
                let was = health_marks(&state);
                let (cmds, c) = update::update(&mut state, Event::Source(d));
                log_health_changes(was, &state);
                tasks.exec(cmds);
                full |= c;
                if c && dirty_since.is_none() {
                    dirty_since = Some(tokio::time::Instant::now());
                }
            });
            full |= changed && !tick;
            if changed && dirty_since.is_none() {
                dirty_since = Some(tokio::time::Instant::now());
            }
            // keys answer at once; data waits for the frame budget
            if !(input && dirty_since.is_some()) {
                continue;
            }
        }
        if dirty_since.take().is_some() {
            if let Err(e) = frame(terminal, &state, draw, &mut frames, !full) {
                break gone("draw", e);
            }
            full = false;
            last_draw = tokio::time::Instant::now();
        }
    };
    (state, exit)
}

/// `--once`: drive the app until every source has settled (or `timeout`);
/// the caller renders the state it returns.
pub async fn run_once(
    mut state: State,
    backends: Backends,
    size: (u16, u16),
    timeout: Duration,
) -> State {
    let (tx, mut rx) = mpsc::channel::<SourceEvent>(256);
    let mut tasks = Tasks::new(backends, tx, state.refresh_secs);
    update::update(&mut state, Event::Resize(size.0, size.1));
    tasks.exec(update::start(&mut state));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if state.sources_answered() {
            break;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                update::update(&mut state, Event::Tick(now_ms()));
                let (cmds, _) = update::update(&mut state, Event::Source(ev));
                tasks.exec(cmds);
            }
            _ => break,
        }
    }
    drop(tasks);
    update::update(&mut state, Event::Tick(now_ms()));
    state
}

#[cfg(test)]
mod drain_tests {
    use super::*;

    #[test]
    fn dear_frames_are_drawn_less_often_for_data() {
        let pace = |ms: f64| {
            Frames {
                cost: Duration::from_secs_f64(ms / 1000.0),
                ..Default::default()
            }
            .data_pace()
        };
        assert_eq!(pace(0.2), MIN_FRAME);
        assert_eq!(pace(1.0), Duration::from_millis(400));
        assert_eq!(pace(40.0), Duration::from_secs(1));
    }

    #[test]
    fn a_flood_is_drained_in_bounded_batches() {
        let (tx, mut rx) = mpsc::channel::<u32>(2000);
        for i in 0..1000 {
            tx.try_send(i).unwrap();
        }
        let mut seen = Vec::new();
        assert_eq!(drain_some(&mut rx, |d| seen.push(d)), MAX_DRAIN);
        assert_eq!(seen, (0..MAX_DRAIN as u32).collect::<Vec<_>>());
        // the time bound: a slow apply stops the batch early
        let n = drain_some(&mut rx, |_| std::thread::sleep(MAX_DRAIN_TIME / 4));
        assert!((1..=5).contains(&n), "{n}");
        // the rest is still there, in order
        let mut rest = Vec::new();
        while let Ok(d) = rx.try_recv() {
            rest.push(d);
        }
        assert_eq!(rest.len(), 1000 - MAX_DRAIN - n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::{TestBackend, WindowSize};
    use ratatui::layout::{Position, Size};

    /// A TestBackend that also takes the synchronized-update escapes.
    struct Screen(TestBackend);

    impl std::io::Write for Screen {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Backend for Screen {
        fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
        where
            I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
        {
            self.0.draw(content)
        }
        fn hide_cursor(&mut self) -> std::io::Result<()> {
            self.0.hide_cursor()
        }
        fn show_cursor(&mut self) -> std::io::Result<()> {
            self.0.show_cursor()
        }
        fn get_cursor_position(&mut self) -> std::io::Result<Position> {
            self.0.get_cursor_position()
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> std::io::Result<()> {
            self.0.set_cursor_position(p)
        }
        fn clear(&mut self) -> std::io::Result<()> {
            self.0.clear()
        }
        fn size(&self) -> std::io::Result<Size> {
            self.0.size()
        }
        fn window_size(&mut self) -> std::io::Result<WindowSize> {
            self.0.window_size()
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Backend::flush(&mut self.0)
        }
    }

    // the app does not import the ui: a stand-in with a header and a body
    fn full(f: &mut ratatui::Frame, s: &State) {
        let a = f.area();
        let mut h = a;
        h.height = 1;
        let mut b = a;
        b.y += 1;
        b.height -= 1;
        f.render_widget(
            ratatui::widgets::Paragraph::new(format!("clock {}", s.now_ms)),
            h,
        );
        f.render_widget(
            ratatui::widgets::Paragraph::new(format!("body {}", s.refresh_secs)),
            b,
        );
    }

    fn header(buf: &mut ratatui::buffer::Buffer, s: &State) -> bool {
        use ratatui::widgets::Widget;
        let mut h = buf.area;
        h.height = 1;
        for x in 0..h.width {
            buf[(x, 0)].reset();
        }
        ratatui::widgets::Paragraph::new(format!("clock {}", s.now_ms)).render(h, buf);
        true
    }

    fn shown(t: &Terminal<Screen>) -> String {
        let b = t.backend().0.buffer();
        (0..b.area.height)
            .map(|y| {
                (0..b.area.width)
                    .map(|x| b[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_string()
    }

    /// A clock tick writes only the header row, and leaves ratatui's idea
    /// of the screen right: the next full frame shows exactly what a full
    /// draw would, including a header that went back to an earlier text.
    #[test]
    fn a_clock_frame_writes_the_header_and_keeps_the_next_diff_right() {
        let mut t = Terminal::new(Screen(TestBackend::new(30, 4))).unwrap();
        let mut s = State::new(
            None,
            Default::default(),
            1.0,
            crate::config::theme::Theme::default_theme(),
            crate::app::keymap::Keymap::default_keymap(),
        );
        s.ui.width = 30;
        s.ui.height = 4;
        s.now_ms = 100;
        let draw = Draw { full, header };
        let mut last = Frames::default();
        frame(&mut t, &s, draw, &mut last, false).unwrap();
        assert_eq!(shown(&t), "clock 100\nbody 1");
        s.now_ms = 2000;
        frame(&mut t, &s, draw, &mut last, true).unwrap();
        assert_eq!(shown(&t), "clock 2000\nbody 1");
        // the header goes back to what the last full frame had, and the
        // body changes: a stale idea of the screen would skip the header
        s.now_ms = 100;
        s.refresh_secs = 2.0;
        frame(&mut t, &s, draw, &mut last, false).unwrap();
        assert_eq!(shown(&t), "clock 100\nbody 2");
    }
}
