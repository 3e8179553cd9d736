//! Benchmarks that print figures (no timing assertions):
//!  1. full-frame render at 200x50 with every pane populated: median, p99;
//!  2. bytes fetched per refresh, incremental vs a full 1 h re-query, against
//!     the real prometheus binary (skipped with a reason if it is absent);
//!  3. the demo in tmux at 200x50, 1 s refresh: CPU share of one core, bytes
//!     written to the terminal per second, and RSS at the end
//!     (WF_BENCH_SECS, default 60; the issue's memory figure uses 600);
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
//!  7. side by side with grafatui on the same real Prometheus and the same
//!     queries (benches/compare/dashboard.json is the go preset watchfloor
//!     detects there, as a Grafana dashboard), 200x50, 1 s refresh, one tool
//!     after the other: CPU share of one core (the process's threads'
//!     /proc schedstat, in ns) and bytes per second written to the terminal
//!     (tmux pipe-pane, the same for all), for watchfloor, watchfloor
//!     --low-bandwidth and grafatui, with the ratios the issue asks for,
//!     medians over 15 s slices; also frames, wakeups, queries (Prometheus's
//!     query log, which also shows both sent the same queries), the CPU of
//!     seconds with and without a query, and how many panels showed data
//!     (so the figures can be trusted). Skipped with a reason when grafatui is not found ($WF_GRAFATUI,
//!     then PATH, then /work/tools/bin). WF_BENCH_COMPARE_SECS (default 60)
//!     is each window, WF_BENCH_COMPARE_ROUNDS (default 1) how many times the
//!     three run in turn, WF_BENCH_COMPARE_SCRAPE (s, default 15) the scrape
//!     interval.
//!
//! WF_BENCH_ONLY=render,bytes,flood,rpm,soak,detect,compare picks some.
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
    // a clock tick as the app draws it (run::header_frame): the header row
    // rendered into the last frame, that row alone diffed and written, and
    // the frame handed to ratatui as its previous one
    use ratatui::backend::Backend;
    let mut buf = term.backend().buffer().clone();
    let mut st = st;
    st.ui.width = 200;
    st.ui.height = 50;
    let row_area = ratatui::layout::Rect {
        height: 1,
        ..buf.area
    };
    let copy_row = |b: &ratatui::buffer::Buffer| {
        let mut r = ratatui::buffer::Buffer::empty(row_area);
        for x in 0..row_area.width {
            r[(x, 0)] = b[(x, 0)].clone();
        }
        r
    };
    let mut ticks = Vec::with_capacity(2000);
    for i in 0..2000 {
        st.now_ms += 1000 * (i % 2 + 1);
        let t = Instant::now();
        let before = copy_row(&buf);
        assert!(watchfloor::ui::header_into(&mut buf, &st));
        let after = copy_row(&buf);
        let updates = before.diff(&after);
        term.backend_mut().draw(updates.into_iter()).unwrap();
        term.current_buffer_mut().clone_from(&buf);
        term.swap_buffers();
        ticks.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ticks.sort_by(f64::total_cmp);
    println!(
        "render 200x50, a clock tick (the header row only): median {:.3} ms, p99 {:.3} ms (n=2000)",
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

use common::{proc_cpu_ticks, proc_status_kib};

fn proc_rss_kib(pid: &str) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
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

/// Where grafatui is: $WF_GRAFATUI, then PATH, then /work/tools/bin.
fn find_grafatui() -> Option<String> {
    if let Ok(p) = std::env::var("WF_GRAFATUI") {
        if std::path::Path::new(&p).is_file() {
            return Some(p);
        }
        println!("compare: WF_GRAFATUI={p} is not a file; looking on PATH");
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v grafatui"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty());
    on_path.or_else(|| {
        let fixed = "/work/tools/bin/grafatui";
        std::path::Path::new(fixed)
            .is_file()
            .then(|| fixed.to_string())
    })
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One program in the comparison.
struct Tool {
    name: &'static str,
    /// its process name (/proc/PID/comm)
    comm: &'static str,
    cmd: String,
    /// text on screen once it has drawn its dashboard
    ready: &'static str,
    /// watchfloor's own log, which ends with its count of terminal bytes
    log: Option<std::path::PathBuf>,
}

/// What one tool cost over one measured window, and what it showed.
struct Costs {
    wall: f64,
    /// CPU time over the window (schedstat), and the same in 10 ms ticks (/proc/PID/stat)
    cpu_ns: u64,
    cpu_ticks: u64,
    /// CPU ms of each second of the window, and whether a query went out in it
    seconds: Vec<(f64, bool)>,
    /// times its threads were put on a CPU
    wakeups: u64,
    /// frames written to the terminal
    frames: usize,
    bytes: u64,
    /// (CPU % of one core, bytes/s) per slice of the window
    slices: Vec<(f64, f64)>,
    prom_ticks: u64,
    queries: usize,
    distinct: std::collections::BTreeSet<String>,
    screen: String,
    /// every byte the pane received, from before the program started to its exit
    piped_total: u64,
    /// watchfloor's exit line: its own count of bytes written
    self_count: Option<String>,
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// CPU time of a process to the nanosecond (/proc/PID/stat counts in 10 ms
/// ticks, too coarse for a few ticks a second), and how often its threads
/// were put on a CPU (wakeups): the sums over its threads of the fields of
/// /proc/PID/task/TID/schedstat, sampled often so that a thread that ends
/// loses at most one sample's worth.
struct CpuMeter {
    pid: String,
    last: std::collections::HashMap<String, (u64, u64)>,
    ns: u64,
    runs: u64,
}

impl CpuMeter {
    fn threads(pid: &str) -> std::collections::HashMap<String, (u64, u64)> {
        let mut out = std::collections::HashMap::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for e in dir.flatten() {
                let tid = e.file_name().to_string_lossy().to_string();
                let Ok(stat) = std::fs::read_to_string(e.path().join("schedstat")) else {
                    continue;
                };
                let f: Vec<u64> = stat
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                if let [ns, _, runs] = f[..] {
                    out.insert(tid, (ns, runs));
                }
            }
        }
        out
    }

    fn start(pid: &str) -> CpuMeter {
        CpuMeter {
            pid: pid.to_string(),
            last: CpuMeter::threads(pid),
            ns: 0,
            runs: 0,
        }
    }

    /// Adds what every thread ran since the last sample (a new thread: all
    /// of it); returns the CPU ns and the times on a CPU so far.
    fn sample(&mut self) -> (u64, u64) {
        let now = CpuMeter::threads(&self.pid);
        for (tid, (ns, runs)) in &now {
            let (ns0, runs0) = self.last.get(tid).copied().unwrap_or((0, 0));
            self.ns += ns.saturating_sub(ns0);
            self.runs += runs.saturating_sub(runs0);
        }
        self.last = now;
        (self.ns, self.runs)
    }
}

/// SIGKILLs a process (ours, by pid) on drop, if it still runs.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::path::Path::new(&format!("/proc/{}", self.0)).exists() {
            let _ = Command::new("kill").args(["-9", &self.0]).status();
        }
    }
}

/// Runs `tool` in tmux at 200x50 and measures it over `secs` after a
/// 10 s warm-up, in slices of `slice` seconds.
fn measure_tool(
    tool: &Tool,
    tag: &str,
    secs: u64,
    slice: u64,
    prom: &common::Prom,
    qlog: &std::path::Path,
    dir: &std::path::Path,
) -> Costs {
    let out = dir.join(format!("{tag}.out"));
    // the pipe is attached before the program starts, so it sees every byte
    let t = common::Tmux::start(
        tag,
        &format!("sleep 0.5; export TERM=xterm-256color; exec {}", tool.cmd),
        200,
        50,
        false,
    );
    t.pipe_to(&out);
    let started = Instant::now();
    let pid = loop {
        match t.try_pid_of(tool.comm) {
            Some(pid) => break pid,
            None if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            None => panic!("{} did not start: {}", tool.name, t.screen()),
        }
    };
    // grafatui 0.1.18 does not exit when its terminal goes away (it spins at
    // ~40% of a core, deaf to SIGHUP and SIGTERM): whatever happens, it ends
    let _reaper = KillOnDrop(pid.clone());
    t.wait_for(tool.ready, 60);
    std::thread::sleep(Duration::from_secs(10));
    let prom_pid = prom.child.id().to_string();
    let mut meter = CpuMeter::start(&pid);
    let (c0, b0, p0, q0) = (
        proc_cpu_ticks(&pid).unwrap_or(0),
        file_len(&out),
        proc_cpu_ticks(&prom_pid).unwrap_or(0),
        file_len(qlog),
    );
    let t0 = Instant::now();
    let mut slices = Vec::new();
    let (mut ns, mut b, mut at) = (0u64, b0, t0);
    let mut wakeups = 0;
    // CPU (ms) of each second, and whether the tool sent a query in it
    let mut seconds = Vec::new();
    let (mut ns_s, mut q_s) = (0u64, q0);
    let per_slice = slice.max(1);
    for k in 1..=(secs / per_slice).max(1) * per_slice {
        let until = t0 + Duration::from_secs(k);
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        let (ns1, runs) = meter.sample();
        wakeups = runs;
        let q = file_len(qlog);
        seconds.push(((ns1 - ns_s) as f64 / 1e6, q > q_s));
        (ns_s, q_s) = (ns1, q);
        if k % per_slice == 0 {
            let (b1, now) = (file_len(&out), Instant::now());
            let dt = (now - at).as_secs_f64();
            slices.push(((ns1 - ns) as f64 / 1e9 / dt * 100.0, (b1 - b) as f64 / dt));
            (ns, b, at) = (ns1, b1, now);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let (c1, p1, q1) = (
        proc_cpu_ticks(&pid).unwrap_or(0),
        proc_cpu_ticks(&prom_pid).unwrap_or(0),
        file_len(qlog),
    );
    let screen = t.screen();
    let _ = std::fs::write(dir.join(format!("{tag}.screen.txt")), &screen);
    // a ratatui frame hides the cursor once (both programs are ratatui)
    let written = std::fs::read(&out).unwrap_or_default();
    let frames = written[(b0 as usize).min(written.len())..(b as usize).min(written.len())]
        .windows(6)
        .filter(|w| w == b"\x1b[?25l")
        .count();
    let logged = std::fs::read(qlog).unwrap_or_default();
    let window = &logged[(q0 as usize).min(logged.len())..(q1 as usize).min(logged.len())];
    let mut queries = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for line in String::from_utf8_lossy(window).lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            if let Some(q) = v["params"]["query"].as_str() {
                queries += 1;
                distinct.insert(q.to_string());
            }
        }
    }
    t.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(1500));
    let piped_total = file_len(&out);
    drop(t);
    let self_count = tool.log.as_ref().and_then(|log| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        text.lines()
            .rev()
            .find(|l| l.contains("bytes written to the terminal"))
            .map(|l| l.split_once(" INFO ").map(|x| x.1).unwrap_or(l).to_string())
    });
    Costs {
        wall,
        cpu_ns: ns,
        cpu_ticks: c1 - c0,
        seconds,
        wakeups,
        frames,
        bytes: b - b0,
        slices,
        prom_ticks: p1 - p0,
        queries,
        distinct,
        screen,
        piped_total,
        self_count,
    }
}

