//! The spine, driven through `update` without a terminal: generations,
//! re-targeting once per event, pause, the view stack, and the commands
//! each key emits. Each test fails when its mechanism is removed.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use watchfloor::app::keymap::Mode;
use watchfloor::app::state::Focus;
use watchfloor::app::update::{self, Command, Event};
use watchfloor::app::views::View;
use watchfloor::app::SourceEvent;
use watchfloor::app::State;
use watchfloor::features::logs::LogsCommand;
use watchfloor::features::metrics::client::Fetched;
use watchfloor::features::metrics::MetricsCommand;
use watchfloor::features::metrics::MetricsEvent;
use watchfloor::store::{Labels, Series};

const T: i64 = 1_700_000_100;

fn fresh() -> State {
    common::demo_state(T, None, 300, 1)
}

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

/// Sends keys; returns every command they produced.
fn press(st: &mut State, keys: &[Event]) -> Vec<Command> {
    keys.iter()
        .flat_map(|k| update::update(st, k.clone()).0)
        .collect()
}

/// The metrics plans among commands: (generation, pinned end).
fn plans(cmds: &[Command]) -> Vec<(u64, Option<i64>)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Metrics(MetricsCommand::Start(p)) => Some((p.gen, p.pinned_end_ms)),
            Command::Metrics(MetricsCommand::Detect { gen }) => Some((*gen, None)),
            _ => None,
        })
        .collect()
}

/// An answer for `memory.working_set` of generation `gen`: one pod, one value.
fn answer(gen: u64, pod: &str, v: f64) -> Event {
    let labels: Labels = [("pod".to_string(), pod.to_string())].into_iter().collect();
    Event::Source(SourceEvent::Metrics(MetricsEvent::Query {
        gen,
        alt: 0,
        key: "memory.working_set".into(),
        incremental: false,
        start_ms: T * 1000 - 300_000,
        until_ms: T * 1000,
        at_ms: T * 1000,
        result: Ok(Fetched {
            series: vec![Series::new(labels, [(T * 1000, v)])],
            ..Default::default()
        }),
    }))
}

fn ws(st: &State, pod: &str) -> Option<f64> {
    st.metrics
        .store
        .get("memory.working_set")
        .and_then(|d| d.latest_for("pod", pod))
}

#[test]
fn answers_of_an_older_generation_are_dropped() {
    let mut st = fresh();
    let old = st.metrics.common.gen;
    press(&mut st, &[ch(']')]); // a new window: a new generation
    assert_eq!(st.metrics.common.gen, old + 1);
    update::update(&mut st, answer(old, "ghost", 42.0));
    assert_eq!(
        ws(&st, "ghost"),
        None,
        "an answer for the old window merged"
    );
    let gen = st.metrics.common.gen;
    update::update(&mut st, answer(gen, "app-9", 7.0));
    assert_eq!(ws(&st, "app-9"), Some(7.0));
}

/// Keys that change the target, each with what it changes.
fn target_changes() -> Vec<(Vec<Event>, &'static str)> {
    vec![
        (vec![ch(']')], "grow window"),
        (vec![ch('[')], "shrink window"),
        (vec![ch(' ')], "pause"),
        (
            vec![
                ch('p'),
                key(KeyCode::Down),
                key(KeyCode::Down),
                key(KeyCode::Enter),
            ],
            "picker",
        ),
        (
            vec![
                ch(':'),
                ch('p'),
                ch('o'),
                ch('d'),
                ch(' '),
                ch('x'),
                key(KeyCode::Enter),
            ],
            ":pod x",
        ),
        (
            vec![
                ch(':'),
                ch('j'),
                ch('o'),
                ch('b'),
                ch(' '),
                ch('j'),
                key(KeyCode::Enter),
            ],
            ":job j",
        ),
        (
            vec![
                ch(':'),
                ch('n'),
                ch('s'),
                ch(' '),
                ch('n'),
                key(KeyCode::Enter),
            ],
            ":ns n",
        ),
        (
            vec![
                ch(':'),
                ch('r'),
                ch('a'),
                ch('n'),
                ch('g'),
                ch('e'),
                ch(' '),
                ch('2'),
                ch('h'),
                key(KeyCode::Enter),
            ],
            ":range 2h",
        ),
    ]
}

