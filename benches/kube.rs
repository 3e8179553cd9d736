//! Kubernetes benchmarks that print figures (no timing assertions):
//!  1. pods: the TUI in tmux at 200x50 watching a namespace of 5,000 pods
//!     on the loopback API server (tests/common/kube.rs): time from the
//!     list's last page to the first frame showing them; CPU share of one
//!     core while 50 pod updates a second arrive (WF_BENCH_KUBE_SECS,
//!     default 20); RSS and peak RSS.
//!  2. forward: a `k8s://` port-forward through the loopback API server's
//!     WebSocket to a local server: throughput of one connection reading
//!     256 MiB; and, after the pod is replaced, how long until a new
//!     connection is served.
//!
//!  3. frame: in process, a 200x50 frame and a pod update with 5,000 pods.
//!
//! WF_BENCH_ONLY=frame,pods,forward picks some. Run: cargo bench --bench kube

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::kube::{pod, FakeKube};
use serde_json::json;

const PODS: usize = 5_000;

fn a_pod(i: usize, restarts: u64) -> serde_json::Value {
    let mut p = pod(
        &[(
            "app",
            json!({"restartCount": restarts,
                "state": {"running": {"startedAt": "2026-12-06T00:00:00Z"}}}),
        )],
        "Running",
    );
    p["metadata"]["labels"] = json!({"app": "shop", "shard": (i % 16).to_string()});
    p
}

