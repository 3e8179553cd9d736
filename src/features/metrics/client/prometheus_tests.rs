//! Tests of `prometheus.rs`.

use crate::features::metrics::client::prometheus::*;

#[test]
fn parses_matrix_with_special_values_and_warnings() {
    let body = br#"{"status":"success","warnings":["partial response"],
      "data":{"resultType":"matrix","result":[
        {"metric":{"pod":"app-1"},"values":[[1700000000,"1.5"],[1700000010.5,"NaN"],[1700000020,"+Inf"],[1700000030,"-Inf"]]}]}}"#;
    let f = parse_envelope(200, body).unwrap();
    assert_eq!(f.warnings, vec!["partial response"]);
    let p: Vec<_> = f.series[0].points.iter().copied().collect();
    assert_eq!(p[0], (1_700_000_000_000, 1.5));
    assert_eq!(p[1].0, 1_700_000_010_500);
    assert!(p[1].1.is_nan());
    assert_eq!(p[2].1, f64::INFINITY);
    assert_eq!(p[3].1, f64::NEG_INFINITY);
    assert_eq!(f.series[0].label("pod"), "app-1");
}

#[test]
fn parses_vector_and_scalar() {
    let v = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.0,"42"]}]}}"#;
    assert_eq!(
        parse_envelope(200, v).unwrap().series[0].last(),
        Some((1000, 42.0))
    );
    let s = br#"{"status":"success","data":{"resultType":"scalar","result":[2,"7"]}}"#;
    assert_eq!(
        parse_envelope(200, s).unwrap().series[0].last(),
        Some((2000, 7.0))
    );
}

#[test]
fn api_errors_carry_status_type_and_text() {
    let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
    let e = parse_envelope(400, body).unwrap_err();
    assert_eq!(e.status, Some(400));
    assert_eq!(e.to_string(), "HTTP 400 bad_data: parse error at char 5");
    let e = parse_envelope(503, b"Service Unavailable\x1b]0;x\x07\n").unwrap_err();
    assert_eq!(e.to_string(), "HTTP 503: Service Unavailable�");
    let e = parse_envelope(200, br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#).unwrap_err();
    assert!(e.message.contains("bad sample value"));
}

#[test]
fn label_values_stay_raw_for_queries_and_are_cleaned_for_display() {
    let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a\u001b[2Jb$x\"y\\"},"value":[1,"1"]}]}}"#;
    let raw = parse_envelope(200, body).unwrap().series[0]
        .label("pod")
        .to_string();
    assert_eq!(raw, "a\x1b[2Jb$x\"y\\");
    assert_eq!(crate::text::display(&raw), "ab$x\"y\\");
}

#[test]
fn step_selection_respects_point_limit() {
    assert_eq!(choose_step(3600, 360, 1), 10);
    assert_eq!(choose_step(300, 360, 1), 1);
    assert_eq!(choose_step(300, 360, 5), 5);
    for range in [60, 3600, 86400, 7 * 86400, 90 * 86400, 400 * 86400] {
        for target in [1, 100, 1000, 100_000] {
            let step = choose_step(range, target, 1);
            assert!(
                range / step < MAX_POINTS_PER_SERIES,
                "range {range} target {target} step {step}"
            );
        }
    }
}

