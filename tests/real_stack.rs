//! A real stack from Debian packages on loopback ports, started once for
//! this binary: `prometheus` scraping itself, `prometheus-node-exporter`,
//! `prometheus-alertmanager` and `rabbitmq-server` (a real BEAM service with
//! the rabbitmq_prometheus plugin, whose names are prometheus.erl's
//! `erlang_vm_*`) every 2 s. No Kubernetes collectors: the fallbacks fill in.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use watchfloor::app::State;
use watchfloor::config::Endpoint;
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::ui::render;

/// Kills its processes when dropped (also when a test fails).
struct Procs(Vec<Child>, Vec<Box<dyn FnOnce()>>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
        for f in self.1.drain(..) {
            f();
        }
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn wait_http(url: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if reqwest::blocking_get(url) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{url} did not answer within {secs}s");
}

mod reqwest {
    /// A plain GET on loopback, without a runtime: true on HTTP 200.
    pub fn blocking_get(url: &str) -> bool {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Ok(mut s) = std::net::TcpStream::connect(host) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(3)));
        let _ = write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        buf[..n].starts_with(b"HTTP/1.0 200") || buf[..n].starts_with(b"HTTP/1.1 200")
    }
}

struct Stack {
    prom: String,
    node: String,
    _procs: Procs,
}

