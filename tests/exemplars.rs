//! Metric → trace and metric → logs.
//!
//! A real `prometheus --enable-feature=exemplar-storage` scrapes a fixture
//! exporter that serves an OpenMetrics histogram with exemplars; the
//! latency chart reads them from `/api/v1/query_exemplars`, marks them, and
//! `x` opens the trace of the one nearest the cursor from a loopback
//! Jaeger. The demo does the same with its own exemplars, and `L` pins the
//! log pane at the cursor, or around a kill, and Esc comes back.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::traces::{checkout, checkout_fast, serve_traces, Flavour};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchfloor::app::run::{configure_logs, configure_traces, Backends, Tasks};
use watchfloor::app::state::Focus;
use watchfloor::app::update::{self, Event};
use watchfloor::app::views::View;
use watchfloor::app::{SourceEvent, State};
use watchfloor::config::Endpoint;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::features::traces::client::HttpTraces;

/// An exporter of one OpenMetrics histogram: every scrape adds 10 fast
/// requests and 1 slow one, and the fast bucket and the slow bucket each
/// carry an exemplar stamped now with the given trace ids.
async fn exporter(fast_id: String, slow_id: String) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let scrapes = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
            let (fast_id, slow_id) = (fast_id.clone(), slow_id.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got += k,
                    }
                }
                let ts = watchfloor::core::now_ms() as f64 / 1000.0;
                let body = format!(
                    "# TYPE http_request_duration_seconds histogram\n\
                     # HELP http_request_duration_seconds Request latency.\n\
                     http_request_duration_seconds_bucket{{le=\"0.1\"}} {} # {{trace_id=\"{fast_id}\"}} 0.05 {ts:.3}\n\
                     http_request_duration_seconds_bucket{{le=\"0.5\"}} {}\n\
                     http_request_duration_seconds_bucket{{le=\"1.0\"}} {} # {{trace_id=\"{slow_id}\"}} 0.8 {ts:.3}\n\
                     http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
                     http_request_duration_seconds_count {}\n\
                     http_request_duration_seconds_sum {}\n\
                     # EOF\n",
                    10 * n,
                    10 * n,
                    11 * n,
                    11 * n,
                    11 * n,
                    n as f64 * 1.3
                );
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    port
}

fn key(st: &mut State, code: KeyCode) -> Vec<watchfloor::app::Command> {
    update::update(st, Event::Key(KeyEvent::new(code, KeyModifiers::NONE))).0
}

fn screen(st: &State) -> String {
    watchfloor::export::buffer_to_text(&watchfloor::ui::render(st, 200, 50))
}

async fn until(
    st: &mut State,
    tasks: &mut Tasks,
    rx: &mut tokio::sync::mpsc::Receiver<SourceEvent>,
    secs: u64,
    done: impl FnMut(&State) -> bool,
) -> bool {
    common::drive(st, tasks, rx, Duration::from_secs(secs), done).await
}

/// The trace of the exemplar nearest the cursor (no cursor: the end), the
/// slower of two as near, read from a real Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_opens_the_trace_of_a_real_prometheus_exemplar() {
    if !common::require("prometheus") {
        return;
    }
    let (slow, fast) = (checkout(), checkout_fast());
    let traces_url = serve_traces(Flavour::Jaeger, vec![fast.clone(), slow.clone()]).await;
    let ex_port = exporter(fast.hex(), slow.hex()).await;
    let dir = common::tempdir("exemplars");
    let data = dir.join("tsdb");
    std::fs::create_dir_all(&data).unwrap();
    let port = common::free_port();
    let scrape = format!(
        "scrape_configs:\n  - job_name: fixture\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{ex_port}']\n"
    );
    let prom = common::Prom::start_full(
        &data,
        port,
        "",
        &scrape,
        &["--enable-feature=exemplar-storage"],
    );

    let mut st = common::state(300, 1.0, "prom", &prom.url);
    st.target.namespace = None;
    st.target.job = Some("fixture".into());
    st.metrics.dashboard = Some(watchfloor::dashboard::Dashboard::builtin("http").unwrap());
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    configure_traces(&mut st, &traces_url, None).unwrap();
    update::update(&mut st, Event::Resize(200, 50));
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let mut tasks = Tasks::new(
        Backends {
            metrics: Some(Arc::new(
                PrometheusClient::new(&Endpoint::plain(&prom.url))
                    .unwrap()
                    .0,
            )),
            traces: Some(Arc::new(
                HttpTraces::new(&Endpoint::plain(&traces_url), None).unwrap(),
            )),
            ..Default::default()
        },
        tx,
        1.0,
    );
    tasks.exec(update::start(&mut st));
    // both exemplars of one scrape are held (the chart's answers bring them)
    let both = |s: &State| {
        let ids: Vec<&str> = ["admission.p95"]
            .iter()
            .flat_map(|k| s.metrics.exemplars.of(k))
            .map(|e| e.trace_id.as_str())
            .collect();
        ids.contains(&slow.hex().as_str()) && ids.contains(&fast.hex().as_str())
    };
    let ok = until(&mut st, &mut tasks, &mut rx, 90, both).await;
    assert!(
        ok,
        "no exemplars of both traces: held {:?}, errors {:?}, queries {:?}",
        st.metrics.exemplars.of("admission.p95"),
        st.metrics.exemplars.errors,
        st.metrics
            .queries
            .iter()
            .map(|q| (&q.key, &q.expr))
            .collect::<Vec<_>>()
    );
    let e = st.metrics.exemplars.of("admission.p95");
    let slow_mark = e.iter().find(|e| e.trace_id == slow.hex()).unwrap();
    assert_eq!(slow_mark.value, 0.8, "the value as the exporter wrote it");
    let s = screen(&st);
    assert!(s.contains("trace (x)"), "the chart names its marks:\n{s}");

    // x: the slow one (as near as the fast one: the slower wins)
    tasks.exec(key(&mut st, KeyCode::Char('x')));
    assert!(matches!(st.ui.views.top(), Some(View::Trace { .. })));
    let ok = until(&mut st, &mut tasks, &mut rx, 20, |s| {
        s.traces.trace.is_some() && s.traces.loading.is_none()
    })
    .await;
    assert!(ok, "the trace did not load: {:?}", st.traces.error);
    let t = st.traces.trace.as_ref().unwrap();
    assert_eq!(t.id, slow.hex());
    assert!(screen(&st).contains("checkout"), "{}", screen(&st));
}