#[test]
fn every_key_that_changes_the_target_retargets_every_source_once() {
    // (keys, what changed) — each must give exactly one new plan
    let cases = target_changes();
    for (keys, what) in cases {
        let mut st = fresh();
        if what == "shrink window" {
            press(&mut st, &[ch(']')]);
        }
        let (gen0, target0) = (st.metrics.common.gen, st.target.clone());
        let cmds = press(&mut st, &keys);
        assert_ne!(st.target, target0, "{what}: the target did not change");
        let p = plans(&cmds);
        assert_eq!(p.len(), 1, "{what}: {cmds:?}");
        assert_eq!(p[0].0, gen0 + 1, "{what}: a new generation");
        assert_eq!(st.metrics.common.gen, gen0 + 1);
    }
    // P (all pods) after a pod was chosen
    let mut st = fresh();
    press(
        &mut st,
        &[
            ch(':'),
            ch('p'),
            ch('o'),
            ch('d'),
            ch(' '),
            ch('a'),
            key(KeyCode::Enter),
        ],
    );
    let gen0 = st.metrics.common.gen;
    let cmds = press(&mut st, &[ch('P')]);
    assert_eq!(st.target.pod, None);
    assert_eq!(plans(&cmds), vec![(gen0 + 1, None)]);
    // keys that do not change the target start nothing
    for keys in [
        vec![ch('z')],
        vec![key(KeyCode::Tab)],
        vec![ch('?'), key(KeyCode::Esc)],
        vec![ch('p'), key(KeyCode::Esc)],
        vec![key(KeyCode::Left)],
    ] {
        let mut st = fresh();
        let cmds = press(&mut st, &keys);
        assert!(plans(&cmds).is_empty(), "{keys:?}: {cmds:?}");
    }
    // r refreshes without changing the target: a new plan that resumes
    let mut st = fresh();
    let cmds = press(&mut st, &[ch('r')]);
    let Some(Command::Metrics(MetricsCommand::Start(plan))) = cmds.first() else {
        panic!("{cmds:?}")
    };
    assert!(!plan.resume.is_empty(), "r keeps the data and resumes");
}

#[test]
fn pause_lets_no_older_answer_in_and_keeps_the_data() {
    let mut st = fresh();
    let live = st.metrics.common.gen;
    let before = ws(&st, "app-1");
    let cmds = press(&mut st, &[ch(' ')]);
    assert!(!st.target.is_live());
    let p = plans(&cmds);
    assert_eq!(p, vec![(live + 1, Some(T * 1000))], "a pinned plan");
    assert_eq!(ws(&st, "app-1"), before, "pausing keeps what is on screen");
    // an answer asked before the pause arrives late: dropped
    update::update(&mut st, answer(live, "app-1", 1.0));
    assert_eq!(ws(&st, "app-1"), before);
    // resuming is a new generation too; the pinned one's answers are dropped
    let pinned = st.metrics.common.gen;
    let cmds = press(&mut st, &[ch(' ')]);
    assert_eq!(plans(&cmds), vec![(pinned + 1, None)]);
    update::update(&mut st, answer(pinned, "app-1", 2.0));
    assert_eq!(ws(&st, "app-1"), before);
}