/// Starts the stack, or None (after saying why) without the packages.
fn stack() -> Option<Stack> {
    for bin in [
        "prometheus",
        "prometheus-node-exporter",
        "prometheus-alertmanager",
    ] {
        if !require(bin) {
            return None;
        }
    }
    let rabbit = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    if !Path::new(rabbit).exists() && !require("rabbitmq-server") {
        return None;
    }
    let dir = tempdir("stack");
    let [pp, np, ap, acp, rp, rnode, rdist, epmd] = [(); 8].map(|_| free_port());
    let mut procs = Procs(vec![], vec![]);
    // node_exporter
    procs.0.push(spawn(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{np}")),
    ));
    // alertmanager, no clustering
    let am = dir.join("am.yml");
    std::fs::write(
        &am,
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    procs.0.push(spawn(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am.display()))
            .arg(format!("--storage.path={}", dir.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{ap}"))
            .arg(format!("--cluster.listen-address=127.0.0.1:{acp}")),
    ));
    // rabbitmq-server run directly: its own config, mnesia and log dirs
    let r = dir.join("rabbit");
    for d in ["mnesia", "log", "home"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("enabled_plugins"), "[rabbitmq_prometheus].\n").unwrap();
    std::fs::write(
        r.join("rabbitmq.conf"),
        format!("listeners.tcp.default = 127.0.0.1:{rnode}\nprometheus.tcp.port = {rp}\nprometheus.tcp.ip = 127.0.0.1\n"),
    )
    .unwrap();
    let bin = if Path::new(rabbit).exists() {
        rabbit
    } else {
        "rabbitmq-server"
    };
    // its script starts beam.smp as a child: a process group of its own, so
    // the whole group is stopped at the end
    use std::os::unix::process::CommandExt;
    let rabbit_child = spawn(
        Command::new(bin)
            .process_group(0)
            .env("HOME", r.join("home"))
            .env("RABBITMQ_MNESIA_BASE", r.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", r.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", r.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", r.join("rabbitmq"))
            .env("RABBITMQ_NODENAME", format!("wf{rnode}@localhost"))
            .env("RABBITMQ_DIST_PORT", rdist.to_string())
            .env("ERL_EPMD_PORT", epmd.to_string()),
    );
    let pgid = rabbit_child.id();
    procs.0.push(rabbit_child);
    procs.1.push(Box::new(move || {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("epmd")
            .arg("-kill")
            .env("ERL_EPMD_PORT", epmd.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }));
    // prometheus scraping all four every 2 s
    let cfg = dir.join("prometheus.yml");
    let job = |name: &str, port: u16| {
        format!("  - job_name: {name}\n    scrape_interval: 2s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    };
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 2s\nscrape_configs:\n{}{}{}{}",
            job("prometheus", pp),
            job("node", np),
            job("alertmanager", ap),
            job("rabbitmq", rp)
        ),
    )
    .unwrap();
    procs.0.push(spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{pp}")),
    ));
    let prom = format!("http://127.0.0.1:{pp}");
    wait_http(&format!("127.0.0.1:{pp}/-/ready"), 60);
    wait_http(&format!("127.0.0.1:{rp}/metrics"), 90);
    Some(Stack {
        prom,
        node: format!("http://127.0.0.1:{np}"),
        _procs: procs,
    })
}

/// Waits until PromQL returns a series for `expr` (the scrapes have landed).
async fn until_series(url: &str, expr: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = watchfloor::core::now_ms() as f64 / 1000.0;
        if !promql(url, expr, now).await.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no series for {expr} within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The newest stored point of one query: (time ms, value).
fn newest(st: &State, key: &str) -> (i64, f64) {
    let d = st
        .metrics
        .store
        .get(key)
        .unwrap_or_else(|| panic!("{key} not stored"));
    d.series
        .iter()
        .filter_map(|s| s.last())
        .max_by_key(|p| p.0)
        .unwrap_or_else(|| panic!("{key}: no series ({:?})", d.error))
}

/// Drives detection and polling for one job until every query answered and
/// the `keys` have data (an empty convention is followed by the next one).
async fn run_scoped(url: &str, job: &str, keys: &[&str]) -> State {
    let client = Arc::new(PrometheusClient::new(&Endpoint::plain(url)).unwrap().0);
    let mut st = state(900, 1.0, "prom", url);
    st.target.namespace = None;
    st.target.job = Some(job.into());
    let (mut tasks, mut rx) = start(&mut st, client);
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(45), |s| {
        s.all_answered()
            && s.metrics.queries.iter().all(|q| {
                s.metrics
                    .store
                    .get(&q.key)
                    .is_some_and(|d| d.error.is_none() && d.last_ok.is_some())
            })
    })
    .await;
    assert!(
        ok,
        "{job}: not all answered: {:?}",
        st.metrics.common.health.last_error
    );
    // data = at least one finite value (a fresh server's first step may be NaN)
    let finite = |d: &watchfloor::store::QueryData| {
        d.series
            .iter()
            .any(|s| s.points.iter().any(|p| p.1.is_finite()))
    };
    let has_data = |s: &State| {
        keys.iter()
            .all(|k| s.metrics.store.get(k).is_some_and(finite))
    };
    let ok = drive(
        &mut st,
        &mut tasks,
        &mut rx,
        Duration::from_secs(45),
        has_data,
    )
    .await;
    let empty: Vec<&&str> = keys
        .iter()
        .filter(|k| !st.metrics.store.get(k).is_some_and(finite))
        .collect();
    assert!(ok, "{job}: no data for {empty:?}");
    st
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_per_job_conventions_and_fallbacks_on_a_real_stack() {
    let Some(s) = stack() else { return };
    let url = s.prom.clone();
    until_series(&url, r#"erlang_vm_process_count{job="rabbitmq"}"#, 90).await;
    until_series(
        &url,
        r#"rate(prometheus_http_request_duration_seconds_count{job="prometheus"}[10s]) > 0"#,
        60,
    )
    .await;

    // 1. rabbitmq: the beam preset, from prometheus.erl's names
    let st = run_scoped(
        &url,
        "rabbitmq",
        &[
            "scheduler.processes",
            "scheduler.ports",
            "scheduler.run_queue",
            "memory.runtime_total",
            "memory.binary",
            "memory.working_set",
        ],
    )
    .await;
    let det = st.metrics.detection.clone().expect("detected");
    assert_eq!(
        (det.preset.as_str(), det.job.as_deref()),
        ("beam", Some("rabbitmq"))
    );
    for (key, expr) in [
        (
            "scheduler.processes",
            r#"sum(erlang_vm_process_count{job="rabbitmq"})"#,
        ),
        (
            "scheduler.ports",
            r#"sum(erlang_vm_port_count{job="rabbitmq"})"#,
        ),
        (
            "scheduler.run_queue",
            r#"sum(erlang_vm_statistics_run_queues_length{job="rabbitmq"})"#,
        ),
        (
            "memory.runtime_total",
            r#"sum by (instance) (erlang_vm_memory_bytes_total{job="rabbitmq"})"#,
        ),
        (
            "memory.binary",
            r#"sum by (instance) (erlang_vm_memory_system_bytes_total{job="rabbitmq",usage="binary"})"#,
        ),
    ] {
        let (t, v) = newest(&st, key);
        let want = promql(&url, expr, t as f64 / 1000.0).await;
        assert_eq!(want.len(), 1, "{expr}");
        assert!(
            (want[0].1 - v).abs() <= 1e-9 * v.abs().max(1.0),
            "{key}: {v} != {}",
            want[0].1
        );
    }
    // no cAdvisor here: the working set row is the resident memory, labelled so
    let ws = st
        .metrics
        .queries
        .iter()
        .find(|q| q.key == "memory.working_set")
        .unwrap();
    assert_eq!(ws.label, "resident mem", "{}", ws.expr);
    assert!(newest(&st, "memory.working_set").1 > 10e6);
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("beam · auto · job rabbitmq"), "{screen}");
    // the generic BEAM flavour: no Codex Pooler gateway rows, nor counted
    // among the missing signals
    assert_eq!(det.variant, None);
    assert!(
        st.metrics
            .queries
            .iter()
            .all(|q| !q.expr.contains("gateway_")),
        "gateway rows on RabbitMQ"
    );
    assert!(!screen.contains("enqueued"), "{screen}");
    assert!(
        det.missing.iter().all(|m| !m.contains("gateway_")),
        "{:?}",
        det.missing
    );
    assert!(screen.contains("resident mem"), "{screen}");
    assert!(
        det.missing.iter().any(|m| m.contains("kube-state-metrics")),
        "{:?}",
        det.missing
    );

    // 2. prometheus: the go preset, goroutines, resident memory, request p95
    // (wait until its own HTTP histogram has a p95 over the preset's window)
    until_series(
        &url,
        r#"histogram_quantile(0.95, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket{job="prometheus"}[1m]))) > 0"#,
        90,
    )
    .await;
    let st = run_scoped(
        &url,
        "prometheus",
        &[
            "scheduler.goroutines",
            "memory.working_set",
            "admission.api_p95",
        ],
    )
    .await;
    let det = st.metrics.detection.as_ref().unwrap();
    // the generic Go flavour: coderd's own rows are not there
    assert_eq!(det.dashboard_name(), "go");
    assert!(
        st.metrics
            .queries
            .iter()
            .all(|q| !q.expr.contains("coderd_")),
        "coderd rows on Prometheus"
    );
    let (t, v) = newest(&st, "scheduler.goroutines");
    let want = promql(
        &url,
        r#"sum(go_goroutines{job="prometheus"})"#,
        t as f64 / 1000.0,
    )
    .await;
    assert_eq!(want[0].1, v);
    assert!(newest(&st, "memory.working_set").1 > 10e6);
    // a request p95 from prometheus's own HTTP histogram (the newest step
    // may be NaN when no request landed in its rate window)
    let d = st.metrics.store.get("admission.api_p95").unwrap();
    let p95: Vec<f64> = d
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    assert!(
        !p95.is_empty(),
        "no request p95 in the window: {:?}",
        d.series
    );

    // 3. an empty scope says so and exits 3; an exporter is not a Prometheus
    let log = tempdir("stack-once").join("wf.log");
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "--prometheus",
            &url,
            "--namespace",
            "nope",
            "--dashboard",
            "beam",
        ])
        .args([
            "--once",
            "--size",
            "160x40",
            "--once-timeout",
            "20s",
            "--log-file",
        ])
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("in scope ns=nope"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("scope ns=nope matches no series"));
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "--prometheus",
            &s.node,
            "--once",
            "--once-timeout",
            "5s",
            "--log-file",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Prometheus API"), "{err}");
}
