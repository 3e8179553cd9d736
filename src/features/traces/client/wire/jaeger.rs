//! Jaeger's `/api/traces/{id}` answer (and its search's `data[]`):
//! µs times, references, processes, typed tags; decoded borrowing from the
//! answer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::otlp::kind_name;
use super::scalars::{BText, Num};
use super::{span_id, trace_id, Decoded, Keys, RawSpan, SpanEvent};

#[derive(Deserialize)]
pub(super) struct JError {
    #[serde(default)]
    pub(super) code: Option<i64>,
    #[serde(default)]
    pub(super) msg: String,
}

#[derive(Deserialize)]
pub(super) struct JTrace<'a> {
    #[serde(default, borrow)]
    pub(super) spans: Vec<JSpan<'a>>,
    #[serde(default, borrow)]
    pub(super) processes: Option<HashMap<String, JProcess<'a>>>,
    #[serde(default)]
    pub(super) warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JSpan<'a> {
    #[serde(rename = "traceID", default, borrow)]
    pub(super) trace_id: Cow<'a, str>,
    #[serde(rename = "spanID", default, borrow)]
    pub(super) span_id: Cow<'a, str>,
    #[serde(rename = "parentSpanID", default, borrow)]
    pub(super) parent_span_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) operation_name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(super) references: Option<Vec<JRef<'a>>>,
    #[serde(default)]
    pub(super) start_time: Num,
    #[serde(default)]
    pub(super) duration: Num,
    #[serde(default, borrow)]
    pub(super) tags: Option<Vec<JTag<'a>>>,
    #[serde(default, borrow)]
    pub(super) logs: Option<Vec<JLog<'a>>>,
    #[serde(rename = "processID", default, borrow)]
    pub(super) process_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) process: Option<JProcess<'a>>,
    #[serde(default)]
    pub(super) warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JRef<'a> {
    #[serde(default, borrow)]
    pub(super) ref_type: Cow<'a, str>,
    #[serde(rename = "spanID", default, borrow)]
    pub(super) span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
pub(super) struct JTag<'a> {
    #[serde(default, borrow)]
    pub(super) key: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(super) value: BText<'a>,
}

#[derive(Deserialize)]
pub(super) struct JLog<'a> {
    #[serde(default)]
    pub(super) timestamp: Num,
    #[serde(default, borrow)]
    pub(super) fields: Option<Vec<JTag<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JProcess<'a> {
    #[serde(default)]
    pub(super) service_name: String,
    #[serde(default, borrow)]
    pub(super) tags: Option<Vec<JTag<'a>>>,
}

pub(super) fn jaeger_trace(t: JTrace, out: &mut Decoded, keys: &mut Keys) {
    out.warnings.extend(t.warnings.into_iter().flatten());
    type Process = (Arc<str>, Arc<Vec<(Arc<str>, String)>>);
    let proc_of = |p: JProcess, keys: &mut Keys| -> Process {
        let tags = p
            .tags
            .into_iter()
            .flatten()
            .map(|t| (keys.get(&t.key), t.value.0.into_owned()))
            .collect();
        (Arc::<str>::from(p.service_name.as_str()), Arc::new(tags))
    };
    let procs: HashMap<String, Process> = t
        .processes
        .into_iter()
        .flatten()
        .map(|(id, p)| (id, proc_of(p, keys)))
        .collect();
    // every span of a trace names the same trace: normalised once
    let mut last_trace: (String, String) = Default::default();
    for s in t.spans {
        let (service, resource) = match (
            s.process,
            s.process_id.as_deref().and_then(|i| procs.get(i)),
        ) {
            (Some(p), _) => proc_of(p, keys),
            (None, Some((svc, res))) => (svc.clone(), res.clone()),
            (None, None) => (Arc::from(""), Arc::default()),
        };
        // the first CHILD_OF is the parent, else the first FOLLOWS_FROM
        let refs = s.references.unwrap_or_default();
        let parent = refs
            .iter()
            .find(|r| r.ref_type == "CHILD_OF")
            .or_else(|| refs.first())
            .map(|r| (span_id(&r.span_id, false), r.ref_type == "FOLLOWS_FROM"))
            .or_else(|| s.parent_span_id.map(|p| (span_id(&p, false), false)));
        let (mut error, mut status, mut kind) = (false, None, "");
        let mut attrs: Vec<(Arc<str>, String)> =
            Vec::with_capacity(s.tags.as_ref().map_or(0, Vec::len));
        for t in s.tags.into_iter().flatten() {
            let v = &t.value.0;
            // what the span's own fields say is not repeated as a tag
            match &*t.key {
                "error" => error |= v == "true",
                "otel.status_code" => error |= v == "ERROR",
                "otel.status_description" => status = Some(v.to_string()),
                "span.kind" => kind = kind_name(v),
                _ => attrs.push((keys.get(&t.key), t.value.0.into_owned())),
            }
        }
        let events = s
            .logs
            .into_iter()
            .flatten()
            .map(|l| {
                let mut name = String::new();
                let mut attrs = vec![];
                for t in l.fields.into_iter().flatten() {
                    if t.key == "event" && name.is_empty() {
                        name = t.value.0.into_owned();
                    } else {
                        attrs.push((keys.get(&t.key), t.value.0.into_owned()));
                    }
                }
                SpanEvent {
                    at_ns: l.timestamp.0.saturating_mul(1000),
                    name,
                    attrs,
                }
            })
            .collect();
        out.warnings.extend(s.warnings.into_iter().flatten());
        let (parent_id, follows) = match parent {
            Some((p, f)) => (p, f),
            None => (None, false),
        };
        if last_trace.0 != s.trace_id {
            last_trace = (
                s.trace_id.to_string(),
                trace_id(&s.trace_id, false).unwrap_or_default(),
            );
        }
        out.spans.push(RawSpan {
            trace_id: last_trace.1.clone(),
            span_id: span_id(&s.span_id, false).unwrap_or_default(),
            parent_id,
            follows,
            service,
            name: s.operation_name.into_owned(),
            kind,
            start_ns: s.start_time.0.saturating_mul(1000),
            dur_ns: s.duration.0.saturating_mul(1000),
            error,
            status,
            attrs,
            events,
            resource,
        });
    }
}
