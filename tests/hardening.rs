//! Hardening, tried as an attacker would: backends that echo secrets, a
//! terminal that goes away, a flood of series, label values that try to
//! change the query, garbage answers.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http::{handler, serve, serve_in_thread, Request, Response};
use common::*;
use watchfloor::app::update::{self, Event};
use watchfloor::app::Action;
use watchfloor::config::Endpoint;
use watchfloor::dashboard::Dashboard;
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::ui::render;

const TOKEN: &str = "tok-7f3a9c2e51d84b6a0c";
const PASSWORD: &str = "pw-Zq83kLm2vX";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_watchfloor")
}

/// Decodes standard base64 (for the echoing server).
fn unbase64(s: &str) -> String {
    const T: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.chars().filter(|c| *c != '=') {
        let Some(v) = T.find(c) else { continue };
        bits = bits << 6 | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A gateway that echoes what it was sent: metric-name lookups get a 401
/// in plain text, queries a 500 in Prometheus's JSON error shape. Both
/// carry the Authorization header and, for basic auth, the decoded password.
fn echoing_gateway(saw_secret: Arc<AtomicBool>) -> String {
    serve_in_thread(handler(move |r: Request| {
        let saw = saw_secret.clone();
        async move {
            let auth = r.header("authorization").unwrap_or("none").to_string();
            let decoded = auth
                .strip_prefix("Basic ")
                .map(unbase64)
                .unwrap_or_default();
            if auth.contains(TOKEN) || decoded.contains(PASSWORD) {
                saw.store(true, Ordering::SeqCst);
            }
            if r.path().contains("/label/") {
                Response::new(
                    401,
                    "text/plain",
                    format!("401 Unauthorized: you sent Authorization: {auth}\r\n(credentials {decoded})"),
                )
            } else {
                Response::json(
                    500,
                    format!(
                        r#"{{"status":"error","errorType":"internal","error":"upstream refused Authorization: {auth} for {decoded}"}}"#
                    ),
                )
            }
        }
    }))
}

fn assert_clean(what: &str, text: &str) {
    for secret in [TOKEN, PASSWORD] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
    assert!(
        !text.contains(&watchfloor::core::http::base64(
            format!("alice:{PASSWORD}").as_bytes()
        )),
        "{what} shows the basic-auth header:\n{text}"
    );
}

#[test]
fn echoed_secrets_never_reach_screen_stdout_stderr_or_log() {
    let saw = Arc::new(AtomicBool::new(false));
    let url = echoing_gateway(saw.clone());
    let dir = tempdir("echo");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.gw]\nnamespace = \"codex-pooler\"\n[profiles.gw.prometheus]\nurl = \"{url}\"\nbearer_token = \"env:WF_ECHO_TOKEN\"\n"
        ),
    )
    .unwrap();
    let userinfo_url = url.replace("http://", &format!("http://alice:{PASSWORD}@"));
    // 1. --once with a bearer token (detection fails with the 401 echo) and
    // with a password in the URL; then a fixed dashboard (queries get the 500 echo)
    for (name, args) in [
        ("bearer", vec!["--profile", "gw"]),
        ("userinfo", vec!["--prometheus", userinfo_url.as_str()]),
        ("bearer-500", vec!["--profile", "gw", "--dashboard", "beam"]),
        (
            "userinfo-500",
            vec!["--prometheus", userinfo_url.as_str(), "--dashboard", "beam"],
        ),
    ] {
        let log = dir.join(format!("{name}.log"));
        let out = Command::new(bin())
            .args([
                "--config",
                cfg.to_str().unwrap(),
                "--once",
                "--size",
                "200x50",
            ])
            .args(["--once-timeout", "3s", "--log-file", log.to_str().unwrap()])
            .args(&args)
            .env("WF_ECHO_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !out.status.success(),
            "{name}: a failing backend exits non-zero"
        );
        // the error itself is shown, only its secret is masked
        let shown = format!("{stdout}{stderr}");
        assert!(
            shown.contains("HTTP 401") || shown.contains("HTTP 500"),
            "{name}: the error is shown:\n{shown}"
        );
        assert!(shown.contains("••••••"), "{name}: masked:\n{shown}");
        assert_clean(&format!("{name} stdout"), &stdout);
        assert_clean(&format!("{name} stderr"), &stderr);
        assert_clean(&format!("{name} log file"), &logged);
        assert!(!logged.is_empty(), "{name}: the log file was written");
    }
    assert!(saw.load(Ordering::SeqCst), "the gateway never saw a secret");

    // 2. the live UI in a real terminal, and its log file
    if !require("tmux") {
        return;
    }
    for (name, extra) in [
        ("live-bearer", "--profile gw --dashboard beam".to_string()),
        ("live-userinfo", format!("--prometheus '{userinfo_url}'")),
    ] {
        let log = dir.join(format!("{name}.log"));
        let t = Tmux::start(
            name,
            &format!(
                "WF_ECHO_TOKEN={TOKEN} {} --config {} --log-file {} --refresh 1s {extra}",
                bin(),
                cfg.display(),
                log.display()
            ),
            200,
            50,
            true,
        );
        let s = t.wait_for("••••••", 15);
        assert_clean(name, &s);
        // 80 columns: the header and pane titles cut text differently
        Command::new("tmux")
            .args(["resize-window", "-t", &t.session, "-x", "80", "-y", "24"])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert_clean(name, &t.screen());
        t.keys(&["q"]);
        t.wait_for("EXITED 0", 5);
        assert_clean(
            &format!("{name} log"),
            &std::fs::read_to_string(&log).unwrap(),
        );
    }
}

