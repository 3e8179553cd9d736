//! Benchmarks that print figures (no timing assertions):
//!  1. full-frame render at 200x50 with every pane populated: median, p99;
//!  2. bytes fetched per refresh, incremental vs a full 1 h re-query, against
//!     the real prometheus binary (skipped with a reason if it is absent);
//!  3. the demo in tmux at 200x50, 1 s refresh: CPU share of one core, bytes
//!     written to the terminal per second, and RSS at the end
//!     (WF_BENCH_SECS, default 60; the memory figure uses 600);
//!  4. peak RSS while a proxy floods every query with 60,000 series once,
//!     and RSS 20 s later.
//!
//!  5. backend requests per minute (and CPU) for the beam dashboard with a
//!     1 h window and 1 s refresh against a Prometheus scraping every 15 s
//!     (WF_BENCH_RPM_SECS, default 120).
//!
//!  6. detection on a Prometheus holding 100,000 series over 200 jobs
//!     (backfilled with promtool): the inventory requests and the scoring,
//!     end to end through the real client and `detect`; and requests per
//!     poll cycle after detection vs the same preset fixed, counted by a
//!     proxy (WF_BENCH_DETECT_SECS, default 60).
//!
//! WF_BENCH_ONLY=render,bytes,flood,rpm,soak,detect picks some.
//!
//! Run: cargo bench --bench render

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use watchfloor::app::State;
use watchfloor::dashboard::Dashboard;
use watchfloor::features::metrics::client::MetricsBackend;
use watchfloor::features::metrics::poller::fetch_range;