fn bench_pods() {
    if !common::require("tmux") {
        println!("kube pods: skipped (no tmux)");
        return;
    }
    let secs: u64 = std::env::var("WF_BENCH_KUBE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let rate: f64 = std::env::var("WF_BENCH_KUBE_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50.0);
    let fake = FakeKube::start_in_thread();
    for i in 0..PODS {
        fake.put_pod("shop", &format!("shop-{i:05}"), a_pod(i, 0));
    }
    let dir = common::tempdir("bench-kube");
    let cfg = fake.kubeconfig(&dir, None);
    std::fs::write(dir.join("c.toml"), "").unwrap();
    let cmd = format!(
        "WATCHFLOOR_CONFIG={} HOME={} {} --kubeconfig {} --log-file {}",
        dir.join("c.toml").display(),
        dir.display(),
        env!("CARGO_BIN_EXE_watchfloor"),
        cfg.display(),
        dir.join("wf.log").display()
    );
    let started = Instant::now();
    let t = common::Tmux::start("bench-kube", &cmd, 200, 50, false);
    let want = format!("{PODS} pods");
    let shown_at = loop {
        if t.screen().contains(&want) {
            break Instant::now();
        }
        if started.elapsed() > Duration::from_secs(60) {
            println!(
                "kube pods: no frame with {want} within 60 s:\n{}",
                t.screen()
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let listed = fake.pods_listed().expect("the pods were listed");
    let first_render = shown_at.saturating_duration_since(listed);
    let pid = t.app_pid();
    // 50 updates a second: a pod's restart count goes up, as in a crash loop
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pusher = {
        let (fake, stop) = (fake.clone(), stop.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let due = (start.elapsed().as_secs_f64() * rate) as usize;
                while n < due {
                    let i = (n * 7919) % PODS;
                    fake.put_pod(
                        "shop",
                        &format!("shop-{i:05}"),
                        a_pod(i, 1 + n as u64 / PODS as u64),
                    );
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let c0 = common::proc_cpu_ticks(&pid).unwrap_or(0);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = common::proc_cpu_ticks(&pid).unwrap_or(0);
    let wall = t0.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let updates = pusher.join().unwrap();
    let ticks = 100.0; // USER_HZ
    let cpu = (c1 - c0) as f64 / ticks / wall * 100.0;
    let rss = common::proc_status_kib(&pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0;
    let hwm = common::proc_status_kib(&pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let screen = t.screen();
    println!(
        "kube pods: {PODS} pods, first frame {:.0} ms after the list's last page ({:.0} ms after start)",
        first_render.as_secs_f64() * 1000.0,
        shown_at.duration_since(started).as_secs_f64() * 1000.0
    );
    println!(
        "kube pods: {updates} updates at {rate}/s over {wall:.0} s: CPU {cpu:.2}% of one core; RSS {rss:.1} MiB, peak {hwm:.1} MiB (targets: first frame <= 1000 ms, CPU <= 2%, RSS <= 80 MiB)"
    );
    if !screen.contains(&want) {
        println!("kube pods: the last frame lost the pods:\n{screen}");
    }
}

/// A local server: every connection gets `bytes` bytes then is closed.
fn source(bytes: usize) -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let chunk = vec![7u8; 256 * 1024];
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    addr
}

fn ready_pod(uid: &str) -> serde_json::Value {
    let mut p = a_pod(0, 0);
    p["metadata"]["labels"] = json!({"app": "sink"});
    p["metadata"]["uid"] = json!(uid);
    p
}

/// Reads one connection to its end: (bytes, seconds, when the first byte came).
fn read_all(port: u16) -> (usize, f64, Option<Instant>) {
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut total, mut first) = (0usize, None);
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                first.get_or_insert(Instant::now());
                total += n;
            }
        }
    }
    (total, t.elapsed().as_secs_f64(), first)
}

fn bench_forward() {
    use watchfloor::features::kube::forward::{self, ForwardSpec};
    use watchfloor::features::kube::runner::KubeOptions;
    const MIB: usize = 1 << 20;
    let size = 256 * MIB;
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("bench-forward");
    let cfg = fake.kubeconfig(&dir, None);
    let backend = source(size);
    fake.put_service(
        "shop",
        "sink",
        &[("app", "sink")],
        &[("data", 80, json!(8080))],
    );
    fake.put_pod("shop", "sink-a", ready_pod("a"));
    fake.set_backend("shop", "sink-a", 8080, backend);
    let spec = ForwardSpec::bind("sink", "k8s://shop/svc/sink:80").unwrap();
    let port = spec.listener.local_addr().unwrap().port();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let opts = KubeOptions {
        kubeconfig: Some(cfg),
        ..Default::default()
    };
    rt.spawn(forward::serve(
        spec,
        opts,
        watchfloor::core::Sink::direct(tx),
    ));
    rt.spawn(async move { while rx.recv().await.is_some() {} });
    // a first connection builds the client (not measured)
    let _ = read_all(port);
    let (bytes, secs, _) = read_all(port);
    println!(
        "kube forward: {} MiB through one connection in {secs:.2} s: {:.0} MiB/s (target >= 20 MiB/s)",
        bytes / MIB,
        bytes as f64 / MIB as f64 / secs
    );
    // the pod replaced: a new one under a new name, Ready at once
    fake.delete_pod("shop", "sink-a");
    let swapped = Instant::now();
    fake.set_backend("shop", "sink-b", 8080, backend);
    fake.put_pod("shop", "sink-b", ready_pod("b"));
    let (bytes, _, first) = read_all(port);
    match first {
        Some(at) => println!(
            "kube forward: after the pod was replaced, a new connection had its first byte {:.0} ms later ({} MiB read; target <= 2000 ms)",
            at.duration_since(swapped).as_secs_f64() * 1000.0,
            bytes / MIB
        ),
        None => println!("kube forward: after the pod was replaced, no byte came"),
    }
    drop(rt);
}

/// In process: one frame at 200x50 and one pod update through `update`,
/// with 5,000 pods in the state (what the steady-state CPU is made of).
fn bench_frame() {
    use watchfloor::app::update::{self, Event};
    use watchfloor::app::SourceEvent;
    use watchfloor::features::kube::{Change, KubeEvent, PodInfo};
    let mut st = watchfloor::app::State::new(
        None,
        watchfloor::app::Target {
            namespace: Some("shop".into()),
            range_secs: 900,
            ..Default::default()
        },
        1.0,
        watchfloor::config::theme::Theme::default_theme(),
        watchfloor::app::keymap::Keymap::default_keymap(),
    );
    st.metrics.common.configured = false;
    watchfloor::app::run::configure_kube(&mut st, None, false);
    let _ = update::start(&mut st);
    let gen = st.kube.common.gen;
    let info = |i: usize, r: u64| -> PodInfo {
        let p: watchfloor::core::kube::pod::Pod = serde_json::from_value({
            let mut p = a_pod(i, r);
            p["metadata"]["name"] = json!(format!("shop-{i:05}"));
            p["metadata"]["namespace"] = json!("shop");
            p
        })
        .unwrap();
        watchfloor::features::kube::model::pod_info(&p)
    };
    let ev = |change| {
        SourceEvent::Kube(KubeEvent::Pods {
            gen,
            at_ms: watchfloor::core::now_ms(),
            change,
        })
    };
    let all: Vec<PodInfo> = (0..PODS).map(|i| info(i, 0)).collect();
    update::update(&mut st, Event::Source(ev(Change::Replace(all))));
    update::update(&mut st, Event::Resize(200, 50));
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(watchfloor::ui::render(&st, 200, 50));
    }
    let frame = t.elapsed().as_secs_f64() / n as f64 * 1000.0;
    let updates: Vec<PodInfo> = (0..1000)
        .map(|i| info((i * 7919) % PODS, 1 + i as u64))
        .collect();
    let t = Instant::now();
    for p in updates {
        update::update(&mut st, Event::Source(ev(Change::Upsert(p))));
    }
    let upd = t.elapsed().as_secs_f64() / 1000.0 * 1000.0;
    // again, now that pods have restarts in the window (they rank first)
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(watchfloor::ui::render(&st, 200, 50));
    }
    let frame = frame.max(t.elapsed().as_secs_f64() / n as f64 * 1000.0);
    println!(
        "kube frame: {PODS} pods, a 200x50 frame {frame:.2} ms, a pod update {upd:.3} ms (at 10 frames/s and 50 updates/s: {:.1}% of one core)",
        (frame * 10.0 + upd * 50.0) / 10.0
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let only = std::env::var("WF_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("frame") {
        bench_frame();
    }
    if run("pods") {
        bench_pods();
    }
    if run("forward") {
        bench_forward();
    }
}
