//! The four trace answers, decoded straight into spans (never through a
//! `serde_json::Value` of the whole answer: a 100,000-span trace is ~35 MB
//! of Jaeger JSON):
//!
//! - Jaeger `/api/traces/{id}`: `data[].spans` with µs times, `references`
//!   (CHILD_OF / FOLLOWS_FROM), `processes` by id, typed tags whose int64
//!   above 2^53 come as strings, `warnings: null`, errors in `errors[]`;
//! - Jaeger `/api/v3/traces/{id}`: OTLP JSON, each message wrapped in
//!   `{"result": …}` (several may follow each other), hex ids, `kind` as a
//!   number, times as strings; `{"error": {"httpCode": 404, …}}`;
//! - Tempo `/api/traces/{id}`: `batches` (OTLP resource spans), base64 ids,
//!   enum names (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`);
//! - Tempo `/api/v2/traces/{id}`: `{"trace": {"resourceSpans": …},
//!   "status": "COMPLETE" | "PARTIAL", "message"}`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A span as the backend gave it, ids normalised (lower-case hex, 32 and 16
/// digits), times in ns since the epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawSpan {
    pub trace_id: String,
    pub span_id: String,
    /// None for a root (an absent, empty or all-zero parent).
    pub parent_id: Option<String>,
    /// FOLLOWS_FROM (Jaeger) rather than CHILD_OF.
    pub follows: bool,
    pub service: Arc<str>,
    pub name: String,
    /// `server`, `client`, `producer`, `consumer`, `internal` or empty.
    pub kind: &'static str,
    pub start_ns: i64,
    pub dur_ns: i64,
    /// The span says it failed (OTLP status ERROR, or an `error` tag).
    pub error: bool,
    /// The status message, when there is one.
    pub status: Option<String>,
    pub attrs: Vec<(Arc<str>, String)>,
    pub events: Vec<SpanEvent>,
    /// The process's (resource's) attributes, shared by its spans.
    pub resource: Arc<Vec<(Arc<str>, String)>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanEvent {
    pub at_ns: i64,
    pub name: String,
    pub attrs: Vec<(Arc<str>, String)>,
}

/// What an answer held: its spans, what the backend warned about, and
/// whether it said the trace is incomplete (Tempo v2 PARTIAL).
#[derive(Debug, Default)]
pub struct Decoded {
    pub spans: Vec<RawSpan>,
    pub warnings: Vec<String>,
    pub partial: bool,
}

/// Why an answer gave no trace.
#[derive(Debug, Clone, PartialEq)]
pub enum WireError {
    NotFound,
    /// The backend's own error message.
    Backend(String),
    /// Not JSON of any known shape.
    Malformed(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NotFound => f.write_str(NOT_FOUND),
            WireError::Backend(m) => write!(f, "trace backend: {m}"),
            WireError::Malformed(m) => write!(f, "trace answer not understood: {m}"),
        }
    }
}

pub const NOT_FOUND: &str = "trace not found (not sampled, or past retention)";

/// Decodes any of the four answers. Several JSON documents one after the
/// other (Jaeger v3 streams one `result` per chunk) are merged.
pub fn decode(body: &[u8]) -> Result<Decoded, WireError> {
    let mut out = Decoded::default();
    let mut keys = Keys::default();
    let mut any = false;
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<Body<'_>>();
    for doc in stream {
        let doc = doc.map_err(|e| WireError::Malformed(e.to_string()))?;
        any = true;
        doc.into_spans(&mut out, &mut keys)?;
    }
    if !any {
        return Err(WireError::Malformed("an empty answer".into()));
    }
    if out.spans.is_empty() {
        return Err(WireError::NotFound);
    }
    Ok(out)
}

/// Attribute keys interned per answer: a trace repeats a few dozen keys
/// over its spans, held once each. The first [`FEW_KEYS`] are found by a
/// scan (cheaper than hashing each of a million tags), the rest hashed.
#[derive(Default)]
struct Keys {
    few: Vec<Arc<str>>,
    many: HashMap<String, Arc<str>>,
}

const FEW_KEYS: usize = 48;

impl Keys {
    fn get(&mut self, k: &str) -> Arc<str> {
        if let Some(a) = self.few.iter().find(|a| ***a == *k) {
            return a.clone();
        }
        if let Some(a) = self.many.get(k) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(k);
        if self.few.len() < FEW_KEYS {
            self.few.push(a.clone());
        } else {
            self.many.insert(k.to_string(), a.clone());
        }
        a
    }
}

