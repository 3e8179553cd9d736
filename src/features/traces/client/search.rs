//! Trace search: the traces carrying a span attribute (`thread_id`,
//! `turn_id`, …) or of a service, in a window, as one list whatever the
//! backend:
//!
//! - Tempo `GET /api/search?q={ span.thread_id = "…" }&start=&end=&limit=`
//!   (TraceQL; seconds) answers `{"traces":[{"traceID", "rootServiceName",
//!   "rootTraceName", "startTimeUnixNano", "durationMs"}]}`;
//! - Jaeger `GET /api/traces?service=&tags={"thread_id":"…"}&start=&end=
//!   &limit=` (µs) answers whole traces in `data[]`, summarised here. Jaeger
//!   cannot search without a service.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::wire::{self, decode, RawSpan};
use crate::features::traces::tree::build;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// A span attribute and its value.
    pub tag: Option<(String, String)>,
    /// The service the traces must be of.
    pub service: Option<String>,
    /// An operation (span name) of that service the traces must have.
    pub operation: Option<String>,
    /// A service guessed from a log line's labels (`service_name`, `app`,
    /// `container`): only for Jaeger, which cannot search without one.
    pub service_guess: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub limit: usize,
    /// Only traces with an error span.
    pub errors_only: bool,
    /// Only traces at least this long (ms).
    pub min_ms: Option<u64>,
}

/// The minimum durations `m` steps through in the list (ms; None: any).
pub const MIN_DURATIONS: [Option<u64>; 5] = [None, Some(100), Some(500), Some(1000), Some(5000)];
/// How far back `w` reaches in the list (s; 0: the window's own).
pub const LOOKBACKS: [i64; 5] = [0, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600];

impl Query {
    /// How the list's title says it.
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some((k, v)) = &self.tag {
            parts.push(format!("{k}={v}"));
        }
        if let Some(s) = &self.service {
            parts.push(format!("service {s}"));
        }
        if let Some(o) = &self.operation {
            parts.push(format!("operation {o}"));
        }
        if self.errors_only {
            parts.push("errors only".into());
        }
        if let Some(m) = self.min_ms {
            parts.push(format!(
                "≥ {}",
                crate::text::units::format_duration(m as f64 / 1000.0)
            ));
        }
        parts.push(format!(
            "last {}",
            crate::text::units::prom_duration(((self.end_ms - self.start_ms) / 1000).max(1) as u64)
        ));
        crate::text::display(&parts.join(", ")).into_owned()
    }

    /// Whether a trace found answers the query: a backend that ignored
    /// the error or duration condition is held to it here (a trace whose
    /// errors are unknown is kept).
    pub fn keeps(&self, t: &Summary) -> bool {
        (!self.errors_only || t.errors.is_none_or(|e| e > 0))
            && self.min_ms.is_none_or(|m| t.dur_ms >= m as f64)
    }
}

/// One trace found.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub id: String,
    pub service: String,
    pub name: String,
    pub start_ms: i64,
    pub dur_ms: f64,
    /// Known when the backend sent the whole trace (Jaeger).
    pub spans: Option<usize>,
    pub errors: Option<usize>,
}

/// Slowest first.
pub fn slowest_first(v: &mut [Summary]) {
    v.sort_by(|a, b| b.dur_ms.total_cmp(&a.dur_ms).then(a.id.cmp(&b.id)));
}

