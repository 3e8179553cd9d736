//! No credential follows a redirect: a backend (or anything in front of it)
//! answering 301/302/307/308 towards another origin gets an error that says
//! where it pointed, and the other origin receives no request at all.
//! Same-origin hops are followed with the configured headers, never with a
//! Referer. Probes report the 3xx they got.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::http::{handler, serve, serve_in_thread, Request, Response};
use common::tempdir;
use watchfloor::config::{Endpoint, SecretRef};

const KEY: &str = "key-9f2b7c41d0e8a6";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_watchfloor")
}

type Seen = Arc<Mutex<Vec<Request>>>;

/// A server on another origin that records every request it gets.
fn trap(seen: Seen) -> String {
    serve_in_thread(handler(move |r: Request| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(r);
            Response::json(
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            )
        }
    }))
}

/// A server that redirects every request to `to` + the same path, with
/// `status`, and records what it was sent.
fn redirector(status: u16, to: String, seen: Seen) -> String {
    serve_in_thread(handler(move |r: Request| {
        let (to, seen) = (to.clone(), seen.clone());
        async move {
            let loc = format!("{to}{}", r.target);
            seen.lock().unwrap().push(r);
            Response::redirect(status, &loc)
        }
    }))
}

fn port_of(url: &str) -> String {
    url.rsplit(':').next().unwrap().to_string()
}

fn config_with_key(dir: &std::path::Path, section: &str, url: &str) -> std::path::PathBuf {
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.p]\nnamespace = \"codex-pooler\"\n[profiles.p.{section}]\nurl = \"{url}\"\ntenant = \"team-a\"\n[profiles.p.{section}.headers]\nX-Api-Key = \"env:WF_REDIRECT_KEY\"\n"
        ),
    )
    .unwrap();
    cfg
}

fn run(args: &[&str], cfg: &std::path::Path) -> (bool, String) {
    let out = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap(), "--profile", "p"])
        .args(args)
        .env("WF_REDIRECT_KEY", KEY)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(KEY), "the key leaked: {text}");
    (out.status.success(), text)
}

#[test]
fn prometheus_redirects_to_another_origin_are_refused_for_every_status() {
    for (status, scheme) in [(301, "http"), (302, "http"), (307, "https"), (308, "http")] {
        let seen: Seen = Arc::default();
        let front: Seen = Arc::default();
        let other = trap(seen.clone());
        let other = if scheme == "https" {
            other.replace("http://", "https://")
        } else {
            other
        };
        let url = redirector(status, other.clone(), front.clone());
        let dir = tempdir(&format!("redirect-prom-{status}"));
        let cfg = config_with_key(&dir, "prometheus", &url);
        let (ok, text) = run(
            &[
                "--once",
                "--size",
                "200x50",
                "--once-timeout",
                "3s",
                "--dashboard",
                "beam",
            ],
            &cfg,
        );
        assert!(!ok, "{status}: a redirected backend is a failure: {text}");
        let port = port_of(&other);
        let want = if scheme == "https" {
            format!("redirected to https://127.0.0.1:{port}, not followed")
        } else {
            format!("redirected to 127.0.0.1:{port}, not followed")
        };
        assert!(text.contains(&want), "{status}: says where: {text}");
        assert!(
            seen.lock().unwrap().is_empty(),
            "{status}: the other origin got a request"
        );
        // the front got the key (it is the configured endpoint), never a Referer
        let front = front.lock().unwrap();
        assert!(!front.is_empty());
        assert!(front.iter().all(|r| r.header("referer").is_none()));
        assert!(front.iter().any(|r| r.header("x-api-key") == Some(KEY)));
    }
}

