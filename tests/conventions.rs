//! Every metric naming convention the presets know, backfilled with promtool
//! into ONE real Prometheus for this binary (each convention under its own
//! job), then detected and polled through the real tasks and rendered at
//! 200x50. Each test checks that detection picks the right preset for its
//! job and that the values on screen are the ones the fixture implies
//! (computed from the fixture's parameters, formatted like the UI formats).
//!
//! The fixture's samples run 30 minutes into the past and 15 minutes into
//! the future, so every `rate()` window of the test's lifetime is full and
//! a linear counter's rate is exactly its slope.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{drive, free_port, require, start, state, tempdir, GIB, MIB};
use watchfloor::app::State;
use watchfloor::config::Endpoint;
use watchfloor::core::now_ms;
use watchfloor::dashboard::{detect, Dashboard};
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::features::metrics::client::MetricsBackend;
use watchfloor::text::units::{format_bytes, format_ratio, format_value, Unit};
use watchfloor::ui::render;

const STEP: i64 = 15;
const PAST: i64 = 1800;
const FUTURE: i64 = 900;

/// A sample generator: a gauge, or a counter growing `rate` per second.
#[derive(Clone, Copy)]
enum Val {
    Gauge(f64),
    Counter(f64),
}

/// OpenMetrics families (one block per name, whatever job a series is in).
#[derive(Default)]
struct Fixture {
    families: BTreeMap<String, Vec<(String, Val)>>,
}

impl Fixture {
    fn add(&mut self, name: &str, job: &str, labels: &str, v: Val) {
        let sep = if labels.is_empty() { "" } else { "," };
        self.families.entry(name.into()).or_default().push((
            format!("job=\"{job}\",instance=\"{job}:9000\"{sep}{labels}"),
            v,
        ));
    }

    fn gauge(&mut self, name: &str, job: &str, labels: &str, v: f64) {
        self.add(name, job, labels, Val::Gauge(v));
    }

    /// A cumulative histogram: `<fam>_bucket` per bound and `<fam>_count`,
    /// `rate` events per second spread by the cumulative `shares`.
    fn histogram(&mut self, fam: &str, job: &str, labels: &str, h: &Hist, rate: f64) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (le, share) in h.le.iter().zip(h.shares) {
            self.add(
                &format!("{fam}_bucket"),
                job,
                &format!("{labels}{sep}le=\"{le}\""),
                Val::Counter(rate * share),
            );
        }
        self.add(&format!("{fam}_count"), job, labels, Val::Counter(rate));
    }

    fn openmetrics(&self, start: i64, end: i64) -> String {
        let mut om = String::new();
        for (name, series) in &self.families {
            writeln!(om, "# TYPE {name} gauge").unwrap();
            for (labels, v) in series {
                for t in (start..=end).step_by(STEP as usize) {
                    let x = match *v {
                        Val::Gauge(g) => g,
                        // as if it had started 1000 s before the data
                        Val::Counter(r) => r * (t - start + 1000) as f64,
                    };
                    writeln!(om, "{name}{{{labels}}} {x} {t}").unwrap();
                }
            }
        }
        om.push_str("# EOF\n");
        om
    }
}

/// Histogram bounds and the cumulative share of events at or below each.
struct Hist {
    le: &'static [&'static str],
    shares: &'static [f64],
}

impl Hist {
    /// `histogram_quantile(q, …)` over these buckets, as Prometheus computes
    /// it: linear interpolation inside the bucket holding the rank.
    fn quantile(&self, q: f64) -> f64 {
        let rank = q * self.shares[self.shares.len() - 1];
        let mut lower = (0.0, 0.0);
        for (le, &share) in self.le.iter().zip(self.shares) {
            if share >= rank {
                if *le == "+Inf" {
                    return lower.0;
                }
                let upper: f64 = le.parse().unwrap();
                return lower.0 + (upper - lower.0) * (rank - lower.1) / (share - lower.1);
            }
            lower = (le.parse().unwrap_or(f64::INFINITY), share);
        }
        unreachable!()
    }
}

