//! The demo's traces: every demo log line carries a trace id that says
//! when the line was written, by which pod and by which of the story's log
//! rules, with the line's own randomness; the trace behind it is built
//! from that, so its root ends when the line was logged, its error says
//! what the line says, and its request (method, path, duration) is the
//! line's. Deterministic: the same id is the same trace.

use std::sync::Arc;

use super::logs::Line;
use super::DemoSource;
use crate::core::{BoxFut, SourceError};
use crate::features::metrics::client::exemplars::Exemplar;
use crate::features::traces::client::wire::{RawSpan, SpanEvent, NOT_FOUND};
use crate::features::traces::client::TracesBackend;
use crate::features::traces::tree::{build, Trace};

/// The line's randomness (16 hex digits, first: ids cut short on screen
/// still differ), `ts_ms` (12), the pod (2), the rule (2).
pub fn trace_id(ts_ms: i64, pod: usize, rule: usize, h: u64) -> String {
    format!(
        "{h:016x}{:012x}{:02x}{:02x}",
        ts_ms.clamp(0, (1 << 48) - 1),
        pod % 256,
        rule % 256
    )
}

pub struct DemoTraces {
    src: DemoSource,
    seed: u64,
    preset: String,
}

impl DemoTraces {
    pub fn new(seed: u64, preset: &str) -> DemoTraces {
        DemoTraces {
            src: DemoSource::with_preset(seed, preset),
            seed,
            preset: preset.to_string(),
        }
    }

    /// The trace of a demo line's id, or None for an id no line carries.
    pub fn trace_of(&self, id: &str) -> Option<Trace> {
        let id = id.to_ascii_lowercase();
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let h = u64::from_str_radix(&id[..16], 16).ok()?;
        let ts_ms = i64::from_str_radix(&id[16..28], 16).ok()?;
        let pod = usize::from_str_radix(&id[28..30], 16).ok()?;
        let rule = usize::from_str_radix(&id[30..], 16).ok()?;
        let story = self.src.story();
        let pod_name = *story.pods().get(pod)?;
        let rule = story.log_rules().get(rule)?;
        let time = chrono::DateTime::from_timestamp_millis(ts_ms)?
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let line = (rule.text)(&Line {
            src: &self.src,
            pod: pod_name,
            ts_ms,
            time: &time,
            h,
            trace: &id,
        });
        // the service is the story's (its namespace names it), not the pod
        Some(build(
            &id,
            spans(&id, pod_name, story.namespace(), ts_ms, h, &line),
            vec![],
            false,
        ))
    }
}

