//! Health probes, the second source: a loopback server with an endpoint
//! that flaps between 200 and 503, one that hangs, and one that is fine.
//! The pane and the header show it; the UI stays responsive; `--once`
//! exits 0 only when every configured source answered.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::http::{handler, serve_in_thread, Request, Response};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_watchfloor")
}

/// /flap answers 200 and 503 in turn, /hang never answers, /ok is fine.
fn health_server() -> String {
    let n = Arc::new(AtomicUsize::new(0));
    serve_in_thread(handler(move |r: Request| {
        let n = n.clone();
        async move {
            match r.path() {
                "/flap" => {
                    if n.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                        Response::new(200, "text/plain", "ok")
                    } else {
                        Response::new(503, "text/plain", "not ready: draining\n")
                    }
                }
                "/hang" => {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    Response::new(200, "text/plain", "late")
                }
                _ => Response::new(200, "text/plain", "ok"),
            }
        }
    }))
}

fn config(url: &str) -> std::path::PathBuf {
    let dir = common::tempdir("probes");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[profiles.p]
refresh = "1s"
[[profiles.p.probes]]
name = "api-ready"
url = "{url}/flap"
[[profiles.p.probes]]
name = "stuck"
url = "{url}/hang"
timeout = "1s"
[[profiles.p.probes]]
name = "healthz"
url = "{url}/ok"
"#
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn flapping_and_hanging_endpoints_show_and_the_ui_stays_responsive() {
    if !common::require("tmux") {
        return;
    }
    let url = health_server();
    let cfg = config(&url);
    let log = cfg.with_file_name("wf.log");
    let t = common::Tmux::start(
        "probes",
        &format!(
            "{} --config {} --profile p --log-file {}",
            bin(),
            cfg.display(),
            log.display()
        ),
        160,
        40,
        true,
    );
    // without a Prometheus the metric panes say what they need
    let s = t.wait_for("Probes", 10);
    assert!(s.contains("need a Prometheus"), "{s}");
    let s = t.wait_for("flapping", 20);
    let line = |name: &str| {
        s.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name}:\n{s}"))
            .to_string()
    };
    assert!(line("stuck").contains("timed out"), "{s}");
    assert!(line("healthz").contains("200"), "{s}");
    let flap = line("api-ready");
    assert!(
        flap.contains('█') && flap.contains('▁'),
        "history shows both: {flap}"
    );
    assert!(s.lines().next().unwrap().contains("probes ✗"), "{s}");
    // keys answer while a probe hangs (a condition with a generous cap,
    // not a timing assertion)
    t.keys(&["?"]);
    t.wait_for("Keys", 20);
    t.keys(&["Escape", "q"]);
    t.wait_for("EXITED 0", 5);
}

#[test]
fn once_exits_zero_only_when_every_configured_source_answered() {
    let url = health_server();
    let empty = common::tempdir("once-probes").join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let run = |probes: &[&str]| {
        let mut c = std::process::Command::new(bin());
        c.args(["--once", "--size", "120x30", "--once-timeout", "5s"]);
        c.env("WATCHFLOOR_CONFIG", &empty);
        c.arg("--log-file")
            .arg(common::tempdir("once-probes").join("wf.log"));
        for p in probes {
            c.args(["--probe", &format!("{url}{p}")]);
        }
        c.output().unwrap()
    };
    let ok = run(&["/ok", "/healthz"]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("Probes") && out.contains("/healthz"), "{out}");
    assert!(out.contains("need a Prometheus"), "{out}");
    let bad = run(&["/ok", "/hang"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("probe") && err.contains("/hang"), "{err}");
}