const SECONDS: Hist = Hist {
    le: &["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"],
    shares: &[0.3, 0.6, 0.85, 0.92, 0.985, 0.995, 1.0],
};
const SECONDS_SLOW: Hist = Hist {
    le: &["0.1", "0.25", "0.5", "1", "2.5", "+Inf"],
    shares: &[0.2, 0.5, 0.7, 0.9, 0.97, 1.0],
};
const MILLIS: Hist = Hist {
    le: &["5", "25", "100", "250", "1000", "+Inf"],
    shares: &[0.1, 0.4, 0.8, 0.93, 0.995, 1.0],
};

/// An HTTP/RPC convention: its job, requests per second by status, and the
/// latency histogram.
struct Http {
    job: &'static str,
    codes: &'static [(&'static str, f64)],
    hist: &'static Hist,
    /// Which codes are server errors.
    error: fn(&str) -> bool,
}

impl Http {
    fn rate(&self) -> f64 {
        self.codes.iter().map(|c| c.1).sum()
    }
    fn error_ratio(&self) -> f64 {
        self.codes
            .iter()
            .filter(|c| (self.error)(c.0))
            .map(|c| c.1)
            .sum::<f64>()
            / self.rate()
    }
}

fn http_5xx(code: &str) -> bool {
    code.starts_with('5')
}

fn grpc_error(code: &str) -> bool {
    [
        "Unknown",
        "DeadlineExceeded",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
    ]
    .contains(&code)
}

const SVC: Http = Http {
    job: "svc",
    codes: &[("200", 30.0), ("404", 2.0), ("500", 0.8)],
    hist: &SECONDS,
    error: http_5xx,
};
const MICROMETER: Http = Http {
    job: "micrometer",
    codes: &[("200", 12.0), ("400", 1.0), ("503", 3.0)],
    hist: &SECONDS_SLOW,
    error: http_5xx,
};
const OTEL: Http = Http {
    job: "otel",
    codes: &[("200", 44.0), ("502", 0.5), ("201", 5.5)],
    hist: &SECONDS,
    error: http_5xx,
};
const OTEL_MS: Http = Http {
    job: "otelms",
    codes: &[("200", 8.0), ("500", 2.0)],
    hist: &MILLIS,
    error: http_5xx,
};
const GRPC: Http = Http {
    job: "grpc",
    codes: &[("OK", 50.0), ("NotFound", 3.0), ("Unavailable", 1.5)],
    hist: &SECONDS_SLOW,
    error: grpc_error,
};

// BEAM figures per convention
const TELEMETRY: (f64, f64, f64, f64) = (512.0 * MIB, 7.0, 4321.0, 87.0); // total, run queue, processes, ports
const ERL_PROCS: f64 = 200.0 * MIB;
const ERL_SYSTEM: f64 = 300.0 * MIB;
const ERL_BINARY: f64 = 120.0 * MIB;
const ERL_COUNTS: (f64, f64, f64) = (3.0, 1234.0, 56.0); // run queue, processes, ports
const ERL_RSS: f64 = 2.0 * GIB;
const PROMEX_ALLOCATED: f64 = 640.0 * MIB;
const PROMEX_PROCS: f64 = 250.0 * MIB;
const PROMEX_BINARY: f64 = 150.0 * MIB;
const PROMEX_RUNQ: (f64, f64) = (4.0, 2.0); // normal, dirty
const PROMEX_COUNTS: (f64, f64) = (2345.0, 98.0); // processes, ports
                                                  // Go
const GO_GOROUTINES: f64 = 42.0;
const GO_SYS: f64 = 80.0 * MIB;
const GO_RSS: f64 = 96.0 * MIB;
const GO_HTTP_RATE: f64 = 12.0;
const NODE_MEM: f64 = 8.0 * GIB;
const CODERD_CONCURRENT: f64 = 17.0;
const CODERD_WORKSPACES: usize = 37;

/// Builds of workspace `i` by status (one series per workspace and status).
fn builds(i: usize) -> Vec<(&'static str, f64)> {
    let mut b = vec![("success", (i % 4 + 1) as f64)];
    if i.is_multiple_of(5) {
        b.push(("failed", 1.0));
    }
    b
}

