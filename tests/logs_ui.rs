//! The log pane through `update` and `render` (no terminal): following,
//! paused, searching, level filter, volume chart, patterns and the detail
//! view as snapshots, and what each key does to the query.

mod common;

use watchfloor::app::run::configure_logs;
use watchfloor::app::update::{self, Command, Event};
use watchfloor::app::views::View;
use watchfloor::app::SourceEvent;
use watchfloor::app::{Action, State};
use watchfloor::core::Feature;
use watchfloor::demo::logs::DemoLogs;
use watchfloor::export::buffer_to_text;
use watchfloor::features::logs::client::LogsBackend;
use watchfloor::features::logs::LogsCommand;
use watchfloor::features::logs::{LogsEvent, TailMode};
use watchfloor::store::logs::LogLine;
use watchfloor::ui::render;

/// The start of a demo cycle (seed 0): the OOM is at +96 s.
const T0: i64 = 1_700_000_040;

fn ev(st: &mut State, e: LogsEvent) -> Vec<Command> {
    update::update(st, Event::Source(SourceEvent::Logs(e))).0
}

/// A state following the demo's logs over [T0+60, T0+100), volume from
/// the demo's "server".
fn state() -> State {
    let mut st = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    st.metrics.common.configured = false;
    st.target.namespace = Some("codex-pooler".into());
    configure_logs(&mut st, "loki", "http://loki:3100", true);
    update::update(&mut st, Event::Resize(120, 30));
    st.now_ms = (T0 + 100) * 1000;
    let cmds = update::start(&mut st);
    assert!(matches!(
        cmds.as_slice(),
        [Command::Logs(LogsCommand::Start(_))]
    ));
    let gen = st.logs.common.gen;
    let demo = DemoLogs::new(0, "beam");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (entries, volume) = rt.block_on(async {
        let q = r#"{namespace="codex-pooler"}"#;
        let e = demo
            .query_range(
                q,
                (T0 + 60) * 1_000_000_000,
                (T0 + 100) * 1_000_000_000,
                5000,
                true,
            )
            .await
            .unwrap();
        let v = demo
            .volume(q, (T0 - 200) * 1_000_000_000, (T0 + 100) * 1_000_000_000, 5)
            .await
            .unwrap();
        (e, v)
    });
    let lines: Vec<LogLine> = entries
        .into_iter()
        .map(|e| LogLine::from_entry(e, true))
        .collect();
    let now = st.now_ms;
    ev(
        &mut st,
        LogsEvent::Status {
            gen,
            at_ms: now,
            mode: TailMode::Tailing,
            error: None,
            requests: 2,
            note: None,
        },
    );
    ev(
        &mut st,
        LogsEvent::Lines {
            gen,
            at_ms: now,
            lines,
            skewed: 0,
        },
    );
    ev(
        &mut st,
        LogsEvent::Volume {
            gen,
            at_ms: now,
            result: Ok(volume),
        },
    );
    st
}

fn screen(st: &State, w: u16, h: u16) -> String {
    buffer_to_text(&render(st, w, h))
}

