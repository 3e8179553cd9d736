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

mod jaeger;
mod otlp;
mod scalars;

use jaeger::{jaeger_trace, JError, JTrace};
use otlp::{otlp_resource, Otlp, ResourceSpans, V3Error};

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::Deserializer;

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
