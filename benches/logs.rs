//! Log benchmarks that print figures (no timing assertions):
//!  1. ingest on one core: a Loki tail message parsed, deduped, sanitised,
//!     redacted and stored in the ring, for 200-byte lines: lines per second;
//!  2. memory of 100,000 retained lines against their raw bytes (a counting
//!     allocator: live heap bytes after the ring is filled);
//!  3. the TUI in tmux at 200x50 following a loopback Loki that receives
//!     2,000 lines/s: CPU share of one core (WF_BENCH_TAIL_SECS, default 20),
//!     and key press to redraw latency (median and max of 20 presses).
//!
//! WF_BENCH_ONLY=ingest,memory,tail picks some. Run: cargo bench --bench logs

#[path = "../tests/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use watchfloor::features::logs::client::wire::parse_tail;
use watchfloor::features::logs::engine::Dedupe;
use watchfloor::store::logs::LogLine;
use watchfloor::store::logs::{LogRing, Row};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// A realistic mix of 200-byte lines: JSON, logfmt and plain, a few with
/// secrets and escapes.
fn line(i: usize) -> String {
    let mut l = match i % 4 {
        0 => format!(
            r#"{{"time":"2026-11-22T03:00:{:02}.{:03}Z","level":"info","msg":"request completed","method":"POST","path":"/v1/responses","status":200,"duration_ms":{},"thread_id":"thr_{:06x}"}}"#,
            i % 60,
            i % 1000,
            i % 500,
            i
        ),
        1 => format!(
            "ts=2026-11-22T03:00:{:02}Z level=warn msg=\"admission queue depth high\" route_class=responses transport=sse depth={} pod=app-{}",
            i % 60,
            i % 90,
            i % 3
        ),
        2 => format!(
            "E1122 03:00:{:02}.{:06} 1 controller.go:114] error syncing pod codex-pooler/app-{}: back-off restarting failed container (attempt {})",
            i % 60,
            i,
            i % 3,
            i % 17
        ),
        _ => format!(
            "12:00:{:02}.{:03} [error] upstream stream buffer truncated bytes={} Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.{:08x}",
            i % 60,
            i % 1000,
            8_000_000 + i,
            i
        ),
    };
    while l.len() < 200 {
        l.push_str(" pad");
    }
    l.truncate(200);
    l
}

/// A tail message of `n` entries (one stream object per entry, as Loki sends).
fn tail_message(start: usize, n: usize) -> String {
    let mut streams = Vec::with_capacity(n);
    for i in start..start + n {
        streams.push(serde_json::json!({
            "stream": {"namespace": "codex-pooler", "pod": format!("app-{}", i % 3), "container": "app"},
            "values": [[(1_763_780_400_000_000_000i64 + i as i64 * 1000).to_string(), line(i)]]
        }));
    }
    serde_json::json!({ "streams": streams }).to_string()
}