#[test]
fn closing_the_terminal_exits_within_a_second_without_a_panic() {
    if !require("tmux") {
        return;
    }
    let dir = tempdir("kill");
    for round in 0..3 {
        let status = dir.join(format!("status-{round}"));
        let log = dir.join(format!("wf-{round}.log"));
        // the wrapper survives the hangup (a caught signal is reset by exec,
        // so watchfloor gets the default disposition) and records the status
        let cmd = format!(
            "sh -c 'trap : HUP; {} --demo --log-file {}; echo $? > {}'",
            bin(),
            log.display(),
            status.display()
        );
        let t = Tmux::start(&format!("kill{round}"), &cmd, 120, 40, false);
        t.wait_for("Memory", 20);
        let pid = t.app_pid();
        let killed = Instant::now();
        Command::new("tmux")
            .args(["kill-session", "-t", &t.session])
            .status()
            .unwrap();
        let deadline = killed + Duration::from_secs(5);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let gone_after = killed.elapsed();
        assert!(
            gone_after <= Duration::from_secs(1),
            "round {round}: still running {gone_after:?} after the terminal closed"
        );
        let mut code = String::new();
        while Instant::now() < deadline {
            code = std::fs::read_to_string(&status).unwrap_or_default();
            if !code.trim().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let code: i32 = code.trim().parse().expect("the wrapper recorded a status");
        assert!(
            code == 0 || code == 129,
            "round {round}: exit status {code} (101 is a panic)"
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.contains("stopped:"), "the log says why:\n{logged}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_series_is_capped_and_the_real_pods_come_back() {
    let Some((prom, _story, _data)) = real_prometheus() else {
        return;
    };
    let burst = Arc::new(AtomicUsize::new(0));
    let url = flood_proxy(prom.url.clone(), burst.clone()).await;
    let client = Arc::new(PrometheusClient::new(&Endpoint::plain(&url)).unwrap().0);
    let mut st = state(3600, 1.0, "prom", &url);
    st.metrics.dashboard = Some(Dashboard::builtin("beam").unwrap());
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    let (mut tasks, mut rx) = start(&mut st, client);
    let has_app1 = |s: &watchfloor::app::State| {
        s.metrics
            .store
            .get("memory.working_set")
            .is_some_and(|d| d.latest_for("pod", "app-1").is_some())
    };
    assert!(
        drive(
            &mut st,
            &mut tasks,
            &mut rx,
            Duration::from_secs(30),
            has_app1
        )
        .await
    );

    // flooded answers until the memory pane has had one (queries are asked
    // on their own schedules), then the real ones again
    burst.store(usize::MAX, Ordering::SeqCst);
    let flooded = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
        s.metrics
            .store
            .get("memory.working_set")
            .is_some_and(|d| d.truncated_series > 0)
    })
    .await;
    assert!(flooded, "the flood never arrived");
    burst.store(0, Ordering::SeqCst);
    let ws = st.metrics.store.get("memory.working_set").unwrap();
    assert!(ws.series.len() <= watchfloor::store::series::MAX_SERIES);
    assert_eq!(
        ws.truncated_series,
        60_000 - watchfloor::store::series::MAX_SERIES,
        "left out = this answer's excess"
    );
    assert!(st.pods().len() <= watchfloor::app::state::MAX_PICKER_PODS);
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("series left out"), "{screen}");

    // healthy again: the real pods are back, the count describes the latest answer
    // (a query whose flooded answer failed on a loaded machine is asked again
    // after its backoff, up to MAX_BACKOFF_SECS: wait past that)
    let back = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(90), |s| {
        s.metrics
            .store
            .get("memory.working_set")
            .is_some_and(|d| d.latest_for("pod", "app-1").is_some())
            && s.metrics.queries.iter().all(|q| {
                s.metrics
                    .store
                    .get(&q.key)
                    .is_some_and(|d| d.truncated_series == 0)
            })
    })
    .await;
    assert!(back, "the real pods did not come back");
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("app-1"), "{screen}");
    assert!(!screen.contains("series left out"), "{screen}");
    let pods = st.pods();
    assert!(pods.contains(&"app-1".to_string()), "{pods:?}");
}