/// The spans of a request that ended at `end_ms` and logged `line`: the
/// service's handler, its auth and a database query, and the call that
/// failed (when the line is an error) with a retry under it.
fn spans(id: &str, pod: &str, service: &str, end_ms: i64, h: u64, line: &str) -> Vec<RawSpan> {
    let fields: Vec<(String, String)> = crate::text::logline::fields(line)
        .map(|f| f.pairs)
        .unwrap_or_default();
    let get = |k: &str| fields.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    let level = get("level").unwrap_or("info").to_ascii_lowercase();
    let failed = matches!(level.as_str(), "error" | "fatal" | "err");
    let why = match (get("msg"), get("error")) {
        (Some(m), Some(e)) => format!("{m}: {e}"),
        (Some(m), None) => m.to_string(),
        (None, Some(e)) => e.to_string(),
        (None, None) => "request failed".to_string(),
    };
    let name = match (get("method"), get("path")) {
        (Some(m), Some(p)) => format!("{m} {p}"),
        _ => match get("route_class") {
            Some(r) => format!("POST /v1/{r}"),
            None => "handle request".to_string(),
        },
    };
    let dur_ms = get("duration_ms")
        .and_then(|d| d.parse::<f64>().ok())
        .or_else(|| {
            get("duration").and_then(|d| {
                crate::text::units::parse_duration(d)
                    .ok()
                    .map(|s| s * 1000.0)
            })
        })
        .unwrap_or(120.0 + (h % 900) as f64)
        .max(5.0);
    let end = end_ms * 1_000_000;
    let dur = (dur_ms * 1e6) as i64;
    let start = end - dur;
    let app: Arc<str> = Arc::from(service);
    let db: Arc<str> = Arc::from("postgres");
    let upstream: Arc<str> = Arc::from("upstream");
    let resource = Arc::new(vec![(Arc::from("k8s.pod.name"), pod.to_string())]);
    let trace_id = id.to_string();
    let span =
        |n: u64, parent: Option<u64>, service: &Arc<str>, name: &str, kind, from: f64, to: f64| {
            RawSpan {
                trace_id: trace_id.clone(),
                span_id: format!("{:016x}", (h ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1),
                parent_id: parent
                    .map(|p| format!("{:016x}", (h ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)),
                service: service.clone(),
                name: name.to_string(),
                kind,
                start_ns: start + (dur as f64 * from) as i64,
                dur_ns: (dur as f64 * (to - from)) as i64,
                resource: if Arc::ptr_eq(service, &app) {
                    resource.clone()
                } else {
                    Arc::default()
                },
                ..Default::default()
            }
        };
    let mut root = span(1, None, &app, &name, "server", 0.0, 1.0);
    root.attrs = vec![
        (Arc::from("k8s.pod.name"), pod.to_string()),
        (Arc::from("level"), level.clone()),
    ];
    // the conversation the SDK tags its spans with
    for k in ["thread_id", "turn_id"] {
        if let Some(v) = get(k) {
            root.attrs.push((Arc::from(k), v.to_string()));
        }
    }
    let auth = span(2, Some(1), &app, "authenticate", "internal", 0.01, 0.05);
    let query = span(3, Some(1), &db, "SELECT", "client", 0.06, 0.3);
    // the call that failed, named after what the line says failed
    let lower = why.to_ascii_lowercase();
    let (callee, call_name) = if lower.contains("admission") {
        (&app, "admission enqueue")
    } else if lower.contains("database") || lower.contains("pool") {
        (&db, "acquire connection")
    } else if lower.contains("rules") || lower.contains("config") {
        (&app, "load rules")
    } else {
        (&upstream, "call upstream")
    };
    let kind = if Arc::ptr_eq(callee, &app) {
        "internal"
    } else {
        "client"
    };
    let mut call = span(4, Some(1), callee, call_name, kind, 0.32, 0.98);
    let first = span(5, Some(4), callee, "attempt 1", kind, 0.33, 0.6);
    let mut retry = span(6, Some(4), callee, "attempt 2", kind, 0.62, 0.97);
    if failed {
        for s in [&mut root, &mut call, &mut retry] {
            s.error = true;
            s.status = Some(why.clone());
        }
        retry.events = vec![SpanEvent {
            at_ns: end - dur / 50,
            name: "exception".into(),
            attrs: vec![(Arc::from("exception.message"), why.clone())],
        }];
    }
    vec![root, auth, query, call, first, retry]
}

/// The demo's exemplars over [start, end]: the traces of its request and
/// error lines (of the pod in view), the slowest of each 60th of the range
/// (at least 5 s), each valued at its trace's duration in seconds, so a
/// mark stands where the trace it opens says. Only for latency charts.
pub async fn exemplars(
    traces: &DemoTraces,
    q: &crate::dashboard::ResolvedQuery,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<Exemplar>, SourceError> {
    use crate::features::logs::client::LogsBackend;
    if !crate::features::metrics::client::exemplars::wants(q) {
        return Ok(vec![]);
    }
    let story = traces.src.story();
    let logs = super::logs::DemoLogs::new(traces.seed, &traces.preset);
    let selector = match &q.target_pod {
        Some(p) => format!("{{namespace=\"{}\", pod=\"{p}\"}}", story.namespace()),
        None => format!("{{namespace=\"{}\"}}", story.namespace()),
    };
    let lines = logs
        .query_range(
            &selector,
            start_ms * 1_000_000,
            end_ms * 1_000_000,
            5000,
            true,
        )
        .await?;
    let bucket = ((end_ms - start_ms) / 60).max(5_000);
    let mut best: std::collections::BTreeMap<i64, Exemplar> = Default::default();
    for e in lines {
        let Some(id) = crate::text::logline::trace_id(&e.line, &[]) else {
            continue;
        };
        let Some(t) = traces.trace_of(&id) else {
            continue;
        };
        let ex = Exemplar {
            at_ms: e.ts_ns / 1_000_000,
            value: t.duration_ns() as f64 / 1e9,
            trace_id: id,
        };
        let slot = best
            .entry(ex.at_ms.div_euclid(bucket))
            .or_insert_with(|| ex.clone());
        if ex.value > slot.value {
            *slot = ex;
        }
    }
    Ok(best.into_values().collect())
}

impl TracesBackend for DemoTraces {
    fn trace<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Trace, SourceError>> {
        Box::pin(async move {
            self.trace_of(id).ok_or_else(|| SourceError {
                status: Some(404),
                kind: crate::core::ErrorKind::Unspecified,
                message: NOT_FOUND.into(),
            })
        })
    }

    /// The demo finds the traces of its own lines in the window that carry
    /// the attribute (`thread_id`, `turn_id`, … as a JSON field or a
    /// logfmt key) and a trace id.
    fn search<'a>(
        &'a self,
        q: &'a crate::features::traces::client::search::Query,
    ) -> BoxFut<'a, Result<Vec<crate::features::traces::client::search::Summary>, SourceError>>
    {
        Box::pin(async move {
            use crate::features::logs::client::LogsBackend;
            let logs = super::logs::DemoLogs::new(self.seed, &self.preset);
            let lines = logs
                .query_range(
                    &format!("{{namespace=\"{}\"}}", self.src.story().namespace()),
                    q.start_ms * 1_000_000,
                    q.end_ms * 1_000_000,
                    5000,
                    true,
                )
                .await?;
            let mut hits = vec![];
            for e in lines {
                let Some(f) = crate::text::logline::fields(&e.line) else {
                    continue;
                };
                let has = |k: &str, v: &str| f.pairs.iter().any(|(a, b)| a == k && b == v);
                if let Some((k, v)) = &q.tag {
                    if !has(k, v) {
                        continue;
                    }
                }
                let Some(id) = crate::text::logline::trace_id(&e.line, &[]) else {
                    continue;
                };
                let Some(t) = self.trace_of(&id) else {
                    continue;
                };
                let root = &t.spans[t.roots[0]].raw;
                // a trace is of every service it has a span of
                if q.service
                    .as_deref()
                    .is_some_and(|s| !t.spans.iter().any(|x| s == &*x.raw.service))
                {
                    continue;
                }
                if let Some(op) = &q.operation {
                    let of_service =
                        |s: &RawSpan| q.service.as_deref().is_none_or(|x| x == &*s.service);
                    if !t
                        .spans
                        .iter()
                        .any(|s| &s.raw.name == op && of_service(&s.raw))
                    {
                        continue;
                    }
                }
                hits.push(crate::features::traces::client::search::Summary {
                    id,
                    service: root.service.to_string(),
                    name: root.name.clone(),
                    start_ms: t.start_ns / 1_000_000,
                    dur_ms: t.duration_ns() as f64 / 1e6,
                    spans: Some(t.spans.len()),
                    errors: Some(t.errors()),
                });
            }
            // the slowest of all found, not of the first found
            crate::features::traces::client::search::slowest_first(&mut hits);
            hits.truncate(q.limit);
            Ok(hits)
        })
    }

    fn describe(&self) -> String {
        "embedded simulation".into()
    }
}