#[test]
fn esc_pops_one_view_at_a_time_and_restores_focus() {
    let mut st = fresh();
    st.ui.focused = Focus::Pane(2);
    press(&mut st, &[ch('p'), key(KeyCode::Down)]);
    assert_eq!(st.ui.mode(), Mode::Picker);
    // help over the picker; the picker's place is kept underneath
    press(&mut st, &[ch('?')]);
    assert_eq!(st.ui.views.depth(), 2);
    assert_eq!(st.ui.mode(), Mode::Help);
    st.ui.focused = Focus::Pane(0); // something moved focus underneath
    press(&mut st, &[key(KeyCode::Esc)]);
    assert_eq!(st.ui.mode(), Mode::Picker);
    assert_eq!(
        st.ui.views.top(),
        Some(&View::PodPicker {
            index: 1,
            filter: String::new(),
            kind: Default::default(),
        })
    );
    assert_eq!(
        st.ui.focused,
        Focus::Pane(2),
        "help restored the focus it found"
    );
    press(&mut st, &[key(KeyCode::Esc)]);
    assert_eq!(st.ui.mode(), Mode::Normal);
    assert_eq!(st.ui.views.depth(), 0);
    // at the base, Esc clears the time cursor
    press(&mut st, &[key(KeyCode::Left), key(KeyCode::Left)]);
    assert!(st.cursor_ms.is_some());
    press(&mut st, &[key(KeyCode::Esc)]);
    assert_eq!(st.cursor_ms, None);
    assert_eq!(st.ui.mode(), Mode::Normal);
    // then it leaves the zoom
    press(&mut st, &[ch('z')]);
    assert!(st.ui.zoom);
    press(&mut st, &[key(KeyCode::Esc)]);
    assert!(!st.ui.zoom);
    // the command line: Esc cancels without running anything
    let cmds = press(&mut st, &[ch(':'), ch('q'), key(KeyCode::Esc)]);
    assert!(cmds.is_empty() && !st.quit);
}

#[test]
fn the_command_line_edits_completes_and_remembers() {
    let mut st = fresh();
    let cmds = press(
        &mut st,
        &[
            ch(':'),
            ch('p'),
            ch('o'),
            key(KeyCode::Tab),
            ch(' '),
            ch('a'),
            ch('p'),
            ch('p'),
            ch('-'),
            ch('2'),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(st.target.pod.as_deref(), Some("app-2"), "{cmds:?}");
    // history: ↑ brings the last command back
    press(&mut st, &[ch(':'), key(KeyCode::Up)]);
    let Some(View::Input { editor, .. }) = st.ui.views.top() else {
        panic!("not in the command line")
    };
    assert_eq!(editor.text(), "pod app-2");
    // ctrl-w deletes a word; completion offers the pods of the latest answers
    update::update(
        &mut st,
        Event::Key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL)),
    );
    press(&mut st, &[ch('a'), key(KeyCode::Tab)]);
    let Some(View::Input { editor, .. }) = st.ui.views.top() else {
        panic!()
    };
    assert!(editor.text().starts_with("pod app-"), "{}", editor.text());
    // an unknown command says so and changes nothing
    press(
        &mut st,
        &[key(KeyCode::Esc), ch(':'), ch('x'), key(KeyCode::Enter)],
    );
    let (msg, is_err) = st.ui.message.clone().unwrap();
    assert!(is_err && msg.contains("unknown command"), "{msg}");
}

#[test]
fn ctrl_c_quits_from_any_view() {
    for keys in [vec![], vec![ch('?')], vec![ch('p')], vec![ch(':')]] {
        let mut st = fresh();
        press(&mut st, &keys);
        let cmds = press(
            &mut st,
            &[Event::Key(KeyEvent::new(
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
            ))],
        );
        assert!(st.quit && cmds.contains(&Command::Quit), "{keys:?}");
    }
}

#[test]
fn a_dashboard_error_is_not_a_backend_failure() {
    let mut st = fresh();
    let mut d = st.metrics.dashboard.clone().unwrap();
    d.panes[0].queries[0].expr = String::new();
    d.panes[0].queries[0].exprs = vec!["up{$no_such_variable}".into()];
    st.metrics.dashboard = Some(d);
    let cmds = press(&mut st, &[ch(']')]);
    assert!(
        cmds.contains(&Command::Metrics(MetricsCommand::Stop)),
        "{cmds:?}"
    );
    let e = st.metrics.dashboard_error.clone().unwrap();
    assert!(e.contains("no_such_variable"), "{e}");
    assert!(
        st.metrics.common.health.last_error.is_none(),
        "prom is not blamed"
    );
    let screen = watchfloor::export::buffer_to_text(&watchfloor::ui::render(&st, 120, 30));
    assert!(
        screen.contains("dash ✗") && screen.contains("demo ✓"),
        "{screen}"
    );
}