fn fixture() -> Fixture {
    let mut f = Fixture::default();
    // telemetry_metrics (Elixir telemetry_poller)
    let j = "telemetry";
    f.gauge("vm_memory_total_bytes", j, "", TELEMETRY.0);
    f.gauge("vm_memory_processes_bytes", j, "", 170.0 * MIB);
    f.gauge("vm_memory_binary_bytes", j, "", 100.0 * MIB);
    f.gauge("vm_total_run_queue_lengths_total", j, "", TELEMETRY.1);
    f.gauge("vm_total_run_queue_lengths_cpu", j, "", 5.0);
    f.gauge("vm_total_run_queue_lengths_io", j, "", 2.0);
    f.gauge("vm_system_counts_process_count", j, "", TELEMETRY.2);
    f.gauge("vm_system_counts_port_count", j, "", TELEMETRY.3);
    // prometheus.erl (RabbitMQ and most Erlang services)
    let j = "erlang";
    f.gauge(
        "erlang_vm_memory_bytes_total",
        j,
        "kind=\"processes\"",
        ERL_PROCS,
    );
    f.gauge(
        "erlang_vm_memory_bytes_total",
        j,
        "kind=\"system\"",
        ERL_SYSTEM,
    );
    for (usage, v) in [
        ("binary", ERL_BINARY),
        ("ets", 50.0 * MIB),
        ("code", 35.0 * MIB),
        ("atom", 2.0 * MIB),
        ("other", 93.0 * MIB),
    ] {
        f.gauge(
            "erlang_vm_memory_system_bytes_total",
            j,
            &format!("usage=\"{usage}\""),
            v,
        );
    }
    f.gauge(
        "erlang_vm_statistics_run_queues_length",
        j,
        "",
        ERL_COUNTS.0,
    );
    f.gauge("erlang_vm_process_count", j, "", ERL_COUNTS.1);
    f.gauge("erlang_vm_port_count", j, "", ERL_COUNTS.2);
    f.gauge("process_resident_memory_bytes", j, "", ERL_RSS);
    // PromEx: the application's name first
    let (j, p) = ("promex", "myapp_prom_ex_beam");
    f.gauge(
        &format!("{p}_memory_allocated_bytes"),
        j,
        "",
        PROMEX_ALLOCATED,
    );
    f.gauge(
        &format!("{p}_memory_processes_total_bytes"),
        j,
        "",
        PROMEX_PROCS,
    );
    f.gauge(
        &format!("{p}_memory_binary_total_bytes"),
        j,
        "",
        PROMEX_BINARY,
    );
    f.gauge(&format!("{p}_memory_ets_total_bytes"), j, "", 60.0 * MIB);
    f.gauge(&format!("{p}_memory_code_total_bytes"), j, "", 40.0 * MIB);
    f.gauge(&format!("{p}_memory_atom_total_bytes"), j, "", 1.5 * MIB);
    f.gauge(
        &format!("{p}_stats_run_queue_count"),
        j,
        "type=\"normal\"",
        PROMEX_RUNQ.0,
    );
    f.gauge(
        &format!("{p}_stats_run_queue_count"),
        j,
        "type=\"dirty\"",
        PROMEX_RUNQ.1,
    );
    f.gauge(&format!("{p}_stats_process_count"), j, "", PROMEX_COUNTS.0);
    f.gauge(&format!("{p}_stats_port_count"), j, "", PROMEX_COUNTS.1);
    // client_golang, with promhttp's request histogram and resident memory
    for j in ["golang", "coderd"] {
        f.gauge("go_goroutines", j, "", GO_GOROUTINES);
        f.gauge("go_threads", j, "", 11.0);
        f.gauge("go_memstats_sys_bytes", j, "", GO_SYS);
        f.gauge("go_memstats_heap_inuse_bytes", j, "", 30.0 * MIB);
        f.gauge("go_memstats_stack_inuse_bytes", j, "", 4.0 * MIB);
        f.gauge("go_gc_duration_seconds", j, "quantile=\"1\"", 0.0035);
        f.gauge("process_resident_memory_bytes", j, "", GO_RSS);
    }
    f.histogram(
        "http_request_duration_seconds",
        "golang",
        "code=\"200\",method=\"get\"",
        &SECONDS,
        GO_HTTP_RATE,
    );
    // coderd: API latency in ms, and per-workspace series
    let j = "coderd";
    f.histogram("coderd_api_request_latencies_ms", j, "", &MILLIS, 25.0);
    f.gauge("coderd_api_concurrent_requests", j, "", CODERD_CONCURRENT);
    f.add(
        "coderd_api_requests_processed_total",
        j,
        "code=\"200\"",
        Val::Counter(20.0),
    );
    for i in 0..CODERD_WORKSPACES {
        for (status, v) in builds(i) {
            f.gauge(
                "coderd_workspace_builds_total",
                j,
                &format!(
                    "workspace_id=\"ws-{i:03}\",user_id=\"u-{}\",status=\"{status}\"",
                    i % 7
                ),
                v,
            );
        }
    }
    // one node, for the memory fallback when there is no container limit
    f.gauge("node_memory_MemTotal_bytes", "node", "", NODE_MEM);
    // HTTP / RPC conventions
    for (code, r) in SVC.codes {
        f.add(
            "myapp_http_requests_total",
            SVC.job,
            &format!("code=\"{code}\",handler=\"/x\""),
            Val::Counter(*r),
        );
    }
    f.histogram(
        "myapp_http_request_duration_seconds",
        SVC.job,
        "handler=\"/x\"",
        SVC.hist,
        SVC.rate(),
    );
    for (code, r) in MICROMETER.codes {
        let outcome = match code.as_bytes()[0] {
            b'2' => "SUCCESS",
            b'4' => "CLIENT_ERROR",
            _ => "SERVER_ERROR",
        };
        f.histogram(
            "http_server_requests_seconds",
            MICROMETER.job,
            &format!("status=\"{code}\",uri=\"/api/orders\",outcome=\"{outcome}\",method=\"GET\""),
            MICROMETER.hist,
            *r,
        );
    }
    for (code, r) in OTEL.codes {
        f.histogram(
            "http_server_request_duration_seconds",
            OTEL.job,
            &format!("http_response_status_code=\"{code}\",http_route=\"/v1/items\""),
            OTEL.hist,
            *r,
        );
    }
    for (code, r) in OTEL_MS.codes {
        f.histogram(
            "http_server_duration_milliseconds",
            OTEL_MS.job,
            &format!("http_status_code=\"{code}\",http_method=\"GET\""),
            OTEL_MS.hist,
            *r,
        );
    }
    for (code, r) in GRPC.codes {
        f.add(
            "grpc_server_handled_total",
            GRPC.job,
            &format!("grpc_code=\"{code}\",grpc_method=\"Get\",grpc_service=\"shop.Orders\",grpc_type=\"unary\""),
            Val::Counter(*r),
        );
    }
    f.histogram(
        "grpc_server_handling_seconds",
        GRPC.job,
        "grpc_method=\"Get\",grpc_service=\"shop.Orders\",grpc_type=\"unary\"",
        GRPC.hist,
        GRPC.rate(),
    );
    f
}

