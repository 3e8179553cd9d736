//! Exemplars: `/api/v1/query_exemplars` answers (one trace id per
//! observation a histogram kept), read typed and capped, and which queries
//! ask for them.
//!
//! The answer, per the Prometheus HTTP API:
//! `{"status":"success","data":[{"seriesLabels":{…},"exemplars":[{"labels":
//! {"trace_id":"…"},"value":"0.42","timestamp":1700000000.123}]}]}`.
//! Values are strings (`"NaN"`, `"+Inf"` too), timestamps float seconds;
//! the trace id label is `trace_id` (OpenTelemetry, client_golang's
//! examples), `traceID` (Grafana's convention) or `traceId`. An exemplar
//! without one cannot open a trace and is skipped; an answer that is not
//! this shape is named by the same reader as the query answers.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::core::{ErrorKind, SourceError};
use crate::dashboard::{ResolvedQuery, Role};

/// Most exemplars kept from one answer (the newest are kept).
pub const MAX_PER_ANSWER: usize = 5_000;
/// Longest trace id kept, in bytes (W3C ids are 32 hex digits).
const MAX_ID: usize = 64;
/// The labels that carry the trace id, in order of preference.
pub const TRACE_LABELS: [&str; 4] = ["trace_id", "traceID", "traceId", "trace.id"];

/// One observation with its trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub at_ms: i64,
    /// The observation, as the histogram recorded it (before the chart's
    /// scaling: see [`scale`]).
    pub value: f64,
    /// The trace id, as the label had it (raw; normalised when opened).
    pub trace_id: String,
}

/// One answer: the exemplars kept, and the body's size (counted in the
/// source's bytes, as every answer is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub exemplars: Vec<Exemplar>,
    pub bytes: usize,
}

/// Whether a query's chart gets exemplar marks: a latency chart, i.e. a
/// range query of a histogram quantile.
pub fn wants(q: &ResolvedQuery) -> bool {
    q.role == Role::Chart && !q.instant && q.expr.contains("histogram_quantile")
}

/// The factor between an observation and the chart's value: presets turn
/// seconds into milliseconds (`1000 * histogram_quantile(…)`) or back
/// (`histogram_quantile(…) / 1000`); anything else is drawn as recorded.
pub fn scale(expr: &str) -> f64 {
    let e = expr.trim();
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|f| *f > 0.0);
    if let Some((head, _)) = e.split_once('*') {
        if let Some(f) = number(head) {
            return f;
        }
    }
    if let Some((_, tail)) = e.rsplit_once('/') {
        if let Some(f) = number(tail) {
            return 1.0 / f;
        }
    }
    1.0
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<Vec<SeriesExemplars<'a>>>,
}

#[derive(Deserialize)]
struct SeriesExemplars<'a> {
    #[serde(rename = "seriesLabels", default)]
    _series: Option<IgnoredAny>,
    #[serde(borrow, default)]
    exemplars: Option<Vec<One<'a>>>,
}

#[derive(Deserialize)]
struct One<'a> {
    #[serde(borrow, default)]
    labels: HashMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<Scalar<'a>>,
    #[serde(default)]
    timestamp: Option<f64>,
}

/// A value as a string (the API's way) or a bare number (some proxies).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(f64),
}

