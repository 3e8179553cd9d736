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

/// Runs watchfloor to completion with an empty config and its log file in `dir`.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::fs::write(dir.join("c.toml"), "").unwrap();
    Command::new(bin())
        .args(args)
        .env("WATCHFLOOR_CONFIG", dir.join("c.toml"))
        .arg("--log-file")
        .arg(dir.join("wf.log"))
        .output()
        .unwrap()
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
            // each forced close must hit a live tail: wait for the client
            // to have reopened after the previous one (a close while it is
            // still re-reading would cut nothing and prove nothing)
            let k = i / per_disconnect;
            let t = Instant::now();
            while loki.tails_open() == 0 && t.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(
                loki.tails_open() > 0,
                "the tail was not reopened before forced close {k}"
            );
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

/// Every number once. Per stream in order, except at most `late` lines:
/// entries the server dropped and that were fetched back after a
/// disconnect are printed when recovered (the pane's ring sorts them in).
fn assert_exact_sequence(nums: &[usize], late: usize) {
    let mut sorted = nums.to_vec();
    sorted.sort_unstable();
    let dups = sorted.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} duplicated lines");
    let missing: Vec<usize> = (0..N)
        .filter(|n| sorted.binary_search(n).is_err())
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "missing lines, e.g. {missing:?} ({} of {N} kept)",
        sorted.len()
    );
    assert_eq!(sorted.len(), N);
    // per stream, lines come in order
    for parity in 0..2 {
        let s: Vec<usize> = nums.iter().copied().filter(|n| n % 2 == parity).collect();
        let back = s.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(back <= late, "stream {parity}: {back} lines out of order");
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
    // the lines after the last close may all come from the re-read; the
    // tail opens again right after it
    let t = Instant::now();
    while loki.tails_opened() < 6 && t.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened = loki.tails_opened();
    let (lines, err, status) = h.stop();
    let (nums, markers) = numbers_of(&lines);
    assert!(complete, "only {} of {N} lines; stderr: {err}", nums.len());
    assert_exact_sequence(&nums, 300);
    assert_eq!(markers, 0, "every dropped entry was fetched back");
    assert!(
        opened >= 6,
        "the tail was reopened after each close: {opened}"
    );
    assert_eq!(status, 0, "SIGTERM flushes and exits 0");
}

/// Pushes a numbered line every 50 ms for `secs` while `watchfloor logs
/// --follow` runs against `loki`; returns (tail opens, lines pushed,
/// numbers printed).
fn follow_while_pushing(loki: &Loki, secs: u64) -> (usize, usize, Vec<usize>) {
    let args = follow_args(&loki.url);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let t = Instant::now();
    let mut i = 0usize;
    while t.elapsed() < Duration::from_secs(secs) {
        loki.push(
            &[("job", "seq"), ("stream", "a")],
            now_ns(),
            &format!("line {i:06} from a"),
        );
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let opened = loki.tails_opened();
    let complete = h.wait_for(i, 10);
    let (lines, err, _) = h.stop();
    let (nums, _) = numbers_of(&lines);
    assert!(complete, "only {} of {i} lines; stderr: {err}", nums.len());
    let mut sorted = nums.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), nums.len(), "no duplicate");
    (opened, i, nums)
}

/// A link that drops the tail every 1.1 s (a flapping port-forward) while
/// lines flow: each tail worked a while, so each resumes at once. Backing
/// off as if the server were failing (0.5, 1, 2, 4 … 30 s) would leave the
/// tail parked for seconds and reopen it only ~6 times in 12 s.
#[test]
fn a_tail_that_keeps_being_cut_resumes_at_once_each_time() {
    let loki = Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_millis(1100)),
        ..Default::default()
    });
    let (opened, ..) = follow_while_pushing(&loki, 12);
    assert!(
        opened >= 9,
        "a tail cut every 1.1 s was reopened only {opened} times in 12 s"
    );
}