/// A pod whose name holds `$`, a quote and a backslash.
const WEIRD_POD: &str = "p$namespace\"x\\";
const WEIRD_WS: f64 = 777.0 * 1024.0 * 1024.0;

fn weird_pod_family(times: &[i64]) -> String {
    // OpenMetrics escapes \ and " in label values
    let escaped = WEIRD_POD.replace('\\', "\\\\").replace('"', "\\\"");
    let mut om = String::from("# TYPE weird_ws gauge\n");
    for t in times {
        om.push_str(&format!(
            "weird_ws{{namespace=\"{NS}\",pod=\"{escaped}\",container=\"app\",image=\"img\"}} {WEIRD_WS} {t}\n"
        ));
    }
    om
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_named_with_dollar_quote_backslash_selects_exactly_that_pod() {
    let Some((prom, _story, _data)) = real_prometheus_with(weird_pod_family) else {
        return;
    };
    // the beam preset reads working set from a variable: point it at the fixture
    let vars = [("ws_metric".to_string(), "weird_ws".to_string())]
        .into_iter()
        .collect();
    let client = Arc::new(
        PrometheusClient::new(&Endpoint::plain(&prom.url))
            .unwrap()
            .0,
    );
    let mut st = state(3600, 1.0, "prom", &prom.url);
    st.metrics.dashboard = Some(Dashboard::builtin("beam").unwrap().with_overrides(&vars));
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    let (mut tasks, mut rx) = start(&mut st, client);
    assert!(
        drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
            s.pods().iter().any(|p| p == WEIRD_POD)
        })
        .await,
        "the picker never offered {WEIRD_POD:?}: {:?}",
        st.pods()
    );
    // choose it in the picker: every query now selects exactly that pod
    update::apply(&mut st, Action::OpenPodPicker);
    let idx = st.pods().iter().position(|p| p == WEIRD_POD).unwrap();
    for _ in 0..=idx {
        update::apply(&mut st, Action::PickerDown);
    }
    let (cmds, _) = update::update(
        &mut st,
        Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    tasks.exec(cmds);
    assert_eq!(st.target.pod.as_deref(), Some(WEIRD_POD));
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
        s.metrics
            .store
            .get("memory.working_set")
            .is_some_and(|d| d.latest_for("pod", WEIRD_POD).is_some() && d.error.is_none())
    })
    .await;
    assert!(
        ok,
        "{:?}",
        st.metrics
            .store
            .get("memory.working_set")
            .and_then(|d| d.error.clone())
    );
    let ws = st.metrics.store.get("memory.working_set").unwrap();
    assert_eq!(ws.series.len(), 1, "exactly that pod");
    assert_eq!(ws.latest_for("pod", WEIRD_POD), Some(WEIRD_WS));
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("777"), "{screen}");

    // and by --pod on the command line (the variable from a profile)
    let dir = tempdir("weird");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.w]\n[profiles.w.prometheus]\nurl = \"{}\"\n[profiles.w.variables]\nws_metric = \"weird_ws\"\n",
            prom.url
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap(), "--profile", "w"])
        .args(["--namespace", NS, "--pod", WEIRD_POD, "--dashboard", "beam"])
        .args([
            "--once",
            "--size",
            "200x50",
            "--once-timeout",
            "20s",
            "--log-file",
        ])
        .arg(dir.join("wf.log"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pod p$namespace\"x\\"), "{stdout}");
    assert!(stdout.contains("777"), "{stdout}");
    assert!(!stdout.contains("bad_data"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_say_what_happened() {
    let mode = Arc::new(Mutex::new("html"));
    let m = mode.clone();
    let url = serve(handler(move |_r: Request| {
        let which = *m.lock().unwrap();
        async move {
            match which {
                "html" => Response::new(200, "text/html", "<!DOCTYPE html><html><head><title>Grafana</title></head><body>".to_string() + &"x".repeat(1200)),
                "exporter" => Response::new(200, "text/plain; version=0.0.4", "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.42\n"),
                "json" => Response::json(200, r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}"#),
                _ => Response::new(200, "application/octet-stream", vec![0x1f, 0x8b, 0x08, 0x00, 0xe3, 0xff, 0x00, 0x53, 0x9c, 0x01, 0x02]),
            }
        }
    }))
    .await;
    let client = PrometheusClient::new(&Endpoint::plain(&url)).unwrap().0;
    for (which, want) in [
        (
            "html",
            "not a Prometheus API response (HTML, 1.2 KiB) titled \"Grafana\"",
        ),
        ("exporter", "exporter"),
        ("json", "invalid JSON at byte"),
        ("binary", "not a Prometheus API response (binary"),
    ] {
        *mode.lock().unwrap() = which;
        let e = client.instant("up", 0).await.unwrap_err().to_string();
        assert!(e.contains(want), "{which}: {e}");
        assert!(!e.contains('\u{fffd}'), "{which}: raw bytes: {e}");
    }
    // connection failures name the cause and the host, never userinfo
    let port = free_port();
    let dead = PrometheusClient::new(&Endpoint::plain(&format!(
        "http://bob:{PASSWORD}@127.0.0.1:{port}"
    )))
    .unwrap()
    .0;
    let e = dead.instant("up", 0).await.unwrap_err().to_string();
    assert!(e.contains("connection refused"), "{e}");
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.contains(PASSWORD) && !e.contains("bob"), "{e}");
    // a connection reset mid-answer
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().take(1) {
            let mut s = s.unwrap();
            use std::io::{Read, Write};
            let mut b = [0u8; 1024];
            let _ = s.read(&mut b);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n{\"status\"");
            drop(s);
        }
    });
    let c = PrometheusClient::new(&Endpoint::plain(&format!("http://{addr}")))
        .unwrap()
        .0;
    let e = c.instant("up", 0).await.unwrap_err().to_string();
    assert!(!e.contains("for url ()"), "{e}");
    assert!(e.contains(&addr.to_string()), "{e}");
}