#[test]
fn the_time_cursor_moves_by_steps_and_panes_read_values_there() {
    let mut st = fresh();
    let latest = ws(&st, "app-1").unwrap();
    press(&mut st, &vec![key(KeyCode::Left); 30]);
    let at = st.cursor_ms.unwrap();
    assert_eq!(at, T * 1000 - 30 * st.metrics.step_secs as i64 * 1000);
    let then = st
        .metrics
        .store
        .get("memory.working_set")
        .and_then(|d| d.value_for("pod", "app-1", Some(at)))
        .unwrap();
    assert_ne!(then, latest, "the demo moved in 30 steps");
    let screen = watchfloor::export::buffer_to_text(&watchfloor::ui::render(&st, 200, 50));
    assert!(screen.contains("cursor "), "{screen}");
    let fmt = watchfloor::text::units::format_bytes(then);
    assert!(
        screen.contains(&fmt),
        "value at the cursor {fmt}:\n{screen}"
    );
    press(&mut st, &[key(KeyCode::End)]);
    assert_eq!(st.cursor_ms, None);
}

/// An answer for `memory.working_set` of generation `gen` with one series
/// per (job, pod).
fn answer_jobs(gen: u64, series: &[(&str, &str)]) -> Event {
    let series = series
        .iter()
        .map(|(job, pod)| {
            let labels: Labels = [
                ("job".to_string(), job.to_string()),
                ("pod".to_string(), pod.to_string()),
            ]
            .into_iter()
            .collect();
            Series::new(labels, [(T * 1000, 1.0)])
        })
        .collect();
    Event::Source(SourceEvent::Metrics(MetricsEvent::Query {
        gen,
        alt: 0,
        key: "memory.working_set".into(),
        incremental: false,
        start_ms: T * 1000 - 300_000,
        until_ms: T * 1000,
        at_ms: T * 1000,
        result: Ok(Fetched {
            series,
            ..Default::default()
        }),
    }))
}

/// `:` + a command line + Enter, as keys.
fn command(line: &str) -> Vec<Event> {
    std::iter::once(ch(':'))
        .chain(line.chars().map(ch))
        .chain(std::iter::once(key(KeyCode::Enter)))
        .collect()
}

/// The log queries among commands.
fn log_queries(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Logs(LogsCommand::Start(p)) => Some(p.query.clone()),
            _ => None,
        })
        .collect()
}

fn with_logs() -> State {
    let mut st = fresh();
    watchfloor::app::run::configure_logs(&mut st, "loki", "http://loki", true);
    // the log source starts (the metrics keep the demo's answers)
    st.logs.plan(&watchfloor::ctx!(st));
    st
}

/// `:job x` re-targets the metrics (their store starts over) and the logs:
/// the log query still names the job's pods, which the scope learned from
/// earlier answers. It used to read the just-emptied store and lose them.
#[test]
fn the_log_query_keeps_the_job_s_pods_after_job() {
    let mut st = with_logs();
    let gen = st.metrics.common.gen;
    update::update(
        &mut st,
        answer_jobs(
            gen,
            &[
                ("api", "api-7d9f8b-x2k4q"),
                ("api", "api-7d9f8b-p8m2z"),
                ("db", "db-0"),
            ],
        ),
    );
    let cmds = press(&mut st, &command("job api"));
    let q = log_queries(&cmds);
    assert_eq!(q.len(), 1, "{cmds:?}");
    assert!(
        q[0].contains("api-7d9f8b-x2k4q") && q[0].contains("api-7d9f8b-p8m2z"),
        "{}",
        q[0]
    );
    assert!(!q[0].contains("db-0"), "{}", q[0]);
}

