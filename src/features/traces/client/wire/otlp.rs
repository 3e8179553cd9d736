//! OTLP JSON, as Jaeger v3 and Tempo v1/v2 write it: resource spans,
//! scope spans, hex or base64 ids, kinds and status codes as numbers or
//! enum names, times as strings.

use std::sync::Arc;

use serde::Deserialize;

use super::scalars::{Num, Text};
use super::{span_id, trace_id, Decoded, Keys, RawSpan, SpanEvent};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Otlp {
    #[serde(default, alias = "batches")]
    pub(super) resource_spans: Option<Vec<ResourceSpans>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct V3Error {
    #[serde(default)]
    pub(super) http_code: Option<i64>,
    #[serde(default)]
    pub(super) message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResourceSpans {
    #[serde(default)]
    pub(super) resource: Option<OResource>,
    #[serde(default, alias = "instrumentationLibrarySpans")]
    pub(super) scope_spans: Option<Vec<ScopeSpans>>,
}

#[derive(Deserialize)]
pub(super) struct OResource {
    #[serde(default)]
    pub(super) attributes: Option<Vec<KeyValue>>,
}

#[derive(Deserialize)]
pub(super) struct ScopeSpans {
    #[serde(default)]
    pub(super) spans: Option<Vec<OSpan>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OSpan {
    #[serde(default)]
    pub(super) trace_id: String,
    #[serde(default)]
    pub(super) span_id: String,
    #[serde(default)]
    pub(super) parent_span_id: Option<String>,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) kind: Option<Text>,
    #[serde(default)]
    pub(super) start_time_unix_nano: Num,
    #[serde(default)]
    pub(super) end_time_unix_nano: Num,
    #[serde(default)]
    pub(super) attributes: Option<Vec<KeyValue>>,
    #[serde(default)]
    pub(super) events: Option<Vec<OEvent>>,
    #[serde(default)]
    pub(super) status: Option<OStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OEvent {
    #[serde(default)]
    pub(super) time_unix_nano: Num,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) attributes: Option<Vec<KeyValue>>,
}

#[derive(Deserialize)]
pub(super) struct OStatus {
    #[serde(default)]
    pub(super) code: Option<Text>,
    #[serde(default)]
    pub(super) message: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct KeyValue {
    #[serde(default)]
    pub(super) key: String,
    #[serde(default)]
    pub(super) value: Option<AnyValue>,
}

/// OTLP's AnyValue, as text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnyValue {
    #[serde(default)]
    pub(super) string_value: Option<String>,
    #[serde(default)]
    pub(super) int_value: Option<Text>,
    #[serde(default)]
    pub(super) bool_value: Option<bool>,
    #[serde(default)]
    pub(super) double_value: Option<Text>,
    #[serde(default)]
    pub(super) bytes_value: Option<String>,
    #[serde(default)]
    pub(super) array_value: Option<ArrayValue>,
    #[serde(default)]
    pub(super) kvlist_value: Option<KvList>,
}

#[derive(Deserialize)]
pub(super) struct ArrayValue {
    #[serde(default)]
    pub(super) values: Vec<AnyValue>,
}

#[derive(Deserialize)]
pub(super) struct KvList {
    #[serde(default)]
    pub(super) values: Vec<KeyValue>,
}

impl AnyValue {
    fn text(self) -> String {
        if let Some(s) = self.string_value {
            return s;
        }
        if let Some(Text(s)) = self.int_value.or(self.double_value) {
            return s;
        }
        if let Some(b) = self.bool_value {
            return b.to_string();
        }
        if let Some(b) = self.bytes_value {
            return b;
        }
        if let Some(a) = self.array_value {
            let v: Vec<String> = a.values.into_iter().map(AnyValue::text).collect();
            return format!("[{}]", v.join(", "));
        }
        if let Some(kv) = self.kvlist_value {
            let v: Vec<String> = kv
                .values
                .into_iter()
                .map(|k| {
                    format!(
                        "{}={}",
                        k.key,
                        k.value.map(AnyValue::text).unwrap_or_default()
                    )
                })
                .collect();
            return format!("{{{}}}", v.join(", "));
        }
        String::new()
    }
}

fn attrs_of(v: Option<Vec<KeyValue>>, keys: &mut Keys) -> Vec<(Arc<str>, String)> {
    v.into_iter()
        .flatten()
        .map(|kv| {
            (
                keys.get(&kv.key),
                kv.value.map(AnyValue::text).unwrap_or_default(),
            )
        })
        .collect()
}

pub(super) fn otlp_resource(rs: ResourceSpans, out: &mut Decoded, keys: &mut Keys) {
    let mut resource = attrs_of(rs.resource.and_then(|r| r.attributes), keys);
    // the service is the span's own field (as Jaeger's process name)
    let service: Arc<str> = match resource.iter().position(|(k, _)| &**k == "service.name") {
        Some(i) => Arc::from(resource.remove(i).1.as_str()),
        None => Arc::from(""),
    };
    let resource = Arc::new(resource);
    for s in rs
        .scope_spans
        .into_iter()
        .flatten()
        .flat_map(|s| s.spans)
        .flatten()
    {
        let (code, status) = match s.status {
            Some(st) => (st.code.map(|c| c.0).unwrap_or_default(), st.message),
            None => (String::new(), None),
        };
        let start = s.start_time_unix_nano.0;
        out.spans.push(RawSpan {
            trace_id: trace_id(&s.trace_id, true).unwrap_or_default(),
            span_id: span_id(&s.span_id, true).unwrap_or_default(),
            parent_id: s.parent_span_id.and_then(|p| span_id(&p, true)),
            follows: false,
            service: service.clone(),
            name: s.name,
            kind: s.kind.map_or("", |k| kind_name(&k.0)),
            start_ns: start,
            dur_ns: (s.end_time_unix_nano.0 - start).max(0),
            error: code == "2" || code == "STATUS_CODE_ERROR",
            status: status.filter(|m| !m.is_empty()),
            attrs: attrs_of(s.attributes, keys),
            events: s
                .events
                .into_iter()
                .flatten()
                .map(|e| SpanEvent {
                    at_ns: e.time_unix_nano.0,
                    name: e.name,
                    attrs: attrs_of(e.attributes, keys),
                })
                .collect(),
            resource: resource.clone(),
        });
    }
}

/// `SPAN_KIND_SERVER`, `2`, `server` → `server`.
pub(super) fn kind_name(k: &str) -> &'static str {
    const KINDS: [(&str, &str); 5] = [
        ("1", "internal"),
        ("2", "server"),
        ("3", "client"),
        ("4", "producer"),
        ("5", "consumer"),
    ];
    let k = k.strip_prefix("SPAN_KIND_").unwrap_or(k);
    KINDS
        .iter()
        .find(|(n, name)| k == *n || k.eq_ignore_ascii_case(name))
        .map_or("", |(_, name)| name)
}
