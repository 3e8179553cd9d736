//! Peak memory of hostile answers (issue 12, item 4): for each kind, a
//! 31 MiB body built in memory (just under the 32 MiB default body cap) is
//! parsed by the production function, and the process's peak RSS (VmHWM,
//! reset just before the parse by writing 5 to /proc/self/clear_refs) is
//! printed and asserted under 4× the cap. Each kind runs in a child process
//! of its own, so what one parse left in the allocator cannot hide or
//! inflate the next one's figure. No timing assertions.
//!
//! WF_BENCH_ONLY=targets,streams,... picks some. Run: cargo bench --bench answers

use std::hint::black_box;
use std::process::Command;

use watchfloor::features::logs::client::wire;
use watchfloor::features::metrics::client::prometheus;

const MIB: usize = 1 << 20;
/// The default body cap, and the bound: 4× the cap.
const CAP: usize = watchfloor::config::DEFAULT_MAX_BODY as usize;
const BOUND: usize = 4 * CAP;
/// The body size: 31 MiB, under the cap.
const BODY: usize = 31 * MIB;

const KINDS: [&str; 8] = [
    "targets",
    "streams",
    "labels",
    "series",
    "matrix",
    "prometheus label values",
    "prometheus label-heavy vector",
    "prometheus inventory",
];

/// `head`, then `item(i)` joined by commas until the body is `BODY` long
/// (less the tail), then `tail`.
fn body(head: &str, tail: &str, mut item: impl FnMut(usize) -> String) -> Vec<u8> {
    let mut b = Vec::with_capacity(BODY);
    b.extend_from_slice(head.as_bytes());
    let mut i = 0;
    loop {
        let it = item(i);
        if b.len() + it.len() + 1 + tail.len() > BODY {
            break;
        }
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(it.as_bytes());
        i += 1;
    }
    b.extend_from_slice(tail.as_bytes());
    b
}