/// The one Prometheus of this binary: backfilled once, started once. A
/// static is never dropped, so a shell watchdog stops the server when this
/// test process is gone.
struct Server {
    url: String,
    /// The watchdog shell (it outlives nothing: it ends with this process).
    _watchdog: std::process::Child,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();

fn server() -> Option<&'static Server> {
    SERVER
        .get_or_init(|| {
            if !require("prometheus") || !require("promtool") {
                return None;
            }
            let dir = tempdir("conventions");
            let end = now_ms() / 1000 / STEP * STEP;
            let data: PathBuf =
                common::promtool_backfill(&dir, &fixture().openmetrics(end - PAST, end + FUTURE));
            let cfg = dir.join("prometheus.yml");
            std::fs::write(&cfg, "global:\n  scrape_interval: 15s\nscrape_configs: []\n").unwrap();
            let port = free_port();
            let script = format!(
                "prometheus --config.file={} --storage.tsdb.path={} --web.listen-address=127.0.0.1:{port} --storage.tsdb.retention.time=30d >/dev/null 2>&1 & p=$!; \
                 while kill -0 {owner} 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 0.5; done; kill $p 2>/dev/null; wait",
                cfg.display(),
                data.display(),
                owner = std::process::id()
            );
            let watchdog = Command::new("sh")
                .args(["-c", &script])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start prometheus");
            wait_ready(port);
            Some(Server {
                url: format!("http://127.0.0.1:{port}"),
                _watchdog: watchdog,
            })
        })
        .as_ref()
}