/// Every top-level shape at once (only one is ever present).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    // Jaeger v1
    #[serde(default, borrow)]
    data: Option<Vec<JTrace<'a>>>,
    #[serde(default)]
    errors: Option<Vec<JError>>,
    // Jaeger v3
    #[serde(default)]
    result: Option<Otlp>,
    #[serde(default)]
    error: Option<V3Error>,
    // bare OTLP / Tempo v1 / Tempo v2
    #[serde(default)]
    resource_spans: Option<Vec<ResourceSpans>>,
    #[serde(default)]
    batches: Option<Vec<ResourceSpans>>,
    #[serde(default)]
    trace: Option<Otlp>,
    #[serde(default)]
    status: Option<IgnoredOr<String>>,
    #[serde(default)]
    message: Option<String>,
}

impl Body<'_> {
    fn into_spans(self, out: &mut Decoded, keys: &mut Keys) -> Result<(), WireError> {
        if let Some(e) = self.error {
            return Err(match e.http_code {
                Some(404) => WireError::NotFound,
                _ => WireError::Backend(e.message.unwrap_or_else(|| "an error".into())),
            });
        }
        if let Some(errs) = self.errors.filter(|e| !e.is_empty()) {
            if self.data.as_ref().is_none_or(|d| d.is_empty()) {
                return Err(match errs.iter().any(|e| e.code == Some(404)) {
                    true => WireError::NotFound,
                    false => WireError::Backend(
                        errs.into_iter()
                            .map(|e| e.msg)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                });
            }
            out.warnings.extend(errs.into_iter().map(|e| e.msg));
        }
        for t in self.data.into_iter().flatten() {
            jaeger_trace(t, out, keys);
        }
        if let Some(IgnoredOr::Value(s)) = &self.status {
            if s == "PARTIAL" {
                out.partial = true;
                if let Some(m) = &self.message {
                    out.warnings.push(m.clone());
                }
            }
        }
        let otlp = [self.result, self.trace]
            .into_iter()
            .flatten()
            .filter_map(|o| o.resource_spans)
            .chain(self.resource_spans)
            .chain(self.batches)
            .flatten();
        for rs in otlp {
            otlp_resource(rs, out, keys);
        }
        Ok(())
    }
}

/// A field that is read when it has the expected type and ignored when not
/// (`status` is Tempo's string, but other shapes may carry another one).
#[derive(Debug)]
enum IgnoredOr<T> {
    Value(T),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IgnoredOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match T::deserialize(v) {
            Ok(t) => IgnoredOr::Value(t),
            Err(_) => IgnoredOr::Other,
        })
    }
}

// ---------------------------------------------------------------- Jaeger v1

#[derive(Deserialize)]
struct JError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: String,
}

#[derive(Deserialize)]
struct JTrace<'a> {
    #[serde(default, borrow)]
    spans: Vec<JSpan<'a>>,
    #[serde(default, borrow)]
    processes: Option<HashMap<String, JProcess<'a>>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JSpan<'a> {
    #[serde(rename = "traceID", default, borrow)]
    trace_id: Cow<'a, str>,
    #[serde(rename = "spanID", default, borrow)]
    span_id: Cow<'a, str>,
    #[serde(rename = "parentSpanID", default, borrow)]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    operation_name: Cow<'a, str>,
    #[serde(default, borrow)]
    references: Option<Vec<JRef<'a>>>,
    #[serde(default)]
    start_time: Num,
    #[serde(default)]
    duration: Num,
    #[serde(default, borrow)]
    tags: Option<Vec<JTag<'a>>>,
    #[serde(default, borrow)]
    logs: Option<Vec<JLog<'a>>>,
    #[serde(rename = "processID", default, borrow)]
    process_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    process: Option<JProcess<'a>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JRef<'a> {
    #[serde(default, borrow)]
    ref_type: Cow<'a, str>,
    #[serde(rename = "spanID", default, borrow)]
    span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JTag<'a> {
    #[serde(default, borrow)]
    key: Cow<'a, str>,
    #[serde(default, borrow)]
    value: BText<'a>,
}

#[derive(Deserialize)]
struct JLog<'a> {
    #[serde(default)]
    timestamp: Num,
    #[serde(default, borrow)]
    fields: Option<Vec<JTag<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JProcess<'a> {
    #[serde(default)]
    service_name: String,
    #[serde(default, borrow)]
    tags: Option<Vec<JTag<'a>>>,
}

fn jaeger_trace(t: JTrace, out: &mut Decoded, keys: &mut Keys) {
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

// --------------------------------------------------------------------- OTLP

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Otlp {
    #[serde(default, alias = "batches")]
    resource_spans: Option<Vec<ResourceSpans>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Error {
    #[serde(default)]
    http_code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default)]
    resource: Option<OResource>,
    #[serde(default, alias = "instrumentationLibrarySpans")]
    scope_spans: Option<Vec<ScopeSpans>>,
}