/// A job whose pods are not known yet: the log query starts without a pod
/// clause and narrows, with one new plan, when the first answer names them
/// (as after detection scopes to a job); answers that teach nothing new
/// start nothing.
#[test]
fn the_log_query_narrows_when_the_job_s_pods_become_known() {
    let mut st = with_logs();
    let cmds = press(&mut st, &command("job w"));
    let q = log_queries(&cmds);
    assert_eq!(q.len(), 1);
    assert!(!q[0].contains("pod"), "{}", q[0]);
    let gen = st.metrics.common.gen;
    let (cmds, _) = update::update(&mut st, answer_jobs(gen, &[("w", "w-1"), ("w", "w-2")]));
    let q = log_queries(&cmds);
    assert_eq!(q.len(), 1, "{cmds:?}");
    assert!(q[0].contains("w-1") && q[0].contains("w-2"), "{}", q[0]);
    let (cmds, _) = update::update(&mut st, answer_jobs(gen, &[("w", "w-1"), ("w", "w-2")]));
    assert!(log_queries(&cmds).is_empty(), "{cmds:?}");
}

/// With every source configured, each key that changes the target gives
/// exactly one new metrics plan and one new log command (a plan, or a stop
/// when pausing); probes do not follow the target.
#[test]
fn every_source_is_retargeted_once_per_target_change() {
    let cases = target_changes();
    for (keys, what) in cases {
        let mut st = with_logs();
        if what == "shrink window" {
            press(&mut st, &[ch(']')]);
        }
        st.probes.set(
            &[watchfloor::features::probes::ProbeSpec::from_url(
                "http://127.0.0.1:1/readyz",
            )],
            5.0,
        );
        let cmds = press(&mut st, &keys);
        let metrics = plans(&cmds).len();
        let logs = cmds
            .iter()
            .filter(|c| matches!(c, Command::Logs(LogsCommand::Start(_) | LogsCommand::Stop)))
            .count();
        let probes = cmds
            .iter()
            .filter(|c| matches!(c, Command::Probes(_)))
            .count();
        assert_eq!((metrics, logs, probes), (1, 1, 0), "{what}: {cmds:?}");
    }
}

/// `--once` waits for every query to settle: a query whose first metric
/// convention answered nothing is not "no series" until every alternative
/// was asked (or one has data).
#[test]
fn a_query_is_settled_only_when_an_alternative_has_data_or_all_are_empty() {
    let st0 = fresh();
    assert!(st0.all_answered(), "the demo answers every query");
    let q = st0
        .metrics
        .queries
        .iter()
        .find(|q| q.alternatives.len() > 1)
        .expect("a query with alternatives")
        .clone();
    let n = q.alternatives.len();
    let empty = |gen: u64, alt: usize, series: Vec<Series>| {
        Event::Source(SourceEvent::Metrics(MetricsEvent::Query {
            gen,
            alt,
            key: q.key.clone(),
            incremental: false,
            start_ms: T * 1000 - 300_000,
            until_ms: T * 1000,
            at_ms: T * 1000,
            result: Ok(Fetched {
                series,
                ..Default::default()
            }),
        }))
    };
    // every alternative empty, one after the other
    let mut st = st0.clone();
    let gen = st.metrics.common.gen;
    for alt in 0..n {
        assert!(
            alt == 0 || !st.all_answered(),
            "settled after {alt} of {n} empty alternatives"
        );
        update::update(&mut st, empty(gen, alt, vec![]));
    }
    assert!(st.all_answered(), "every alternative answered empty");
    // the first empty, the second with data
    let mut st = st0.clone();
    update::update(&mut st, empty(gen, 0, vec![]));
    assert!(!st.all_answered(), "only the first convention was asked");
    let labels: Labels = [("pod".to_string(), "app-1".to_string())]
        .into_iter()
        .collect();
    update::update(
        &mut st,
        empty(gen, 1, vec![Series::new(labels, [(T * 1000, 1.0)])]),
    );
    assert!(st.all_answered());
}