#[test]
fn the_body_cap_refuses_a_flood_while_reading() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = serve(handler(|_r: Request| async {
            Response::json(200, flood_body(5_000, 1_700_000_000))
        }))
        .await;
        let mut ep = Endpoint::plain(&url);
        ep.max_body_bytes = 256 * 1024;
        let c = PrometheusClient::new(&ep).unwrap().0;
        let e = c.instant("up", 0).await.unwrap_err().to_string();
        assert!(e.contains("larger than the 256 KiB body cap"), "{e}");
        // under the default cap the same answer parses, capped in series
        let c = PrometheusClient::new(&Endpoint::plain(&url)).unwrap().0;
        let f = c.instant("up", 0).await.unwrap();
        assert_eq!(f.series.len(), watchfloor::store::series::MAX_SERIES);
        assert_eq!(f.dropped, 5_000 - watchfloor::store::series::MAX_SERIES);
    });
}

#[test]
fn narrow_headers_keep_live_and_health() {
    let mut st = demo_state(1_700_000_100, None, 300, 1);
    for (w, h) in [(40u16, 10u16), (60, 20), (80, 24), (200, 50)] {
        update::update(&mut st, Event::Resize(w, h));
        let screen = buffer_to_text(&render(&st, w, h));
        let header = screen.lines().next().unwrap();
        assert!(header.contains("● LIVE"), "{w}x{h}: {header}");
        assert!(header.contains("demo ✓"), "{w}x{h}: {header}");
        assert!(header.chars().count() <= w as usize);
    }
    update::apply(&mut st, Action::TogglePause);
    let screen = buffer_to_text(&render(&st, 40, 10));
    assert!(
        screen.lines().next().unwrap().contains("PAUSED"),
        "{screen}"
    );
    // a failing backend keeps its mark at 40 columns
    st.metrics.common.health.last_error = Some("cannot connect".into());
    st.metrics.common.health.last_error_ms = Some(st.now_ms + 1);
    let screen = buffer_to_text(&render(&st, 40, 10));
    assert!(
        screen.lines().next().unwrap().contains("demo ✗"),
        "{screen}"
    );
}

