//! Traces: a Jaeger answer of 100,000 spans (and 10,000) decoded and laid
//! out (time, and the memory the trace holds and peaks at); a frame of the
//! waterfall at 200x50 at the top, the middle and the end of it; and the
//! time from asking a loopback backend to the trace on screen.
//! Run: cargo bench --bench traces

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use watchfloor::features::traces::client::wire::decode;
use watchfloor::features::traces::tree::{build, Trace};

const ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A Jaeger v1 answer of `n` spans: 8 services, a tree where each span's
/// parent is one of the 64 spans before it, five tags each (an int,
/// strings, a bool), one log every tenth span: ~500 bytes of JSON a span
/// as Jaeger writes them (the issue's estimate is ~350).
fn jaeger(n: usize) -> Vec<u8> {
    let t0 = 1_796_519_400_000_000i64;
    let mut s = String::with_capacity(n * 700);
    s.push_str(r#"{"data":[{"traceID":""#);
    s.push_str(ID);
    s.push_str(r#"","spans":["#);
    let mut seed = 7u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let refs = if i == 0 {
            String::new()
        } else {
            let p = i - 1 - (rnd() as usize % i.min(64));
            format!(
                r#"{{"refType":"CHILD_OF","traceID":"{ID}","spanID":"{:016x}"}}"#,
                p + 1
            )
        };
        let start = t0 + i as i64 * 10;
        let dur = 5 + (rnd() % 20_000) as i64;
        let _ = write!(
            s,
            r#"{{"traceID":"{ID}","spanID":"{:016x}","operationName":"op-{}","references":[{refs}],"startTime":{start},"duration":{dur},"tags":["#,
            i + 1,
            i % 97
        );
        let _ = write!(
            s,
            r#"{{"key":"span.kind","type":"string","value":"server"}},{{"key":"http.status_code","type":"int64","value":{}}},{{"key":"thread_id","type":"string","value":"th-{}"}},{{"key":"turn_id","type":"string","value":"turn-{}"}},{{"key":"cache.hit","type":"bool","value":{}}}],"logs":["#,
            200 + (i % 5) * 100,
            i % 13,
            i % 101,
            i % 2 == 0,
        );
        if i % 10 == 0 {
            let _ = write!(
                s,
                r#"{{"timestamp":{},"fields":[{{"key":"event","type":"string","value":"retry"}},{{"key":"attempt","type":"int64","value":2}}]}}"#,
                start + 1
            );
        }
        let _ = write!(s, r#"],"processID":"p{}","warnings":null}}"#, i % 8 + 1);
    }
    s.push_str(r#"],"processes":{"#);
    for p in 1..=8 {
        if p > 1 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#""p{p}":{{"serviceName":"service-{p}","tags":[{{"key":"hostname","type":"string","value":"node-{p}"}}]}}"#
        );
    }
    s.push_str(r#"},"warnings":null}],"total":0,"limit":0,"offset":0,"errors":null}"#);
    s.into_bytes()
}

fn rss_kib() -> u64 {
    common::proc_status_kib("self", "VmRSS:").unwrap_or(0)
}

fn hwm_kib() -> u64 {
    common::proc_status_kib("self", "VmHWM:").unwrap_or(0)
}

/// VmHWM back to the current RSS.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn decode_and_build(body: &[u8]) -> Trace {
    let d = decode(body).expect("the answer decodes");
    build(ID, d.spans, d.warnings, d.partial)
}

fn bench_decode(n: usize, target_ms: f64) -> Trace {
    let body = jaeger(n);
    // warm: the allocator's arenas
    drop(decode_and_build(&body));
    let before = rss_kib();
    reset_peak();
    let t = Instant::now();
    let trace = decode_and_build(&body);
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let held = rss_kib().saturating_sub(before) as f64 / 1024.0;
    let peak = hwm_kib().saturating_sub(before) as f64 / 1024.0;
    println!(
        "traces decode: {n} spans, {:.1} MB of Jaeger JSON: decode + layout {ms:.0} ms (target <= {target_ms:.0} ms); held {held:.0} MiB, peak {peak:.0} MiB above the answer",
        body.len() as f64 / 1e6
    );
    trace
}

fn state_with(trace: Trace) -> watchfloor::app::State {
    use watchfloor::app::update::{self, Event};
    let mut st = common::state(300, 1.0, "prom", "http://127.0.0.1:1");
    st.metrics.common.configured = false;
    watchfloor::app::run::configure_traces(&mut st, "http://127.0.0.1:1", Some(ID)).unwrap();
    update::update(&mut st, Event::Resize(200, 50));
    st.traces.trace = Some(Arc::new(trace));
    st
}

fn bench_frame(trace: Trace) {
    use watchfloor::app::views::View;
    let n = trace.spans.len();
    let mut st = state_with(trace);
    for (name, at) in [("top", 0), ("middle", n / 2), ("end", n - 1)] {
        if let Some(View::Trace { selected, .. }) = st.ui.views.top_mut() {
            *selected = at;
        }
        let k = 50;
        let t = Instant::now();
        for _ in 0..k {
            std::hint::black_box(watchfloor::ui::render(&st, 200, 50));
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0 / k as f64;
        println!("traces frame: {n} spans, 200x50 at the {name}: {ms:.2} ms (target <= 3 ms)");
    }
}

fn bench_open(n: usize) {
    use watchfloor::app::run::{Backends, Tasks};
    use watchfloor::app::Command;
    use watchfloor::config::Endpoint;
    use watchfloor::features::traces::client::HttpTraces;
    let body = Arc::new(jaeger(n));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = body.clone();
        let url = common::http::serve(common::http::handler(move |req| {
            let b = b.clone();
            async move {
                if req.path().starts_with("/api/traces/") {
                    common::http::Response::json(200, (*b).clone())
                } else {
                    common::http::Response::new(404, "text/plain", "404 page not found")
                }
            }
        }))
        .await;
        let mut st = state_with(Trace::default());
        st.traces.trace = None;
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let backend = HttpTraces::new(&Endpoint::plain(&url), None).unwrap();
        let mut tasks = Tasks::new(
            Backends {
                traces: Some(Arc::new(backend)),
                ..Default::default()
            },
            tx,
            1.0,
        );
        // the first ask also finds out the backend's kind: not timed
        let cmds: Vec<Command> = st.traces.open(ID).into_iter().map(Command::Traces).collect();
        tasks.exec(cmds);
        common::drive(&mut st, &mut tasks, &mut rx, std::time::Duration::from_secs(60), |s| {
            s.traces.trace.is_some()
        })
        .await;
        st.traces.trace = None;
        let t = Instant::now();
        let cmds: Vec<Command> = st.traces.open(ID).into_iter().map(Command::Traces).collect();
        tasks.exec(cmds);
        let ok = common::drive(&mut st, &mut tasks, &mut rx, std::time::Duration::from_secs(60), |s| {
            s.traces.trace.is_some()
        })
        .await;
        let screen = watchfloor::export::buffer_to_text(&watchfloor::ui::render(&st, 200, 50));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let shown = ok && screen.contains(&format!("{n} spans"));
        println!(
            "traces open: {n} spans from a loopback Jaeger, asked to on screen: {ms:.0} ms{} (target <= 150 ms)",
            if shown { "" } else { " — NOT SHOWN" }
        );
    });
}

/// Exemplars: a `/api/v1/query_exemplars` answer of `n` read, and a frame
/// of the demo's dashboard at 200x50 with 5,000 of them on its latency
/// chart against one with none.
fn bench_exemplars(n: usize) {
    use watchfloor::app::update::{self, Event};
    use watchfloor::app::SourceEvent;
    use watchfloor::features::metrics::client::exemplars::{parse, wants};
    use watchfloor::features::metrics::MetricsEvent;
    let t0 = 1_796_519_400.0f64;
    let mut body = String::from(
        r#"{"status":"success","data":[{"seriesLabels":{"__name__":"http_request_duration_seconds_bucket","le":"0.5","job":"api"},"exemplars":["#,
    );
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"labels":{{"trace_id":"{:032x}"}},"value":"{:.3}","timestamp":{:.3}}}"#,
            i as u128 * 0x9e37_79b9_7f4a_7c15,
            0.05 + (i % 97) as f64 / 100.0,
            t0 + i as f64 * 0.7
        );
    }
    body.push_str("]}]}");
    let k = 20;
    let t = Instant::now();
    let mut kept = 0;
    for _ in 0..k {
        kept = parse(200, Some("application/json"), body.as_bytes())
            .unwrap()
            .len();
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / k as f64;
    println!(
        "exemplars read: {n} ({:.1} MB) in {ms:.2} ms, {kept} kept",
        body.len() as f64 / 1e6
    );
    // the demo's dashboard, with and without marks on its latency chart
    let t_s = 1_796_519_400;
    let mut st = common::demo_state(t_s, None, 3600, 1);
    update::update(&mut st, Event::Resize(200, 50));
    let frame = |st: &watchfloor::app::State| {
        let k = 50;
        let t = Instant::now();
        for _ in 0..k {
            std::hint::black_box(watchfloor::ui::render(st, 200, 50));
        }
        t.elapsed().as_secs_f64() * 1000.0 / k as f64
    };
    let bare = frame(&st);
    let key = st
        .metrics
        .queries
        .iter()
        .find(|q| wants(q))
        .map(|q| q.key.clone())
        .expect("a latency chart");
    let marks = (0..5000)
        .map(
            |i| watchfloor::features::metrics::client::exemplars::Exemplar {
                at_ms: (t_s - 3600) * 1000 + i * 720,
                value: 0.05 + (i % 97) as f64 / 100.0,
                trace_id: format!("{i:032x}"),
            },
        )
        .collect();
    let ev = MetricsEvent::Exemplars {
        gen: st.metrics.common.gen,
        key,
        at_ms: t_s * 1000,
        incremental: false,
        start_ms: (t_s - 3600) * 1000,
        until_ms: t_s * 1000,
        result: Ok(watchfloor::features::metrics::client::exemplars::Found {
            exemplars: marks,
            bytes: 0,
        }),
    };
    update::update(&mut st, Event::Source(SourceEvent::Metrics(ev)));
    assert!(st.metrics.exemplars.any());
    let marked = frame(&st);
    println!(
        "exemplars frame: demo dashboard 200x50, 5000 marks {marked:.2} ms, none {bare:.2} ms"
    );
}

fn main() {
    let only = std::env::var("WF_BENCH_ONLY").unwrap_or_default();
    let on = |k: &str| only.is_empty() || only.split(',').any(|x| x == k);
    if on("decode") {
        let big = bench_decode(100_000, 300.0);
        let _ = bench_decode(10_000, 30.0);
        if on("frame") {
            bench_frame(big);
        }
    } else if on("frame") {
        bench_frame(decode_and_build(&jaeger(100_000)));
    }
    if on("open") {
        bench_open(1_000);
        bench_open(10_000);
    }
    if on("exemplars") {
        bench_exemplars(5_000);
        bench_exemplars(50_000);
    }
}