/// A proxy that passes a message or two and closes the tail at once: the
/// client backs off instead of looping (open, re-read, open …) on Loki.
#[test]
fn a_tail_that_dies_young_backs_off_even_when_it_answered() {
    let loki = Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_millis(100)),
        ..Default::default()
    });
    let (opened, ..) = follow_while_pushing(&loki, 6);
    assert!(
        opened <= 10,
        "a tail closed after 100 ms was reopened {opened} times in 6 s"
    );
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
    assert_exact_sequence(&nums, 0);
    assert_eq!(status, 0);
    assert!(
        err.contains("polling"),
        "says it fell back to polling: {err}"
    );
    assert_eq!(loki.tails_opened(), 0);
}

#[test]
fn the_pane_store_holds_the_same_sequence() {
    use watchfloor::app::run::{configure_logs, Backends, Tasks};
    use watchfloor::app::update::{self, Event};
    use watchfloor::features::logs::client::loki::LokiClient;
    use watchfloor::store::logs::LogRing;

    let loki = Arc::new(Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_secs(2)),
        ..Default::default()
    }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut state = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    state.metrics.common.configured = false;
    state.target.namespace = None;
    let (client, _) = LokiClient::new(&watchfloor::config::Endpoint::plain(&loki.url)).unwrap();
    configure_logs(&mut state, "loki", &loki.url, true);
    state.logs.user_query = Some(r#"{job="seq"}"#.into());
    state.logs.ring = LogRing::new(200_000, 512 << 20);
    let got = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let backends = Backends {
            metrics: None,
            logs: Some(Arc::new(client)),
            ..Default::default()
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
            if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
            {
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
    assert_exact_sequence(&got, 0);
    // the ring is in timestamp order, so the whole sequence is too
    let ts: Vec<i64> = state.logs.ring.lines().map(|l| l.ts_ns).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(state.logs.ring.missing, 0);
}

/// Lines that try to take over the terminal.
fn push_hostile(loki: &Loki) {
    let t = now_ns() - 5_000_000_000;
    let lines = [
        "osc0 \x1b]0;PWNED-TITLE-0\x07 after-osc0",
        "osc2 \x1b]2;PWNED-TITLE-2\x1b\\ after-osc2",
        "osc52 \x1b]52;c;cHduZWQtY2xpcGJvYXJk\x07 after-osc52",
        "osc8 \x1b]8;;http://evil.example/\x1b\\click-me\x1b]8;;\x1b\\ after-osc8",
        "csi \x1b[2J\x1b[H\x1b[31mRED\x1b[0m\x1b[10;10H after-csi",
        "visible-start\rOVERWRITE-ATTEMPT after-cr",
        "bidi \u{202E}desrever\u{202C} after-bidi \u{2066}iso\u{2069}",
        "dcs \x1bPq#0;2;0;0;0\x1b\\ apc \x1b_payload\x1b\\ pm \x1b^x\x1b\\ after-dcs",
        "c1 \u{9b}31m after-c1 \u{9d}0;PWNED-C1\u{9c} end",
    ];
    for (i, l) in lines.iter().enumerate() {
        loki.push(
            &[("namespace", "hostile"), ("pod", "evil-1")],
            t + i as i64 * 1_000_000,
            l,
        );
    }
    let huge = format!("huge-line {}", "x".repeat(1 << 20));
    loki.push(
        &[("namespace", "hostile"), ("pod", "evil-1")],
        t + 20_000_000,
        &huge,
    );
    loki.push(
        &[("namespace", "hostile"), ("pod", "evil-1")],
        t + 21_000_000,
        "hostile-done",
    );
}

#[test]
fn hostile_lines_cannot_retitle_move_the_cursor_or_set_the_clipboard() {
    if !common::require("tmux") {
        return;
    }
    let loki = Loki::start(LokiOptions::default());
    push_hostile(&loki);
    let dir = common::tempdir("logs-hostile");
    std::fs::write(dir.join("c.toml"), "").unwrap();
    let _ = Command::new("tmux")
        .args(["set-option", "-s", "set-clipboard", "on"])
        .status();
    let cmd = format!(
        "WATCHFLOOR_CONFIG={} {} --loki {} --namespace hostile --log-file {}",
        dir.join("c.toml").display(),
        bin(),
        loki.url,
        dir.join("wf.log").display()
    );
    let tmux = common::Tmux::start("hostile", &cmd, 200, 50, false);
    let before_title = tmux.title();
    let screen = tmux.wait_for("hostile-done", 20);
    for ok in [
        "after-osc0",
        "after-osc2",
        "after-osc52",
        "click-me� after-osc8",
        "after-csi",
        "after-cr",
        "after-bidi",
        "after-dcs",
        "after-c1",
    ] {
        assert!(screen.contains(ok), "`{ok}` missing:\n{screen}");
    }
    // a CR is a space: nothing overwrote the start of the line
    assert!(
        screen.contains("visible-start OVERWRITE-ATTEMPT"),
        "{screen}"
    );
    // the 1 MiB line is cut, with a marker
    assert!(
        screen.contains("[cut 1.00 MiB]") || screen.contains("[cut 1.0 MiB]"),
        "{screen}"
    );
    // the header is still on the first row: no cursor moved, no screen cleared
    assert!(
        screen.lines().next().unwrap_or("").contains("watchfloor"),
        "{screen}"
    );
    assert!(!screen.contains("PWNED"), "{screen}");
    let title = tmux.title();
    assert!(!title.contains("PWNED"), "title changed to {title}");
    assert_eq!(title, before_title);
    let buffers = Command::new("tmux")
        .args(["list-buffers"])
        .output()
        .unwrap();
    let buffers = String::from_utf8_lossy(&buffers.stdout);
    assert!(
        !buffers.contains("pwned"),
        "OSC 52 set the clipboard: {buffers}"
    );
    // the detail view of the cut line says it was cut
    tmux.keys(&["l", "k", "Enter"]);
    let detail = tmux.wait_for("Log line", 5);
    assert!(
        detail.contains("[cut: the line was 1.00 MiB")
            || detail.contains("[cut: the line was 1.0 MiB"),
        "{detail}"
    );

    // headless: not one escape byte reaches stdout
    let out = Command::new(bin())
        .args([
            "logs",
            r#"{namespace="hostile"}"#,
            "--loki",
            &loki.url,
            "--since",
            "5m",
        ])
        .env("WATCHFLOOR_CONFIG", dir.join("c.toml"))
        .arg("--log-file")
        .arg(dir.join("wf2.log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hostile-done") && text.contains("after-c1"),
        "{text}"
    );
    assert!(
        !out.stdout
            .iter()
            .any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
        "control bytes in stdout"
    );
    assert!(!text.contains('\u{202E}') && !text.contains('\u{9b}'));
}

#[test]
fn secrets_in_lines_are_masked_on_screen_in_once_and_in_watchfloor_logs() {
    let loki = Loki::start(LokiOptions::default());
    let t = now_ns() - 2_000_000_000;
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbmNhbGwifQ.c2lnbmF0dXJlLXZhbHVl";
    let lines = [
        format!("auth header Authorization: Bearer {jwt} done-1"),
        "login password=hunter2-Secret-77 done-2".to_string(),
        "echo of our own basic password Sup3r-Loki-Pass done-3".to_string(),
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 done-4".to_string(),
    ];
    for (i, l) in lines.iter().enumerate() {
        loki.push(
            &[("namespace", "sec"), ("pod", "p-1")],
            t + i as i64 * 1_000_000,
            l,
        );
    }
    let secrets = [
        "hunter2-Secret-77",
        "Sup3r-Loki-Pass",
        jwt,
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ];
    let url = loki
        .url
        .replace("http://", "http://oncall:Sup3r-Loki-Pass@");
    let dir = common::tempdir("logs-secrets");
    let run = |args: &[&str]| run_in(&dir, args);
    let out = run(&[
        "logs",
        r#"{namespace="sec"}"#,
        "--loki",
        &url,
        "--since",
        "5m",
        "--output",
        "jsonl",
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("done-4"), "{text}");
    let once = run(&[
        "--loki",
        &url,
        "--namespace",
        "sec",
        "--once",
        "--size",
        "200x40",
        "--color",
        "never",
    ]);
    let screen = String::from_utf8_lossy(&once.stdout).to_string();
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
    assert!(
        screen.contains("done-4") && screen.contains("done-1"),
        "{screen}"
    );
    let log = std::fs::read_to_string(dir.join("wf.log")).unwrap_or_default();
    for s in secrets {
        assert!(
            !text.contains(s),
            "`{s}` in watchfloor logs output:\n{text}"
        );
        assert!(!screen.contains(s), "`{s}` on screen:\n{screen}");
        assert!(!log.contains(s), "`{s}` in the log file");
    }
    // --no-redaction shows shapes (password=) but never our own credentials,
    // and the screen says so
    let once = run(&[
        "--no-redaction",
        "--loki",
        &url,
        "--namespace",
        "sec",
        "--once",
        "--size",
        "200x40",
        "--color",
        "never",
    ]);
    assert!(String::from_utf8_lossy(&once.stdout).contains("REDACTION OFF"));
    let out = run(&[
        "--no-redaction",
        "logs",
        r#"{namespace="sec"}"#,
        "--loki",
        &url,
        "--since",
        "5m",
    ]);
    let plain = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        plain.contains("hunter2-Secret-77"),
        "redaction off shows line secrets: {plain}"
    );
    assert!(
        !plain.contains("Sup3r-Loki-Pass"),
        "configured credentials stay masked: {plain}"
    );
}

#[test]
fn loki_errors_say_what_to_do() {
    let loki = Loki::start(LokiOptions {
        tenant: Some("team-a".into()),
        ..Default::default()
    });
    loki.push(&[("job", "t")], now_ns() - 1_000_000_000, "tenant line");
    let dir = common::tempdir("logs-errors");
    let run = |args: &[&str]| run_in(&dir, args);
    // no tenant: 401 "no org id", and what to set
    let out = run(&["logs", r#"{job="t"}"#, "--loki", &loki.url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HTTP 401") && err.contains("no org id") && err.contains("--loki-tenant"),
        "{err}"
    );
    // with the tenant: the line
    let out = run(&[
        "logs",
        r#"{job="t"}"#,
        "--loki",
        &loki.url,
        "--loki-tenant",
        "team-a",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("tenant line"));
    // a LogQL syntax error: Loki's position
    let out = run(&[
        "logs",
        r#"{job="t""#,
        "--loki",
        &loki.url,
        "--loki-tenant",
        "team-a",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HTTP 400") && err.contains("parse error at line 1, col"),
        "{err}"
    );
    // nothing listening: says so after a few tries, names no URL secret
    let out = run(&[
        "logs",
        r#"{job="t"}"#,
        "--loki",
        "http://u:pw-XYZ@127.0.0.1:9",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert!(!err.contains("pw-XYZ"), "{err}");
    // --once with a dead Loki is a failure, said on stderr
    let out = run(&[
        "--loki",
        "http://u:pw-XYZ@127.0.0.1:9",
        "-n",
        "x",
        "--once",
        "--once-timeout",
        "3s",
        "--size",
        "100x20",
        "--color",
        "never",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("connection refused") && !err.contains("pw-XYZ"),
        "{err}"
    );
}

#[test]
fn url_credentials_reach_the_tail_handshake() {
    let loki = Loki::start(LokiOptions::default());
    loki.push(&[("job", "skew")], now_ns() - 1_000_000_000, "before");
    let url = loki.url.replace("http://", "http://oncall:Pa55-word@");
    let args: Vec<String> = [
        "logs",
        r#"{job="skew"}"#,
        "--loki",
        &url,
        "--since",
        "5m",
        "--follow",
        "--output",
        "jsonl",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(h.wait_for(1, 10), "the backfill prints the first line");
    let t = Instant::now();
    while loki.tails_open() == 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // a disconnect, then lines of the present
    loki.close_tails();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..50 {
        loki.push(&[("job", "skew")], now_ns(), &format!("present {i:02}"));
    }
    let ok = h.wait_for(51, 15);
    let tail_auth = loki
        .requests()
        .iter()
        .filter(|r| r.path == "/loki/api/v1/tail")
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect::<Vec<_>>();
    let (lines, err, _) = h.stop();
    assert!(
        ok,
        "lines after a disconnect: {} of 51; stderr: {err}",
        lines.len()
    );
    assert!(!tail_auth.is_empty());
    assert!(
        tail_auth.iter().all(|a| a.starts_with("Basic ")),
        "the tail handshake carries the URL's credentials: {tail_auth:?}"
    );
    assert!(!err.contains("Pa55-word"));
}

/// The LogQL editor completes label values of the streams in the current
/// query's scope and window (Loki's `series`), and asks for the values of
/// any other label on first Tab (`label/NAME/values`, same window).
#[test]
fn completion_offers_the_scope_s_values_and_asks_for_other_labels() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use watchfloor::app::run::{configure_logs, Backends, Tasks};
    use watchfloor::app::update::{self, Event};
    use watchfloor::app::views::View;
    use watchfloor::app::Action;
    use watchfloor::features::logs::client::loki::LokiClient;

    let loki = Loki::start(LokiOptions::default());
    let now = now_ns();
    for (labels, ago_s) in [
        (&[("job", "seq"), ("stream", "a"), ("team", "red")][..], 10),
        (&[("job", "seq"), ("stream", "b"), ("team", "red")][..], 20),
        (&[("job", "seq"), ("stream", "d.e")][..], 20),
        // would be masked on screen, and then match nothing: not offered
        (
            &[("job", "seq"), ("stream", "password=supersecret1")][..],
            20,
        ),
        (&[("job", "other"), ("stream", "c"), ("zone", "eu")][..], 30),
        // before the 5-minute window: never offered
        (
            &[("job", "seq"), ("stream", "old"), ("zone", "us")][..],
            1800,
        ),
    ] {
        loki.push(labels, now - ago_s * 1_000_000_000, "x");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut state = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    state.metrics.common.configured = false;
    state.target.namespace = None;
    state.now_ms = now / 1_000_000;
    let (client, _) = LokiClient::new(&watchfloor::config::Endpoint::plain(&loki.url)).unwrap();
    configure_logs(&mut state, "loki", &loki.url, true);
    state.logs.user_query = Some(r#"{job="seq"}"#.into());
    let text = |st: &watchfloor::app::state::State| match st.ui.views.top() {
        Some(View::Input { editor, .. }) => editor.text(),
        _ => panic!("the editor is open"),
    };
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let backends = Backends {
            metrics: None,
            logs: Some(Arc::new(client)),
            ..Default::default()
        };
        let mut tasks = Tasks::new(backends, tx, 1.0);
        // answers (and the tail's events) for a while
        async fn pump(
            st: &mut watchfloor::app::state::State,
            tasks: &mut Tasks,
            rx: &mut tokio::sync::mpsc::Receiver<watchfloor::app::SourceEvent>,
        ) {
            let until = Instant::now() + Duration::from_millis(700);
            while Instant::now() < until {
                if let Ok(Some(ev)) =
                    tokio::time::timeout(Duration::from_millis(50), rx.recv()).await
                {
                    let (cmds, _) = update::update(st, Event::Source(ev));
                    tasks.exec(cmds);
                }
            }
        }
        let key = |st: &mut watchfloor::app::state::State, tasks: &mut Tasks, c: KeyCode| {
            let (cmds, _) = update::update(st, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
            tasks.exec(cmds);
        };
        tasks.exec(update::start(&mut state));
        tasks.exec(update::apply(&mut state, Action::EditLogQuery));
        pump(&mut state, &mut tasks, &mut rx).await;
        assert_eq!(text(&state), r#"{job="seq"}"#);
        key(&mut state, &mut tasks, KeyCode::Backspace);
        for c in r#", stream=""#.chars() {
            key(&mut state, &mut tasks, KeyCode::Char(c));
        }
        let mut seen = Vec::new();
        for _ in 0..4 {
            key(&mut state, &mut tasks, KeyCode::Tab);
            seen.push(text(&state));
        }
        assert_eq!(
            seen,
            [
                r#"{job="seq", stream="a""#,
                r#"{job="seq", stream="b""#,
                r#"{job="seq", stream="d.e""#,
                r#"{job="seq", stream="a""#
            ],
            "the streams of {{job=\"seq\"}} in the window, no more"
        );
        // other operators: != completes the same; =~ escapes the regex
        let clear = |st: &mut watchfloor::app::state::State, tasks: &mut Tasks, n: usize| {
            for _ in 0..n {
                let (cmds, _) = update::update(
                    st,
                    Event::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
                );
                tasks.exec(cmds);
            }
        };
        clear(&mut state, &mut tasks, r#"stream="a""#.len());
        for c in r#"stream=~"d"#.chars() {
            key(&mut state, &mut tasks, KeyCode::Char(c));
        }
        key(&mut state, &mut tasks, KeyCode::Tab);
        assert_eq!(text(&state), r#"{job="seq", stream=~"d\\.e""#);
        clear(&mut state, &mut tasks, r#"stream=~"d\\.e""#.len());
        for c in r#"stream!=""#.chars() {
            key(&mut state, &mut tasks, KeyCode::Char(c));
        }
        key(&mut state, &mut tasks, KeyCode::Tab);
        assert_eq!(text(&state), r#"{job="seq", stream!="a""#);
        // a label outside the scope: the first Tab asks, the next completes
        for c in r#", zone=""#.chars() {
            key(&mut state, &mut tasks, KeyCode::Char(c));
        }
        let before = text(&state);
        key(&mut state, &mut tasks, KeyCode::Tab);
        assert_eq!(text(&state), before, "nothing to offer yet");
        let msg = state.ui.message.clone().map(|m| m.0).unwrap_or_default();
        assert!(msg.contains("values of zone"), "says it asks: {msg}");
        pump(&mut state, &mut tasks, &mut rx).await;
        let msg = state.ui.message.clone().map(|m| m.0).unwrap_or_default();
        assert_eq!(msg, "values of zone: Tab completes");
        key(&mut state, &mut tasks, KeyCode::Tab);
        assert_eq!(text(&state), format!("{before}eu\""));
        key(&mut state, &mut tasks, KeyCode::Tab);
        assert_eq!(
            text(&state),
            format!("{before}eu\""),
            "us is outside the window"
        );
        // a label nobody has: said so, not silence
        for c in r#", ghost=""#.chars() {
            key(&mut state, &mut tasks, KeyCode::Char(c));
        }
        key(&mut state, &mut tasks, KeyCode::Tab);
        pump(&mut state, &mut tasks, &mut rx).await;
        assert_eq!(
            state.ui.message,
            Some(("no values of ghost in the window".into(), true))
        );
    });
    let reqs = loki.requests();
    let series = reqs
        .iter()
        .find(|r| r.path == "/loki/api/v1/series")
        .expect("asked for the scope's series");
    assert_eq!(series.param("match[]"), Some(r#"{job="seq"}"#));
    let start: i64 = series.param("start").unwrap().parse().unwrap();
    assert!(
        (now - start - 300_000_000_000).abs() < 2_000_000_000,
        "the pane's 5-minute window"
    );
    let zone = reqs
        .iter()
        .find(|r| r.path == "/loki/api/v1/label/zone/values")
        .expect("asked for zone's values");
    assert!(zone.param("start").is_some() && zone.param("end").is_some());
}

/// Waits (up to `secs`) for `cond`.
fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Loki accepts out-of-order writes and shippers retry batches: lines
/// stamped 30 s and 3 min late arrive while the tail is cut and Loki answers
/// 503. The re-read after each disconnect reaches back 5 min (the default),
/// so every line is printed, once. (With the old 10 s re-read, the late
/// lines written during each outage were lost without a mark.)
#[test]
fn late_lines_written_while_the_tail_is_away_are_read_back() {
    let loki = Loki::start(LokiOptions {
        tail_max_duration: Some(Duration::from_secs(4)),
        ..Default::default()
    });
    let args = follow_args(&loki.url);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(wait_until(10, || loki.tails_open() > 0), "no tail opened");
    let t = Instant::now();
    let mut i = 0usize;
    let (mut late30, mut late180) = (0, 0);
    let mut outages = 0;
    while t.elapsed() < Duration::from_secs(16) {
        for _ in 0..10 {
            let late = if i % 33 == 5 {
                late30 += 1;
                30
            } else if i % 100 == 7 {
                late180 += 1;
                180
            } else {
                0
            };
            loki.push(
                &[("job", "seq"), ("stream", "a")],
                now_ns() - late * 1_000_000_000,
                &format!("line {i:06} from a"),
            );
            i += 1;
        }
        // every 5 s: the tail is cut and Loki answers 503 for 2 s
        if t.elapsed() > Duration::from_secs(5 * (outages + 1)) && outages < 3 {
            outages += 1;
            loki.fail_for(Duration::from_secs(2));
            loki.close_tails();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let complete = h.wait_for(i, 60);
    let (lines, err, _) = h.stop();
    let (nums, markers) = numbers_of(&lines);
    let mut sorted = nums.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), nums.len(), "a line was printed twice");
    let missing: Vec<usize> = (0..i)
        .filter(|n| sorted.binary_search(n).is_err())
        .collect();
    assert!(
        complete && missing.is_empty(),
        "{} of {i} lines missing ({late30} were 30 s late, {late180} 3 min late): {:?}…; markers {markers}; stderr: {err}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    assert!(outages == 3 && loki.tails_opened() >= 4, "the tail was cut");
}

/// A line later than the re-read window arrives on the live tail: lines as
/// late written while the tail was away could not have been read back, so
/// that reconnect becomes a marker, never a silent loss.
#[test]
fn a_line_later_than_the_reread_window_marks_the_reconnect_it_could_not_check() {
    let loki = Loki::start(LokiOptions::default());
    let mut args = follow_args(&loki.url);
    args.extend(["--reread".to_string(), "10s".to_string()]);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(wait_until(10, || loki.tails_open() > 0), "no tail opened");
    let labels = [("job", "seq"), ("stream", "a")];
    for i in 0..5 {
        loki.push(&labels, now_ns(), &format!("line {i:06} from a"));
    }
    assert!(h.wait_for(5, 15), "the first lines");
    // the tail goes away while lines a minute late are written
    loki.fail_for(Duration::from_secs(2));
    loki.close_tails();
    for i in 5..10 {
        loki.push(
            &labels,
            now_ns() - 60_000_000_000,
            &format!("line {i:06} from a"),
        );
    }
    assert!(
        wait_until(20, || loki.tails_opened() >= 2 && loki.tails_open() > 0),
        "the tail came back"
    );
    // one more line a minute late, on the live tail
    loki.push(&labels, now_ns() - 60_000_000_000, "line 000010 from a");
    let marked = wait_until(15, || {
        h.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("could not be checked"))
    });
    let (lines, err, _) = h.stop();
    assert!(
        marked,
        "no marker for the unchecked reconnect: {lines:?} {err}"
    );
    let (nums, _) = numbers_of(&lines);
    assert!(
        nums.contains(&10),
        "the late line on the tail is printed: {nums:?}"
    );
    let marker = lines
        .iter()
        .find(|l| l.contains("could not be checked"))
        .unwrap();
    assert!(marker.contains("past the 10s re-read window"), "{marker}");
}

/// A skewed node floods lines stamped in 2096: they are printed at their
/// own time and counted, and memory stays bounded (dedupe keys from the
/// future expire by arrival; see the engine's unit tests for the bound).
#[test]
fn a_flood_from_the_future_is_printed_counted_and_bounded() {
    let secs: u64 = std::env::var("WF_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let loki = Loki::start(LokiOptions {
        tail_holds_future: false,
        ..Default::default()
    });
    let mut args = follow_args(&loki.url);
    args.extend(["--reread".to_string(), "10s".to_string()]);
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(wait_until(10, || loki.tails_open() > 0), "no tail opened");
    let future = now_ns()
        + std::env::var("WF_FLOOD_AHEAD")
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(70 * 365 * 86_400)
            * 1_000_000_000;
    let pid = h.child.id();
    let rss = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    };
    let t = Instant::now();
    let mut i = 0usize;
    let mut peak = 0;
    while t.elapsed() < Duration::from_secs(secs) {
        for _ in 0..200 {
            loki.push(
                &[("job", "seq"), ("stream", "skewed")],
                future + i as i64,
                &format!("line {i:06} from the future"),
            );
            i += 1;
        }
        peak = peak.max(rss());
        std::thread::sleep(Duration::from_millis(10));
    }
    let complete = h.wait_for(i, 60);
    peak = peak.max(rss());
    let (lines, err, _) = h.stop();
    println!(
        "{i} future-stamped lines in {secs} s: peak RSS {} MiB",
        peak / 1024
    );
    assert!(complete, "only {} of {i} lines: {err}", lines.len());
    assert!(err.contains("stamped ahead of the clock"), "{err}");
    assert!(
        err.contains(&format!("{i} lines were stamped ahead")),
        "{err}"
    );
    assert!(peak < 128 * 1024, "peak RSS {} KiB", peak);
}

/// A gateway that routes query_range but answers 404 on the tail: the
/// engine polls and shows every line, and that is a working source, not a
/// failure: `--once` exits 0, and the header says why it polls.
#[test]
fn a_refused_tail_polls_with_the_source_healthy() {
    let loki = Loki::start(LokiOptions {
        websocket: false,
        tail_refusal: 404,
        ..Default::default()
    });
    for i in 0..5 {
        loki.push(
            &[("job", "seq"), ("stream", "a")],
            now_ns() - 1_000_000_000 + i,
            &format!("line {i:06} from a"),
        );
    }
    let dir = common::tempdir("tail-404");
    // the headless engine: every line, no error on stderr
    let out = run_in(
        &dir,
        &[
            "logs",
            r#"{job="seq"}"#,
            "--loki",
            &loki.url,
            "--since",
            "5m",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
    // the TUI's one frame (printed once the backfill is done and the tail
    // was tried): the log source is healthy while polling, and says why
    let out = run_in(
        &dir,
        &[
            "--once",
            "--size",
            "200x40",
            "--once-timeout",
            "5s",
            "--loki",
            &loki.url,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}: {err}\n{text}",
        out.status.code()
    );
    assert!(!text.contains("loki ✗"), "{text}");
    assert!(text.contains("polling (tail refused: HTTP 404)"), "{text}");
}

/// The re-read after a disconnect never reaches below what the backfill
/// left out on purpose (`--limit`): it used to start at `newest - reread`
/// and page through lines it then threw away (at high rates, up to its
/// page budget, leaving the real gap unread).
#[test]
fn the_reread_stays_above_the_backfill_floor() {
    let loki = Loki::start(LokiOptions::default());
    let base = now_ns() - 120_000_000_000;
    for i in 0..3000 {
        loki.push(
            &[("job", "seq"), ("stream", "a")],
            base + i * 40_000_000,
            &format!("line {i:06} from a"),
        );
    }
    let args = follow_args(&loki.url); // --limit 10
    let h = Headless::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(wait_until(10, || loki.tails_open() > 0), "no tail opened");
    assert!(h.wait_for(10, 15));
    let floor = base + 2990 * 40_000_000;
    loki.close_tails();
    assert!(
        wait_until(15, || loki.tails_opened() >= 2 && loki.tails_open() > 0),
        "the tail came back"
    );
    let (lines, err, _) = h.stop();
    let (nums, markers) = numbers_of(&lines);
    assert!(
        nums.iter().all(|&n| n >= 2990),
        "a line below the floor was printed: {nums:?} {err}"
    );
    // the user's --limit left the older lines out: not a marker, not a warning
    assert_eq!(markers, 0, "{lines:?}");
    assert!(!err.contains("not loaded"), "{err}");
    let below: Vec<String> = loki
        .requests()
        .iter()
        .filter(|r| r.path == "/loki/api/v1/query_range")
        .filter_map(|r| r.param("start").and_then(|s| s.parse::<i64>().ok()))
        .filter(|&s| s < floor && s > base)
        .map(|s| format!("{} s below", (floor - s) / 1_000_000_000))
        .collect();
    // the backfill itself asks from the window's start (`--since`), before `base`
    assert!(below.is_empty(), "re-reads below the floor: {below:?}");
}