/// A demo run with real tasks: metrics, logs, the cluster and traces.
async fn demo() -> (State, Tasks, tokio::sync::mpsc::Receiver<SourceEvent>) {
    let demo = watchfloor::demo::DemoSource::with_preset(1, "beam");
    let mut st = common::state(900, 1.0, "demo", "embedded simulation");
    st.target.namespace = Some(demo.story().namespace().into());
    st.metrics.dashboard =
        Some(watchfloor::dashboard::Dashboard::builtin(demo.story().dashboard()).unwrap());
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    configure_logs(&mut st, "demo", "embedded simulation", true);
    watchfloor::app::run::configure_kube(&mut st, None, false);
    configure_traces(&mut st, "embedded simulation", None).unwrap();
    update::update(&mut st, Event::Resize(200, 50));
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let mut tasks = Tasks::new(
        Backends {
            metrics: Some(Arc::new(demo)),
            logs: Some(Arc::new(watchfloor::demo::logs::DemoLogs::new(1, "beam"))),
            kube: Some(watchfloor::features::kube::KubeBackend::Simulated(
                Arc::new(watchfloor::demo::DemoSource::with_preset(1, "beam")),
            )),
            traces: Some(Arc::new(watchfloor::demo::traces::DemoTraces::new(
                1, "beam",
            ))),
            ..Default::default()
        },
        tx,
        1.0,
    );
    tasks.exec(update::start(&mut st));
    let ok = until(&mut st, &mut tasks, &mut rx, 30, |s| {
        s.metrics.exemplars.any() && !s.marks.is_empty() && !s.logs.ring.is_empty()
    })
    .await;
    assert!(
        ok,
        "demo: exemplars {} marks {} lines {}",
        st.metrics.exemplars.any(),
        st.marks.len(),
        st.logs.ring.len()
    );
    (st, tasks, rx)
}

/// The demo's latency chart marks the traces of its lines; `x` at the
/// cursor opens the one marked there, and the trace is as long as the
/// mark is high.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_marks_its_traces_on_the_latency_chart() {
    let (mut st, mut tasks, mut rx) = demo().await;
    let s = screen(&st);
    assert!(s.contains("trace (x)"), "{s}");
    // the cursor three steps back: the mark nearest it
    for _ in 0..3 {
        key(&mut st, KeyCode::Left);
    }
    let at = st.cursor_ms.expect("a cursor");
    let (start, end) = (st.target.start_ms(st.now_ms), st.target.end_ms(st.now_ms));
    let (want_id, want_s) = {
        let (_, e) = st.metrics.exemplar_near(at, start, end).expect("a mark");
        (e.trace_id.clone(), e.value)
    };
    tasks.exec(key(&mut st, KeyCode::Char('x')));
    let ok = until(&mut st, &mut tasks, &mut rx, 20, |s| {
        s.traces.trace.is_some() && s.traces.loading.is_none()
    })
    .await;
    assert!(ok, "{:?}", st.traces.error);
    let t = st.traces.trace.as_ref().unwrap();
    assert_eq!(t.id, want_id);
    assert!(
        (t.duration_ns() as f64 / 1e9 - want_s).abs() < 1e-6,
        "the mark's height is the trace's length"
    );
}

