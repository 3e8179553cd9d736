//! Tests of the stories' logs: each story logs in its own words, its
//! incident's lines come from its sick pod when its metrics show the
//! incident, levels agree with the volume, and lines are deterministic.

use super::*;
use crate::demo::logs::{DemoLogs, Level};
use crate::features::logs::client::wire::Entry;

/// One whole cycle of `preset`'s logs for `seed`, from phase 0 as the
/// metrics count it (the seed shifts the cycle).
fn log_cycle(preset: &str, seed: u64) -> (DemoSource, i64, Vec<Entry>) {
    let d = DemoSource::with_preset(seed, preset);
    let t0 = (T0..T0 + PERIOD_SECS).find(|t| d.phase(*t) == 0.0).unwrap();
    let logs = DemoLogs::new(seed, preset);
    let ns = |s: i64| s * 1_000_000_000;
    let all = logs.generate(
        "{namespace=~\".+\"}",
        ns(t0),
        ns(t0 + PERIOD_SECS),
        100_000,
        false,
    );
    assert!(all.len() > 500, "{preset}: {}", all.len());
    (d, t0, all)
}

fn pod_of(e: &Entry) -> &str {
    e.labels
        .iter()
        .find(|(k, _)| k == "pod")
        .map(|(_, v)| v.as_str())
        .unwrap()
}

fn secs(e: &Entry) -> i64 {
    e.ts_ns.div_euclid(1_000_000_000)
}

/// Words only the beam story's Elixir app writes (its memory sampler,
/// admission control, Codex threads and turns).
const BEAM_WORDS: [&str; 8] = [
    "BEAM",
    "binary",
    "Elixir",
    "memory sampler snapshot",
    "admission",
    "thread_id",
    "turn_id",
    "stream buffer",
];

/// Each story logs in its own words: beam's Elixir JSON with its sampler
/// snapshots; go's `log/slog` text lines (`time= level= msg=`) with Go
/// runtime figures; http's JSON with 5xx and a crash. No BEAM word appears
/// in the go or http logs, and neither reuses the other's key lines.
#[test]
fn each_story_logs_in_its_own_words() {
    for seed in [0, 7] {
        let (_, _, beam) = log_cycle("beam", seed);
        let (_, _, go) = log_cycle("go", seed);
        let (_, _, http) = log_cycle("http", seed);
        let any = |v: &[Entry], w: &str| v.iter().any(|e| e.line.contains(w));
        for w in ["memory sampler snapshot", "Elixir", "binary", "admission"] {
            assert!(any(&beam, w), "beam lacks {w}");
        }
        for (name, lines) in [("go", &go), ("http", &http)] {
            for e in lines.iter() {
                for w in BEAM_WORDS {
                    assert!(!e.line.contains(w), "{name} says {w}: {}", e.line);
                }
            }
        }
        for e in &go {
            let l = &e.line;
            assert!(
                l.starts_with("time=") && l.contains(" level=") && l.contains(" msg=\""),
                "not a slog text line: {l}"
            );
        }
        for w in [
            "goroutines=",
            "gc_pause_max=",
            "memory usage near container limit",
            "starting coderd",
        ] {
            assert!(any(&go, w), "go lacks {w}");
        }
        for e in &http {
            assert!(e.line.starts_with("{\"time\":"), "not JSON: {}", e.line);
        }
        for w in [
            "\"msg\":\"request failed\"",
            "\"status\":503",
            "\"level\":\"fatal\"",
            "starting checkout",
        ] {
            assert!(any(&http, w), "http lacks {w}");
        }
        for w in ["coderd", "goroutines", "level=INFO"] {
            assert!(!any(&http, w) && !any(&beam, w), "{w}");
        }
        for w in ["/api/v1/cart", "pricing", "\"msg\":\"request failed\""] {
            assert!(!any(&go, w) && !any(&beam, w), "{w}");
        }
    }
}