/// Tab walks the panes that are drawn: with probes at the bottom and no
/// log source, at 80x20 the admission pane does not fit, and Tab must never
/// focus it (key handling used to compute a layout without the probes).
#[test]
fn tab_never_focuses_a_pane_that_is_not_drawn() {
    for (w, h, logs) in [
        (80u16, 20u16, false),
        (80, 24, false),
        (80, 24, true),
        (120, 30, true),
        (200, 50, false),
    ] {
        let mut st = fresh();
        if logs {
            watchfloor::app::run::configure_logs(&mut st, "loki", "http://loki", true);
        }
        st.probes.set(
            &[watchfloor::features::probes::ProbeSpec::from_url(
                "http://127.0.0.1:1/readyz",
            )],
            5.0,
        );
        update::update(&mut st, Event::Resize(w, h));
        let d = st.metrics.dashboard.clone().unwrap();
        let mut focused = std::collections::BTreeSet::new();
        for _ in 0..8 {
            press(&mut st, &[key(KeyCode::Tab)]);
            let f = st.ui.focused;
            focused.insert(f);
            let screen = watchfloor::export::buffer_to_text(&watchfloor::ui::render(&st, w, h));
            let title = match f {
                Focus::Logs => "Logs".to_string(),
                Focus::Kube => "Kubernetes".to_string(),
                Focus::Pane(i) => d.panes[i].title.clone(),
            };
            assert!(
                screen.contains(&title),
                "{w}x{h}: Tab focused `{title}`, which is not on screen:\n{screen}"
            );
        }
        assert!(focused.len() >= 2, "{w}x{h}: Tab moves: {focused:?}");
    }
}

/// `:job` with a job the backend does not have is refused, saying which
/// jobs it has; `:pod` with a pod no answer named applies and says so.
#[test]
fn unknown_job_is_refused_and_unknown_pod_is_said() {
    let mut st = fresh();
    st.metrics.jobs = vec!["api".into(), "worker".into()];
    let before = st.target.clone();
    let cmds = press(&mut st, &command("job nope"));
    assert_eq!(st.target, before, "not applied");
    assert!(plans(&cmds).is_empty());
    let (msg, err) = st.ui.message.clone().expect("a message");
    assert!(
        err && msg.contains("no series for job nope") && msg.contains("api, worker"),
        "{msg}"
    );
    // a pod nobody named yet: applied, and said
    assert!(!st.pods().is_empty());
    press(&mut st, &command("pod ghost-1"));
    assert_eq!(st.target.pod.as_deref(), Some("ghost-1"));
    let (msg, err) = st.ui.message.clone().expect("a message");
    assert!(!err && msg.contains("no series for pod ghost-1"), "{msg}");
    // a known job applies
    press(&mut st, &command("job api"));
    assert_eq!(st.target.job.as_deref(), Some("api"));
}

/// The pod picker narrows as you type (Backspace widens); Enter takes the
/// first match.
#[test]
fn the_pod_picker_filters_as_you_type() {
    let mut st = fresh();
    assert!(st.pods().len() >= 3);
    press(&mut st, &[ch('p'), ch('-'), ch('3')]);
    let Some(View::PodPicker { filter, index, .. }) = st.ui.views.top() else {
        panic!("no picker: {:?}", st.ui.views.top());
    };
    assert_eq!((filter.as_str(), *index), ("-3", 1));
    assert_eq!(
        watchfloor::app::keys::picker_pods(&st),
        vec!["app-3".to_string()]
    );
    let screen = watchfloor::export::buffer_to_text(&watchfloor::ui::render(&st, 120, 30));
    assert!(screen.contains("Pod: -3"), "{screen}");
    press(&mut st, &[key(KeyCode::Backspace)]);
    assert_eq!(
        watchfloor::app::keys::picker_pods(&st).len(),
        st.pods().len()
    );
    press(&mut st, &[ch('3'), key(KeyCode::Enter)]);
    assert_eq!(st.target.pod.as_deref(), Some("app-3"));
    assert!(st.ui.views.top().is_none());
}