fn bench_ingest() {
    let total = 300_000;
    let batch = 1000;
    let messages: Vec<String> = (0..total / batch)
        .map(|b| tail_message(b * batch, batch))
        .collect();
    let raw: usize = (0..total).map(|i| line(i).len()).sum();
    let mut ring = LogRing::new(50_000, 64 << 20);
    let mut seen = Dedupe::default();
    let t = Instant::now();
    for m in &messages {
        let msg = parse_tail(m).unwrap();
        for e in msg.entries {
            if seen.admit(&e) {
                ring.push(Row::Line(LogLine::from_entry(e, true)));
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let tp = Instant::now();
    let mut parsed = 0;
    for m in &messages {
        parsed += parse_tail(m).unwrap().entries.len();
    }
    println!(
        "logs tail JSON parse alone: {:.0} lines/s",
        parsed as f64 / tp.elapsed().as_secs_f64()
    );
    println!(
        "logs ingest: {total} lines of 200 B ({:.1} MiB) parsed from tail JSON, deduped, sanitised, redacted, stored: {:.2} s, {:.0} lines/s on one core (target ≥ 300,000)",
        raw as f64 / 1048576.0,
        secs,
        total as f64 / secs
    );
    // the line pipeline alone (the wire already parsed): lines built
    // first, outside the clock
    let labels: watchfloor::features::logs::client::Labels =
        vec![("pod".to_string(), "app-1".to_string())].into();
    let entries: Vec<_> = (0..total)
        .map(|i| watchfloor::features::logs::client::Entry {
            ts_ns: i as i64,
            labels: labels.clone(),
            line: line(i),
            meta: vec![],
        })
        .collect();
    let mut ring = LogRing::new(50_000, 64 << 20);
    let t = Instant::now();
    for e in entries {
        ring.push(Row::Line(LogLine::from_entry(e, true)));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "logs line pipeline (sanitise, redact, level, store in the ring): {:.0} lines/s on one core (target ≥ 300,000)",
        total as f64 / secs
    );
}

fn bench_memory() {
    let n = 100_000;
    let raw: usize = (0..n).map(|i| line(i).len()).sum();
    let labels: watchfloor::features::logs::client::Labels = vec![
        ("container".to_string(), "app".to_string()),
        ("namespace".to_string(), "codex-pooler".to_string()),
        ("pod".to_string(), "app-1".to_string()),
    ]
    .into();
    let mut ring = LogRing::new(200_000, 1 << 30);
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..n {
        let l = line(i);
        let e = watchfloor::features::logs::client::Entry {
            ts_ns: i as i64,
            labels: labels.clone(),
            line: l,
            meta: vec![],
        };
        ring.push(Row::Line(LogLine::from_entry(e, true)));
    }
    // each input line was freed once prepared: what grew is the ring
    let after = LIVE.load(Ordering::Relaxed);
    let grew = (after - before).max(0) as f64;
    println!(
        "logs memory: 100,000 retained lines of 200 B = {:.1} MiB raw; heap held by the ring {:.1} MiB = {:.2}× raw (target ≤ 2×); ring counts {:.1} MiB",
        raw as f64 / 1048576.0,
        grew / 1048576.0,
        grew / raw as f64,
        ring.bytes() as f64 / 1048576.0
    );
}

use common::proc_cpu_ticks;

fn bench_tail() {
    if !common::require("tmux") {
        println!("logs tail: skipped (no tmux)");
        return;
    }
    let secs: u64 = std::env::var("WF_BENCH_TAIL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let loki = std::sync::Arc::new(common::loki::Loki::start(Default::default()));
    let dir = common::tempdir("bench-tail");
    std::fs::write(dir.join("c.toml"), "").unwrap();
    let cmd = format!(
        "WATCHFLOOR_CONFIG={} {} --loki {} --namespace codex-pooler --log-file {}",
        dir.join("c.toml").display(),
        env!("CARGO_BIN_EXE_watchfloor"),
        loki.url,
        dir.join("wf.log").display()
    );
    let t = common::Tmux::start("bench-tail", &cmd, 200, 50, false);
    t.wait_for("tailing", 15);
    let pid = t.app_pid();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pusher = {
        let (loki, stop) = (loki.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                // 2,000 lines/s in 20 batches of 100
                let due = (start.elapsed().as_secs_f64() * 2000.0) as usize;
                while i < due {
                    let ts = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos() as i64;
                    let pod = format!("app-{}", i % 3);
                    loki.push(
                        &[("namespace", "codex-pooler"), ("pod", &pod)],
                        ts,
                        &line(i),
                    );
                    i += 1;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            i
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let c0 = proc_cpu_ticks(&pid).unwrap_or(0);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = proc_cpu_ticks(&pid).unwrap_or(0);
    let wall = t0.elapsed().as_secs_f64();
    // key press to redraw: toggle wrap on the focused log pane and wait
    // until the screen changes
    t.keys(&["l"]);
    let mut lat = Vec::new();
    for _ in 0..20 {
        let before = t.screen();
        let k = Instant::now();
        let _ = std::process::Command::new("tmux")
            .args(["send-keys", "-t", &t.session, "c"])
            .status();
        loop {
            let now = t.screen();
            if now != before && (now.contains("app-") || k.elapsed() > Duration::from_secs(2)) {
                break;
            }
            if k.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        lat.push(k.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let pushed = pusher.join().unwrap();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "logs tail: {pushed} lines pushed at 2,000/s, TUI 200x50 following: CPU {:.1}% of one core over {wall:.0} s (target ≤ 25%); key to redraw median {:.0} ms, max {:.0} ms (target ≤ 50 ms; includes tmux capture polling)",
        (c1 - c0) as f64 / 100.0 / wall * 100.0,
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    t.keys(&["q"]);
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let only = std::env::var("WF_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("ingest") {
        bench_ingest();
    }
    if run("memory") {
        bench_memory();
    }
    if run("tail") {
        bench_tail();
    }
}
