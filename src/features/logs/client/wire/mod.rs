//! Loki's JSON wire format, parsed with typed serde (no `serde_json::Value`
//! per entry): the `streams` and `matrix` envelopes of query_range, the
//! categorize-labels 3-tuples, the tail WebSocket's message, and the simple
//! `data: [...]` answers of labels, label values, series and patterns.
//!
//! Shapes (Loki HTTP API reference, `pkg/loghttp`, `pkg/util/marshal`):
//! - streams: `{"stream":{labels},"values":[["<ns>","line"],...]}`; with
//!   `X-Loki-Response-Encoding-Flags: categorize-labels` each value may carry a
//!   third element `{"structuredMetadata":{..},"parsed":{..}}`.
//! - matrix: `{"metric":{labels},"values":[[<unix secs>,"<value>"],...]}`.
//! - tail: `{"streams":[...],"dropped_entries":[{"labels":{..},"timestamp":"<ns>"}]}`.
//!
//! Every answer is bounded while it is parsed, never after: entries beyond a
//! query's `limit`, label names and values, series, patterns and labels per
//! set past their caps are skipped with `IgnoredAny` and counted, so an answer
//! never takes much more memory than its body. Stream labels are read as raw
//! JSON text and looked up in a per-answer cache: Loki sends one stream object
//! per entry on the tail, and only a label text not seen yet is parsed.
//!
//! This file holds the shared types (entries, timestamps, caps) and the
//! query_range envelope; the parse stages live beside it: `bounded` (strings,
//! label objects and lists capped while read, and the per-answer label
//! caches), `streams` (entries kept up to a limit), `matrix` (metric series
//! and points), `tail` (the tail WebSocket's message) and `lists` (labels,
//! label values, series and patterns).

mod bounded;
mod lists;
mod matrix;
mod streams;
mod tail;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use bounded::{Capped, RawCache};
use matrix::RawMatrix;
use streams::{Collect, StreamsSeed};

pub use lists::{
    parse_patterns, parse_series, parse_series_capped, parse_strings, parse_strings_capped,
    ServerPattern,
};
pub use tail::{parse_tail, Dropped, TailMessage};

pub use crate::store::logs::Labels;

pub fn labels_of(map: BTreeMap<String, String>) -> Labels {
    map.into_iter().collect::<Vec<_>>().into()
}

/// One log entry as Loki sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub ts_ns: i64,
    pub labels: Labels,
    pub line: String,
    /// Structured metadata and parsed labels (categorize-labels), by name.
    pub meta: Vec<(String, String)>,
}

/// A timestamp as Loki writes it: a string of nanoseconds (streams), a
/// number of seconds (matrix), or RFC 3339 (older tail answers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ts(pub i64);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp (ns string, seconds or RFC 3339)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Ts, E> {
                parse_ts(s)
                    .map(Ts)
                    .ok_or_else(|| E::custom("bad timestamp"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts, E> {
                Ok(Ts((v as i64).saturating_mul(1_000_000_000)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts(v.saturating_mul(1_000_000_000)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ts, E> {
                Ok(Ts((v * 1e9).round() as i64))
            }
        }
        d.deserialize_any(V)
    }
}

/// Nanoseconds from a Loki timestamp string: digits (ns), or RFC 3339.
pub fn parse_ts(s: &str) -> Option<i64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// Labels kept per stream, and bytes kept per label name or value.
pub const MAX_LABELS: usize = 64;
pub const MAX_LABEL_BYTES: usize = 256;
/// Label names or values kept from one labels / label values answer.
pub const MAX_STRINGS: usize = 200_000;
/// Label sets kept from one series answer, series from one matrix answer.
pub const MAX_SERIES: usize = 10_000;
/// Points kept per matrix series (Loki refuses more than 11,000 per query).
pub const MAX_POINTS: usize = 11_000;
/// Patterns kept from one patterns answer.
pub const MAX_PATTERNS: usize = 10_000;

/// One metric series of a matrix answer: labels and (ms, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSeries {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

/// A query_range answer.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAnswer {
    /// Entries, oldest first (whatever the direction asked).
    Streams(Vec<Entry>),
    Matrix(Vec<MatrixSeries>),
}

// ---- query_range ---------------------------------------------------------

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<RawData<'a>>,
    #[serde(default)]
    error: Option<String>,
}

/// Parses a query_range (or query) body, keeping everything. Invalid UTF-8
/// (a proxy or an old server passing raw bytes through) becomes U+FFFD
/// instead of failing the whole answer.
pub fn parse_query(body: &[u8]) -> Result<QueryAnswer, String> {
    parse_query_limited(body, usize::MAX, true).map(|(a, _)| a)
}

/// Parses a query_range answer asked with `limit` and a direction, keeping
/// what Loki should have returned: at most `limit` entries, the oldest
/// (`forward`) or the newest, the first sent winning a tie. The second value
/// counts what was left out (entries beyond the limit; matrix series and
/// points beyond their caps), never materialised.
pub fn parse_query_limited(
    body: &[u8],
    limit: usize,
    forward: bool,
) -> Result<(QueryAnswer, usize), String> {
    match std::str::from_utf8(body) {
        Ok(text) => parse_query_utf8(text, limit, forward),
        Err(_) => parse_query_utf8(&String::from_utf8_lossy(body), limit, forward),
    }
}

fn parse_query_utf8<'a>(
    body: &'a str,
    limit: usize,
    forward: bool,
) -> Result<(QueryAnswer, usize), String> {
    // the envelope first, `result` kept as raw text: its shape depends on
    // `resultType`, which may come after it
    let env: RawEnvelope<'a> = serde_json::from_str(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(env
            .error
            .unwrap_or_else(|| format!("status {}", env.status)));
    }
    let data = env.data.ok_or("answer without data")?;
    let result = data.result.map_or("null", RawValue::get);
    let mut de = serde_json::Deserializer::from_str(result);
    let mut cache = RawCache::default();
    let inner = |e: serde_json::Error| format!("invalid result: {}", json_error(&e));
    match data.result_type.as_str() {
        "streams" => {
            let mut c = Collect::new(limit, forward);
            StreamsSeed(&mut c).deserialize(&mut de).map_err(inner)?;
            let (entries, dropped) = c.finish(&mut cache)?;
            Ok((QueryAnswer::Streams(entries), dropped))
        }
        "matrix" | "vector" => {
            let mut left_out = 0;
            let mut raw = Vec::new();
            let (series, more) = Capped::new(MAX_SERIES, |s: RawMatrix<'a>| {
                left_out += s.values.1;
                raw.push(s.metric);
                s.values.0
            })
            .deserialize(&mut de)
            .map_err(inner)?;
            let mut out = Vec::with_capacity(series.len());
            for (metric, points) in raw.into_iter().zip(series) {
                out.push(MatrixSeries {
                    labels: cache.get(metric)?,
                    points: points.into_iter().map(|p| (p.0, p.1)).collect(),
                });
            }
            Ok((QueryAnswer::Matrix(out), left_out + more))
        }
        other => Err(format!("unexpected resultType {other:?}")),
    }
}

pub(super) fn json_error(e: &serde_json::Error) -> String {
    format!("invalid JSON at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests;