/// The level the volume endpoint counts each line under is the level the
/// line states, and every error line carries a trace id (to jump to).
#[test]
fn log_volume_counts_the_levels_lines_state() {
    use crate::features::logs::client::LogsBackend;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for preset in PRESETS {
        let (_, t0, all) = log_cycle(preset, 7);
        let mut stated: std::collections::BTreeMap<String, f64> = Default::default();
        for e in &all {
            let lvl = crate::text::loglevel::detect_level(&e.line);
            assert_ne!(lvl, Level::Unknown, "{preset}: {}", e.line);
            *stated.entry(lvl.as_str().to_string()).or_default() += 1.0;
            if lvl >= Level::Error {
                assert!(
                    crate::text::logfields::trace_id(&e.line, &[]).is_some(),
                    "{preset}: no trace id in {}",
                    e.line
                );
            }
        }
        let logs = DemoLogs::new(7, preset);
        let ns = |s: i64| s * 1_000_000_000;
        let vol = rt
            .block_on(logs.volume("{namespace=~\".+\"}", ns(t0), ns(t0 + PERIOD_SECS), 10))
            .unwrap()
            .unwrap();
        let counted: std::collections::BTreeMap<String, f64> = vol
            .iter()
            .map(|s| {
                let lvl = s.labels.iter().find(|(k, _)| k == "detected_level");
                let n = s.points.iter().map(|p| p.1).sum();
                (lvl.unwrap().1.clone(), n)
            })
            .collect();
        assert_eq!(stated, counted, "{preset}");
    }
}

/// The incident's lines come from the story's `sick_pod()` — for http that
/// is checkout-3, the last pod, not the first — and the go agents that lose
/// coderd-1 at the kill reconnect to the other pods.
#[test]
fn the_incident_lines_come_from_the_sick_pod() {
    let marks: [(&str, &[&str]); 3] = [
        (
            "beam",
            &[
                "memory sampler snapshot",
                "stream buffer truncated",
                "starting after restart",
            ],
        ),
        (
            "go",
            &[
                "memory usage near container limit",
                "request failed",
                "pool exhausted",
                "starting coderd",
            ],
        ),
        ("http", &["\"level\":\"fatal\"", "starting checkout"]),
    ];
    assert_ne!(
        story_for("http").sick_pod(),
        story_for("http").pods()[0],
        "a story whose sick pod is not the first"
    );
    for seed in [0, 7] {
        for (preset, words) in marks {
            let sick = story_for(preset).sick_pod();
            let (_, _, all) = log_cycle(preset, seed);
            for w in words {
                let from: Vec<&str> = all
                    .iter()
                    .filter(|e| e.line.contains(w))
                    .map(pod_of)
                    .collect();
                assert!(!from.is_empty(), "{preset}: no {w}");
                assert!(from.iter().all(|p| *p == sick), "{preset} {w}: {from:?}");
            }
        }
        let (d, _, go) = log_cycle("go", seed);
        let moved: Vec<&Entry> = go
            .iter()
            .filter(|e| e.line.contains("workspace agent connected"))
            .filter(|e| d.phase(secs(e)) < OOM_AT + 4.0)
            .collect();
        assert!(!moved.is_empty());
        assert!(moved.iter().all(|e| pod_of(e) != go::SICK));
    }
}

/// go: coderd-1 warns about memory only while its working set is over the
/// preset's warn line; "starting coderd" comes once per cycle, in the
/// second its restart count goes up; requests fail only while its error
/// ratio is over 1 %; and the quiet part of the cycle has no warnings.
#[test]
fn go_logs_the_oom_when_the_metrics_show_it() {
    let qs = queries("go", None);
    let warn = query(&qs, "memory.working_set").warn.unwrap();
    for seed in [0, 7] {
        let (d, _, all) = log_cycle("go", seed);
        let restarts = |t: i64| d.go_restarts(go::SICK, t).0;
        let mem: Vec<&Entry> = all
            .iter()
            .filter(|e| e.line.contains("memory usage near container limit"))
            .collect();
        assert!(mem.len() >= 5, "{}", mem.len());
        for e in &mem {
            let ws = d.go_sample(go::SICK, secs(e)).working_set;
            assert!(ws > warn, "{ws} at {}: {}", d.phase(secs(e)), e.line);
        }
        let starts: Vec<i64> = all
            .iter()
            .filter(|e| e.line.contains("starting coderd"))
            .map(secs)
            .collect();
        assert_eq!(starts.len(), 1, "{starts:?}");
        assert_eq!(restarts(starts[0]), restarts(starts[0] - 1) + 1.0);
        for e in all.iter().filter(|e| e.line.contains("level=ERROR")) {
            let s = d.go_sample(pod_of(e), secs(e));
            assert!(s.error_ratio > 0.01, "{}: {}", s.error_ratio, e.line);
        }
        for e in &all {
            let p = d.phase(secs(e));
            if !(30.0..OOM_AT).contains(&p) {
                assert!(
                    !e.line.contains("level=WARN") && !e.line.contains("level=ERROR"),
                    "at {p}: {}",
                    e.line
                );
            }
        }
    }
}

