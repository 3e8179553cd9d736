//! Against the real `prometheus` binary over data this test generates and
//! backfills with promtool: the values each pane shows equal what PromQL computes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use watchfloor::app::state::DashboardChoice;
use watchfloor::config::Endpoint;
use watchfloor::dashboard::Dashboard;
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::features::metrics::client::MetricsBackend;
use watchfloor::features::metrics::poller::fetch_range;
use watchfloor::store::QueryData;
use watchfloor::text::units::format_bytes;
use watchfloor::ui::render;

fn client(url: &str) -> Arc<PrometheusClient> {
    Arc::new(PrometheusClient::new(&Endpoint::plain(url)).unwrap().0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panes_show_what_promql_computes() {
    let Some((prom, story, _data)) = real_prometheus() else {
        return;
    };
    let backend = client(&prom.url);

    // the preset is detected from the metric names
    let mut st = state(3600, 5.0, "prom", &prom.url);
    let (mut tasks, mut rx) = start(&mut st, backend.clone());
    let ok = drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(30), |s| {
        s.all_answered()
    })
    .await;
    assert!(
        ok,
        "not all queries answered: {:?}",
        st.metrics.common.health.last_error
    );
    assert_eq!(st.metrics.choice, DashboardChoice::Auto);
    assert_eq!(st.metrics.dashboard.as_ref().unwrap().name, "beam");
    for q in &st.metrics.queries {
        let d = st.metrics.store.get(&q.key).unwrap();
        assert!(d.error.is_none(), "{}: {:?}", q.key, d.error);
    }

    // unexplained memory: working set - BEAM total at the newest sample
    let unexplained = st.metrics.store.get("memory.unexplained").unwrap();
    let (t_ms, v) = unexplained
        .series
        .iter()
        .find(|s| s.label("pod") == "app-1")
        .unwrap()
        .last()
        .unwrap();
    // the sample the lookback picked: the newest at or before t (data ends at story.end)
    let sample_t = ((t_ms / 1000 / STEP) * STEP).min(story.end);
    let expected = story.working_set("app-1", sample_t) - story.beam_total("app-1", sample_t);
    assert!((v - expected).abs() < 1.0, "unexplained {v} != {expected}");
    let by_hand = promql(
        &prom.url,
        "clamp_min(max by (pod) (container_memory_working_set_bytes{namespace=\"codex-pooler\",container=\"app\"}) - on (pod) max by (pod) (vm_memory_total_bytes{namespace=\"codex-pooler\"}), 0)",
        t_ms as f64 / 1000.0,
    )
    .await;
    let hand = by_hand.iter().find(|(m, _)| m["pod"] == "app-1").unwrap().1;
    assert_eq!(v, hand);

    // admission queue p95 per route class equals histogram_quantile by hand
    let p95 = st.metrics.store.get("admission.queue_p95").unwrap();
    assert_eq!(
        p95.series.len(),
        2,
        "{:?}",
        p95.series.iter().map(|s| &s.labels).collect::<Vec<_>>()
    );
    for s in &p95.series {
        let (t, v) = s.last().unwrap();
        let hand = promql(
            &prom.url,
            &format!(
                "histogram_quantile(0.95, sum by (le) (rate(codex_pooler_gateway_admission_dequeued_time_seconds_bucket{{namespace=\"codex-pooler\",route_class=\"{}\"}}[1m])))",
                s.label("route_class")
            ),
            t as f64 / 1000.0,
        )
        .await;
        assert!(
            (v - hand[0].1).abs() < 1e-9,
            "{}: {v} vs {}",
            s.label("route_class"),
            hand[0].1
        );
    }
    // responses are slow on app-1, so its p95 sits in a higher bucket than chat's
    let route = |r: &str| {
        p95.series
            .iter()
            .find(|s| s.label("route_class") == r)
            .unwrap()
            .last()
            .unwrap()
            .1
    };
    assert!(
        route("responses") > route("chat"),
        "{} vs {}",
        route("responses"),
        route("chat")
    );

    // restarts: current count and recent increase, reason OOMKilled
    let total = st.metrics.store.get("restarts.total").unwrap();
    assert_eq!(total.latest_for("pod", "app-1"), Some(5.0));
    let recent = st.metrics.store.get("restarts.recent").unwrap();
    assert_eq!(recent.latest_for("pod", "app-1"), Some(3.0));

    // what the screen shows
    let screen = buffer_to_text(&render(&st, 200, 50));
    assert!(screen.contains("OOMKilled"), "{screen}");
    assert!(
        screen.contains(&format_bytes(expected)),
        "unexplained {} not on screen:\n{screen}",
        format_bytes(expected)
    );
    let ws = story.working_set("app-1", sample_t);
    assert!(
        screen.contains(&format_bytes(ws)),
        "working set {} not on screen:\n{screen}",
        format_bytes(ws)
    );
    assert!(screen.contains("prom ✓"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_refresh_matches_full_query_and_fetches_far_less() {
    let Some((prom, _story, _data)) = real_prometheus() else {
        return;
    };
    let backend = client(&prom.url);
    let d = Dashboard::builtin("beam").unwrap();
    let vars = watchfloor::dashboard::TargetVars {
        namespace: Some(NS.into()),
        pod: None,
        range_secs: 3600,
        step_secs: 10,
        ..Default::default()
    };
    let queries = d.resolve(&vars).unwrap();
    let q = queries
        .iter()
        .find(|q| q.key == "memory.working_set")
        .unwrap();
    let now = story_now();
    // full window, then a refresh 30 s later that resumes where it ended
    let (s0, e0, inc0) = fetch_range(now - 30_000, 3600, 10, None);
    assert!(!inc0);
    let full0 = backend.query_range(q, s0, e0, 10).await.unwrap();
    let mut merged = QueryData::default();
    merged.replace(full0.series.clone(), 0, e0);
    let (s1, e1, inc1) = fetch_range(now, 3600, 10, Some(e0));
    assert!(inc1);
    let part = backend.query_range(q, s1, e1, 10).await.unwrap();
    merged.merge(part.series.clone(), 0, e1, e1 - 3_600_000);
    let (sf, ef, _) = fetch_range(now, 3600, 10, None);
    let full = backend.query_range(q, sf, ef, 10).await.unwrap();
    assert_eq!(merged.series.len(), full.series.len());
    for s in &full.series {
        let m = merged.series.iter().find(|x| x.labels == s.labels).unwrap();
        assert_eq!(m.points, s.points, "pod {}", s.label("pod"));
    }
    assert!(
        part.bytes * 10 <= full.bytes,
        "incremental {} B vs full {} B",
        part.bytes,
        full.bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_queries_go_as_post_and_agree_with_get() {
    let Some((prom, story, _data)) = real_prometheus() else {
        return;
    };
    let backend = client(&prom.url);
    let short = "max by (pod) (vm_memory_total_bytes{namespace=\"codex-pooler\"})";
    // the same value, padded past the POST threshold with no-op terms
    let long = format!(
        "{short}{}",
        " + 0 * max by (pod) (vm_memory_total_bytes{namespace=\"codex-pooler\"})".repeat(20)
    );
    assert!(long.len() > watchfloor::features::metrics::client::prometheus::POST_THRESHOLD);
    let at = story.end * 1000;
    let a = backend.instant(short, at).await.unwrap();
    let b = backend.instant(&long, at).await.unwrap();
    assert_eq!(a.series.len(), 3);
    let val = |f: &watchfloor::features::metrics::client::Fetched, pod: &str| {
        f.series
            .iter()
            .find(|s| s.label("pod") == pod)
            .unwrap()
            .last()
            .unwrap()
            .1
    };
    for pod in PODS {
        assert_eq!(val(&a, pod), val(&b, pod));
        assert_eq!(val(&a, pod), story.beam_total(pod, story.end));
    }
    // a range query with a bad expression reports Prometheus's own error
    let err = backend
        .range("max by (pod (", at - 60_000, at, 15)
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(400));
    assert!(err.to_string().contains("bad_data"), "{err}");
}

fn story_now() -> i64 {
    watchfloor::core::now_ms()
}

#[test]
fn once_against_real_prometheus_and_unreachable() {
    let Some((prom, _story, _data)) = real_prometheus() else {
        return;
    };
    let log = tempdir("once").join("wf.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "--once",
            "--size",
            "200x50",
            "--color",
            "never",
            "--namespace",
            NS,
            "--prometheus",
            &prom.url,
            "--log-file",
        ])
        .arg(&log)
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}\n{screen}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "Memory",
        "Scheduler",
        "Restarts & OOMs",
        "Admission & latency",
        "OOMKilled",
        "app-1",
        "dash beam",
    ] {
        assert!(screen.contains(want), "missing {want}:\n{screen}");
    }
    assert!(!screen.contains('\x1b'), "--color never printed escapes");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "--once",
            "--size",
            "80x24",
            "--once-timeout",
            "3s",
            "--prometheus",
            &dead,
            "--log-file",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("connection refused") && err.contains(&dead),
        "{err}"
    );
}