#[derive(Deserialize)]
struct OResource {
    #[serde(default)]
    attributes: Option<Vec<KeyValue>>,
}

#[derive(Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Option<Vec<OSpan>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OSpan {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    parent_span_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Option<Text>,
    #[serde(default)]
    start_time_unix_nano: Num,
    #[serde(default)]
    end_time_unix_nano: Num,
    #[serde(default)]
    attributes: Option<Vec<KeyValue>>,
    #[serde(default)]
    events: Option<Vec<OEvent>>,
    #[serde(default)]
    status: Option<OStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OEvent {
    #[serde(default)]
    time_unix_nano: Num,
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Option<Vec<KeyValue>>,
}

#[derive(Deserialize)]
struct OStatus {
    #[serde(default)]
    code: Option<Text>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct KeyValue {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: Option<AnyValue>,
}

/// OTLP's AnyValue, as text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue {
    #[serde(default)]
    string_value: Option<String>,
    #[serde(default)]
    int_value: Option<Text>,
    #[serde(default)]
    bool_value: Option<bool>,
    #[serde(default)]
    double_value: Option<Text>,
    #[serde(default)]
    bytes_value: Option<String>,
    #[serde(default)]
    array_value: Option<ArrayValue>,
    #[serde(default)]
    kvlist_value: Option<KvList>,
}

#[derive(Deserialize)]
struct ArrayValue {
    #[serde(default)]
    values: Vec<AnyValue>,
}

#[derive(Deserialize)]
struct KvList {
    #[serde(default)]
    values: Vec<KeyValue>,
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

fn otlp_resource(rs: ResourceSpans, out: &mut Decoded, keys: &mut Keys) {
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
fn kind_name(k: &str) -> &'static str {
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

// ---------------------------------------------------------------------- ids

/// A trace id as 32 lower-case hex digits.
pub fn trace_id(s: &str, maybe_base64: bool) -> Option<String> {
    norm_id(s, 32, maybe_base64)
}

/// A span id as 16 lower-case hex digits (None: empty or all zeros).
pub fn span_id(s: &str, maybe_base64: bool) -> Option<String> {
    norm_id(s, 16, maybe_base64)
}

fn norm_id(s: &str, digits: usize, maybe_base64: bool) -> Option<String> {
    let s = s.trim();
    // the common case: already lower-case hex of the full width
    if s.len() == digits
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return (!s.bytes().all(|b| b == b'0')).then(|| s.to_string());
    }
    let is_hex = !s.is_empty() && s.len() <= digits && s.bytes().all(|b| b.is_ascii_hexdigit());
    // OTLP ids are hex of exactly 16 or 32 digits; anything else there is
    // base64 (Tempo), which is never that long for an id of that size
    let hex = if is_hex && (!maybe_base64 || s.len() == digits) {
        s.to_ascii_lowercase()
    } else if maybe_base64 {
        let bytes = unbase64(s)?;
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        return None;
    };
    if hex.len() > digits || hex.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(format!("{hex:0>digits$}"))
}

/// Standard or URL-safe base64, padded or not.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    (!out.is_empty()).then_some(out)
}

// ------------------------------------------------------------------ scalars

/// A number that may come as a JSON number or a string (int64 beyond
/// 2^53, OTLP's uint64 times).
#[derive(Debug, Default, Clone, Copy)]
struct Num(i64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string of one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v.min(i64::MAX as u64) as i64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v as i64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                v.trim()
                    .parse::<i64>()
                    .or_else(|_| {
                        v.trim()
                            .parse::<u64>()
                            .map(|u| u.min(i64::MAX as u64) as i64)
                    })
                    .map(Num)
                    .map_err(|_| E::custom(format!("not a number: {v:?}")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(0))
            }
        }
        d.deserialize_any(V)
    }
}

/// [`Text`], borrowed from the answer when the string has no escapes
/// (Jaeger's tags: most of a large answer).
#[derive(Debug, Default)]
struct BText<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = BText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Borrowed(if v { "true" } else { "false" })))
            }
            fn visit_unit<E: de::Error>(self) -> Result<BText<'a>, E> {
                Ok(BText(Cow::Borrowed("")))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, a: A) -> Result<BText<'a>, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(a))?;
                Ok(BText(Cow::Owned(v.to_string())))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<BText<'a>, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(a))?;
                Ok(BText(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Any JSON scalar as text (a tag's value: string, bool, int64 as a number
/// or a string, float); an array or object as its JSON. Owned: for the
/// OTLP answers, whose values are few and short.
#[derive(Debug, Default)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BText::deserialize(d).map(|b| Text(b.0.into_owned()))
    }
}
