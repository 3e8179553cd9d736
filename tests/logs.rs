//! Logs from Loki, end to end against the loopback Loki in tests/common/loki
//! (no Loki package exists here): no loss and no duplicate across forced
//! disconnects and dropped entries, over the WebSocket and with it refused;
//! Loki's errors in words; secrets masked; hostile lines harmless on a real
//! terminal (tmux).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::loki::{Loki, LokiOptions};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_watchfloor")
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// `watchfloor logs … --output jsonl` with its stdout collected by a thread.
struct Headless {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Headless {
    fn start(args: &[&str]) -> Headless {
        let dir = common::tempdir("logs-headless");
        let mut child = Command::new(bin())
            .args(args)
            .arg("--log-file")
            .arg(dir.join("wf.log"))
            .env("WATCHFLOOR_CONFIG", {
                std::fs::write(dir.join("none.toml"), "").unwrap();
                dir.join("none.toml")
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watchfloor logs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                l2.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let e2 = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut e = e2.lock().unwrap();
                e.push_str(&line);
                e.push('\n');
            }
        });
        Headless {
            child,
            lines,
            stderr,
        }
    }

    fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    fn wait_for(&self, n: usize, secs: u64) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(secs) {
            if self.count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// SIGTERM: the program flushes and exits 0.
    fn stop(mut self) -> (Vec<String>, String, i32) {
        unsafe_kill(self.child.id(), 15);
        let status = wait_timeout(&mut self.child, 5).expect("exits after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.lines.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (lines, err, status)
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn wait_timeout(c: &mut Child, secs: u64) -> Option<i32> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if let Ok(Some(s)) = c.try_wait() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    None
}

const N: usize = 100_000;

/// Pushes N numbered lines over two streams; pairs of lines share a
/// timestamp (twins in different streams). Forces `disconnects` tail
/// closes along the way and one dropped-entries report.
fn push_numbered(loki: &Loki, disconnects: usize, drop: usize) {
    let base = now_ns();
    let per_disconnect = N / (disconnects + 1);
    for i in 0..N {
        let stream = if i % 2 == 0 { "a" } else { "b" };
        let ts = base + (i as i64 / 2) * 10_000; // 10 µs apart, twins equal
        loki.push(
            &[("job", "seq"), ("stream", stream)],
            ts,
            &format!("line {i:06} from {stream}"),
        );
        if i > 0 && i % per_disconnect == 0 && i / per_disconnect <= disconnects {
            loki.close_tails();
        }
        if i == N / 3 {
            loki.drop_next(drop);
        }
        if i % 2000 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn numbers_of(lines: &[String]) -> (Vec<usize>, usize) {
    let mut nums = Vec::new();
    let mut markers = 0;
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
        if v.get("marker").is_some() {
            markers += 1;
            continue;
        }
        let text = v["line"].as_str().unwrap();
        let n: usize = text[5..11].parse().unwrap();
        nums.push(n);
    }
    (nums, markers)
}

fn assert_exact_sequence(nums: &[usize]) {
    let mut sorted = nums.to_vec();
    sorted.sort_unstable();
    let dups = sorted.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} duplicated lines");
    let missing: Vec<usize> = (0..N).filter(|n| sorted.binary_search(n).is_err()).take(10).collect();
    assert!(missing.is_empty(), "missing lines, e.g. {missing:?} ({} of {N} kept)", sorted.len());
    assert_eq!(sorted.len(), N);
    // per stream, lines come in order
    for parity in 0..2 {
        let s: Vec<usize> = nums.iter().copied().filter(|n| n % 2 == parity).collect();
        let back = s.windows(2).filter(|w| w[0] > w[1]).count();
        assert_eq!(back, 0, "stream {parity}: {back} lines out of order");
    }
}

fn follow_args(url: &str) -> Vec<String> {
    [
        "--refresh",
        "1s",
        "logs",
        r#"{job="seq"}"#,
        "--loki",
        url,
        "--since",
        "5m",
        "--follow",
        "--limit",
        "10",
        "--output",
        "jsonl",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_followed_tail_loses_and_repeats_nothing_across_disconnects_and_dropped_entries() {
    let loki = Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_secs(3)),
        ..Default::default()
    });
    let args = follow_args(&loki.url);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // the tail is open before the lines come
    let t = Instant::now();
    while loki.tails_open() == 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(loki.tails_open() > 0, "no tail opened");
    push_numbered(&loki, 5, 300);
    let complete = h.wait_for(N, 60);
    let opened = loki.tails_opened();
    let (lines, err, status) = h.stop();
    let (nums, markers) = numbers_of(&lines);
    assert!(complete, "only {} of {N} lines; stderr: {err}", nums.len());
    assert_exact_sequence(&nums);
    assert_eq!(markers, 0, "every dropped entry was fetched back");
    assert!(opened >= 6, "the tail was reopened after each close: {opened}");
    assert_eq!(status, 0, "SIGTERM flushes and exits 0");
}

#[test]
fn with_the_websocket_refused_polling_keeps_the_same_guarantees() {
    let loki = Loki::start(LokiOptions {
        websocket: false,
        ..Default::default()
    });
    let args = follow_args(&loki.url);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_millis(500));
    push_numbered(&loki, 0, 0);
    let complete = h.wait_for(N, 60);
    let (lines, err, status) = h.stop();
    let (nums, _) = numbers_of(&lines);
    assert!(complete, "only {} of {N} lines; stderr: {err}", nums.len());
    assert_exact_sequence(&nums);
    assert_eq!(status, 0);
    assert!(err.contains("polling"), "says it fell back to polling: {err}");
    assert_eq!(loki.tails_opened(), 0);
}

#[test]
fn the_pane_store_holds_the_same_sequence() {
    use watchfloor::app::run::{configure_logs, Backends, Tasks};
    use watchfloor::app::update::{self, Event};
    use watchfloor::sources::loki::client::LokiClient;
    use watchfloor::store::logs::LogRing;

    let loki = Arc::new(Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_secs(2)),
        ..Default::default()
    }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut state = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    state.metrics.configured = false;
    state.target.namespace = None;
    let (client, _) =
        LokiClient::new(&watchfloor::config::Endpoint::plain(&loki.url)).unwrap();
    configure_logs(&mut state, "loki", &loki.url, true);
    state.logs.user_query = Some(r#"{job="seq"}"#.into());
    state.logs.ring = LogRing::new(200_000, 512 << 20);
    let got = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let backends = Backends {
            metrics: None,
            logs: Some(Arc::new(client)),
        };
        let mut tasks = Tasks::new(backends, tx, 1.0);
        tasks.exec(update::start(&mut state));
        let pusher = {
            let loki = loki.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                push_numbered(&loki, 5, 300);
            })
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && state.logs.ring.len() < N {
            if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                let (cmds, _) = update::update(&mut state, Event::Source(ev));
                tasks.exec(cmds);
            }
        }
        pusher.join().unwrap();
        state
            .logs
            .ring
            .lines()
            .map(|l| l.text[5..11].parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    });
    assert_exact_sequence(&got);
    // the ring is in timestamp order, so the whole sequence is too
    let ts: Vec<i64> = state.logs.ring.lines().map(|l| l.ts_ns).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(state.logs.ring.missing, 0);
}