fn wait_ready(port: u16) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("prometheus on port {port} not ready after 60s");
}

/// Detects and polls scoped to `job` until every query answered and the
/// `keys` have a finite value; returns the state and its screen at 200x50.
async fn run_job(url: &str, job: &str, keys: &[&str]) -> (State, String) {
    let client = Arc::new(PrometheusClient::new(&Endpoint::plain(url)).unwrap().0);
    let mut st = state(900, 1.0, "prom", url);
    st.target.namespace = None;
    st.target.job = Some(job.into());
    let (mut tasks, mut rx) = start(&mut st, client);
    let finite = |s: &State, k: &str| {
        s.metrics.store.get(k).is_some_and(|d| {
            d.series
                .iter()
                .any(|s| s.last().is_some_and(|p| p.1.is_finite()))
        })
    };
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
        s.all_answered() && keys.iter().all(|k| finite(s, k))
    })
    .await;
    let empty: Vec<&&str> = keys.iter().filter(|k| !finite(&st, k)).collect();
    assert!(
        ok,
        "{job}: no data for {empty:?}; queries: {:#?}",
        st.metrics
            .queries
            .iter()
            .filter(|q| empty.iter().any(|k| **k == q.key))
            .map(|q| (&q.key, &q.expr))
            .collect::<Vec<_>>()
    );
    st.now_ms = now_ms();
    let screen = buffer_to_text(&render(&st, 200, 50));
    (st, screen)
}

fn preset_of(st: &State) -> (&str, Option<&str>) {
    let d = st.metrics.detection.as_ref().expect("detected");
    (d.preset.as_str(), d.job.as_deref())
}

/// What follows `label` on screen, bars and sparklines skipped: the first
/// cell holding `label` followed by a value.
fn shown<'a>(screen: &'a str, label: &str) -> &'a str {
    let skip = |c: char| c.is_whitespace() || ('\u{2581}'..='\u{258F}').contains(&c);
    for line in screen.lines() {
        for cell in line.split('│') {
            if let Some(i) = cell.find(label) {
                let rest = cell[i + label.len()..].trim_start_matches(skip).trim_end();
                if rest.starts_with(|c: char| c.is_ascii_digit() || c == '—') {
                    return rest;
                }
            }
        }
    }
    panic!("no `{label}` with a value on screen:\n{screen}")
}

/// `label` is followed on screen by `want` (then a space or the end): the
/// same text, or the same number and unit where the UI's precision differs
/// (a rate of 20 computed as 20.000000001 shows as "20.0/s", 20 as "20/s").
fn assert_shown(screen: &str, label: &str, want: String) {
    let got = shown(screen, label);
    let whole = |r: &str| r.is_empty() || r.starts_with(' ') || r.starts_with('/');
    if got.strip_prefix(want.as_str()).is_some_and(whole) {
        return;
    }
    let split = |s: &str| {
        let n = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        (s[..n].parse::<f64>().ok(), s[n..].to_string())
    };
    let (w, w_unit) = split(&want);
    let (g, g_unit) = split(got);
    let near = match (w, g) {
        (Some(w), Some(g)) => (w - g).abs() <= 0.005 * w.abs().max(g.abs()),
        _ => false,
    };
    assert!(
        near && g_unit.starts_with(&w_unit) && whole(&g_unit[w_unit.len()..]),
        "`{label}`: want `{want}`, on screen `{got}`\n{screen}"
    );
}

/// The newest value of a query's only series.
fn stored(st: &State, key: &str) -> f64 {
    let d = st.metrics.store.get(key).unwrap();
    assert_eq!(d.series.len(), 1, "{key}: {:?}", d.series);
    d.series[0].last().unwrap().1
}

fn count(v: f64) -> String {
    format_value(v, Unit::Count)
}