#[test]
fn loki_query_range_redirects_are_refused_on_screen_and_in_watchfloor_logs() {
    let seen: Seen = Arc::default();
    let other = trap(seen.clone());
    let url = redirector(302, other.clone(), Arc::default());
    let dir = tempdir("redirect-loki");
    let cfg = config_with_key(&dir, "loki", &url);
    let want = format!("redirected to 127.0.0.1:{}, not followed", port_of(&other));
    let (ok, text) = run(&["logs", "--since", "5m"], &cfg);
    assert!(!ok, "{text}");
    assert!(text.contains(&want), "watchfloor logs: {text}");
    let (ok, text) = run(
        &["--once", "--size", "160x40", "--once-timeout", "3s"],
        &cfg,
    );
    assert!(!ok, "{text}");
    assert!(text.contains(&want), "--once: {text}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin got a request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tail_handshake_is_never_redirected() {
    use watchfloor::features::logs::client::loki::LokiClient;
    use watchfloor::features::logs::client::{LogsBackend, TailOpenError};
    let seen: Seen = Arc::default();
    let other = trap(seen.clone());
    let other_port = port_of(&other);
    let other_ws = other.replace("http://", "ws://");
    let url = serve(handler(move |r: Request| {
        let to = other_ws.clone();
        async move { Response::redirect(307, &format!("{to}{}", r.target)) }
    }))
    .await;
    std::env::set_var("WF_REDIRECT_TAIL_KEY", KEY);
    let mut ep = Endpoint::plain(&url);
    ep.headers = vec![(
        "X-Api-Key".into(),
        SecretRef::Env("WF_REDIRECT_TAIL_KEY".into()),
    )];
    let (client, _) = LokiClient::new(&ep).unwrap();
    let err = match client.tail("{job=\"a\"}", 0, 10).await {
        Ok(_) => panic!("a redirected handshake opened a tail"),
        Err(TailOpenError::NoWebSocket(e)) | Err(TailOpenError::Failed(e)) => e.to_string(),
    };
    assert!(
        err.contains(&format!(
            "tail redirected to ws://127.0.0.1:{other_port}, not followed"
        )),
        "{err}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_hops_keep_the_headers_and_send_no_referer() {
    let seen: Seen = Arc::default();
    let other = trap(seen.clone());
    let got: Seen = Arc::default();
    let g = got.clone();
    let url = serve(handler(move |r: Request| {
        let (g, other) = (g.clone(), other.clone());
        async move {
            g.lock().unwrap().push(r.clone());
            match r.path() {
                "/old/api/v1/query" => Response::redirect(308, "/new/api/v1/query?query=up"),
                "/new/api/v1/query" => Response::json(
                    200,
                    r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                ),
                _ => Response::redirect(302, &format!("{other}/stolen")),
            }
        }
    }))
    .await;
    std::env::set_var("WF_REDIRECT_SAME_KEY", KEY);
    let mut ep = Endpoint::plain(&url);
    ep.headers = vec![(
        "X-Api-Key".into(),
        SecretRef::Env("WF_REDIRECT_SAME_KEY".into()),
    )];
    let (client, _) = watchfloor::core::http::build_client(&ep).unwrap();
    let resp = client
        .get(format!("{url}/old/api/v1/query?query=up"))
        .send()
        .await
        .unwrap();
    let body = watchfloor::core::http::read_body(resp, 1 << 20, "x")
        .await
        .unwrap();
    assert_eq!(body.status, 200);
    let resp = client.get(format!("{url}/elsewhere")).send().await.unwrap();
    let err = match watchfloor::core::http::read_body(resp, 1 << 20, "x").await {
        Ok(_) => panic!("a cross-origin redirect was read as an answer"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("not followed"), "{err}");
    assert!(err.is_permanent(), "a redirect is retried slowly");
    let got = got.lock().unwrap();
    let hop = got
        .iter()
        .find(|r| r.path() == "/new/api/v1/query")
        .unwrap();
    assert_eq!(
        hop.header("x-api-key"),
        Some(KEY),
        "same origin keeps the key"
    );
    assert!(
        got.iter().all(|r| r.header("referer").is_none()),
        "no Referer"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn probes_report_the_redirect_they_got() {
    let seen: Seen = Arc::default();
    let login = trap(seen.clone());
    let url = redirector(302, login.clone(), Arc::default());
    let dir = tempdir("redirect-probe");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.p]\n[[profiles.p.probes]]\nname = \"ready\"\nurl = \"{url}/readyz\"\n[[profiles.p.probes]]\nname = \"moved\"\nurl = \"{url}/moved\"\nexpect = 302\n"
        ),
    )
    .unwrap();
    let (ok, text) = run(
        &["--once", "--size", "200x50", "--once-timeout", "3s"],
        &cfg,
    );
    assert!(!ok, "a login redirect is not healthy: {text}");
    assert!(
        text.contains(&format!("redirected to 127.0.0.1:{}", port_of(&login))),
        "{text}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "the probe followed the redirect"
    );
    // the probe that expects the redirect is healthy: only `ready` failed
    assert!(!text.contains("moved: HTTP"), "{text}");
    // a readyz that sends to the login page of its own host is not healthy
    let same = serve_in_thread(handler(|r: Request| async move {
        match r.path() {
            "/login" => Response::new(200, "text/html", "<form>sign in</form>"),
            _ => Response::redirect(301, "/login"),
        }
    }));
    std::fs::write(
        &cfg,
        format!("[profiles.p]\n[[profiles.p.probes]]\nname = \"ready\"\nurl = \"{same}/readyz\"\n"),
    )
    .unwrap();
    let (ok, text) = run(
        &["--once", "--size", "200x50", "--once-timeout", "3s"],
        &cfg,
    );
    assert!(!ok, "a same-origin login redirect is not healthy: {text}");
    assert!(text.contains("HTTP 301 expected 200"), "{text}");
}

/// A probe answering 200 with a body past the probe's read cap is healthy:
/// the status is what counts, the rest is not read.
#[test]
fn a_probe_with_a_large_body_reports_its_status() {
    let url = serve_in_thread(handler(|_r: Request| async move {
        Response::new(200, "text/plain", vec![b'x'; 300 * 1024])
    }));
    let dir = tempdir("probe-large");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!("[profiles.p]\n[[profiles.p.probes]]\nname = \"big\"\nurl = \"{url}/healthz\"\n"),
    )
    .unwrap();
    let (ok, text) = run(
        &["--once", "--size", "200x50", "--once-timeout", "3s"],
        &cfg,
    );
    assert!(ok, "{text}");
    assert!(!text.contains("too_large"), "{text}");
}

/// A probe whose 200 is followed by a body that never ends is healthy: the
/// status is the answer, the body is not waited for.
#[test]
fn a_probe_whose_body_stalls_after_the_status_is_healthy() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\nstarted");
                // then nothing, until the client goes away
                let _ = s.read(&mut buf);
            });
        }
    });
    let dir = tempdir("probe-stall");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!("[profiles.p]\n[[profiles.p.probes]]\nname = \"stall\"\nurl = \"http://{addr}/healthz\"\ntimeout = \"2s\"\n"),
    )
    .unwrap();
    let (ok, text) = run(
        &["--once", "--size", "200x50", "--once-timeout", "5s"],
        &cfg,
    );
    assert!(ok, "{text}");
    assert!(!text.contains("timed out"), "{text}");
}