fn build(kind: &str) -> (Vec<u8>, &'static str) {
    match kind {
        // one healthy target, and 31 MiB of zeros in a field nobody reads
        "targets" => (
            body(
                r#"{"status":"success","data":{"activeTargets":[{"health":"up","scrapeInterval":"15s","lastScrape":"2026-11-22T01:00:03Z","discoveredLabels":["#,
                "]}]}}",
                |_| "0".into(),
            ),
            "1 target + [0,0,0,…]",
        ),
        // a query_range that ignored limit=100: ~1.16 M tiny entries over
        // 1,000 streams
        "streams" => {
            let head = r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"x","pod":"p-0"},"values":["#;
            (
                body(head, "]}]}}", |i| {
                    if i > 0 && i % 1160 == 0 {
                        format!(
                            r#"["{}","x"]]}},{{"stream":{{"app":"x","pod":"p-{}"}},"values":[["{}","x"]"#,
                            1_763_780_400_000_000_000i64 + i as i64,
                            i / 1160,
                            1_763_780_400_000_000_000i64 + i as i64
                        )
                    } else {
                        format!(r#"["{}","x"]"#, 1_763_780_400_000_000_000i64 + i as i64)
                    }
                }),
                "~1.16 M tiny entries, limit 100",
            )
        }
        "labels" => (
            body(r#"{"status":"success","data":["#, "]}", |i| {
                format!(r#""v{i}""#)
            }),
            "millions of short label values",
        ),
        "series" => (
            body(r#"{"status":"success","data":["#, "]}", |i| {
                format!(r#"{{"app":"a{}","pod":"p{i}"}}"#, i % 7)
            }),
            "many small label sets",
        ),
        "matrix" => (
            body(
                r#"{"status":"success","data":{"resultType":"matrix","result":["#,
                "]}}",
                |i| format!(r#"{{"metric":{{"i":"{i}"}},"values":[[1,"1"]]}}"#),
            ),
            "Prometheus, a huge number of series",
        ),
        "prometheus label values" => (
            body(r#"{"status":"success","data":["#, "]}", |i| {
                format!(r#""n{i}""#)
            }),
            "millions of short names",
        ),
        // one series whose labels are millions of tiny pairs
        "prometheus label-heavy vector" => (
            body(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"],"metric":{"#,
                "}}]}}",
                |i| format!(r#""l{i}":"""#),
            ),
            "1 series, millions of labels",
        ),
        // the inventory's `count by (job, __name__)`, answered with far
        // more series than any real server has
        "prometheus inventory" => (
            body(
                r#"{"status":"success","data":{"resultType":"vector","result":["#,
                "]}}",
                |i| {
                    format!(
                        r#"{{"metric":{{"job":"j{}","__name__":"m{i}"}},"value":[1,"1"]}}"#,
                        i % 100
                    )
                },
            ),
            "(job, name) series",
        ),
        other => panic!("unknown kind {other}"),
    }
}

/// Parses with the production function; returns what was kept.
fn parse(kind: &str, b: &[u8]) -> String {
    let n = parse_n(kind, b);
    if kind == "streams" || kind == "prometheus inventory" {
        return n;
    }
    format!("{n} kept")
}

fn parse_n(kind: &str, b: &[u8]) -> String {
    match kind {
        "targets" => prometheus::parse_targets(b).map_or(0, |_| 1).to_string(),
        "streams" => query_range_limit_100(b),
        "labels" => wire::parse_strings(b).unwrap().len().to_string(),
        "series" => wire::parse_series(b).unwrap().len().to_string(),
        "matrix" => prometheus::parse_envelope(200, b)
            .unwrap()
            .series
            .len()
            .to_string(),
        "prometheus label-heavy vector" => prometheus::parse_envelope(200, b)
            .unwrap()
            .series
            .len()
            .to_string(),
        "prometheus inventory" => inventory(b),
        "prometheus label values" => {
            let (v, _) = watchfloor::features::metrics::client::prom_parse::parse_strings(
                200, None, b, 200_000,
            )
            .unwrap();
            v.len().to_string()
        }
        _ => unreachable!(),
    }
}

/// What `PrometheusClient::inventory` does with its answer.
fn inventory(b: &[u8]) -> String {
    let max = prometheus::MAX_INVENTORY_SERIES;
    let p =
        watchfloor::features::metrics::client::prom_parse::parse_body(200, None, b, max).unwrap();
    format!(
        "{} kept, {} counted and left out",
        p.fetched.series.len(),
        p.dropped_series
    )
}

/// What `LokiClient::query_range` does with `--limit 100` (backward).
fn query_range_limit_100(b: &[u8]) -> String {
    let (a, left_out) = wire::parse_query_limited(b, 100, false).unwrap();
    let kept = match a {
        wire::QueryAnswer::Streams(e) => e.len(),
        wire::QueryAnswer::Matrix(m) => m.len(),
    };
    format!("{kept} kept, {left_out} counted and left out")
}

/// (VmHWM, VmRSS) in bytes.
fn rss() -> (usize, usize) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = |key: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            .unwrap()
            * 1024
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

fn child(kind: &str) {
    let (b, what) = build(kind);
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let (_, before) = rss();
    let kept = black_box(parse(kind, black_box(&b)));
    let (peak, after) = rss();
    let mib = |n: usize| n as f64 / MIB as f64;
    println!(
        "peak RSS for a {:.0} MiB hostile {kind} answer: {:.0} MiB (body {:.0} MiB; bound 4× cap = {} MiB) \
         [{what}: {kept}; RSS {:.0} MiB before the parse (body and program), {:.0} MiB after]",
        mib(b.len()),
        mib(peak),
        mib(b.len()),
        BOUND / MIB,
        mib(before),
        mib(after)
    );
    assert!(
        peak < BOUND,
        "peak RSS {} MiB for a hostile {kind} answer is over 4× the body cap ({} MiB)",
        peak / MIB,
        BOUND / MIB
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if let Ok(kind) = std::env::var("WF_ANSWERS_KIND") {
        child(&kind);
        return;
    }
    let only = std::env::var("WF_BENCH_ONLY").unwrap_or_default();
    let mut failed = Vec::new();
    for kind in KINDS {
        if !only.is_empty() && !only.split(',').any(|o| o == kind) {
            continue;
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .arg("--bench")
            .env("WF_ANSWERS_KIND", kind)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            failed.push(kind);
        }
    }
    assert!(failed.is_empty(), "over the bound: {failed:?}");
}