#[test]
fn targets_give_the_shortest_interval_and_its_newest_scrape() {
    let body = br#"{"status":"success","data":{"activeTargets":[
      {"health":"up","scrapeInterval":"15s","lastScrape":"2026-11-22T01:00:00.500Z"},
      {"health":"up","scrapeInterval":"15s","lastScrape":"2026-11-22T01:00:03Z"},
      {"health":"up","scrapeInterval":"1m","lastScrape":"2026-11-22T01:00:09Z"},
      {"health":"down","scrapeInterval":"5s","lastScrape":"2026-11-22T01:00:09Z"}]}}"#;
    let c = parse_targets(body).unwrap();
    assert_eq!(c.interval_ms, 15_000);
    let t = chrono::DateTime::parse_from_rfc3339("2026-11-22T01:00:03Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(c.last_ms, t);
    assert_eq!(c.next_after(t), t + 15_000);
    assert_eq!(c.next_after(t + 20_000), t + 30_000);
    assert!(parse_targets(br#"{"status":"success","data":{"activeTargets":[]}}"#).is_none());
    assert!(parse_targets(b"<html>").is_none());
}

/// The parse before it was typed (a whole `serde_json::Value`), kept to
/// compare with.
fn targets_via_value(body: &[u8]) -> Option<SampleClock> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut best: Option<SampleClock> = None;
    for t in v.get("data")?.get("activeTargets")?.as_array()? {
        if t.get("health").and_then(|h| h.as_str()) != Some("up") {
            continue;
        }
        let iv = t
            .get("scrapeInterval")
            .and_then(|i| i.as_str())
            .and_then(|i| crate::text::units::parse_duration(i).ok())
            .map(|s| (s * 1000.0) as i64)
            .filter(|&ms| ms > 0);
        let last = t
            .get("lastScrape")
            .and_then(|l| l.as_str())
            .and_then(|l| chrono::DateTime::parse_from_rfc3339(l).ok())
            .map(|d| d.timestamp_millis());
        let (Some(interval_ms), Some(last_ms)) = (iv, last) else {
            continue;
        };
        best = Some(match best {
            Some(b) if interval_ms > b.interval_ms => b,
            Some(b) if interval_ms == b.interval_ms => SampleClock {
                interval_ms,
                last_ms: b.last_ms.max(last_ms),
            },
            _ => SampleClock {
                interval_ms,
                last_ms,
            },
        });
    }
    best
}

#[test]
fn typed_targets_give_the_same_clock_and_ignore_huge_unknown_fields() {
    let zeros = format!("[{}0]", "0,".repeat(1 << 20));
    let bodies = [
        r#"{"status":"success","data":{"activeTargets":[
          {"health":"up","scrapeInterval":"30s","lastScrape":"2026-11-22T01:00:00Z"},
          {"health":"up","scrapeInterval":"10s","lastScrape":"2026-11-22T01:00:01.250Z","labels":{"job":"a"}},
          {"health":"up","scrapeInterval":"10s","lastScrape":"2026-11-22T01:00:00Z"},
          {"health":"unknown","scrapeInterval":"1s","lastScrape":"2026-11-22T01:00:09Z"}]}}"#
            .to_string(),
        // odd values read as absent, odd targets count for nothing
        r#"{"data":{"activeTargets":[7,null,"x",[1],{"health":["up"]},
          {"health":"up","scrapeInterval":15,"lastScrape":"2026-11-22T01:00:00Z"},
          {"health":"up","scrapeInterval":"0s","lastScrape":"2026-11-22T01:00:00Z"},
          {"health":"up","scrapeInterval":"bogus","lastScrape":"yesterday"},
          {"health":"up","scrapeInterval":"1m","lastScrape":"2026-11-22T01:00:00Z","health":"down"},
          {"health":"\u0075p","scrapeInterval":"2m","lastScrape":"2026-11-22T01:00:00Z"}]}}"#
            .to_string(),
        r#"{"status":"success","data":{"activeTargets":null}}"#.to_string(),
        r#"{"status":"success","data":{"droppedTargets":[]}}"#.to_string(),
        r#"{"status":"success","data":null}"#.to_string(),
        r#"{"status":"success","data":{"activeTargets":{}}}"#.to_string(),
        r#"[1,2]"#.to_string(),
        // a huge unknown field, at the top, in data and in a target
        format!(
            r#"{{"junk":{zeros},"data":{{"more":{zeros},"activeTargets":[
              {{"discoveredLabels":{zeros},"health":"up","scrapeInterval":"15s","lastScrape":"2026-11-22T01:00:03Z","lastError":{zeros}}}]}}}}"#
        ),
    ];
    for b in &bodies {
        assert_eq!(
            parse_targets(b.as_bytes()),
            targets_via_value(b.as_bytes()),
            "{}",
            &b[..b.len().min(200)]
        );
    }
    assert_eq!(
        parse_targets(bodies[0].as_bytes()).unwrap().interval_ms,
        10_000
    );
    assert_eq!(
        parse_targets(bodies[1].as_bytes()).unwrap().interval_ms,
        120_000
    );
    let huge = parse_targets(bodies[7].as_bytes()).unwrap();
    assert_eq!(huge.interval_ms, 15_000);
}

#[test]
fn align_down_is_a_step_multiple() {
    assert_eq!(align_down(1_700_000_012_345, 10), 1_700_000_010_000);
    assert_eq!(align_down(-1, 10), -10_000);
}