fn populated_state(t_s: i64) -> State {
    common::demo_state(t_s, None, 3600, 1)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench_render() {
    let st = populated_state(1_700_000_100);
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    for _ in 0..50 {
        term.draw(|f| watchfloor::ui::draw(f, &st)).unwrap();
    }
    let mut times = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        term.draw(|f| watchfloor::ui::draw(f, &st)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let points: usize = st
        .metrics
        .store
        .queries
        .values()
        .map(|q| q.point_count())
        .sum();
    println!("render 200x50, all panes populated ({points} points, 1h window): median {:.3} ms, p99 {:.3} ms, max {:.3} ms (n=2000)", pct(&times, 0.5), pct(&times, 0.99), times[times.len() - 1]);
    // a clock tick: the header over the last full frame
    let last = term.backend().buffer().clone();
    let mut st = st;
    let mut ticks = Vec::with_capacity(2000);
    for i in 0..2000 {
        st.now_ms += 1000 * (i % 2 + 1);
        let t = Instant::now();
        term.draw(|f| watchfloor::ui::draw_header_over(f, &st, &last))
            .unwrap();
        ticks.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ticks.sort_by(f64::total_cmp);
    println!(
        "render 200x50, a clock tick (the header over the last frame): median {:.3} ms, p99 {:.3} ms (n=2000)",
        pct(&ticks, 0.5),
        pct(&ticks, 0.99)
    );
}

fn bench_incremental_bytes() {
    let have = |b: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !have("prometheus") || !have("promtool") {
        println!("bytes per refresh: SKIPPED (prometheus/promtool not installed)");
        return;
    }
    let (data, _) = common::backfill();
    let prom = common::Prom::start(&data, common::free_port());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = watchfloor::features::metrics::client::prometheus::PrometheusClient::new(
        &watchfloor::config::Endpoint::plain(&prom.url),
    )
    .unwrap()
    .0;
    let d = Dashboard::builtin("beam").unwrap();
    let vars = watchfloor::dashboard::TargetVars {
        namespace: Some(common::NS.into()),
        pod: None,
        range_secs: 3600,
        step_secs: 10,
        ..Default::default()
    };
    let queries = d.resolve(&vars).unwrap();
    let now = watchfloor::core::now_ms();
    let (mut full, mut incr) = (0usize, 0usize);
    rt.block_on(async {
        for q in queries.iter().filter(|q| !q.instant) {
            let (s, e, _) = fetch_range(now, 3600, 10, None);
            full += client.query_range(q, s, e, 10).await.unwrap().bytes;
            // a 5 s refresh resumes from the end of the previous fetch
            let prev_end =
                watchfloor::features::metrics::client::prometheus::align_down(now - 5_000, 10);
            let (s, e, inc) = fetch_range(now, 3600, 10, Some(prev_end));
            assert!(inc);
            incr += client.query_range(q, s, e, 10).await.unwrap().bytes;
        }
    });
    println!(
        "bytes per refresh (1h window, step 10s, {} range queries): full re-query {full} B, incremental {incr} B, ratio 1/{:.1}",
        queries.iter().filter(|q| !q.instant).count(),
        full as f64 / incr.max(1) as f64
    );
}

fn proc_cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?)
}

fn proc_rss_kib(pid: &str) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// A `/proc/PID/status` field in KiB (VmRSS, VmHWM = peak RSS).
fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn bench_demo_soak() {
    let have_tmux = Command::new("sh")
        .args(["-c", "command -v tmux"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have_tmux {
        println!("demo soak: SKIPPED (tmux not installed)");
        return;
    }
    let secs: u64 = std::env::var("WF_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = common::tempdir("soak");
    let log = dir.join("wf.log");
    let cmd = format!(
        "{} --demo --refresh 1s --log-file {}",
        env!("CARGO_BIN_EXE_watchfloor"),
        log.display()
    );
    let t = common::Tmux::start("bench", &cmd, 200, 50, false);
    t.wait_for("Memory", 20);
    let pid = t.app_pid();
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let warm = 10u64.min(secs / 2);
    std::thread::sleep(Duration::from_secs(warm));
    let c0 = proc_cpu_ticks(&pid).unwrap_or(0);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs.saturating_sub(warm)));
    let c1 = proc_cpu_ticks(&pid).unwrap_or(0);
    let wall = t0.elapsed().as_secs_f64();
    let rss = proc_rss_kib(&pid).unwrap_or(0);
    t.keys(&["q"]);
    std::thread::sleep(Duration::from_secs(1));
    drop(t);
    let logtext = std::fs::read_to_string(&log).unwrap_or_default();
    let bytes_line = logtext
        .lines()
        .rev()
        .find(|l| l.contains("bytes written to the terminal"))
        .unwrap_or("(no exit line in log)");
    println!(
        "demo 200x50 refresh 1s, {secs}s run: CPU {:.2}% of one core (steady state, {:.0}s window); RSS {:.1} MiB at the end; {}",
        (c1 - c0) as f64 / ticks_per_sec / wall * 100.0,
        wall,
        rss as f64 / 1024.0,
        bytes_line.split_once(" INFO ").map(|x| x.1).unwrap_or(bytes_line)
    );
}

/// Issue 5: a proxy before the real prometheus answers one round of every
/// query with 60,000 series (~16 MB each), then passes through. Prints the
/// peak RSS of the watchfloor process during the burst and its RSS 20 s after.
fn bench_flood_rss() {
    if !common::require("prometheus") || !common::require("tmux") {
        println!("flood RSS: SKIPPED (prometheus or tmux not installed)");
        return;
    }
    let (data, _) = common::backfill();
    let prom = common::Prom::start(&data, common::free_port());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let burst = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = rt.block_on(common::flood_proxy(prom.url.clone(), burst.clone()));
    let log = common::tempdir("flood").join("wf.log");
    let cmd = format!(
        "{} --prometheus {url} --namespace {} --dashboard beam --refresh 1s --log-file {}",
        env!("CARGO_BIN_EXE_watchfloor"),
        common::NS,
        log.display()
    );
    let t = common::Tmux::start("flood", &cmd, 200, 50, false);
    t.wait_for("app-1", 30);
    std::thread::sleep(Duration::from_secs(3));
    let pid = t.app_pid();
    let before = proc_status_kib(&pid, "VmRSS:").unwrap_or(0);
    let queries = Dashboard::builtin("beam")
        .unwrap()
        .panes
        .iter()
        .map(|p| p.queries.len())
        .sum::<usize>();
    burst.store(queries, std::sync::atomic::Ordering::SeqCst);
    t.wait_for("series left out", 60);
    while burst.load(std::sync::atomic::Ordering::SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let peak = proc_status_kib(&pid, "VmHWM:").unwrap_or(0);
    std::thread::sleep(Duration::from_secs(20));
    let after = proc_status_kib(&pid, "VmRSS:").unwrap_or(0);
    let screen = t.screen();
    println!(
        "flood of 60,000 series x {queries} queries: RSS before {:.1} MiB, peak {:.1} MiB, 20 s after {:.1} MiB; real pods back on screen: {}",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        screen.contains("app-1") && !screen.contains("series left out")
    );
    t.keys(&["q"]);
}

/// Issue 6: backend requests per minute for the beam dashboard, 1 h window,
/// 1 s refresh, against a real Prometheus scraping (itself) every 15 s,
/// counted by a proxy; and the CPU the process used meanwhile.
fn bench_requests_per_minute() {
    if !common::require("prometheus") || !common::require("tmux") {
        println!("requests per minute: SKIPPED (prometheus or tmux not installed)");
        return;
    }
    let secs: u64 = std::env::var("WF_BENCH_RPM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let (data, _) = common::backfill();
    let port = common::free_port();
    let prom = common::Prom::start_scraping(&data, port, "15s");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let none = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = rt.block_on(common::counting_proxy(
        prom.url.clone(),
        none,
        count.clone(),
    ));
    let log = common::tempdir("rpm").join("wf.log");
    let cmd = format!(
        "{} --prometheus {url} --namespace {} --dashboard beam --range 1h --refresh 1s --log-file {}",
        env!("CARGO_BIN_EXE_watchfloor"),
        common::NS,
        log.display()
    );
    let t = common::Tmux::start("rpm", &cmd, 200, 50, false);
    t.wait_for("app-1", 30);
    std::thread::sleep(Duration::from_secs(20)); // past the first full fetch
    let pid = t.app_pid();
    let (n0, c0, t0) = (
        count.load(std::sync::atomic::Ordering::SeqCst),
        proc_cpu_ticks(&pid).unwrap_or(0),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(secs));
    let (n1, c1) = (
        count.load(std::sync::atomic::Ordering::SeqCst),
        proc_cpu_ticks(&pid).unwrap_or(0),
    );
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "requests per minute, beam, 1h window, 1s refresh, 15s scrapes: {:.1} ({} requests in {:.0}s); CPU {:.2}% of one core",
        (n1 - n0) as f64 * 60.0 / wall,
        n1 - n0,
        wall,
        (c1 - c0) as f64 / 100.0 / wall * 100.0
    );
    t.keys(&["q"]);
}

/// 100,000 series over 200 jobs, a few samples each (the last minute and
/// the next, so an instant query now sees every series). Each job is one of
/// the conventions the presets know (half its series carry a preset-relevant
/// name, histogram buckets by handler) plus metrics no preset asks for.
fn detect_fixture(jobs: usize, per_job: usize, now_s: i64) -> String {
    use std::fmt::Write as _;
    // (family, label name for the status) per convention
    const KINDS: [(&str, &str); 5] = [
        ("erlang_vm_memory_bytes_total", "kind"),
        ("http_request_duration_seconds_bucket", "code"),
        ("myapp_prom_ex_beam_memory_allocated_bytes", "type"),
        ("http_server_requests_seconds_bucket", "status"),
        ("grpc_server_handling_seconds_bucket", "grpc_code"),
    ];
    const LE: [&str; 10] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
    ];
    let times = [now_s - 60, now_s - 30, now_s, now_s + 30, now_s + 60];
    // families hold every job's series: one block per name
    let mut fams: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for j in 0..jobs {
        let job = format!("svc-{j:03}");
        let (fam, status) = KINDS[j % KINDS.len()];
        let wanted = per_job / 2;
        for i in 0..wanted {
            let labels = format!(
                "job=\"{job}\",instance=\"{job}:9000\",handler=\"/h{}\",{status}=\"{}\",le=\"{}\"",
                i / LE.len() / 3,
                i / LE.len() % 3,
                LE[i % LE.len()]
            );
            fams.entry(fam.into()).or_default().push(labels);
        }
        // the companions a service of that kind exposes
        for extra in ["go_goroutines", "process_resident_memory_bytes"] {
            fams.entry(extra.into())
                .or_default()
                .push(format!("job=\"{job}\",instance=\"{job}:9000\""));
        }
        for i in 0..per_job - wanted - 2 {
            fams.entry(format!("app_things_{}", i % 20))
                .or_default()
                .push(format!(
                    "job=\"{job}\",instance=\"{job}:9000\",thing=\"t{i}\""
                ));
        }
    }
    let mut om = String::with_capacity(jobs * per_job * times.len() * 110);
    for (name, series) in &fams {
        writeln!(om, "# TYPE {name} gauge").unwrap();
        for labels in series {
            for (k, t) in times.iter().enumerate() {
                writeln!(om, "{name}{{{labels}}} {} {t}", k + 1).unwrap();
            }
        }
    }
    om.push_str("# EOF\n");
    om
}

/// Issue 7: detection time at 100k series / 200 jobs, and requests per poll
/// cycle for an auto-detected dashboard vs the same preset fixed.
fn bench_detect() {
    if !common::require("prometheus") || !common::require("promtool") {
        println!("detection: SKIPPED (prometheus/promtool not installed)");
        return;
    }
    let (jobs, per_job) = (200usize, 500usize);
    let dir = common::tempdir("bench-detect");
    let now_s = watchfloor::core::now_ms() / 1000;
    let t = Instant::now();
    let data = common::promtool_backfill(&dir, &detect_fixture(jobs, per_job, now_s));
    let backfill_s = t.elapsed().as_secs_f64();
    let prom = common::Prom::start(&data, common::free_port());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = watchfloor::features::metrics::client::prometheus::PrometheusClient::new(
        &watchfloor::config::Endpoint::plain(&prom.url),
    )
    .unwrap()
    .0;
    let series: f64 = rt.block_on(async {
        common::promql(&prom.url, "count({__name__=~\".+\"})", now_s as f64).await[0].1
    });
    let presets = Dashboard::builtins();
    // what spawn_detect and on_inventory do: the wanted names, the inventory
    // (one query plus label names and job values), then the scoring
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let names = watchfloor::dashboard::detect::wanted_names(&presets);
        let inv = rt.block_on(client.inventory(&names)).unwrap();
        let t1 = Instant::now();
        let det = watchfloor::dashboard::detect::detect(&presets, &inv, None).unwrap();
        let t2 = Instant::now();
        runs.push((
            (t2 - t0).as_secs_f64(),
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            inv.jobs.len(),
            det,
        ));
    }
    let first = &runs[0];
    let mut totals: Vec<f64> = runs.iter().map(|r| r.0).collect();
    totals.sort_by(f64::total_cmp);
    println!(
        "detection, {series:.0} series over {} jobs (backfilled in {backfill_s:.1}s): first {:.3}s (inventory {:.3}s, scoring {:.4}s), median of 5 {:.3}s, max {:.3}s; chose {} for job {:?}",
        first.3,
        first.0,
        first.1,
        first.2,
        pct(&totals, 0.5),
        totals[totals.len() - 1],
        first.4.preset,
        first.4.job
    );
    drop(prom);
    bench_requests_per_cycle(&rt);
}

/// Requests per poll cycle (one 15 s scrape interval) against a real
/// Prometheus scraping itself, beam dashboard, 1 h window, 1 s refresh:
/// detected (auto) vs fixed, both scoped to the same job, both counted
/// by a proxy over the same steady window after their first full round.
fn bench_requests_per_cycle(rt: &tokio::runtime::Runtime) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let secs: u64 = std::env::var("WF_BENCH_DETECT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let (data, _) = common::backfill();
    let prom = common::Prom::start_scraping(&data, common::free_port(), "15s");
    let counts = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let none = Arc::new(AtomicUsize::new(0));
    let urls: Vec<String> = counts
        .iter()
        .map(|c| {
            rt.block_on(common::counting_proxy(
                prom.url.clone(),
                none.clone(),
                c.clone(),
            ))
        })
        .collect();
    let run = |url: String, fixed: bool, count: Arc<AtomicUsize>| async move {
        let client = Arc::new(
            watchfloor::features::metrics::client::prometheus::PrometheusClient::new(
                &watchfloor::config::Endpoint::plain(&url),
            )
            .unwrap()
            .0,
        );
        let mut st = common::state(3600, 1.0, "prom", &url);
        if fixed {
            st.target.job = Some(common::JOB.into());
            st.metrics.dashboard = Some(Dashboard::builtin("beam").unwrap());
            st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
        }
        let (mut tasks, mut rx) = common::start(&mut st, client);
        // past detection and the first full round of every query
        common::drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
            s.all_answered()
        })
        .await;
        let warm = Duration::from_secs(15);
        common::drive(&mut st, &mut tasks, &mut rx, warm, |_| false).await;
        let n0 = count.load(SeqCst);
        common::drive(
            &mut st,
            &mut tasks,
            &mut rx,
            Duration::from_secs(secs),
            |_| false,
        )
        .await;
        let n = count.load(SeqCst) - n0;
        let d = st
            .metrics
            .detection
            .as_ref()
            .map(|d| format!("{} job {:?}", d.preset, d.job));
        (n, st.metrics.queries.len(), d, st.target.job.clone())
    };
    let (auto, fixed) = rt.block_on(async {
        tokio::join!(
            run(urls[0].clone(), false, counts[0].clone()),
            run(urls[1].clone(), true, counts[1].clone())
        )
    });
    let cycles = secs as f64 / 15.0;
    println!(
        "requests per poll cycle (15 s scrapes, 1 s refresh, 1 h window, {secs}s window after the first round): auto-detected {:.1} ({} requests, {} queries, {} scoped to {:?}), fixed beam {:.1} ({} requests, {} queries, job {:?})",
        auto.0 as f64 / cycles,
        auto.0,
        auto.1,
        auto.2.unwrap_or_default(),
        auto.3,
        fixed.0 as f64 / cycles,
        fixed.0,
        fixed.1,
        fixed.3
    );
}

fn main() {
    // `cargo test --benches` passes no filter; only `cargo bench` runs the figures.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let only = std::env::var("WF_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("render") {
        bench_render();
    }
    if run("bytes") {
        bench_incremental_bytes();
    }
    if run("flood") {
        bench_flood_rss();
    }
    if run("rpm") {
        bench_requests_per_minute();
    }
    if run("soak") {
        bench_demo_soak();
    }
    if run("detect") {
        bench_detect();
    }
}
