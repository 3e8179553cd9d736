//! Shared test helpers: real Prometheus on a free loopback port over
//! backfilled data, a tiny fake HTTP server for fault answers, and a driver
//! that runs the app's real tasks through `update` without a terminal.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use watchfloor::app::keymap::Keymap;
use watchfloor::app::run::Tasks;
use watchfloor::app::update::{self, Event};
use watchfloor::app::SourceEvent;
use watchfloor::app::{State, Target};
use watchfloor::config::theme::Theme;
use watchfloor::core::now_ms;
use watchfloor::features::metrics::client::MetricsBackend;
use watchfloor::features::metrics::MetricsEvent;

pub mod http;
pub mod kube;
pub mod loki;
pub mod traces;

/// Whether a real dependency is here. In CI (CI=true) a missing one fails
/// loudly; on a laptop the test prints why and skips.
pub fn require(bin: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
            panic!("{bin} is not installed, and CI=true: .ci/run must install it");
        }
        eprintln!("SKIPPED: {bin} is not installed (apt-get install {bin})");
    }
    found
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn tempdir(name: &str) -> PathBuf {
    // tests of one binary run in parallel in one process: a counter keeps them apart
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("wf-{name}-{}-{}-{n}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub const NS: &str = "codex-pooler";
pub const JOB: &str = "codex-pooler-app";
pub const PODS: [&str; 3] = ["app-1", "app-2", "app-3"];
pub const STEP: i64 = 15;
pub const SPAN: i64 = 2 * 3600;
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
pub const MIB: f64 = 1024.0 * 1024.0;
/// A value generator: time (s) → sample.
pub type Gen<'a> = Box<dyn Fn(i64) -> f64 + 'a>;

pub const LE: [&str; 8] = ["0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// The generated story: what each metric is at time `t` (seconds ago from `end`).
pub struct Story {
    pub end: i64,
}

impl Story {
    /// 0 at the start of the data, 1 at the end.
    fn x(&self, t: i64) -> f64 {
        1.0 - (self.end - t) as f64 / SPAN as f64
    }
    pub fn binary(&self, pod: &str, t: i64) -> f64 {
        if pod == "app-1" {
            (100.0 + 1100.0 * self.x(t)) * MIB
        } else {
            120.0 * MIB
        }
    }
    pub fn beam_total(&self, pod: &str, t: i64) -> f64 {
        self.binary(pod, t) + (170.0 + 88.0 + 61.0 + 1.5 + 118.0) * MIB
    }
    pub fn working_set(&self, pod: &str, t: i64) -> f64 {
        self.beam_total(pod, t)
            + if pod == "app-1" {
                (150.0 + 200.0 * self.x(t)) * MIB
            } else {
                140.0 * MIB
            }
    }
    pub fn restarts(&self, pod: &str, t: i64) -> f64 {
        match pod {
            // three OOM kills in the last 10 minutes of the data
            "app-1" => {
                2.0 + [600, 400, 200]
                    .iter()
                    .filter(|&&ago| t >= self.end - ago)
                    .count() as f64
            }
            _ => 0.0,
        }
    }
    /// Cumulative dequeued-time histogram: per second, `rate` requests whose
    /// durations spread over the buckets; app-1 shifts toward slow ones.
    pub fn bucket(&self, pod: &str, route: &str, le_idx: usize, t: i64) -> f64 {
        let elapsed = (t - (self.end - SPAN)) as f64;
        let slow = if pod == "app-1" && route == "responses" {
            0.6
        } else {
            0.1
        };
        // share of requests at or below each bound (cumulative)
        let fast = [0.2, 0.5, 0.7, 0.8, 0.9, 0.97, 0.99, 1.0];
        let share = if slow > 0.5 {
            [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.95, 1.0][le_idx]
        } else {
            fast[le_idx]
        };
        (elapsed * 10.0 * share).floor()
    }
    pub fn counter(&self, pod: &str, per_sec: f64, t: i64) -> f64 {
        let boost = if pod == "app-1" { 2.0 } else { 1.0 };
        ((t - (self.end - SPAN)) as f64 * per_sec * boost).floor()
    }
}

/// Writes OpenMetrics covering the last two hours (ending now) and backfills
/// it into a fresh TSDB folder with promtool. Returns (data dir, story).
pub fn backfill() -> (PathBuf, Story) {
    backfill_with(|_| String::new())
}

/// `backfill`, plus the OpenMetrics families `extra(times)` writes (each
/// family complete, samples ascending, timestamps in seconds).
pub fn backfill_with(extra: impl Fn(&[i64]) -> String) -> (PathBuf, Story) {
    let dir = tempdir("prom");
    let end = (now_ms() / 1000 / STEP) * STEP;
    let story = Story { end };
    let times: Vec<i64> = (0..=SPAN / STEP).map(|i| end - SPAN + i * STEP).collect();
    let mut om = String::new();
    let mut family = |name: &str, series: Vec<(String, Gen<'_>)>| {
        om.push_str(&format!("# TYPE {name} gauge\n"));
        for (labels, f) in series {
            for &t in &times {
                om.push_str(&format!("{name}{{{labels}}} {} {t}\n", f(t)));
            }
        }
    };
    let s = &story;
    // one series per pod: `labels` picks the label set, `f` the value
    let per_pod = |labels: &dyn Fn(&str) -> String,
                   f: &'static (dyn Fn(&Story, &str, i64) -> f64 + Sync)|
     -> Vec<(String, Gen<'_>)> {
        PODS.iter()
            .map(|p| (labels(p), Box::new(move |t| f(s, p, t)) as Gen<'_>))
            .collect()
    };
    let base = |pod: &str| format!("namespace=\"{NS}\",pod=\"{pod}\"");
    let app = |pod: &str| format!("namespace=\"{NS}\",pod=\"{pod}\",job=\"{JOB}\"");
    let cadvisor = |pod: &str| format!("{},container=\"app\",image=\"img\"", base(pod));
    family(
        "container_memory_working_set_bytes",
        per_pod(&cadvisor, &|s, p, t| s.working_set(p, t)),
    );
    family(
        "container_memory_rss",
        per_pod(&cadvisor, &|s, p, t| (s.working_set(p, t) * 0.8).floor()),
    );
    family(
        "container_memory_cache",
        per_pod(&cadvisor, &|s, p, t| (s.working_set(p, t) * 0.2).floor()),
    );
    family(
        "kube_pod_container_resource_limits",
        per_pod(
            &|p| {
                format!(
                    "{},container=\"app\",resource=\"memory\",unit=\"byte\"",
                    base(p)
                )
            },
            &|_, _, _| 2.0 * GIB,
        ),
    );
    family(
        "vm_memory_total_bytes",
        per_pod(&app, &|s, p, t| s.beam_total(p, t)),
    );
    family(
        "vm_memory_binary_bytes",
        per_pod(&app, &|s, p, t| s.binary(p, t)),
    );
    let constants: [(&str, f64); 10] = [
        ("vm_memory_processes_bytes", 170.0 * MIB),
        ("vm_memory_ets_bytes", 88.0 * MIB),
        ("vm_memory_code_bytes", 61.0 * MIB),
        ("vm_memory_atom_bytes", 1.5 * MIB),
        ("vm_memory_system_bytes", 118.0 * MIB),
        ("vm_total_run_queue_lengths_total", 7.0),
        ("vm_total_run_queue_lengths_cpu", 5.0),
        ("vm_total_run_queue_lengths_io", 2.0),
        ("vm_system_counts_process_count", 4000.0),
        ("vm_system_counts_port_count", 120.0),
    ];
    for (m, v) in constants {
        family(
            m,
            PODS.iter()
                .map(|p| (app(p), Box::new(move |_| v) as Gen<'_>))
                .collect(),
        );
    }
    family(
        "kube_pod_container_status_restarts_total",
        per_pod(&|p| format!("{},container=\"app\"", base(p)), &|s, p, t| {
            s.restarts(p, t)
        }),
    );
    family(
        "kube_pod_container_status_last_terminated_reason",
        vec![(
            format!("{},container=\"app\",reason=\"OOMKilled\"", base("app-1")),
            Box::new(|_| 1.0) as Gen<'_>,
        )],
    );
    for (m, r) in [
        ("enqueued", 50.0),
        ("accepted", 45.0),
        ("queued", 4.0),
        ("rejected", 0.5),
        ("timed_out", 0.1),
    ] {
        family(
            &format!("codex_pooler_gateway_admission_{m}_count"),
            PODS.iter()
                .map(|p| (app(p), Box::new(move |t| s.counter(p, r, t)) as Gen<'_>))
                .collect(),
        );
    }
    let mut hist = Vec::new();
    for p in PODS {
        for (route, transport) in [("responses", "http"), ("chat", "websocket")] {
            for (i, le) in LE.iter().enumerate() {
                hist.push((
                    format!(
                        "{},route_class=\"{route}\",transport=\"{transport}\",le=\"{le}\"",
                        app(p)
                    ),
                    Box::new(move |t| s.bucket(p, route, i, t)) as Gen<'_>,
                ));
            }
        }
    }
    family(
        "codex_pooler_gateway_admission_dequeued_time_seconds_bucket",
        hist,
    );
    om.push_str(&extra(&times));
    om.push_str("# EOF\n");
    (promtool_backfill(&dir, &om), story)
}

/// Writes an OpenMetrics fixture into `dir` and backfills it with promtool
/// into `dir/tsdb`; returns that data directory.
pub fn promtool_backfill(dir: &Path, om: &str) -> PathBuf {
    let file = dir.join("data.om");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(om.as_bytes())
        .unwrap();
    let data = dir.join("tsdb");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&file);
    data
}

/// A real Prometheus process on 127.0.0.1:port; killed on drop.
pub struct Prom {
    pub child: Child,
    pub port: u16,
    pub url: String,
}

impl Prom {
    pub fn start(data: &Path, port: u16) -> Prom {
        Prom::start_with(data, port, "scrape_configs: []\n")
    }

    /// A Prometheus that also scrapes itself every `interval` (e.g. "15s").
    pub fn start_scraping(data: &Path, port: u16, interval: &str) -> Prom {
        let cfg = format!(
            "scrape_configs:\n  - job_name: prometheus\n    scrape_interval: {interval}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
        Prom::start_with(data, port, &cfg)
    }

    /// `start_scraping` that also writes every query it answers (one JSON
    /// object a line, Prometheus's query log) to `query_log`.
    pub fn start_scraping_logged(data: &Path, port: u16, interval: &str, query_log: &Path) -> Prom {
        let cfg = format!(
            "scrape_configs:\n  - job_name: prometheus\n    scrape_interval: {interval}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
        let global = format!("  query_log_file: {}\n", query_log.display());
        Prom::start_with_global(data, port, &global, &cfg)
    }

    fn start_with(data: &Path, port: u16, scrape: &str) -> Prom {
        Prom::start_with_global(data, port, "", scrape)
    }

    fn start_with_global(data: &Path, port: u16, global: &str, scrape: &str) -> Prom {
        Prom::start_full(data, port, global, scrape, &[])
    }

    /// A Prometheus with this scrape config and extra flags (a feature flag).
    pub fn start_full(data: &Path, port: u16, global: &str, scrape: &str, flags: &[&str]) -> Prom {
        let cfg = data.parent().unwrap().join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!("global:\n  scrape_interval: 15s\n{global}{scrape}"),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .args(flags)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=30d")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let url = format!("http://127.0.0.1:{port}");
        let p = Prom { child, port, url };
        p.wait_ready();
        p
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus on port {} not ready after 60s", self.port);
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prom {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An instant PromQL query sent by hand (not through watchfloor's adapter).
pub async fn promql(url: &str, expr: &str, at_s: f64) -> Vec<(serde_json::Value, f64)> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", expr.to_string()), ("time", format!("{at_s}"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].clone(),
                r["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect()
}

pub fn state(range_secs: u64, refresh_secs: f64, name: &str, url: &str) -> State {
    let target = Target {
        namespace: Some(NS.into()),
        range_secs,
        ..Default::default()
    };
    let mut s = State::new(
        Some("test".into()),
        target,
        refresh_secs,
        Theme::default_theme(),
        Keymap::default_keymap(),
    );
    s.metrics.common.health.name = name.into();
    s.metrics.common.health.url = url.into();
    s
}

/// Runs the real tasks and `update` until `done(state)` or the timeout.
/// `on_event` sees every state after an event (for checks along the way).
pub async fn drive(
    state: &mut State,
    tasks: &mut Tasks,
    rx: &mut mpsc::Receiver<SourceEvent>,
    timeout: Duration,
    mut done: impl FnMut(&State) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if done(state) {
            return true;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                update::update(state, Event::Tick(now_ms()));
                let (cmds, _) = update::update(state, Event::Source(ev));
                tasks.exec(cmds);
            }
            _ => return done(state),
        }
    }
}

pub fn start(
    state: &mut State,
    backend: Arc<dyn MetricsBackend>,
) -> (Tasks, mpsc::Receiver<SourceEvent>) {
    let (tx, rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(
        watchfloor::app::run::Backends::metrics(backend),
        tx,
        state.refresh_secs,
    );
    tasks.exec(update::start(state));
    (tasks, rx)
}

/// A state filled from the demo (seed `seed`) as the poller would fill it,
/// at `t_s`, with a fixed beam dashboard: deterministic, no tasks, no clock.
pub fn demo_state(t_s: i64, pod: Option<&str>, range_secs: u64, seed: u64) -> State {
    demo_state_for("beam", t_s, pod, range_secs, seed)
}

/// `demo_state` for any built-in preset and its demo story (in the story's namespace).
pub fn demo_state_for(
    preset: &str,
    t_s: i64,
    pod: Option<&str>,
    range_secs: u64,
    seed: u64,
) -> State {
    use watchfloor::app::update::Command as AppCommand;
    use watchfloor::features::metrics::client::Fetched;
    use watchfloor::features::metrics::poller::fetch_range;
    use watchfloor::features::metrics::MetricsCommand;
    let demo = watchfloor::demo::DemoSource::with_preset(seed, preset);
    let target = Target {
        namespace: Some(demo.story().namespace().into()),
        pod: pod.map(str::to_string),
        range_secs,
        ..Default::default()
    };
    let mut st = State::new(
        Some("demo".into()),
        target,
        1.0,
        Theme::default_theme(),
        Keymap::default_keymap(),
    );
    st.metrics.common.health.name = "demo".into();
    st.metrics.common.health.url = "embedded simulation".into();
    st.metrics.dashboard =
        Some(watchfloor::dashboard::Dashboard::builtin(demo.story().dashboard()).unwrap());
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    st.now_ms = t_s * 1000;
    let cmds = update::start(&mut st);
    let AppCommand::Metrics(MetricsCommand::Start(plan)) = &cmds[0] else {
        panic!("{cmds:?}")
    };
    let now = t_s * 1000;
    for q in &plan.queries {
        let (start, end, times): (i64, i64, Vec<i64>) = if q.instant {
            (now, now, vec![t_s])
        } else {
            let (s, e, _) = fetch_range(now, plan.range_secs, plan.step_secs, None);
            (
                s,
                e,
                (s..=e)
                    .step_by(plan.step_secs as usize * 1000)
                    .map(|t| t / 1000)
                    .collect(),
            )
        };
        let series = demo.evaluate(q, &times);
        let ev = MetricsEvent::Query {
            gen: plan.gen,
            alt: 0,
            key: q.key.clone(),
            incremental: false,
            start_ms: start,
            until_ms: end,
            at_ms: now,
            result: Ok(Fetched {
                series,
                ..Default::default()
            }),
        };
        update::update(&mut st, Event::Source(SourceEvent::Metrics(ev)));
    }
    st
}

/// The real Prometheus over freshly backfilled data, or None (after printing
/// why) on a laptop without it; in CI a missing binary fails the test.
pub fn real_prometheus() -> Option<(Prom, Story, PathBuf)> {
    real_prometheus_with(|_| String::new())
}

/// `real_prometheus` with extra families backfilled (see `backfill_with`).
pub fn real_prometheus_with(extra: impl Fn(&[i64]) -> String) -> Option<(Prom, Story, PathBuf)> {
    if !require("prometheus") || !require("promtool") {
        return None;
    }
    let (data, story) = backfill_with(extra);
    let prom = Prom::start(&data, free_port());
    Some((prom, story, data))
}

/// A body fetched by hand over HTTP/1.0 from 127.0.0.1:port (no client
/// library, so it works outside a runtime), or None.
pub fn http_get_local(port: u16, path: &str) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_string())
}

/// A real Prometheus scraping itself every `interval_s` seconds, as a
/// long-running one would: before it starts, `history_s` of its own series
/// (the names and labels a throwaway Prometheus exposes, job `prometheus`,
/// instance `127.0.0.1:PORT`) are backfilled with promtool, so charts over the
/// last hour are full; after that every sample is live. Every query it
/// answers is logged to the returned file (Prometheus's query log). None
/// (after saying why) without prometheus/promtool.
pub fn self_scraping_prometheus(interval_s: i64, history_s: i64) -> Option<(Prom, PathBuf)> {
    if !require("prometheus") || !require("promtool") {
        return None;
    }
    let dir = tempdir("live-prom");
    let seed_dir = dir.join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let exposition = {
        let seed = Prom::start(&seed_dir.join("tsdb"), free_port());
        http_get_local(seed.port, "/metrics").expect("a throwaway prometheus's /metrics")
    };
    let _ = std::fs::remove_dir_all(&seed_dir);
    let port = free_port();
    let end = now_ms() / 1000 - 5;
    let labels = format!("job=\"prometheus\",instance=\"127.0.0.1:{port}\"");
    // (history at least 15 s apart: a 1 s scrape would make it huge)
    let om = history_openmetrics(
        &exposition,
        &labels,
        end - history_s,
        end,
        interval_s.max(15),
    );
    let data = promtool_backfill(&dir, &om);
    let log = dir.join("queries.log");
    let prom = Prom::start_scraping_logged(&data, port, &format!("{interval_s}s"), &log);
    Some((prom, log))
}

/// OpenMetrics for `[start, end]` every `step` s from one scrape in the
/// Prometheus text format: each series gets `labels`; counters (and the
/// buckets, sums and counts of histograms and summaries) climb from 0 to
/// the scraped value at a varying pace (rates are not flat); gauges wave
/// ±10% around it, except those that only change when something happens
/// (`*_start_time_seconds`, `*_timestamp_seconds`, `*_info`, which stay
/// put). Every sample name is written as its own gauge family
/// (as `backfill` does); NaN and infinite samples are left out.
pub fn history_openmetrics(
    exposition: &str,
    labels: &str,
    start: i64,
    end: i64,
    step: i64,
) -> String {
    use std::collections::{BTreeMap, HashMap};
    use std::f64::consts::PI;
    let mut kinds: HashMap<&str, &str> = HashMap::new();
    let mut samples: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            if let (Some(n), Some(k)) = (it.next(), it.next()) {
                kinds.insert(n, k);
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, series_labels, value) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').unwrap_or(line.len() - 1);
                (&line[..open], &line[open + 1..close], &line[close + 1..])
            }
            None => match line.split_once(' ') {
                Some((n, v)) => (n, "", v),
                None => continue,
            },
        };
        let Some(v) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if v.is_finite() {
            samples.entry(name).or_default().push((series_labels, v));
        }
    }
    let monotonic = |name: &str, series_labels: &str| {
        let family = ["_bucket", "_sum", "_count", "_total"]
            .iter()
            .find_map(|sfx| name.strip_suffix(sfx).filter(|f| kinds.contains_key(f)))
            .unwrap_or(name);
        match kinds.get(family).copied() {
            Some("counter") => true,
            Some("histogram") => true,
            // a summary's quantiles move both ways
            Some("summary") => name != family || !series_labels.contains("quantile="),
            _ => false,
        }
    };
    let span = (end - start).max(1) as f64;
    let mut om = String::new();
    for (name, series) in &samples {
        om.push_str(&format!("# TYPE {name} gauge\n"));
        for (i, (series_labels, v)) in series.iter().enumerate() {
            let all = if series_labels.is_empty() {
                labels.to_string()
            } else {
                format!("{series_labels},{labels}")
            };
            let climbs = monotonic(name, series_labels);
            let fixed = ["_start_time_seconds", "_timestamp_seconds", "_info"]
                .iter()
                .any(|sfx| name.ends_with(sfx));
            let mut t = start;
            while t <= end {
                let x = (t - start) as f64 / span;
                let at = if climbs {
                    // the slope 1 - 0.5 cos(8πx) stays positive: never a reset
                    v * (x - 0.5 * (8.0 * PI * x).sin() / (8.0 * PI))
                } else if fixed {
                    *v
                } else {
                    v * (1.0 + 0.1 * (2.0 * PI * 3.0 * x + i as f64).sin())
                };
                om.push_str(&format!("{name}{{{all}}} {at} {t}\n"));
                t += step;
            }
        }
    }
    om.push_str("# EOF\n");
    om
}

/// A tmux session running one command; killed on drop.
pub struct Tmux {
    pub session: String,
}

impl Tmux {
    /// Runs `cmd` in a `w`x`h` terminal. With `keep`, the pane stays after
    /// the command ends and prints `EXITED <status>`.
    pub fn start(name: &str, cmd: &str, w: u16, h: u16, keep: bool) -> Tmux {
        let session = format!("wf-{name}-{}", std::process::id());
        let full = if keep {
            format!("TERM=xterm-256color {cmd}; echo EXITED $?; sleep 30")
        } else {
            format!("TERM=xterm-256color {cmd}")
        };
        let st = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                &full,
            ])
            .status()
            .unwrap();
        assert!(st.success());
        Tmux { session }
    }

    /// Resizes the window (the program gets SIGWINCH).
    pub fn resize(&self, w: u16, h: u16) {
        let st = Command::new("tmux")
            .args([
                "resize-window",
                "-t",
                &self.session,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["send-keys", "-t", &self.session, k])
                .status()
                .unwrap();
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        let st = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", text])
            .status()
            .unwrap();
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(150));
    }

    fn display(&self, what: &str) -> String {
        let out = Command::new("tmux")
            .args(["display", "-p", "-t", &self.session, what])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The screen with its colours and attributes (SGR sequences).
    pub fn screen_styled(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-e", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn wait_for(&self, what: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return self.settled(s, what);
            }
            if Instant::now() > deadline {
                panic!("`{what}` did not appear within {secs}s; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A capture can land while tmux is still taking in a frame (the top
    /// rows new, the rest from the frame before): wait for two equal
    /// captures 50 ms apart that still hold `what` (up to 1 s).
    fn settled(&self, mut s: String, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let next = self.screen();
            if next == s {
                break;
            }
            if next.contains(what) {
                s = next;
            }
        }
        s
    }

    /// The pane's title (what OSC 0/2 would change).
    pub fn title(&self) -> String {
        self.display("#{pane_title}")
    }

    pub fn alternate_on(&self) -> bool {
        self.display("#{alternate_on}") == "1"
    }

    /// The pid of the watchfloor process: the pane's own process when the
    /// shell exec'd it, else the pane shell's child of that name.
    pub fn app_pid(&self) -> String {
        self.pid_of("watchfloor")
    }

    /// The pid of the process named `name` in the pane (its own process, or
    /// a child of the pane's shell).
    pub fn pid_of(&self, name: &str) -> String {
        self.try_pid_of(name).unwrap_or_else(|| {
            panic!(
                "no {name} process under tmux pane {}",
                self.display("#{pane_pid}")
            )
        })
    }

    /// `pid_of`, None while there is no such process.
    pub fn try_pid_of(&self, name: &str) -> Option<String> {
        let pane = self.display("#{pane_pid}");
        let comm =
            |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm(&pane).trim() == name {
            return Some(pane);
        }
        let out = Command::new("pgrep").args(["-P", &pane]).output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .find(|pid| comm(pid).trim() == name)
    }

    /// Appends everything the program writes to the pane, raw (escape
    /// sequences and all, as the terminal receives them), to `file`.
    pub fn pipe_to(&self, file: &Path) {
        let st = Command::new("tmux")
            .args([
                "pipe-pane",
                "-o",
                "-t",
                &self.session,
                &format!("cat >> '{}'", file.display()),
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .stderr(Stdio::null())
            .status();
    }
}

/// A series matrix of `n` junk series, as a flood from a broken relabelling.
pub fn flood_body(n: usize, t: i64) -> String {
    let mut b = String::with_capacity(n * 280);
    b.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..n {
        if i > 0 {
            b.push(',');
        }
        b.push_str(&format!(
            r#"{{"metric":{{"__name__":"container_memory_working_set_bytes","namespace":"codex-pooler","pod":"junk-{i:06}","container":"app","image":"registry.example/team/app:1.2.3","id":"/kubepods/burstable/pod{i:08x}"}},"values":[[{},"{}"],[{},"{}"]]}}"#,
            t - 10,
            i,
            t,
            i
        ));
    }
    b.push_str("]}}");
    b
}

/// A proxy in front of a real Prometheus: passes every request through,
/// except that while `burst` > 0 each query answer is a flood instead.
pub async fn flood_proxy(upstream: String, burst: Arc<AtomicUsize>) -> String {
    counting_proxy(upstream, burst, Arc::new(AtomicUsize::new(0))).await
}

/// `flood_proxy` that also counts every request it is sent.
pub async fn counting_proxy(
    upstream: String,
    burst: Arc<AtomicUsize>,
    count: Arc<AtomicUsize>,
) -> String {
    let client = reqwest::Client::new();
    http::serve(http::handler(move |r: http::Request| {
        let (client, upstream, burst) = (client.clone(), upstream.clone(), burst.clone());
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            if r.path().starts_with("/api/v1/query")
                && burst
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                    .is_ok()
            {
                let t = watchfloor::core::now_ms() / 1000;
                return http::Response::json(200, flood_body(60_000, t));
            }
            let mut req =
                client.request(r.method.parse().unwrap(), format!("{upstream}{}", r.target));
            if let Some(ct) = r.header("content-type") {
                req = req.header("content-type", ct);
            }
            let resp = req.body(r.body.clone()).send().await.unwrap();
            let status = resp.status().as_u16();
            http::Response::json(status, resp.bytes().await.unwrap().to_vec())
        }
    }))
    .await
}

/// CPU time (user + system) of process `pid`, in clock ticks (for benches).
pub fn proc_cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A `/proc/PID/status` field in KiB (VmRSS, VmHWM = peak RSS).
pub fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