#[test]
fn detection_picks_each_jobs_preset() {
    let Some(srv) = server() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = PrometheusClient::new(&Endpoint::plain(&srv.url)).unwrap().0;
    let presets = Dashboard::builtins();
    let inv = rt
        .block_on(client.inventory(&detect::wanted_names(&presets)))
        .unwrap();
    for (job, want) in [
        ("telemetry", "beam"),
        ("erlang", "beam"),
        ("promex", "beam"),
        ("golang", "go"),
        ("coderd", "go"),
        ("svc", "http"),
        ("micrometer", "http"),
        ("otel", "http"),
        ("otelms", "http"),
        ("grpc", "http"),
    ] {
        let d = detect::detect(&presets, &inv, Some(job))
            .unwrap_or_else(|| panic!("{job}: nothing detected in {:?}", inv.jobs.get(job)));
        assert_eq!(
            (d.preset.as_str(), d.job.as_deref()),
            (want, Some(job)),
            "{job}: {:?}",
            inv.jobs.get(job)
        );
        assert!(d.score.0 > 0, "{job}: {d:?}");
    }
    // PromEx names carry the application: found by their pattern
    assert!(
        inv.jobs["promex"].contains("myapp_prom_ex_beam_memory_allocated_bytes"),
        "{:?}",
        inv.jobs["promex"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_metrics_beam() {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        "telemetry",
        &[
            "memory.runtime_total",
            "scheduler.run_queue",
            "scheduler.processes",
            "scheduler.ports",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("beam", Some("telemetry")));
    assert_shown(&s, "BEAM total", format_bytes(TELEMETRY.0));
    assert_shown(&s, "run queue", count(TELEMETRY.1));
    assert_shown(&s, "processes", count(TELEMETRY.2));
    assert_shown(&s, "ports", count(TELEMETRY.3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_erl_beam() {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        "erlang",
        &[
            "memory.runtime_total",
            "memory.binary",
            "memory.unexplained",
            "scheduler.run_queue",
            "scheduler.processes",
            "scheduler.ports",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("beam", Some("erlang")));
    // the BEAM total is processes + system; the categories are kinds and usages
    assert_shown(&s, "BEAM total", format_bytes(ERL_PROCS + ERL_SYSTEM));
    assert_shown(&s, "system", format_bytes(ERL_SYSTEM));
    assert_shown(&s, "procs", format_bytes(ERL_PROCS));
    assert_shown(&s, "binary", format_bytes(ERL_BINARY));
    // resident memory (prometheus.erl's process collector) stands in for the
    // working set, and what the BEAM does not explain is the difference
    assert_shown(&s, "resident mem", format_bytes(ERL_RSS));
    assert_shown(
        &s,
        "unexplained",
        format_bytes(ERL_RSS - ERL_PROCS - ERL_SYSTEM),
    );
    assert_shown(&s, "run queue", count(ERL_COUNTS.0));
    assert_shown(&s, "processes", count(ERL_COUNTS.1));
    assert_shown(&s, "ports", count(ERL_COUNTS.2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promex_beam() {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        "promex",
        &[
            "memory.runtime_total",
            "memory.processes",
            "memory.binary",
            "memory.system",
            "scheduler.run_queue",
            "scheduler.run_queue_io",
            "scheduler.processes",
            "scheduler.ports",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("beam", Some("promex")));
    assert_shown(&s, "BEAM total", format_bytes(PROMEX_ALLOCATED));
    // PromEx has no system figure: allocated minus processes; with no
    // working set the bars are shares of the BEAM total, so the largest
    // category shows and the other five are counted
    assert_shown(&s, "system", format_bytes(PROMEX_ALLOCATED - PROMEX_PROCS));
    let cats = s
        .lines()
        .find(|l| l.contains(" system "))
        .unwrap_or_else(|| panic!("no category line:\n{s}"));
    // six categories: those drawn plus those counted (how many fit
    // depends on the pane's width, which the panes with data share)
    let drawn = cats.matches(" MiB").count() + cats.matches(" KiB").count();
    let more: usize = cats
        .split("+")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert_eq!(drawn + more, 6, "`{cats}`\n{s}");
    assert_eq!(stored(&st, "memory.processes"), PROMEX_PROCS);
    assert_eq!(stored(&st, "memory.binary"), PROMEX_BINARY);
    // the run queue is normal + dirty; the rows under it split them
    assert_shown(&s, "run queue", count(PROMEX_RUNQ.0 + PROMEX_RUNQ.1));
    assert_shown(&s, "  dirty", count(PROMEX_RUNQ.1));
    assert_shown(&s, "processes", count(PROMEX_COUNTS.0));
    assert_shown(&s, "ports", count(PROMEX_COUNTS.1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_golang_with_node_memory_as_the_limit() {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        "golang",
        &[
            "scheduler.goroutines",
            "memory.runtime_total",
            "memory.working_set",
            "memory.limit",
            "admission.api_p95",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("go", Some("golang")));
    assert_shown(&s, "goroutines", count(GO_GOROUTINES));
    assert_shown(&s, "Go sys", format_bytes(GO_SYS));
    // promhttp's seconds, shown in ms
    assert_shown(
        &s,
        "api p95",
        format_value(1000.0 * SECONDS.quantile(0.95), Unit::Millis),
    );
    // no cAdvisor, no container limit, one node: resident memory against
    // the node's memory, each labelled as what it is
    let want = format!(
        "{}/{} node mem {}",
        format_bytes(GO_RSS),
        format_bytes(NODE_MEM),
        format_ratio(GO_RSS / NODE_MEM)
    );
    let line = s
        .lines()
        .find(|l| l.contains("resident mem"))
        .unwrap_or_else(|| panic!("no resident mem line:\n{s}"));
    assert!(line.contains(&want), "want `{want}` in `{line}`\n{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coderd_folds_workspace_series() {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        "coderd",
        &[
            "admission.concurrent",
            "admission.api_p95",
            "admission.workspaces_top",
            "admission.workspaces",
            "admission.requests_by_code",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("go", Some("coderd")));
    assert_shown(&s, "concurrent", count(CODERD_CONCURRENT));
    assert_shown(
        &s,
        "api p95",
        format_value(MILLIS.quantile(0.95), Unit::Millis),
    );
    assert_shown(&s, "requests 200", format_value(20.0, Unit::PerSec));
    // one series per workspace, summed by status, and how many were folded
    let sum = |status: &str| -> f64 {
        (0..CODERD_WORKSPACES)
            .flat_map(builds)
            .filter(|b| b.0 == status)
            .map(|b| b.1)
            .sum()
    };
    assert_shown(&s, "workspace builds success", count(sum("success")));
    assert_shown(&s, "workspace builds failed", count(sum("failed")));
    let folded = s
        .lines()
        .find(|l| l.contains("  workspaces"))
        .unwrap_or_else(|| panic!("no folded line:\n{s}"));
    assert!(
        folded.contains(&format!("{} folded", count(CODERD_WORKSPACES as f64))),
        "`{folded}`\n{s}"
    );
    assert!(!s.contains("ws-0"), "a workspace drawn one by one:\n{s}");
}

/// The http preset's request rate, 5xx ratio and p95/p99 for one convention.
async fn http_convention(c: &Http, p95_unit_is_ms_fixture: bool) {
    let Some(srv) = server() else { return };
    let (st, s) = run_job(
        &srv.url,
        c.job,
        &[
            "admission.rate",
            "admission.error_ratio",
            "admission.p95",
            "admission.p99",
        ],
    )
    .await;
    assert_eq!(preset_of(&st), ("http", Some(c.job)));
    assert_shown(&s, "requests", format_value(c.rate(), Unit::PerSec));
    assert_shown(&s, "5xx", format_value(c.error_ratio(), Unit::Ratio));
    // a ms histogram is shown in seconds like every other
    let scale = if p95_unit_is_ms_fixture { 1000.0 } else { 1.0 };
    assert_shown(
        &s,
        "p95",
        format_value(c.hist.quantile(0.95) / scale, Unit::Seconds),
    );
    assert_shown(
        &s,
        "p99",
        format_value(c.hist.quantile(0.99) / scale, Unit::Seconds),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_prefixed_http() {
    http_convention(&SVC, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn micrometer_http() {
    http_convention(&MICROMETER, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_seconds_http() {
    http_convention(&OTEL, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_milliseconds_http() {
    http_convention(&OTEL_MS, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc() {
    http_convention(&GRPC, false).await;
}