/// The titled boxes on a captured screen (`┌ Title ──┐` or ASCII
/// `+ Title --+`): (title, the lines inside).
fn screen_boxes(screen: &str) -> Vec<(String, Vec<String>)> {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let mut boxes = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for c in 0..row.len() {
            if row[c] != '┌' && row[c] != '+' {
                continue;
            }
            let mut s = c + 1;
            if row.get(s) == Some(&' ') {
                s += 1;
            }
            if !row.get(s).is_some_and(|ch| ch.is_alphanumeric()) {
                continue;
            }
            let mut e = s;
            while e < row.len()
                && !matches!(row[e], '─' | '┐' | '+')
                && !row[e..].starts_with(&['-', '-'])
            {
                e += 1;
            }
            // a title runs into the top border (not `Ctrl+E record` in a footer)
            if !matches!(row.get(e), Some('─') | Some('-')) {
                continue;
            }
            let title: String = row[s..e].iter().collect::<String>().trim().to_string();
            let Some(right) = (e..row.len()).find(|&x| matches!(row[x], '┐' | '+')) else {
                continue;
            };
            let Some(bottom) =
                (r + 1..rows.len()).find(|&y| matches!(rows[y].get(c), Some('└') | Some('+')))
            else {
                continue;
            };
            let inside = rows[r + 1..bottom]
                .iter()
                .map(|l| l[(c + 1).min(l.len())..right.min(l.len())].iter().collect())
                .collect();
            boxes.push((title, inside));
        }
    }
    boxes
}

