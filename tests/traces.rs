//! The trace adapters against loopback Jaeger and Tempo servers that write
//! their documented answers (tests/common/traces.rs): one trace served in
//! all four formats decodes to the same span tree; the backend is told
//! apart by its API; a missing trace says why it may be missing.

mod common;

use common::traces::{checkout, checkout_fast, serve_traces, Flavour};
use crossterm::event::KeyCode;
use watchfloor::app::views::View;
use watchfloor::config::Endpoint;
use watchfloor::features::traces::client::{HttpTraces, Kind, TracesBackend};
use watchfloor::features::traces::tree::Trace;

/// A trace as text: every span in the order shown, with what the waterfall
/// and the detail read.
fn canonical(t: &Trace) -> Vec<String> {
    t.order
        .iter()
        .map(|&i| {
            let s = &t.spans[i];
            let r = &s.raw;
            let mut attrs: Vec<String> = r.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            attrs.sort();
            let mut res: Vec<String> = r.resource.iter().map(|(k, v)| format!("{k}={v}")).collect();
            res.sort();
            let events: Vec<String> = r
                .events
                .iter()
                .map(|e| {
                    let a: Vec<String> = e.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{}@{} {}", e.name, e.at_ns, a.join(","))
                })
                .collect();
            format!(
                "{}{} parent={:?} {} {} {} start={} dur={} err={} status={:?} crit={} [{}] [{}] [{}] trace={}",
                "  ".repeat(s.depth as usize),
                r.span_id,
                r.parent_id,
                r.service,
                r.name,
                r.kind,
                r.start_ns,
                r.dur_ns,
                r.error,
                r.status,
                s.critical,
                attrs.join(" "),
                res.join(" "),
                events.join("; "),
                r.trace_id,
            )
        })
        .collect()
}

async fn fetch(flavour: Flavour, kind: Option<Kind>, id: &str) -> Result<Trace, String> {
    let url = serve_traces(flavour, vec![checkout()]).await;
    let b = HttpTraces::new(&Endpoint::plain(&url), kind).unwrap();
    b.trace(id).await.map_err(|e| e.message)
}

#[tokio::test]
async fn one_trace_in_all_four_formats_is_the_same_tree() {
    let id = checkout().hex();
    let v1 = canonical(&fetch(Flavour::Jaeger, None, &id).await.unwrap());
    let want = [
        "000000000000001a parent=None gateway POST /checkout server",
        "  000000000000002b parent=Some(\"000000000000001a\") cart GetCart client",
        "  000000000000003c parent=Some(\"000000000000001a\") payments Charge server",
        "    000000000000004d parent=Some(\"000000000000003c\") payments SELECT ledger internal",
    ];
    assert_eq!(v1.len(), want.len(), "{v1:#?}");
    for (got, w) in v1.iter().zip(want) {
        assert!(got.starts_with(w), "{got}\nwant {w}");
    }
    // what every decoder must carry
    let pay = &v1[2];
    for part in [
        "err=true",
        "status=Some(\"card declined\")",
        "amount=12.5",
        "ledger.seq=9007199254740993",
        "exception@1796519400200000000 exception.message=declined by issuer",
        "telemetry.sdk.language=rust",
        "trace=4bf92f3577b34da6a3ce929d0e0e4736",
        "dur=190000000",
    ] {
        assert!(pay.contains(part), "{part} in {pay}");
    }
    assert!(v1[1].contains("cache.hit=true") && v1[1].contains("cart.items=3"));
    // the critical path: the root, then payments (ends last), then its db
    // call; the cart call was still running when payments began, so the
    // root waited on payments, not on it
    let crit: Vec<bool> = v1.iter().map(|l| l.contains("crit=true")).collect();
    assert_eq!(crit, [true, false, true, true], "{v1:#?}");
    for (flavour, kind) in [
        (Flavour::JaegerV3Only, None),
        (Flavour::Tempo, None),
        (Flavour::TempoV1Only, None),
        (Flavour::Tempo, Some(Kind::Tempo)),
    ] {
        let t = fetch(flavour, kind, &id.to_uppercase()).await.unwrap();
        assert_eq!(canonical(&t), v1, "{flavour:?}");
    }
}