/// A TraceQL string literal.
fn traceql_string(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => {}
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// An attribute name as TraceQL reads it (letters, digits, `_.-` only).
fn traceql_name(k: &str) -> Option<&str> {
    (!k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
    .then_some(k)
}

/// Tempo's search path for a query.
pub fn tempo_path(q: &Query) -> Result<String, String> {
    let mut conds = vec![];
    if let Some((k, v)) = &q.tag {
        let k = traceql_name(k).ok_or_else(|| format!("`{k}` is not an attribute name"))?;
        conds.push(format!("span.{k} = {}", traceql_string(v)));
    }
    if let Some(s) = &q.service {
        conds.push(format!("resource.service.name = {}", traceql_string(s)));
    }
    if let Some(o) = &q.operation {
        conds.push(format!("name = {}", traceql_string(o)));
    }
    if conds.is_empty() {
        return Err("nothing to search for".into());
    }
    if q.errors_only {
        conds.push("status = error".into());
    }
    if let Some(m) = q.min_ms {
        conds.push(format!("traceDuration >= {m}ms"));
    }
    let traceql = format!("{{ {} }}", conds.join(" && "));
    Ok(format!(
        "/api/search?q={}&start={}&end={}&limit={}",
        crate::core::http::percent_encode(&traceql),
        q.start_ms.div_euclid(1000),
        q.end_ms.div_euclid(1000) + 1,
        q.limit
    ))
}

/// Jaeger's search path for a query (it needs a service).
pub fn jaeger_path(q: &Query) -> Result<String, String> {
    let service = q.service.as_deref().or(q.service_guess.as_deref()).ok_or(
        "Jaeger searches one service at a time, and this line names none (no service_name, app or container label)",
    )?;
    let mut p = format!(
        "/api/traces?service={}&start={}&end={}&limit={}",
        crate::core::http::percent_encode(service),
        q.start_ms * 1000,
        q.end_ms * 1000,
        q.limit
    );
    let mut tags = serde_json::Map::new();
    if let Some((k, v)) = &q.tag {
        tags.insert(k.clone(), v.clone().into());
    }
    if q.errors_only {
        tags.insert("error".into(), "true".into());
    }
    if !tags.is_empty() {
        p.push_str("&tags=");
        p.push_str(&crate::core::http::percent_encode(
            &serde_json::Value::Object(tags).to_string(),
        ));
    }
    if let Some(m) = q.min_ms {
        p.push_str(&format!("&minDuration={m}ms"));
    }
    if let Some(o) = &q.operation {
        p.push_str("&operation=");
        p.push_str(&crate::core::http::percent_encode(o));
    }
    Ok(p)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TempoSearch {
    #[serde(default)]
    traces: Vec<TempoHit>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TempoHit {
    #[serde(rename = "traceID", default)]
    trace_id: String,
    #[serde(default)]
    root_service_name: String,
    #[serde(default)]
    root_trace_name: String,
    #[serde(default)]
    start_time_unix_nano: Option<serde_json::Value>,
    #[serde(default)]
    duration_ms: Option<f64>,
}

/// Tempo's answer as summaries.
pub fn tempo_hits(body: &[u8]) -> Result<Vec<Summary>, String> {
    let s: TempoSearch = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(s.traces
        .into_iter()
        .filter_map(|h| {
            let start_ns: i64 = match h.start_time_unix_nano? {
                serde_json::Value::String(s) => s.parse().ok()?,
                serde_json::Value::Number(n) => n.as_i64()?,
                _ => return None,
            };
            Some(Summary {
                id: wire::trace_id(&h.trace_id, false)?,
                service: h.root_service_name,
                name: h.root_trace_name,
                start_ms: start_ns / 1_000_000,
                // Tempo leaves durationMs out under a millisecond
                dur_ms: h.duration_ms.unwrap_or(0.0),
                spans: None,
                errors: None,
            })
        })
        .collect())
}

/// Jaeger's answer (whole traces) as summaries: each trace's root.
pub fn jaeger_hits(body: &[u8]) -> Result<Vec<Summary>, String> {
    let d = match decode(body) {
        Ok(d) => d,
        Err(wire::WireError::NotFound) => return Ok(vec![]),
        Err(e) => return Err(e.to_string()),
    };
    let mut by_trace: BTreeMap<String, Vec<RawSpan>> = BTreeMap::new();
    for s in d.spans {
        by_trace.entry(s.trace_id.clone()).or_default().push(s);
    }
    Ok(by_trace
        .into_iter()
        .map(|(id, spans)| {
            let t = build(&id, spans, vec![], false);
            let root = t.roots.first().map(|&r| &t.spans[r].raw);
            Summary {
                id,
                service: root.map(|r| r.service.to_string()).unwrap_or_default(),
                name: root.map(|r| r.name.clone()).unwrap_or_default(),
                start_ms: t.start_ns / 1_000_000,
                dur_ms: t.duration_ns() as f64 / 1e6,
                spans: Some(t.spans.len()),
                errors: Some(t.errors()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceql_and_jaeger_queries_are_quoted() {
        let q = Query {
            tag: Some(("thread_id".into(), "th \"1\"\\".into())),
            service: None,
            operation: None,
            // a guess is not a condition for Tempo
            service_guess: Some("app".into()),
            start_ms: 1_000_500,
            end_ms: 2_000_000,
            limit: 20,
            errors_only: false,
            min_ms: None,
        };
        let p = tempo_path(&q).unwrap();
        assert!(p.starts_with("/api/search?q="), "{p}");
        let traceql = crate::core::http::percent_decode(
            p.split("q=").nth(1).unwrap().split('&').next().unwrap(),
        );
        assert_eq!(traceql, r#"{ span.thread_id = "th \"1\"\\" }"#);
        assert!(p.ends_with("&start=1000&end=2001&limit=20"), "{p}");
        // an attribute name that would break out of the query is refused
        let bad = Query {
            tag: Some(("a } || { true".into(), "x".into())),
            ..q.clone()
        };
        assert!(tempo_path(&bad).is_err());
        // Jaeger: a service, µs, the tags as JSON
        assert!(jaeger_path(&Query {
            service_guess: None,
            ..q.clone()
        })
        .unwrap_err()
        .contains("one service at a time"));
        let j = jaeger_path(&Query {
            service_guess: Some("gateway".into()),
            ..q
        })
        .unwrap();
        assert!(
            j.starts_with(
                "/api/traces?service=gateway&start=1000500000&end=2000000000&limit=20&tags="
            ),
            "{j}"
        );
        let tags = crate::core::http::percent_decode(j.split("tags=").nth(1).unwrap());
        let v: serde_json::Value = serde_json::from_str(&tags).unwrap();
        assert_eq!(v["thread_id"], "th \"1\"\\");
    }

    #[test]
    fn errors_only_and_a_minimum_duration_reach_both_backends() {
        let q = Query {
            service: Some("checkout".into()),
            start_ms: 0,
            end_ms: 3_600_000,
            limit: 20,
            errors_only: true,
            min_ms: Some(500),
            ..Default::default()
        };
        let with_op = Query {
            operation: Some("POST /pay".into()),
            ..q.clone()
        };
        let p = tempo_path(&with_op).unwrap();
        let traceql = crate::core::http::percent_decode(
            p.split("q=").nth(1).unwrap().split('&').next().unwrap(),
        );
        assert!(
            traceql.contains(r#"resource.service.name = "checkout" && name = "POST /pay""#),
            "{traceql}"
        );
        let j = jaeger_path(&with_op).unwrap();
        assert!(j.ends_with("&operation=POST%20%2Fpay"), "{j}");
        let p = tempo_path(&q).unwrap();
        let traceql = crate::core::http::percent_decode(
            p.split("q=").nth(1).unwrap().split('&').next().unwrap(),
        );
        assert_eq!(
            traceql,
            r#"{ resource.service.name = "checkout" && status = error && traceDuration >= 500ms }"#
        );
        let j = jaeger_path(&q).unwrap();
        assert!(j.ends_with("&minDuration=500ms"), "{j}");
        let tags = crate::core::http::percent_decode(
            j.split("tags=").nth(1).unwrap().split('&').next().unwrap(),
        );
        assert_eq!(tags, r#"{"error":"true"}"#);
        // held to it when a backend is not
        let t = |dur_ms: f64, errors: Option<usize>| Summary {
            id: "1".into(),
            service: "s".into(),
            name: "n".into(),
            start_ms: 0,
            dur_ms,
            spans: None,
            errors,
        };
        assert!(q.keeps(&t(600.0, Some(1))));
        assert!(q.keeps(&t(600.0, None)), "errors unknown (Tempo): kept");
        assert!(!q.keeps(&t(600.0, Some(0))));
        assert!(!q.keeps(&t(499.0, Some(2))));
        assert!(
            q.describe().contains("errors only, ≥ 500ms, last 1h"),
            "{}",
            q.describe()
        );
    }
}