fn plan_query(cmds: &[Command]) -> String {
    cmds.iter()
        .find_map(|c| match c {
            Command::Logs(LogsCommand::Start(p)) => Some(p.query.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no new logs plan in {cmds:?}"))
}

fn submit(st: &mut State, text: &str) -> Vec<Command> {
    if let Some(View::Input { editor, .. }) = st.ui.views.top_mut() {
        editor.set_text(text);
    }
    update::apply(st, Action::InputSubmit)
}

fn selected_text(st: &State) -> String {
    let id = st.logs.selected.expect("a selection");
    let p = st.logs.ring.index_of(id).unwrap();
    match &st.logs.ring.get(p).unwrap().row {
        watchfloor::store::logs::Row::Line(l) => l.text.to_string(),
        _ => panic!("a marker"),
    }
}

#[test]
fn following_paused_and_searching_snapshots() {
    let mut st = state();
    let follow = screen(&st, 120, 30);
    assert!(follow.contains("following · tailing"), "{follow}");
    insta::assert_snapshot!("logs_following_120x30", follow);
    update::apply(&mut st, Action::FocusLogs);
    for _ in 0..3 {
        update::apply(&mut st, Action::ScrollUp);
    }
    let paused = screen(&st, 120, 30);
    assert!(
        paused.contains("paused") && paused.contains('▶'),
        "{paused}"
    );
    insta::assert_snapshot!("logs_paused_120x30", paused);
    // `/` from the dashboard focuses the logs and searches
    st.ui.focused = watchfloor::app::state::Focus::Pane(0);
    update::apply(&mut st, Action::OpenSearch);
    submit(&mut st, "rejected");
    let newest_match = st
        .logs
        .ring
        .lines()
        .rev()
        .find(|l| l.text.contains("rejected"))
        .unwrap()
        .ts_ns;
    assert!(selected_text(&st).contains("rejected"));
    let sel = st.logs.ring.index_of(st.logs.selected.unwrap()).unwrap();
    assert_eq!(
        st.logs.ring.get(sel).map(|s| s.row.ts_ns()),
        Some(newest_match),
        "the newest match is selected"
    );
    let searching = screen(&st, 120, 30);
    assert!(searching.contains("/rejected ("), "{searching}");
    insta::assert_snapshot!("logs_searching_120x30", searching);
    // n: the next older match; N: back
    let first = st.logs.selected;
    update::apply(&mut st, Action::SearchNext);
    assert_ne!(st.logs.selected, first);
    assert!(selected_text(&st).contains("rejected"));
    update::apply(&mut st, Action::SearchPrev);
    assert_eq!(st.logs.selected, first);
    // G follows again
    update::apply(&mut st, Action::LogsFollow);
    assert!(st.logs.follow && st.logs.selected.is_none());
}

#[test]
fn level_filter_volume_patterns_and_detail_snapshots() {
    let mut st = state();
    update::apply(&mut st, Action::FocusLogs);
    update::apply(&mut st, Action::LevelError);
    let errors = screen(&st, 120, 30);
    assert!(errors.contains("≥error"), "{errors}");
    let shown: Vec<_> = st.logs.shown_positions();
    assert!(!shown.is_empty());
    assert!(shown
        .iter()
        .all(|&p| match &st.logs.ring.get(p).unwrap().row {
            watchfloor::store::logs::Row::Line(l) =>
                l.level >= watchfloor::text::logline::Level::Error,
            _ => true,
        }));
    // the volume strip counts errors from the server's volume
    assert!(
        errors.contains("volume ·") && !errors.contains("· 0 error"),
        "{errors}"
    );
    insta::assert_snapshot!("logs_errors_only_120x30", errors);
    update::apply(&mut st, Action::LevelAll);

    // patterns: clustered locally (the demo has no /patterns), counts first
    let cmds = update::apply(&mut st, Action::OpenPatterns);
    assert!(matches!(
        cmds.as_slice(),
        [Command::Logs(LogsCommand::Patterns { .. })]
    ));
    let patterns = screen(&st, 120, 30);
    assert!(
        patterns.contains("Top patterns clustered from retained lines"),
        "{patterns}"
    );
    insta::assert_snapshot!("logs_patterns_120x30", patterns);
    // Enter keeps only lines of that pattern: a line filter on its literal
    let cmds = update::apply(&mut st, Action::PickerSelect);
    let q = plan_query(&cmds);
    assert!(q.starts_with(r#"{namespace="codex-pooler"} |= ""#), "{q}");
    assert!(st.logs.ring.is_empty(), "a new query starts a new ring");
}

#[test]
fn the_detail_view_filters_on_a_field() {
    let mut st = state();
    update::apply(&mut st, Action::FocusLogs);
    // select the newest admission rejection
    update::apply(&mut st, Action::OpenSearch);
    submit(&mut st, "admission rejected");
    update::apply(&mut st, Action::OpenDetail);
    let detail = screen(&st, 120, 30);
    assert!(
        detail.contains("route_class") && detail.contains("trace_id"),
        "{detail}"
    );
    insta::assert_snapshot!("logs_detail_120x30", detail);
    // walk to route_class and press Enter
    let fields = match &st
        .logs
        .ring
        .get(st.logs.ring.index_of(st.logs.selected.unwrap()).unwrap())
        .unwrap()
        .row
    {
        watchfloor::store::logs::Row::Line(l) => watchfloor::features::logs::keys::detail_fields(l),
        _ => unreachable!(),
    };
    let at = fields.iter().position(|f| f.0 == "route_class").unwrap();
    for _ in 0..at {
        update::apply(&mut st, Action::PickerDown);
    }
    let cmds = update::apply(&mut st, Action::PickerSelect);
    assert_eq!(
        plan_query(&cmds),
        r#"{namespace="codex-pooler"} | json | route_class="responses""#
    );
    assert!(st.ui.views.top().is_none(), "the view closed");
}

#[test]
fn the_query_follows_the_target_and_pausing_keeps_the_lines() {
    let mut st = state();
    let n = st.logs.ring.len();
    // pause: the tail stops, lines stay
    let mut st2 = st.clone();
    let before = st2.target.clone();
    st2.target.pinned_end_ms = Some(st2.now_ms);
    let cmds: Vec<Command> = st2
        .logs
        .retarget(&watchfloor::ctx!(st2), &before)
        .into_iter()
        .map(Command::Logs)
        .collect();
    assert_eq!(cmds, vec![Command::Logs(LogsCommand::Stop)]);
    assert_eq!(st2.logs.ring.len(), n);
    // a pod chosen anywhere re-targets the query, escaped
    let before = st.target.clone();
    st.target.pinned_end_ms = None;
    st.target.pod = Some("app-2\"}".into());
    let cmds: Vec<Command> = st
        .logs
        .retarget(&watchfloor::ctx!(st), &before)
        .into_iter()
        .map(Command::Logs)
        .collect();
    assert_eq!(
        plan_query(&cmds),
        r#"{namespace="codex-pooler", pod="app-2\"}"}"#
    );
    // answers of the old generation are dropped
    let old = st.logs.common.gen - 1;
    ev(
        &mut st,
        LogsEvent::Marker {
            gen: old,
            marker: watchfloor::store::logs::Marker {
                count: 5,
                from_ns: 0,
                to_ns: 1,
                why: "x".into(),
                by_limit: false,
            },
        },
    );
    assert_eq!(st.logs.ring.missing, 0);
}

#[test]
fn markers_and_the_ring_cap_show_in_the_pane() {
    let mut st = state();
    let gen = st.logs.common.gen;
    ev(
        &mut st,
        LogsEvent::Marker {
            gen,
            marker: watchfloor::store::logs::Marker {
                count: 1234,
                from_ns: (T0 + 99) * 1_000_000_000,
                to_ns: (T0 + 99) * 1_000_000_000 + 500_000_000,
                why: "dropped by the server's tail and no longer found".into(),
                by_limit: false,
            },
        },
    );
    st.logs.ring.max_lines = 50;
    // one more line pushes the oldest out
    let extra = st.logs.ring.lines().last().unwrap().clone();
    let mut newer = extra;
    newer.ts_ns += 1;
    newer.text = "one more".into();
    let now = st.now_ms;
    ev(
        &mut st,
        LogsEvent::Lines {
            gen,
            at_ms: now,
            lines: vec![newer],
            skewed: 1,
        },
    );
    let s = screen(&st, 120, 30);
    // a line stamped ahead of the clock is stored and counted in the title
    assert!(s.contains("1 future-stamped"), "{s}");
    assert!(
        s.contains("1.23k lines missing") || s.contains("1,234 lines missing"),
        "{s}"
    );
    assert!(s.contains("oldest dropped"), "{s}");
    assert!(
        s.contains("1.23k missing") || s.contains("1,234 missing"),
        "{s}"
    );
}

/// At 80 columns a long query scrolls in the editor's line: the cursor and
/// what is typed stay in view, `…` marks hidden text at either end.
#[test]
fn a_long_query_scrolls_in_the_editor_line() {
    let mut st = state();
    update::apply(&mut st, Action::FocusLogs);
    update::apply(&mut st, Action::EditLogQuery);
    let q = r#"{namespace="codex-pooler", pod=~"app-1|app-2|app-3", container="app"} |= "request completed" | json | status="500""#;
    let last = |st: &State| {
        screen(st, 80, 24)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    if let Some(View::Input { editor, .. }) = st.ui.views.top_mut() {
        editor.set_text(q);
    }
    let line = last(&st);
    assert!(line.starts_with("logql> …"), "{line:?}");
    assert!(
        line.contains(r#"status="500""#),
        "the end is in view: {line:?}"
    );
    // at the start, the start shows and the rest is marked
    if let Some(View::Input { editor, .. }) = st.ui.views.top_mut() {
        editor.cursor = 0;
    }
    let line = last(&st);
    assert!(
        line.starts_with(r#"logql> {namespace="codex-pooler""#),
        "{line:?}"
    );
    assert!(line.trim_end().ends_with('…'), "{line:?}");
}

/// A skewed node's lines sort after the present: while following, the
/// bottom row stays the newest line of the present (the future ones are
/// counted in the title), instead of the pane filling with them.
#[test]
fn following_keeps_the_present_at_the_bottom_when_lines_come_from_the_future() {
    let mut st = state();
    let gen = st.logs.common.gen;
    let now = st.now_ms;
    let newest = st
        .logs
        .ring
        .lines()
        .last()
        .map(|l| l.text.to_string())
        .expect("demo lines");
    let future: Vec<LogLine> = (0..40)
        .map(|i| {
            LogLine::from_entry(
                watchfloor::features::logs::client::Entry {
                    ts_ns: (now + 3_600_000) * 1_000_000 + i,
                    labels: vec![("pod".to_string(), "skewed-node".to_string())].into(),
                    line: format!("an hour ahead {i}"),
                    meta: vec![],
                },
                true,
            )
        })
        .collect();
    ev(
        &mut st,
        LogsEvent::Lines {
            gen,
            at_ms: now,
            lines: future,
            skewed: 40,
        },
    );
    let s = screen(&st, 120, 30);
    assert!(s.contains("40 future-stamped"), "{s}");
    assert!(
        s.contains("request completed"),
        "the present is on screen:\n{s}"
    );
    assert!(!s.contains("an hour ahead"), "{s}");
    let _ = newest;
}

/// The log pane without traps: `/` starts empty and ↑ recalls the last
/// search; the title lists an include filter once (not again inside the
/// query); the selected line is reverse video (it reads on a shared screen
/// and in mono).
#[test]
fn search_starts_empty_filters_show_once_and_the_selection_is_reversed() {
    let mut st = state();
    update::apply(&mut st, Action::OpenSearch);
    submit(&mut st, "rejected");
    update::apply(&mut st, Action::OpenSearch);
    let editor = |st: &State| match st.ui.views.top() {
        Some(View::Input { editor, .. }) => editor.text(),
        other => panic!("no input: {other:?}"),
    };
    assert_eq!(editor(&st), "", "a new search starts empty");
    update::apply(&mut st, Action::InputHistoryPrev);
    assert_eq!(editor(&st), "rejected", "↑ recalls the last search");
    update::apply(&mut st, Action::Close);
    // the selection: reverse video on the line's text
    update::apply(&mut st, Action::FocusLogs);
    update::apply(&mut st, Action::ScrollUp);
    let buf = render(&st, 200, 40);
    let text = buffer_to_text(&buf);
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains('▶'))
        .expect("a selected row");
    let col = line.chars().count() as u16 - 10;
    let cell = &buf[(col.min(100), row as u16)];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::REVERSED),
        "{cell:?} in {line}"
    );
    // the whole row: the marker and the time too
    let marker_col = line.chars().position(|c| c == '▶').unwrap() as u16;
    for c in [marker_col, marker_col + 2] {
        let cell = &buf[(c, row as u16)];
        assert!(
            cell.modifier.contains(ratatui::style::Modifier::REVERSED),
            "column {c}: {cell:?} in {line}"
        );
    }
    // an include filter: in the title once
    update::apply(&mut st, Action::FilterInclude);
    let cmds = submit(&mut st, "upstream");
    assert!(plan_query(&cmds).contains("upstream"));
    let text = screen(&st, 200, 40);
    let title = text
        .lines()
        .find(|l| l.contains("Logs "))
        .expect("the log pane's title");
    assert_eq!(title.matches("upstream").count(), 1, "{title}");
}

/// On a narrow screen the log pane's query is cut in the middle with `…`,
/// not at the border.
#[test]
fn a_narrow_title_cuts_the_query_in_the_middle() {
    let st = state();
    let text = screen(&st, 70, 30);
    let title = text.lines().find(|l| l.contains("Logs ")).unwrap();
    assert!(
        title.contains('…') && title.contains("pooler\"}"),
        "{title}"
    );
}

/// A steady log rate is not drawn as two rows of full blocks: the strip
/// starts near the quietest bucket, so only changes in the rate stand out.
#[test]
fn a_steady_volume_is_not_a_solid_block() {
    let mut st = state();
    let (start, end) = (st.target.start_ms(st.now_ms), st.target.end_ms(st.now_ms));
    let points: Vec<(i64, f64)> = (start..end).step_by(5_000).map(|t| (t, 50.0)).collect();
    st.logs.volume = Some(vec![watchfloor::features::logs::client::MatrixSeries {
        labels: std::sync::Arc::from(vec![("detected_level".to_string(), "info".to_string())]),
        points,
    }]);
    let text = screen(&st, 120, 30);
    let strip: Vec<&str> = text.lines().skip(2).take(2).collect();
    let full = strip[1].matches('█').count();
    assert!(
        full < 20,
        "a steady rate drawn as a solid block:\n{}",
        strip.join("\n")
    );
}
