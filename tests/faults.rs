//! Faults: Prometheus absent at start, killed mid-run and restarted, and
//! answering 400/422/503. The app stays responsive, shows the error and the
//! age of its data, and recovers by itself.

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use watchfloor::app::update::{self, Event};
use watchfloor::config::Endpoint;
use watchfloor::dashboard::Dashboard;
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::ui::render;

fn client(url: &str) -> Arc<PrometheusClient> {
    let mut ep = Endpoint::plain(url);
    ep.timeout_secs = 2.0;
    Arc::new(PrometheusClient::new(&ep).unwrap().0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_at_start_then_killed_and_restarted() {
    if !require("prometheus") || !require("promtool") {
        return;
    }
    let (data, _story) = backfill();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut st = state(3600, 1.0, "prom", &url);
    let (mut tasks, mut rx) = start(&mut st, client(&url));

    // nothing listens yet: the header says so, nothing freezes
    let failed = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(10), |s| {
        s.metrics.common.health.last_error.is_some()
    })
    .await;
    assert!(failed);
    assert!(!st.metrics.common.health.ok());
    let err = st.metrics.common.health.last_error.clone().unwrap();
    assert!(err.contains("cannot connect"), "{err}");
    let screen = buffer_to_text(&render(&st, 120, 30));
    assert!(screen.contains("prom ✗"), "{screen}");
    assert!(screen.contains("Waiting for prom"), "{screen}");

    // it appears: detection and every pane recover by themselves
    let mut prom = Prom::start(&data, port);
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(40), |s| {
        s.metrics.dashboard.is_some()
            && s.all_answered()
            && s.metrics.queries.iter().all(|q| {
                s.metrics
                    .store
                    .get(&q.key)
                    .is_some_and(|d| d.error.is_none())
            })
    })
    .await;
    assert!(
        ok,
        "did not recover: {:?}",
        st.metrics.common.health.last_error
    );
    assert!(st.metrics.common.health.ok());

    // killed mid-run: panes keep their data, show the error and staleness
    prom.kill();
    let broke = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(15), |s| {
        s.metrics
            .store
            .get("memory.working_set")
            .is_some_and(|d| d.error.is_some())
    })
    .await;
    assert!(broke);
    let ws = st.metrics.store.get("memory.working_set").unwrap();
    assert!(ws.has_data(), "the last data is kept");
    // let the data age, then look at the screen
    update::update(&mut st, Event::Tick(watchfloor::core::now_ms() + 5_000));
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("stale"), "{screen}");
    assert!(screen.contains("retrying"), "{screen}");
    assert!(screen.contains("cannot connect"), "{screen}");

    // restarted on the same port: errors clear without any key pressed
    let _prom = Prom::start(&data, port);
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(40), |s| {
        s.metrics.queries.iter().all(|q| {
            s.metrics
                .store
                .get(&q.key)
                .is_some_and(|d| d.error.is_none())
        })
    })
    .await;
    assert!(
        ok,
        "did not recover after restart: {:?}",
        st.metrics.common.health.last_error
    );
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(!screen.contains("retrying"), "{screen}");
}

/// A loopback server that answers every request with the status in `mode`
/// (0 = a valid Prometheus answer), with Prometheus's JSON error body or,
/// for 503, a plain-text proxy page.
async fn fake_prometheus(mode: Arc<AtomicU16>) -> String {
    use common::http::{handler, serve, Request, Response};
    serve(handler(move |r: Request| {
        let mode = mode.load(Ordering::SeqCst);
        async move {
            match mode {
                400 => Response::json(400, r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected character"}"#),
                422 => Response::json(422, r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#),
                503 => Response::new(503, "text/plain", "upstream connect error or disconnect/reset before headers"),
                _ if r.path().contains("/label/__name__/values") => Response::json(200, r#"{"status":"success","data":["vm_memory_total_bytes","vm_memory_binary_bytes"]}"#),
                _ => {
                    let now = watchfloor::core::now_ms() / 1000;
                    Response::json(200, format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"pod":"app-1"}},"values":[[{},"1073741824"],[{now},"1073741824"]]}}]}}}}"#, now - 10))
                }
            }
        }
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_show_in_panes_ui_stays_responsive_and_recovers() {
    let mode = Arc::new(AtomicU16::new(0));
    let url = fake_prometheus(mode.clone()).await;
    let mut st = state(3600, 0.5, "prom", &url);
    // the fake has no /api/v1/targets: say that it samples every second
    let fast = [("scrape_interval".to_string(), "1s".to_string())].into();
    st.metrics.dashboard = Some(Dashboard::builtin("beam").unwrap().with_overrides(&fast));
    st.metrics.choice = watchfloor::app::state::DashboardChoice::Fixed;
    let (mut tasks, mut rx) = start(&mut st, client(&url));
    assert!(
        drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(10), |s| s
            .all_answered())
        .await
    );
    assert!(st.metrics.common.health.ok());

    for (status, text) in [
        (400u16, "HTTP 400 bad_data: 1:5: parse error"),
        (422, "HTTP 422 execution: query processing"),
        (503, "HTTP 503: upstream connect error"),
    ] {
        mode.store(status, Ordering::SeqCst);
        let seen = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(10), |s| {
            s.metrics
                .store
                .get("memory.working_set")
                .and_then(|d| d.error.clone())
                .is_some_and(|e| e.contains(text))
        })
        .await;
        assert!(
            seen,
            "{status}: {:?}",
            st.metrics
                .store
                .get("memory.working_set")
                .and_then(|d| d.error.clone())
        );
        // keys still work while the backend fails
        let zoom = st.ui.zoom;
        update::update(
            &mut st,
            Event::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)),
        );
        assert_ne!(st.ui.zoom, zoom);
        let screen = buffer_to_text(&render(&st, 200, 50));
        assert!(screen.contains(&format!("HTTP {status}")), "{screen}");
        assert!(screen.contains("1.00 GiB"), "last data kept:\n{screen}");
        if status != 503 {
            // a query the server refuses is not asked again at the refresh
            // rate (0.5 s here): it is retried slowly, or now with `r`
            let all_failed = |s: &watchfloor::app::State| {
                s.metrics.queries.iter().all(|q| {
                    s.metrics
                        .store
                        .get(&q.key)
                        .is_some_and(|d| d.error.is_some())
                })
            };
            assert!(
                drive(
                    &mut st,
                    &mut tasks,
                    &mut rx,
                    Duration::from_secs(10),
                    all_failed
                )
                .await
            );
            mode.store(0, Ordering::SeqCst);
            let before = st.metrics.common.health.requests;
            drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(3), |_| {
                false
            })
            .await;
            let asked = st.metrics.common.health.requests - before;
            assert!(
                asked <= 2,
                "{status}: {asked} requests in 3 s while refused"
            );
            let (cmds, _) = update::update(
                &mut st,
                Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
            );
            tasks.exec(cmds);
        }
        mode.store(0, Ordering::SeqCst);
        let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(20), |s| {
            s.metrics.queries.iter().all(|q| {
                s.metrics
                    .store
                    .get(&q.key)
                    .is_some_and(|d| d.error.is_none())
            })
        })
        .await;
        assert!(ok, "no recovery after {status}");
    }
}