/// http: checkout-3's fatal line is in the second before each restart the
/// metrics count, its start-up in the second the count goes up; 5xx lines
/// come only while the 5xx ratio is over the preset's warn line, and none
/// before the deploy hurts or after the rollback has settled.
#[test]
fn http_logs_the_crashes_and_5xx_when_the_metrics_show_them() {
    let qs = queries("http", None);
    let ratio_q = query(&qs, "admission.error_ratio");
    let warn = ratio_q.warn.unwrap();
    for seed in [0, 7] {
        let (d, _, all) = log_cycle("http", seed);
        let restarts = |t: i64| d.http_restarts(http::SICK, t).0;
        let fatal: Vec<i64> = all
            .iter()
            .filter(|e| e.line.contains("\"level\":\"fatal\""))
            .map(secs)
            .collect();
        assert_eq!(fatal.len(), http::CRASHES_AT.len(), "{fatal:?}");
        for t in &fatal {
            assert_eq!(restarts(t + 1), restarts(*t) + 1.0, "fatal at {t}");
        }
        let starts: Vec<i64> = all
            .iter()
            .filter(|e| e.line.contains("starting checkout"))
            .map(secs)
            .collect();
        assert_eq!(starts.len(), http::CRASHES_AT.len(), "{starts:?}");
        for t in &starts {
            assert_eq!(restarts(*t), restarts(t - 1) + 1.0, "start at {t}");
        }
        let failed: Vec<&Entry> = all
            .iter()
            .filter(|e| e.line.contains("\"msg\":\"request failed\""))
            .collect();
        assert!(failed.len() >= 20, "{}", failed.len());
        for e in &failed {
            let r = d.evaluate(ratio_q, &[secs(e)])[0].points[0].1;
            assert!(r > warn, "5xx ratio {r} at {}", d.phase(secs(e)));
        }
        for e in &all {
            let p = d.phase(secs(e));
            if !(http::ERRORS_FROM..http::ERRORS_UNTIL).contains(&p) {
                assert!(
                    !e.line.contains("\"level\":\"error\""),
                    "at {p}: {}",
                    e.line
                );
            }
        }
    }
}

/// beam: app-1's restart line comes within 3 s of the restart the metrics
/// count, its truncations while the truncated-buffer rate is up, and its
/// sampler snapshots report the working set its metrics show.
#[test]
fn beam_logs_the_oom_when_the_metrics_show_it() {
    for seed in [0, 7] {
        let (d, _, all) = log_cycle("beam", seed);
        let restarts = |t: i64| d.restarts(beam::SICK, t);
        let starts: Vec<i64> = all
            .iter()
            .filter(|e| e.line.contains("starting after restart"))
            .map(secs)
            .collect();
        assert!(!starts.is_empty());
        for t in &starts {
            assert!(restarts(*t) > restarts(t - 3), "start at {t}");
        }
        for e in all.iter().filter(|e| e.line.contains("truncated")) {
            assert!(d.sample(beam::SICK, secs(e)).truncated > 0.0, "{}", e.line);
        }
        for e in all.iter().filter(|e| e.line.contains("sampler snapshot")) {
            let snap = crate::text::sampler::parse(&e.line).unwrap();
            let ws = d.sample(beam::SICK, secs(e)).working_set;
            let logged = snap.cgroup.working_set.unwrap() as f64;
            assert_eq!(logged, ws.round(), "{}", e.line);
        }
    }
}

/// The same seed gives the same lines in every story; another seed others.
#[test]
fn logs_are_deterministic_for_a_seed_every_story() {
    for preset in PRESETS {
        let (_, _, a) = log_cycle(preset, 7);
        let (_, _, b) = log_cycle(preset, 7);
        let (_, _, c) = log_cycle(preset, 8);
        assert_eq!(a, b, "{preset}");
        assert_ne!(a, c, "{preset}");
    }
}