/// Parses a `/api/v1/query_exemplars` body (any status). The newest
/// [`MAX_PER_ANSWER`] exemplars that carry a trace id, oldest first.
pub fn parse(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<Exemplar>, SourceError> {
    let typed = serde_json::from_slice::<Body>(body)
        .ok()
        .filter(|b| (200..300).contains(&status) && b.status.as_deref() == Some("success"));
    let Some(data) = typed.and_then(|b| b.data) else {
        // an API error, a proxy's page, a JSON of another shape: the query
        // reader names each (it never echoes raw bytes)
        return match super::prom_parse::parse_body(status, content_type, body, 0) {
            Err(e) => Err(e),
            Ok(_) => Err(SourceError {
                status: Some(status),
                kind: ErrorKind::BadAnswer,
                message: "not an exemplars answer (data is not a list of series)".into(),
            }),
        };
    };
    let mut out = vec![];
    for s in data {
        for e in s.exemplars.unwrap_or_default() {
            let Some(id) = TRACE_LABELS.iter().find_map(|k| e.labels.get(*k)) else {
                continue;
            };
            let (Some(ts), Some(v)) = (e.timestamp, e.value) else {
                continue;
            };
            let value = match v {
                Scalar::Number(f) => f,
                Scalar::Text(t) => match super::prom_parse::parse_value(&t) {
                    Ok(f) => f,
                    Err(_) => continue,
                },
            };
            if id.is_empty() || id.len() > MAX_ID || !ts.is_finite() {
                continue;
            }
            out.push(Exemplar {
                at_ms: (ts * 1000.0).round() as i64,
                value,
                trace_id: id.to_string(),
            });
        }
    }
    out.sort_by_key(|e| e.at_ms);
    if out.len() > MAX_PER_ANSWER {
        out.drain(..out.len() - MAX_PER_ANSWER);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answer_and_its_odd_cases() {
        let body = br#"{"status":"success","data":[
          {"seriesLabels":{"__name__":"http_request_duration_seconds_bucket","le":"0.5"},
           "exemplars":[
             {"labels":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},"value":"0.42","timestamp":1700000001.5},
             {"labels":{"span_id":"00f067aa0ba902b7"},"value":"0.1","timestamp":1700000002}
           ]},
          {"seriesLabels":{"le":"+Inf"},
           "exemplars":[
             {"labels":{"traceID":"abc"},"value":"+Inf","timestamp":1700000000.25},
             {"labels":{"trace_id":"x"},"value":"oops","timestamp":1700000003},
             {"labels":{"trace_id":"y"},"value":7,"timestamp":1700000004}
           ]},
          {"seriesLabels":{},"exemplars":null}
        ]}"#;
        let got = parse(200, Some("application/json"), body).unwrap();
        let ids: Vec<(&str, i64)> = got.iter().map(|e| (e.trace_id.as_str(), e.at_ms)).collect();
        // oldest first; no trace id and an unreadable value skipped
        assert_eq!(
            ids,
            vec![
                ("abc", 1_700_000_000_250),
                ("4bf92f3577b34da6a3ce929d0e0e4736", 1_700_000_001_500),
                ("y", 1_700_000_004_000)
            ]
        );
        assert!(got[0].value.is_infinite());
        assert_eq!(got[1].value, 0.42);
        assert_eq!(got[2].value, 7.0);
        // no exemplars at all (the feature flag off): an empty list
        assert!(parse(200, None, br#"{"status":"success","data":[]}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn errors_are_named_not_echoed() {
        let e = parse(
            400,
            Some("application/json"),
            br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\""}"#,
        )
        .unwrap_err();
        assert_eq!(e.status, Some(400));
        assert!(e.to_string().contains("invalid parameter"), "{e}");
        // an old Prometheus or a proxy without the route
        let e = parse(
            404,
            Some("text/plain"),
            b"404 page not found\x1b]0;pwned\x07",
        )
        .unwrap_err();
        assert!(!e.to_string().contains('\x1b'), "{e}");
        // valid JSON of another shape
        let e = parse(
            200,
            None,
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        )
        .unwrap_err();
        assert!(!e.message.is_empty());
    }

    #[test]
    fn the_newest_are_kept_past_the_cap() {
        let items: Vec<String> = (0..MAX_PER_ANSWER + 10)
            .map(|i| format!(r#"{{"labels":{{"trace_id":"t{i}"}},"value":"1","timestamp":{i}}}"#))
            .collect();
        let body = format!(
            r#"{{"status":"success","data":[{{"seriesLabels":{{}},"exemplars":[{}]}}]}}"#,
            items.join(",")
        );
        let got = parse(200, None, body.as_bytes()).unwrap();
        assert_eq!(got.len(), MAX_PER_ANSWER);
        assert_eq!(got[0].trace_id, "t10");
    }

    #[test]
    fn the_charts_scale_is_read_from_the_expression() {
        assert_eq!(
            scale("histogram_quantile(0.95, sum by (le) (rate(x_bucket[1m])))"),
            1.0
        );
        assert_eq!(scale("1000 * histogram_quantile(0.95, x)"), 1000.0);
        assert_eq!(scale("histogram_quantile(0.95, x) / 1000"), 0.001);
        // a division inside the expression is not a scale
        assert_eq!(scale("histogram_quantile(0.95, a / b)"), 1.0);
    }
}