/// The production path: answers come gzip-encoded (reqwest asks for it), so
/// no Content-Length says how big the decoded body is. A small gzip body
/// that inflates past the cap is refused while it is read, never held.
#[test]
fn a_gzip_answer_inflating_past_the_cap_is_refused_while_streaming() {
    let dir = tempdir("gzip-bomb");
    let raw = dir.join("body.json");
    std::fs::write(&raw, flood_body(5_000, 1_700_000_000)).unwrap();
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(&raw)
        .output()
        .expect("gzip");
    assert!(gz.status.success());
    let body = gz.stdout;
    let raw_len = std::fs::metadata(&raw).unwrap().len();
    assert!(
        raw_len > 512 * 1024 && (body.len() as u64) < 256 * 1024,
        "{raw_len} → {}",
        body.len()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = serve(handler(move |r: Request| {
            let body = body.clone();
            async move {
                assert!(r
                    .header("accept-encoding")
                    .is_some_and(|v| v.contains("gzip")));
                let mut resp = Response::json(200, body);
                resp.headers
                    .push(("content-encoding".into(), "gzip".into()));
                resp
            }
        }))
        .await;
        let mut ep = Endpoint::plain(&url);
        ep.max_body_bytes = 256 * 1024;
        let c = PrometheusClient::new(&ep).unwrap().0;
        let e = c.instant("up", 0).await.unwrap_err().to_string();
        assert!(e.contains("larger than the 256 KiB body cap"), "{e}");
    });
}