/// `L` at the cursor: the log pane over the cursor ± a step, paused, with
/// the focus; Esc: the window, focus and cursor from before. On the
/// Kubernetes pane: the pod of the kill nearest the cursor, from a minute
/// before it. Without a cursor on a chart pane: it says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l_pins_the_logs_at_the_cursor_or_a_kill_and_esc_comes_back() {
    let (mut st, mut tasks, mut rx) = demo().await;
    st.ui.focused = Focus::Pane(0);
    let before = st.target.clone();
    let cmds = key(&mut st, KeyCode::Char('L'));
    assert!(cmds.is_empty());
    assert!(
        st.ui
            .message
            .as_ref()
            .is_some_and(|m| m.0.contains("cursor")),
        "{:?}",
        st.ui.message
    );
    for _ in 0..5 {
        key(&mut st, KeyCode::Left);
    }
    let at = st.cursor_ms.unwrap();
    let step = st.metrics.step_secs as i64 * 1000;
    let half = step.max(10_000);
    let cmds = key(&mut st, KeyCode::Char('L'));
    tasks.exec(cmds);
    assert_eq!(st.target.pinned_end_ms, Some(at + half));
    assert_eq!(st.target.range_secs as i64 * 1000, 2 * half);
    assert_eq!(st.ui.focused, Focus::Logs);
    assert_eq!(st.target.pod, before.pod);
    // the lines of that moment arrive, none outside it
    let (from_ns, to_ns) = ((at - half) * 1_000_000, (at + half) * 1_000_000);
    let ok = until(&mut st, &mut tasks, &mut rx, 20, |s| {
        !s.logs.ring.is_empty()
            && s.logs.ring.rows().iter().all(|l| {
                let t = l.row.ts_ns();
                t >= from_ns && t <= to_ns
            })
    })
    .await;
    assert!(ok, "the log pane did not show that moment alone");
    // Esc: back where it was
    tasks.exec(key(&mut st, KeyCode::Esc));
    assert_eq!(st.target, before);
    assert_eq!(st.ui.focused, Focus::Pane(0));
    assert_eq!(st.cursor_ms, Some(at));

    // the Kubernetes pane: around the kill nearest the cursor, that pod
    st.ui.focused = Focus::Kube;
    let (start, end) = (st.target.start_ms(st.now_ms), st.target.end_ms(st.now_ms));
    let kill = st
        .marks
        .iter()
        .filter(|m| m.at_ms >= start && m.at_ms <= end)
        .min_by_key(|m| ((m.at_ms - at).abs(), std::cmp::Reverse(m.at_ms)))
        .cloned()
        .expect("the demo's pod is killed within the window");
    tasks.exec(key(&mut st, KeyCode::Char('L')));
    assert_eq!(st.target.pod.as_deref(), Some(kill.pod.as_str()));
    let before_kill = (2 * step).max(60_000);
    let after_kill = step.max(30_000);
    // to 30 s after the kill, or now when that is later than now
    let until = (kill.at_ms + after_kill).min(st.now_ms);
    assert_eq!(st.target.pinned_end_ms, Some(until));
    assert_eq!(
        st.target.range_secs as i64,
        (until - (kill.at_ms - before_kill) + 999) / 1000
    );
    assert_eq!(st.cursor_ms, Some(kill.at_ms));
    let hints = screen(&st);
    assert!(hints.contains("back"), "{hints}");
    tasks.exec(key(&mut st, KeyCode::Esc));
    assert_eq!(st.target, before);
    assert_eq!(st.ui.focused, Focus::Kube);
    assert_eq!(st.cursor_ms, Some(at), "the cursor from before the jump");
}

/// An exemplars answer is a request with bytes, counted in the source's
/// figures like every answer; its marks are held for the chart.
#[test]
fn exemplar_answers_count_in_the_sources_requests_and_bytes() {
    use watchfloor::features::metrics::client::exemplars::{Exemplar, Found};
    use watchfloor::features::metrics::MetricsEvent;
    let mut st = common::demo_state(1_796_519_400, None, 900, 1);
    let key = st
        .metrics
        .queries
        .iter()
        .find(|q| watchfloor::features::metrics::client::exemplars::wants(q))
        .map(|q| q.key.clone())
        .expect("a latency chart");
    let (requests, bytes) = (
        st.metrics.common.health.requests,
        st.metrics.common.health.bytes,
    );
    let answer = |st: &State, value: f64, bytes: usize| MetricsEvent::Exemplars {
        gen: st.metrics.common.gen,
        key: key.clone(),
        at_ms: 1_796_519_400_000,
        incremental: false,
        start_ms: 1_796_518_500_000,
        until_ms: 1_796_519_400_000,
        result: Ok(Found {
            exemplars: vec![Exemplar {
                at_ms: 1_796_519_000_000,
                value,
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            }],
            bytes,
        }),
    };
    let ev = answer(&st, 0.4, 1234);
    update::update(&mut st, Event::Source(SourceEvent::Metrics(ev)));
    assert_eq!(st.metrics.common.health.requests, requests + 1);
    assert_eq!(st.metrics.common.health.bytes, bytes + 1234);
    assert_eq!(st.metrics.exemplars.of(&key).len(), 1);
    // a hostile value (1e308: the axis went infinite and drawing never
    // ended) draws, and the chart keeps its marks
    let ev = answer(&st, 1e308, 10);
    update::update(&mut st, Event::Source(SourceEvent::Metrics(ev)));
    st.ui.focused = Focus::Pane(3);
    st.ui.zoom = true;
    let s = screen(&st);
    assert!(s.contains("trace (x)"), "{s}");
}