/// Which boxes show data: a value (a digit) on a line that is not a
/// "no series"/"No data" note. Returns (titles with data, titles without).
fn boxes_with_data(screen: &str) -> (Vec<String>, Vec<String>) {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for (title, inside) in screen_boxes(screen) {
        let data = inside.iter().any(|l| {
            !l.contains('∅') && !l.contains("No data") && l.chars().any(|c| c.is_ascii_digit())
        });
        if data {
            with.push(title);
        } else {
            without.push(title);
        }
    }
    (with, without)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Issue 14: watchfloor beside grafatui on the same real Prometheus, the
/// same queries, 200x50, 1 s refresh; CPU and terminal bytes measured the
/// same way for both, one program at a time.
fn bench_compare() {
    let Some(grafatui) = find_grafatui() else {
        println!("compare: SKIPPED (grafatui not found: not $WF_GRAFATUI, not on PATH, not /work/tools/bin/grafatui)");
        return;
    };
    if !common::require("tmux") {
        println!("compare: SKIPPED (tmux not installed)");
        return;
    }
    let secs = env_u64("WF_BENCH_COMPARE_SECS", 60).max(1);
    let rounds = env_u64("WF_BENCH_COMPARE_ROUNDS", 1).max(1);
    let scrape = env_u64("WF_BENCH_COMPARE_SCRAPE", 15).max(1) as i64;
    let slice = if secs >= 30 { 15 } else { secs };
    let Some((prom, qlog)) = common::self_scraping_prometheus(scrape, 3600) else {
        println!("compare: SKIPPED (prometheus/promtool not installed)");
        return;
    };
    let version = Command::new(&grafatui)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dir = common::tempdir("compare");
    let dashboard = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/compare/dashboard.json"
    );
    let wf = env!("CARGO_BIN_EXE_watchfloor");
    let tools = [
        Tool {
            name: "watchfloor",
            comm: "watchfloor",
            cmd: format!(
                "{wf} --prometheus {} --range 1h --refresh 1s --log-file {}",
                prom.url,
                dir.join("wf.log").display()
            ),
            ready: "Memory",
            log: Some(dir.join("wf.log")),
        },
        Tool {
            name: "watchfloor --low-bandwidth",
            comm: "watchfloor",
            cmd: format!(
                "{wf} --prometheus {} --range 1h --refresh 1s --low-bandwidth --log-file {}",
                prom.url,
                dir.join("wf-lb.log").display()
            ),
            ready: "Memory",
            log: Some(dir.join("wf-lb.log")),
        },
        Tool {
            name: "grafatui",
            comm: "grafatui",
            cmd: format!(
                "{grafatui} --prometheus-url {} --range 1h --step 10s --refresh-rate 1000 --grafana-json {dashboard}",
                prom.url
            ),
            ready: "Memory",
            log: None,
        },
    ];
    println!(
        "compare: watchfloor vs {version} ({grafatui}), 200x50, 1 s refresh, 1 h window, step 10 s; one real Prometheus scraping itself every {scrape}s (1 h of its own series backfilled, then live), {}; {rounds} round(s) of the three in turn, each {secs}s after a 10 s warm-up, cut in {slice} s slices; screens and raw terminal output in {}",
        prom.url,
        dir.display()
    );
    let mut runs: Vec<Vec<Costs>> = (0..tools.len()).map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for (i, tool) in tools.iter().enumerate() {
            let tag = format!("cmp{i}-r{round}");
            let c = measure_tool(tool, &tag, secs, slice, &prom, &qlog, &dir);
            println!(
                "  round {round} {:<27} CPU {:.3}% ({:.2}% in ticks), {:.0} B/s (slices: {}); {:.2} frames/s, {:.0} B/frame, {:.1} wakeups/s; {:.1} queries/s ({} distinct: a round every {:.1} s); Prometheus CPU {:.2}%",
                tool.name,
                c.cpu_ns as f64 / 1e7 / c.wall,
                c.cpu_ticks as f64 / c.wall,
                c.bytes as f64 / c.wall,
                c.slices
                    .iter()
                    .map(|(cpu, b)| format!("{cpu:.3}%/{b:.0}B"))
                    .collect::<Vec<_>>()
                    .join(" "),
                c.frames as f64 / c.wall,
                c.bytes as f64 / c.frames.max(1) as f64,
                c.wakeups as f64 / c.wall,
                c.queries as f64 / c.wall,
                c.distinct.len(),
                c.wall * c.distinct.len() as f64 / c.queries.max(1) as f64,
                c.prom_ticks as f64 / c.wall,
            );
            let cpu_of = |quiet: bool| -> Vec<f64> {
                c.seconds
                    .iter()
                    .filter(|s| s.1 != quiet)
                    .map(|s| s.0)
                    .collect()
            };
            let (mut q, mut b) = (cpu_of(true), cpu_of(false));
            let (q_sum, all): (f64, f64) = (q.iter().sum(), c.seconds.iter().map(|s| s.0).sum());
            println!(
                "          where the CPU goes: {} seconds with no query sent, median {:.2} ms CPU each; {} seconds with queries, median {:.2} ms; the quiet seconds hold {:.0}% of the CPU",
                q.len(),
                median(&mut q),
                b.len(),
                median(&mut b),
                100.0 * q_sum / all.max(1e-9)
            );
            runs[i].push(c);
        }
    }
    // per tool: median over every slice of every round, and the mean
    let summary: Vec<(f64, f64, f64, f64)> = runs
        .iter()
        .map(|rs| {
            let mut cpu: Vec<f64> = rs
                .iter()
                .flat_map(|c| c.slices.iter().map(|s| s.0))
                .collect();
            let mut bytes: Vec<f64> = rs
                .iter()
                .flat_map(|c| c.slices.iter().map(|s| s.1))
                .collect();
            let wall: f64 = rs.iter().map(|c| c.wall).sum();
            (
                median(&mut cpu),
                median(&mut bytes),
                rs.iter().map(|c| c.cpu_ns).sum::<u64>() as f64 / 1e7 / wall,
                rs.iter().map(|c| c.bytes).sum::<u64>() as f64 / wall,
            )
        })
        .collect();
    println!(
        "  {:<27} {:>22} {:>24} {:>14} {:>10}",
        "tool", "CPU % of a core (mean)", "terminal B/s (mean)", "Prom CPU %", "queries/s"
    );
    for (i, tool) in tools.iter().enumerate() {
        let (cpu, bytes, cpu_mean, bytes_mean) = summary[i];
        let wall: f64 = runs[i].iter().map(|c| c.wall).sum();
        println!(
            "  {:<27} {:>13.3} ({:>6.3}) {:>15.0} ({:>6.0}) {:>14.2} {:>10.1}",
            tool.name,
            cpu,
            cpu_mean,
            bytes,
            bytes_mean,
            runs[i].iter().map(|c| c.prom_ticks).sum::<u64>() as f64 / wall,
            runs[i].iter().map(|c| c.queries).sum::<usize>() as f64 / wall
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let (wf, lb, gt) = (summary[0], summary[1], summary[2]);
    println!(
        "  ratios (medians; means in brackets): watchfloor CPU / grafatui CPU {:.3} ({:.3}), goal <= 0.333; watchfloor B/s / grafatui B/s {:.3} ({:.3}), goal <= 1; --low-bandwidth B/s / default B/s {:.3} ({:.3}), goal <= 0.333; --low-bandwidth CPU / default CPU {:.3} ({:.3})",
        ratio(wf.0, gt.0),
        ratio(wf.2, gt.2),
        ratio(wf.1, gt.1),
        ratio(wf.3, gt.3),
        ratio(lb.1, wf.1),
        ratio(lb.3, wf.3),
        ratio(lb.0, wf.0),
        ratio(lb.2, wf.2)
    );
    // what each showed at the end of its last window, so the figures can be trusted
    let signals_re = regex::Regex::new(r"(\d+)/(\d+) signals").unwrap();
    let errors_re = regex::Regex::new(r"errors=(\d+)").unwrap();
    for (i, tool) in tools.iter().enumerate() {
        let last = runs[i].last().unwrap();
        let (with, without) = boxes_with_data(&last.screen);
        let signals = signals_re
            .captures(&last.screen)
            .map(|c| format!("; header: {}/{} queries answered with series", &c[1], &c[2]))
            .unwrap_or_default();
        let errors = errors_re
            .captures(&last.screen)
            .map(|c| format!("; status line: errors={}", &c[1]))
            .unwrap_or_default();
        println!(
            "  {} showed data in {}/{} panels ({}){}{}{}",
            tool.name,
            with.len(),
            with.len() + without.len(),
            with.join(", "),
            if without.is_empty() {
                String::new()
            } else {
                format!("; no data in: {}", without.join(", "))
            },
            signals,
            errors
        );
    }
    let (a, b) = (&runs[0][0].distinct, &runs[2][0].distinct);
    let only = |x: &std::collections::BTreeSet<String>, y: &std::collections::BTreeSet<String>| {
        x.difference(y).cloned().collect::<Vec<_>>()
    };
    println!(
        "  queries (Prometheus query log, first round): watchfloor {} distinct, grafatui {} distinct, {} shared; only watchfloor: {:?}; only grafatui: {:?}",
        a.len(),
        b.len(),
        a.intersection(b).count(),
        only(a, b),
        only(b, a)
    );
    for (i, tool) in tools.iter().enumerate() {
        if let Some(line) = &runs[i][0].self_count {
            println!(
                "  check of the pipe: {} counted itself: {line}; tmux pipe-pane got {} bytes over the same run",
                tool.name, runs[i][0].piped_total
            );
        }
    }
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
    if run("compare") {
        bench_compare();
    }
}