#[tokio::test]
async fn a_missing_trace_says_why_it_may_be_missing() {
    let id = "00000000000000000000000000000bad";
    for flavour in [
        Flavour::Jaeger,
        Flavour::JaegerV3Only,
        Flavour::Tempo,
        Flavour::TempoV1Only,
    ] {
        let e = fetch(flavour, None, id).await.unwrap_err();
        assert_eq!(
            e, "trace not found (not sampled, or past retention)",
            "{flavour:?}"
        );
    }
    // what is not an id is never asked
    let e = fetch(Flavour::Jaeger, None, "4bf9\x1b]0;x\x07")
        .await
        .unwrap_err();
    assert!(
        e.contains("is not a trace id") && !e.contains('\x1b'),
        "{e}"
    );
    // a server that is neither
    let url = common::http::serve(common::http::handler(|_| async {
        common::http::Response::new(404, "text/plain", "404 page not found")
    }))
    .await;
    let b = HttpTraces::new(&Endpoint::plain(&url), None).unwrap();
    let e = b.trace(&checkout().hex()).await.unwrap_err().message;
    assert!(e.contains("the trace API is not there"), "{e}");
    // a proxy's error page: its status and its start, cleaned
    let url = common::http::serve(common::http::handler(|_| async {
        common::http::Response::new(502, "text/html", "<html>bad gateway\x1b]0;x\x07</html>")
    }))
    .await;
    let b = HttpTraces::new(&Endpoint::plain(&url), None).unwrap();
    let e = b.trace(&checkout().hex()).await.unwrap_err();
    assert_eq!(e.status, Some(502));
    assert!(
        e.message
            .starts_with("trace backend answered 502: <html>bad gateway"),
        "{}",
        e.message
    );
    assert!(!e.message.contains('\x1b'), "{:?}", e.message);
}

fn run_once(url: &str, args: &[&str]) -> (i32, String, String) {
    let dir = common::tempdir("traces-once");
    std::fs::write(dir.join("c.toml"), "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .env("WATCHFLOOR_CONFIG", dir.join("c.toml"))
        .env("HOME", &dir)
        .args(["--log-file", dir.join("wf.log").to_str().unwrap()])
        .args(["--traces", url, "--once"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--trace ID --once` prints the waterfall: the tree indented, durations
/// in human units, bars on one axis, the error with its message, the
/// critical path marked; a missing trace exits 2 saying why.
#[test]
fn once_prints_the_waterfall_of_a_trace() {
    let url = common::http::in_thread(|| serve_traces(Flavour::Tempo, vec![checkout()]));
    let id = checkout().hex();
    let (code, out, err) = run_once(&url, &["--trace", &id, "--size", "100x20"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {id}  250ms  4 spans  3 services  1 errors")),
        "{out}"
    );
    let row = |name: &str| *lines.iter().find(|l| l.contains(name)).unwrap_or(&"");
    assert!(
        row("gateway: POST /checkout").starts_with("◆ gateway"),
        "{out}"
    );
    assert!(row("cart: GetCart").starts_with("  cart: GetCart"), "{out}");
    assert!(
        row("payments: Charge").starts_with("  ◆✗ payments"),
        "{out}"
    );
    assert!(
        row("SELECT ledger").starts_with("    ◆ payments: SELECT"),
        "{out}"
    );
    assert!(row("payments: Charge").contains("190ms"), "{out}");
    // bars on one axis: the root spans all of it, payments starts a fifth in
    let bar = |l: &str| l.chars().skip(50).collect::<String>();
    let root = bar(row("gateway"));
    let pay = bar(row("Charge"));
    assert!(
        !root.trim().is_empty() && root.trim_start().len() == root.len(),
        "{out}"
    );
    let lead = pay.chars().take_while(|c| *c == ' ').count();
    let width = root.chars().count();
    assert!(
        (width / 5 - 1..=width / 5 + 1).contains(&lead),
        "{lead} of {width}\n{out}"
    );
    assert!(out.contains("✗ payments: Charge: card declined"), "{out}");
    assert!(lines.iter().all(|l| l.chars().count() <= 100), "{out}");
    let (code, out, err) = run_once(&url, &["--trace", "00000000000000000000000000000bad"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("trace not found (not sampled, or past retention)"),
        "{err}"
    );
}

use std::sync::Arc;
use tokio::sync::mpsc::Receiver;
use watchfloor::app::run::{configure_logs, configure_traces, Backends, Tasks};
use watchfloor::app::update::{self, Event};
use watchfloor::app::{Action, SourceEvent, State};

/// A log pane (focused, following) holding `texts` as lines a second
/// apart, the newest last, and a loopback Tempo serving the checkout trace
/// and its fast twin.
async fn logs_with_traces(texts: &[String]) -> (State, Tasks, Receiver<SourceEvent>) {
    use watchfloor::features::logs::client::wire::{labels_of, Entry};
    use watchfloor::features::logs::{LogsEvent, TailMode};
    use watchfloor::store::logs::LogLine;
    let url = serve_traces(Flavour::Tempo, vec![checkout_fast(), checkout()]).await;
    let mut st = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    st.metrics.common.configured = false;
    configure_logs(&mut st, "loki", "http://loki:3100", true);
    configure_traces(&mut st, &url, None).unwrap();
    update::update(&mut st, Event::Resize(120, 40));
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let backend = HttpTraces::new(&Endpoint::plain(&url), None).unwrap();
    let tasks = Tasks::new(
        Backends {
            traces: Some(Arc::new(backend)),
            ..Default::default()
        },
        tx,
        1.0,
    );
    let _ = update::start(&mut st);
    let gen = st.logs.common.gen;
    let now = st.now_ms;
    let n = texts.len() as i64;
    let lines = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            LogLine::from_entry(
                Entry {
                    ts_ns: (now - (n - i as i64) * 1000) * 1_000_000,
                    labels: labels_of([("pod".to_string(), "gateway-1".to_string())].into()),
                    line: text.clone(),
                    meta: vec![],
                },
                true,
            )
        })
        .collect();
    for e in [
        LogsEvent::Status {
            gen,
            at_ms: now,
            mode: TailMode::Tailing,
            error: None,
            requests: 1,
            note: None,
        },
        LogsEvent::Lines {
            gen,
            at_ms: now,
            lines,
            skewed: 0,
        },
    ] {
        update::update(&mut st, Event::Source(SourceEvent::Logs(e)));
    }
    update::apply(&mut st, Action::FocusLogs);
    (st, tasks, rx)
}

fn screen(st: &State) -> String {
    watchfloor::export::buffer_to_text(&watchfloor::ui::render(st, 120, 40))
}

/// A key through `update`, as the terminal sends it: its commands.
fn press(st: &mut State, code: crossterm::event::KeyCode) -> Vec<watchfloor::app::Command> {
    let k = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
    update::update(st, Event::Key(k)).0
}

/// How many new plans of the log pane the commands start.
fn log_plans(cmds: &[watchfloor::app::Command]) -> usize {
    cmds.iter()
        .filter(|c| {
            matches!(
                c,
                watchfloor::app::Command::Logs(watchfloor::features::logs::LogsCommand::Start(_))
            )
        })
        .count()
}

/// `t` on the selected line, then the tasks until the trace is there.
async fn open(st: &mut State, tasks: &mut Tasks, rx: &mut Receiver<SourceEvent>) {
    let cmds = update::apply(st, Action::OpenTrace);
    tasks.exec(cmds);
    assert!(
        common::drive(st, tasks, rx, std::time::Duration::from_secs(20), |s| {
            s.traces.trace.is_some() && s.traces.loading.is_none()
        })
        .await
    );
}

/// The jump from a log line to its trace, in process: `t` on a line with a
/// `trace_id` opens the trace view over the waterfall, the trace read from
/// a loopback Tempo; the selected span's detail shows its error, attributes
/// and events; Enter folds a subtree and unfolds it; Esc goes back to the
/// log pane with its focus; a line without an id says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_on_a_log_line_opens_its_trace_and_esc_comes_back() {
    let id = checkout().hex();
    let (mut st, mut tasks, mut rx) = logs_with_traces(&[
        "level=info msg=\"no id here\"".to_string(),
        format!(r#"{{"level":"error","msg":"checkout failed","trace_id":"{id}"}}"#),
    ])
    .await;
    // `t` on the newest line: the view opens and the trace is asked for
    let cmds = update::apply(&mut st, Action::OpenTrace);
    assert_eq!(st.trace_id.as_deref(), Some(id.as_str()));
    tasks.exec(cmds);
    assert!(
        screen(&st).contains("asking the trace backend"),
        "{}",
        screen(&st)
    );
    assert!(
        common::drive(
            &mut st,
            &mut tasks,
            &mut rx,
            std::time::Duration::from_secs(20),
            |s| { s.traces.trace.is_some() }
        )
        .await
    );
    let s = screen(&st);
    assert!(
        s.contains(&format!("Trace {id}")) && s.contains("4 spans"),
        "{s}"
    );
    for row in [
        "◆ gateway: POST /checkout",
        "cart: GetCart",
        "◆✗ payments: Charge",
        "SELECT ledger",
    ] {
        assert!(s.contains(row), "{row}\n{s}");
    }
    // the payments span selected: its detail
    update::apply(&mut st, Action::PickerDown);
    update::apply(&mut st, Action::PickerDown);
    let s = screen(&st);
    for part in [
        "✗ card declined",
        "ledger.seq=9007199254740993",
        "exception exception.message=declined by issuer",
        "critical path",
    ] {
        assert!(s.contains(part), "{part}\n{s}");
    }
    // Enter folds payments (its db call hidden), again unfolds it
    update::apply(&mut st, Action::PickerSelect);
    assert!(!screen(&st).contains("SELECT ledger"), "{}", screen(&st));
    update::apply(&mut st, Action::PickerSelect);
    assert!(screen(&st).contains("SELECT ledger"));
    // Esc: back to the log pane, focused as before
    update::apply(&mut st, Action::Close);
    assert!(st.ui.views.top().is_none());
    assert_eq!(st.ui.focused, watchfloor::app::state::Focus::Logs);
    assert!(!screen(&st).contains("Trace 4bf9"));
    // a line with no id
    update::apply(&mut st, Action::ScrollUp);
    let cmds = update::apply(&mut st, Action::OpenTrace);
    assert!(cmds.is_empty() && st.ui.views.top().is_none());
    assert!(
        screen(&st).contains("no trace id in this line"),
        "{}",
        screen(&st)
    );
    // back to the traced line and its trace (already read: nothing asked),
    // then `l`: the log pane filtered to the trace id, paused over the
    // trace's time ± 30 s
    update::apply(&mut st, Action::ScrollDown);
    let cmds = update::apply(&mut st, Action::OpenTrace);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(screen(&st).contains(&format!("Trace {id}")));
    // as a key, so that the re-target at the end of `update` is in it
    let cmds = press(&mut st, KeyCode::Char('l'));
    assert!(st.ui.views.top().is_none());
    assert_eq!(st.ui.focused, watchfloor::app::state::Focus::Logs);
    let t = st.traces.trace.clone().unwrap();
    assert_eq!(st.target.pinned_end_ms, Some(t.end_ns / 1_000_000 + 30_000));
    assert_eq!(st.target.range_secs, 61);
    let query = cmds
        .iter()
        .find_map(|c| match c {
            watchfloor::app::Command::Logs(watchfloor::features::logs::LogsCommand::Start(p)) => {
                Some(p.query.clone())
            }
            _ => None,
        })
        .expect("a new logs plan");
    assert!(query.ends_with(&format!("|= \"{id}\"")), "{query}");
    // asked once, not once for the filter and again for the window
    assert_eq!(log_plans(&cmds), 1, "{cmds:?}");
    assert!(screen(&st).contains("back to the trace"), "{}", screen(&st));
    // Esc: back to the trace as it was, the window and filters as before
    let pinned = st.target.pinned_end_ms;
    let cmds = press(&mut st, KeyCode::Esc);
    assert_eq!(log_plans(&cmds), 1, "{cmds:?}");
    assert!(
        matches!(st.ui.views.top(), Some(View::Trace { .. })),
        "{:?}",
        st.ui.views.top()
    );
    assert!(st.target.pinned_end_ms.is_none() && pinned.is_some());
    assert_eq!(st.target.range_secs, 300);
    assert!(st.logs.filters.is_empty(), "{:?}", st.logs.filters);
    assert!(cmds.iter().any(|c| matches!(
        c,
        watchfloor::app::Command::Logs(watchfloor::features::logs::LogsCommand::Start(p))
            if !p.query.contains(&id)
    )));
    // Esc again: the trace view closes, focus back on the logs
    update::apply(&mut st, Action::Close);
    assert!(st.ui.views.top().is_none());
    assert_eq!(st.ui.focused, watchfloor::app::state::Focus::Logs);
}

/// The demo serves the traces its log lines name: `--demo --trace ID`
/// with the id of a demo error line prints a trace whose root ends when the
/// line was written and whose error says what the line says.
#[test]
fn the_demo_serves_the_trace_of_its_error_lines() {
    let dir = common::tempdir("traces-demo");
    std::fs::write(dir.join("none.toml"), "").unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .env("WATCHFLOOR_CONFIG", dir.join("none.toml"))
            .env("HOME", &dir)
            .args(["--log-file", dir.join("wf.log").to_str().unwrap(), "--demo"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (_, logs) = run(&[
        "logs", "--since", "15m", "--limit", "5000", "--output", "jsonl",
    ]);
    let line: serde_json::Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["line"]
                .as_str()
                .is_some_and(|l| l.contains("\"level\":\"error\"") && l.contains("trace_id"))
        })
        .unwrap_or_else(|| panic!("no demo error line with a trace id in:\n{logs}"));
    let text: serde_json::Value = serde_json::from_str(line["line"].as_str().unwrap()).unwrap();
    let (id, msg, time) = (
        text["trace_id"].as_str().unwrap(),
        text["msg"].as_str().unwrap(),
        text["time"].as_str().unwrap(),
    );
    let (code, out) = run(&["--trace", id, "--once", "--size", "120x20"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with(&format!("trace {id}")), "{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert!(
        !errors.is_empty() && errors.iter().all(|l| l.ends_with(&format!(": {msg}"))),
        "{msg}\n{out}"
    );
    // the same id, the same trace
    assert_eq!(run(&["--trace", id, "--once", "--size", "120x20"]).1, out);
    // the root ends at the line's time: checked through the decoder's view
    let backend = watchfloor::demo::traces::DemoTraces::new(1, "beam");
    let t = backend.trace_of(id).expect("the demo knows its own id");
    let end_ms = chrono::DateTime::parse_from_rfc3339(time)
        .unwrap()
        .timestamp_millis();
    assert_eq!(t.end_ns / 1_000_000, end_ms);
    assert!(backend
        .trace_of("4bf92f3577b34da6a3ce929d0e0e4736")
        .is_none());
}

/// `c` marks the trace in view as the baseline; on another trace, `c`
/// opens the two side by side per service and operation, the largest
/// difference first; Esc goes back to the trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_compares_a_slow_trace_with_a_fast_one() {
    let (slow, fast) = (checkout().hex(), checkout_fast().hex());
    let (mut st, mut tasks, mut rx) = logs_with_traces(&[
        format!("level=error msg=\"checkout failed\" trace_id={slow}"),
        format!("level=info msg=\"checkout done\" trace_id={fast}"),
    ])
    .await;
    // the newest line: the fast trace, marked
    open(&mut st, &mut tasks, &mut rx).await;
    assert_eq!(st.traces.trace.as_ref().unwrap().id, fast);
    update::apply(&mut st, Action::TraceCompare);
    assert!(screen(&st).contains("baseline marked"), "{}", screen(&st));
    assert!(matches!(st.ui.views.top(), Some(View::Trace { .. })));
    // c again on the same trace: still only marked
    update::apply(&mut st, Action::TraceCompare);
    assert!(matches!(st.ui.views.top(), Some(View::Trace { .. })));
    // the older line: the slow trace, compared with the fast one
    update::apply(&mut st, Action::Close);
    update::apply(&mut st, Action::ScrollUp);
    open(&mut st, &mut tasks, &mut rx).await;
    assert_eq!(st.traces.trace.as_ref().unwrap().id, slow);
    update::apply(&mut st, Action::TraceCompare);
    assert!(matches!(st.ui.views.top(), Some(View::TraceCompare { .. })));
    let s = screen(&st);
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with('│') && l.contains(": ") && !l.contains("service: operation"))
        .collect();
    // equal differences by name
    assert!(
        rows[0].contains("gateway: POST /checkout") && rows[0].contains("+170ms"),
        "{s}"
    );
    assert!(
        rows[1].contains("payments: Charge") && rows[1].contains("+170ms"),
        "{s}"
    );
    assert!(
        rows[2].contains("payments: SELECT ledger") && rows[2].contains("+25ms"),
        "{s}"
    );
    update::apply(&mut st, Action::Close);
    assert!(matches!(st.ui.views.top(), Some(View::Trace { .. })));
}

/// `--traces k8s://obs/svc/tempo:3200`: the trace is read through the
/// fake API server's port-forward to the loopback Tempo, no kubectl.
#[test]
fn a_trace_is_read_through_a_port_forward() {
    use common::kube::{pod, FakeKube};
    use serde_json::json;
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("traces-fwd");
    let cfg = fake.kubeconfig(&dir, None);
    let tempo = common::http::in_thread(|| serve_traces(Flavour::Tempo, vec![checkout()]));
    let addr: std::net::SocketAddr = tempo.trim_start_matches("http://").parse().unwrap();
    fake.put_service(
        "obs",
        "tempo",
        &[("app", "tempo")],
        &[("http", 3200, json!(3200))],
    );
    let mut p = pod(
        &[(
            "tempo",
            json!({"state": {"running": {"startedAt": "2026-12-06T00:00:00Z"}}}),
        )],
        "Running",
    );
    p["metadata"]["labels"] = json!({"app": "tempo"});
    fake.put_pod("obs", "tempo-0", p);
    fake.set_backend("obs", "tempo-0", 3200, addr);
    std::fs::write(dir.join("c.toml"), "").unwrap();
    let id = checkout().hex();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .env("WATCHFLOOR_CONFIG", dir.join("c.toml"))
        .env("HOME", &dir)
        .env_remove("KUBECONFIG")
        .args([
            "--log-file",
            dir.join("wf.log").to_str().unwrap(),
            "--kubeconfig",
        ])
        .arg(&cfg)
        .args(["--traces", "k8s://obs/svc/tempo:3200", "--trace", &id])
        .args(["--once", "--size", "100x20", "--once-timeout", "60s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(
        text.starts_with(&format!("trace {id}  250ms  4 spans")),
        "{text}"
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.contains("/pods/tempo-0/portforward?&ports=3200")),
        "{:?}",
        fake.requests()
    );
}

/// Search, as each backend answers it: Tempo's TraceQL finds the traces
/// carrying a span attribute (its ids without leading zeros, normalised);
/// Jaeger's whole traces are summarised (spans, errors) and it is told a
/// service, or the search says why it cannot.
#[tokio::test]
async fn traces_are_found_by_a_span_attribute_in_both_backends() {
    use watchfloor::features::traces::client::search::Query;
    let q = |service: Option<&str>| Query {
        tag: Some(("thread_id".into(), "th-42".into())),
        service: None,
        operation: None,
        service_guess: service.map(str::to_string),
        start_ms: 0,
        end_ms: 2_000_000_000_000,
        limit: 20,
        errors_only: false,
        min_ms: None,
    };
    let tempo = serve_traces(Flavour::Tempo, vec![checkout_fast(), checkout()]).await;
    let b = HttpTraces::new(&Endpoint::plain(&tempo), None).unwrap();
    let hits = b.search(&q(None)).await.unwrap();
    // both carry th-42: slowest first
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [checkout().hex(), checkout_fast().hex()]);
    assert_eq!(
        (hits[0].service.as_str(), hits[0].name.as_str()),
        ("gateway", "POST /checkout")
    );
    assert_eq!(hits[0].dur_ms, 250.0);
    let none = b
        .search(&Query {
            tag: Some(("thread_id".into(), "th-0".into())),
            ..q(None)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let jaeger = serve_traces(Flavour::Jaeger, vec![checkout_fast(), checkout()]).await;
    let b = HttpTraces::new(&Endpoint::plain(&jaeger), None).unwrap();
    let e = b.search(&q(None)).await.unwrap_err();
    assert!(e.message.contains("one service at a time"), "{}", e.message);
    let hits = b.search(&q(Some("payments"))).await.unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!((hits[0].spans, hits[0].errors), (Some(4), Some(1)));
    assert_eq!((hits[1].spans, hits[1].errors), (Some(4), Some(0)));
    // errors only, and at least 100ms: each backend is asked for it (the
    // fakes filter as Tempo's TraceQL and Jaeger's tags/minDuration do)
    let slow_only = vec![checkout().hex()];
    for (url, service) in [(&tempo, None), (&jaeger, Some("payments"))] {
        let b = HttpTraces::new(&Endpoint::plain(url), None).unwrap();
        for q in [
            Query {
                errors_only: true,
                ..q(service)
            },
            Query {
                min_ms: Some(100),
                ..q(service)
            },
        ] {
            let hits = b.search(&q).await.unwrap();
            let ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
            assert_eq!(ids, slow_only, "{url} {q:?}");
        }
        // an operation of a service: payments' Charge is in both;
        // GetCart is the cart's, not payments'
        let op = |o: &str| Query {
            tag: None,
            service: Some("payments".into()),
            operation: Some(o.into()),
            ..q(service)
        };
        assert_eq!(b.search(&op("Charge")).await.unwrap().len(), 2, "{url}");
        assert!(b.search(&op("GetCart")).await.unwrap().is_empty(), "{url}");
    }
}

/// `ctrl-t` on a line with a `thread_id` lists the traces carrying it,
/// slowest first; Enter opens one; Esc comes back to the list, then to
/// the logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lines_thread_id_lists_its_traces() {
    let (mut st, mut tasks, mut rx) = logs_with_traces(&[
        "level=info msg=\"no thread\"".to_string(),
        r#"{"level":"info","msg":"turn done","thread_id":"th-42"}"#.to_string(),
    ])
    .await;
    let cmds = update::apply(&mut st, Action::TraceSearch);
    assert!(matches!(st.ui.views.top(), Some(View::TraceList { .. })));
    tasks.exec(cmds);
    assert!(
        common::drive(
            &mut st,
            &mut tasks,
            &mut rx,
            std::time::Duration::from_secs(20),
            |s| { s.traces.search.as_ref().is_some_and(|s| s.result.is_some()) }
        )
        .await
    );
    let s = screen(&st);
    assert!(
        s.contains("Traces of thread_id=th-42, last 5m, slowest first"),
        "{s}"
    );
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("gateway: POST /checkout"))
        .collect();
    assert_eq!(rows.len(), 2, "{s}");
    assert!(rows[0].contains("250ms") && rows[1].contains("80ms"), "{s}");
    // e: errors only (the slow one failed), asked again; e: all again; m:
    // at least 100ms; w: further back than the window
    let found = |st: &State| {
        st.traces
            .search
            .as_ref()
            .and_then(|s| s.result.as_ref())
            .and_then(|r| r.as_ref().ok())
            .map(|v| v.iter().map(|t| t.id.clone()).collect::<Vec<_>>())
    };
    let mut refine = async |st: &mut State, key: char| {
        let cmds = press(st, KeyCode::Char(key));
        assert!(matches!(st.ui.views.top(), Some(View::TraceList { .. })));
        tasks.exec(cmds);
        assert!(
            common::drive(
                st,
                &mut tasks,
                &mut rx,
                std::time::Duration::from_secs(20),
                |s| { s.traces.search.as_ref().is_some_and(|s| s.result.is_some()) }
            )
            .await
        );
        (found(st).unwrap_or_default(), screen(st))
    };
    let (ids, s) = refine(&mut st, 'e').await;
    assert_eq!(ids, [checkout().hex()], "{s}");
    assert!(s.contains("thread_id=th-42, errors only, last 5m"), "{s}");
    let (ids, _) = refine(&mut st, 'e').await;
    assert_eq!(ids.len(), 2);
    // m: at least 100ms (the 80ms one goes), then 500ms (none)
    let (ids, s) = refine(&mut st, 'm').await;
    assert_eq!(ids, [checkout().hex()], "{s}");
    assert!(s.contains("≥ 100ms"), "{s}");
    let (ids, s) = refine(&mut st, 'm').await;
    assert!(ids.is_empty() && s.contains("no trace found"), "{s}");
    // w: an hour back, then the window again
    let (_, s) = refine(&mut st, 'w').await;
    assert!(s.contains("last 1h"), "{s}");
    for _ in 0..4 {
        refine(&mut st, 'w').await;
    }
    // m past 5s: any duration again
    for _ in 0..2 {
        refine(&mut st, 'm').await;
    }
    let (ids, s) = refine(&mut st, 'm').await;
    assert!(s.contains("last 5m") && !s.contains('≥'), "{s}");
    assert_eq!(ids.len(), 2, "{s}");
    // the second (fast) one opened
    update::apply(&mut st, Action::PickerDown);
    let cmds = update::apply(&mut st, Action::PickerSelect);
    tasks.exec(cmds);
    assert!(
        common::drive(
            &mut st,
            &mut tasks,
            &mut rx,
            std::time::Duration::from_secs(20),
            |s| { s.traces.trace.is_some() && s.traces.loading.is_none() }
        )
        .await
    );
    assert_eq!(st.traces.trace.as_ref().unwrap().id, checkout_fast().hex());
    assert!(screen(&st).contains(&format!("Trace {}", checkout_fast().hex())));
    update::apply(&mut st, Action::Close);
    assert!(matches!(
        st.ui.views.top(),
        Some(View::TraceList { index: 1 })
    ));
    update::apply(&mut st, Action::Close);
    assert!(st.ui.views.top().is_none());
    // a line without a thread id
    update::apply(&mut st, Action::ScrollUp);
    let cmds = update::apply(&mut st, Action::TraceSearch);
    assert!(cmds.is_empty() && st.ui.views.top().is_none());
    assert!(screen(&st).contains("no thread_id or turn_id in this line"));
}

/// The demo finds the traces of a conversation: every trace it lists for a
/// `thread_id` carries it, slowest first.
#[tokio::test]
async fn the_demo_finds_the_traces_of_a_thread() {
    use watchfloor::features::traces::client::search::Query;
    let demo = watchfloor::demo::traces::DemoTraces::new(1, "beam");
    let now = watchfloor::core::now_ms();
    let q = Query {
        tag: Some(("thread_id".into(), "thr_65f009".into())),
        service: None,
        operation: None,
        service_guess: Some("not-a-service".into()),
        start_ms: now - 300_000,
        end_ms: now,
        limit: 50,
        errors_only: false,
        min_ms: None,
    };
    let hits = demo.search(&q).await.unwrap();
    assert!(hits.len() > 3, "{hits:?}");
    // a limit keeps the slowest of all, not the first found
    let few = demo
        .search(&Query {
            limit: 2,
            errors_only: false,
            min_ms: None,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(few, hits[..2]);
    assert!(hits.windows(2).all(|w| w[0].dur_ms >= w[1].dur_ms));
    for h in &hits {
        let t = demo.trace(&h.id).await.unwrap();
        let root = &t.spans[t.roots[0]].raw;
        assert!(
            root.attrs
                .iter()
                .any(|(k, v)| &**k == "thread_id" && v == "thr_65f009"),
            "{:?}",
            root.attrs
        );
        assert_eq!(h.dur_ms, t.duration_ns() as f64 / 1e6);
    }
}

/// A trace view under another trace (`s`, Enter on a second trace, Esc,
/// Esc) shows its own trace again, not the one opened last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_back_to_a_trace_view_shows_its_own_trace() {
    let id = checkout().hex();
    let (mut st, mut tasks, mut rx) = logs_with_traces(&[format!(
        r#"{{"level":"error","msg":"checkout failed","trace_id":"{id}"}}"#
    )])
    .await;
    let loaded = |want: String| {
        move |s: &State| {
            s.traces.loading.is_none() && s.traces.trace.as_ref().is_some_and(|t| t.id == want)
        }
    };
    let wait = std::time::Duration::from_secs(20);
    tasks.exec(update::apply(&mut st, Action::OpenTrace));
    assert!(common::drive(&mut st, &mut tasks, &mut rx, wait, loaded(id.clone())).await);
    // s: the root service's traces (both checkouts), slowest first
    tasks.exec(update::apply(&mut st, Action::TraceSearch));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, wait, |s| {
            s.traces.search.as_ref().is_some_and(|s| s.result.is_some())
        })
        .await
    );
    update::apply(&mut st, Action::PickerDown);
    tasks.exec(update::apply(&mut st, Action::PickerSelect));
    let fast = checkout_fast().hex();
    assert!(common::drive(&mut st, &mut tasks, &mut rx, wait, loaded(fast.clone())).await);
    // Esc: the list; Esc: the first trace view, with the first trace
    tasks.exec(update::apply(&mut st, Action::Close));
    assert!(matches!(st.ui.views.top(), Some(View::TraceList { .. })));
    tasks.exec(update::apply(&mut st, Action::Close));
    assert!(matches!(st.ui.views.top(), Some(View::Trace { .. })));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, wait, loaded(id.clone())).await,
        "shows {:?}",
        st.traces.trace.as_ref().map(|t| t.id.clone())
    );
    assert!(screen(&st).contains(&format!("Trace {id}")));
}
