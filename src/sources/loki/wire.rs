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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// Stream labels, sorted by name; shared by every entry of the stream.
pub type Labels = Arc<[(String, String)]>;

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

/// `[ts, line]` or `[ts, line, {structuredMetadata, parsed}]`.
#[derive(Debug)]
struct Value3 {
    ts: i64,
    text: String,
    meta: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct Categorized {
    #[serde(default, rename = "structuredMetadata")]
    structured: Option<BTreeMap<String, String>>,
    #[serde(default)]
    parsed: Option<BTreeMap<String, String>>,
}

impl<'de> Deserialize<'de> for Value3 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value3, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value3;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[timestamp, line(, metadata)]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value3, A::Error> {
                let ts: Ts = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let text: String = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut meta = Vec::new();
                if let Some(c) = a.next_element::<Option<Categorized>>()? {
                    let c = c.unwrap_or_default();
                    meta.extend(c.structured.into_iter().flatten());
                    meta.extend(c.parsed.into_iter().flatten());
                }
                // tolerate (and ignore) anything a newer server appends
                while a.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Value3 {
                    ts: ts.0,
                    text,
                    meta,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

/// Labels as they appear in the body (borrowed unless escaped): Loki sends
/// one stream object per entry on the tail, so labels are only copied once
/// per distinct stream of an answer.
type RawLabels<'a> = BTreeMap<Cow<'a, str>, Cow<'a, str>>;

#[derive(Deserialize)]
struct RawStream<'a> {
    #[serde(default, borrow)]
    stream: Option<RawLabels<'a>>,
    #[serde(default, borrow)]
    metric: Option<RawLabels<'a>>,
    #[serde(default)]
    values: Vec<Value3>,
}

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default, borrow)]
    result: Vec<RawStream<'a>>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<RawData<'a>>,
    #[serde(default)]
    error: Option<String>,
}

/// Labels kept per stream, and bytes kept per label name or value.
pub const MAX_LABELS: usize = 64;
pub const MAX_LABEL_BYTES: usize = 256;

fn cap(s: Cow<'_, str>) -> String {
    if s.len() <= MAX_LABEL_BYTES {
        return s.into_owned();
    }
    let mut i = MAX_LABEL_BYTES;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    format!("{}…", &s[..i])
}

/// FNV-1a: label sets of one answer, compared for equality after.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf29ce484222325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// One shared `Labels` per distinct label set of an answer.
#[derive(Default)]
struct LabelCache(HashMap<u64, Vec<Labels>>);

impl LabelCache {
    fn get(&mut self, raw: Option<RawLabels<'_>>) -> Labels {
        let raw = raw.unwrap_or_default();
        let mut h = Fnv::default();
        for (k, v) in &raw {
            k.hash(&mut h);
            v.hash(&mut h);
        }
        let slot = self.0.entry(h.finish()).or_default();
        let same = |l: &Labels| {
            l.len() == raw.len() && l.iter().zip(&raw).all(|((a, b), (c, d))| a == c && b == d)
        };
        if let Some(l) = slot.iter().find(|l| same(l)) {
            return l.clone();
        }
        // a hostile server's labels are bounded like its lines
        let l: Labels = raw
            .into_iter()
            .take(MAX_LABELS)
            .map(|(k, v)| (cap(k), cap(v)))
            .collect::<Vec<_>>()
            .into();
        slot.push(l.clone());
        l
    }
}

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

fn streams(raw: Vec<RawStream<'_>>) -> Vec<Entry> {
    let mut out = Vec::with_capacity(raw.iter().map(|s| s.values.len()).sum());
    let mut cache = LabelCache::default();
    for s in raw {
        let labels = cache.get(s.stream);
        for v in s.values {
            out.push(Entry {
                ts_ns: v.ts,
                labels: labels.clone(),
                line: v.text,
                meta: v.meta,
            });
        }
    }
    // stable: entries of one stream at one timestamp keep the server's order
    out.sort_by_key(|e| e.ts_ns);
    out
}

/// Parses a query_range (or query) body. Invalid UTF-8 (a proxy or an old
/// server passing raw bytes through) becomes U+FFFD instead of failing the
/// whole answer.
pub fn parse_query(body: &[u8]) -> Result<QueryAnswer, String> {
    match std::str::from_utf8(body) {
        Ok(_) => parse_query_utf8(body),
        Err(_) => parse_query_utf8(String::from_utf8_lossy(body).as_bytes()),
    }
}

fn parse_query_utf8(body: &[u8]) -> Result<QueryAnswer, String> {
    let env: RawEnvelope = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(env
            .error
            .unwrap_or_else(|| format!("status {}", env.status)));
    }
    let data = env.data.ok_or("answer without data")?;
    match data.result_type.as_str() {
        "streams" => Ok(QueryAnswer::Streams(streams(data.result))),
        "matrix" | "vector" => Ok(QueryAnswer::Matrix(
            data.result
                .into_iter()
                .map(|s| MatrixSeries {
                    labels: LabelCache::default().get(s.metric),
                    points: s
                        .values
                        .into_iter()
                        .map(|v| (v.ts / 1_000_000, v.text.parse().unwrap_or(f64::NAN)))
                        .collect(),
                })
                .collect(),
        )),
        other => Err(format!("unexpected resultType {other:?}")),
    }
}

#[derive(Deserialize)]
struct RawDropped {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    timestamp: Ts,
}

#[derive(Deserialize)]
struct RawTail<'a> {
    #[serde(default, borrow)]
    streams: Vec<RawStream<'a>>,
    #[serde(default)]
    dropped_entries: Option<Vec<RawDropped>>,
}

/// An entry the server could not send on the tail (the client was slow).
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub ts_ns: i64,
    pub labels: Labels,
}

/// One tail WebSocket message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TailMessage {
    pub entries: Vec<Entry>,
    pub dropped: Vec<Dropped>,
}

pub fn parse_tail(text: &str) -> Result<TailMessage, String> {
    let raw: RawTail = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    Ok(TailMessage {
        entries: streams(raw.streams),
        dropped: raw
            .dropped_entries
            .unwrap_or_default()
            .into_iter()
            .map(|d| Dropped {
                ts_ns: d.timestamp.0,
                labels: labels_of(d.labels),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct ListEnvelope<T> {
    status: String,
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

/// `{"status":"success","data":["a","b"]}` (labels, label values).
pub fn parse_strings(body: &[u8]) -> Result<Vec<String>, String> {
    let env: ListEnvelope<String> = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(format!("status {}", env.status));
    }
    Ok(env.data)
}

/// `{"status":"success","data":[{labels},...]}` (series).
pub fn parse_series(body: &[u8]) -> Result<Vec<Labels>, String> {
    let env: ListEnvelope<BTreeMap<String, String>> =
        serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(format!("status {}", env.status));
    }
    Ok(env.data.into_iter().map(labels_of).collect())
}

/// One pattern of `/loki/api/v1/patterns`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPattern {
    pub pattern: String,
    pub level: Option<String>,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Deserialize)]
struct RawPattern {
    pattern: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    samples: Vec<(Ts, f64)>,
}

/// `{"status":"success","data":[{"pattern":"..","samples":[[secs,count],..]}]}`.
pub fn parse_patterns(body: &[u8]) -> Result<Vec<ServerPattern>, String> {
    let env: ListEnvelope<RawPattern> = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(format!("status {}", env.status));
    }
    let mut out: Vec<ServerPattern> = env
        .data
        .into_iter()
        .map(|p| ServerPattern {
            count: p.samples.iter().map(|s| s.1.max(0.0) as u64).sum(),
            first_ms: p
                .samples
                .iter()
                .map(|s| s.0 .0 / 1_000_000)
                .min()
                .unwrap_or(0),
            last_ms: p
                .samples
                .iter()
                .map(|s| s.0 .0 / 1_000_000)
                .max()
                .unwrap_or(0),
            pattern: p.pattern,
            level: p.level,
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.pattern.cmp(&b.pattern))
    });
    Ok(out)
}

fn json_error(e: &serde_json::Error) -> String {
    format!("invalid JSON at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_envelope_merges_streams_oldest_first_and_keeps_twins() {
        let body = br#"{"status":"success","data":{"resultType":"streams","result":[
            {"stream":{"pod":"a","namespace":"n"},"values":[["1700000000000000002","a2"],["1700000000000000001","a1"]]},
            {"stream":{"pod":"b"},"values":[["1700000000000000001","b1"]]}],
            "stats":{"summary":{"bytesProcessedPerSecond":1}}}}"#;
        let QueryAnswer::Streams(e) = parse_query(body).unwrap() else {
            panic!()
        };
        let got: Vec<_> = e.iter().map(|e| (e.ts_ns, e.line.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (1700000000000000001, "a1"),
                (1700000000000000001, "b1"),
                (1700000000000000002, "a2")
            ]
        );
        assert_eq!(
            &*e[0].labels,
            &[("namespace".into(), "n".into()), ("pod".into(), "a".into())]
        );
    }

    #[test]
    fn categorized_entries_carry_structured_metadata() {
        let body = br#"{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[
            {"stream":{"app":"x"},"values":[["5","l1",{"structuredMetadata":{"trace_id":"abc"},"parsed":{"level":"error"}}],["6","l2",{}],["7","l3"]]}]}}"#;
        let QueryAnswer::Streams(e) = parse_query(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            e[0].meta,
            vec![
                ("trace_id".into(), "abc".into()),
                ("level".into(), "error".into())
            ]
        );
        assert!(e[1].meta.is_empty() && e[2].meta.is_empty());
    }

    #[test]
    fn matrix_envelope_has_seconds_and_string_values() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"level":"error"},"values":[[1700000000,"3"],[1700000060.5,"4"]]}]}}"#;
        let QueryAnswer::Matrix(m) = parse_query(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            m[0].points,
            vec![(1700000000000, 3.0), (1700000060500, 4.0)]
        );
    }

    #[test]
    fn tail_message_with_dropped_entries_in_either_timestamp_form() {
        let m = parse_tail(
            r#"{"streams":[{"stream":{"a":"b"},"values":[["10","x"]]}],
               "dropped_entries":[{"labels":{"a":"b"},"timestamp":"9"},
                                  {"labels":{"a":"c"},"timestamp":"1970-01-01T00:00:00.000000008Z"}]}"#,
        )
        .unwrap();
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.dropped[0].ts_ns, 9);
        assert_eq!(m.dropped[1].ts_ns, 8);
        assert!(parse_tail(r#"{"streams":[]}"#).unwrap().dropped.is_empty());
    }

    #[test]
    fn invalid_utf8_in_a_line_does_not_lose_the_answer() {
        let mut body = br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","bad "#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#" end"]]}]}}"#);
        let QueryAnswer::Streams(e) = parse_query(&body).unwrap() else {
            panic!()
        };
        assert_eq!(e[0].line, "bad \u{fffd}\u{fffd} end");
    }

    #[test]
    fn labels_are_capped_like_lines() {
        let big = "x".repeat(100_000);
        let body =
            format!(r#"{{"streams":[{{"stream":{{"big":"{big}"}},"values":[["1","l"]]}}]}}"#);
        let m = parse_tail(&body).unwrap();
        assert!(m.entries[0].labels[0].1.len() <= MAX_LABEL_BYTES + 3);
    }

    #[test]
    fn errors_and_garbage_say_what_went_wrong() {
        assert!(parse_query(b"<html>").unwrap_err().contains("invalid JSON"));
        assert_eq!(
            parse_query(br#"{"status":"error","error":"boom"}"#).unwrap_err(),
            "boom"
        );
        assert!(
            parse_query(br#"{"status":"success","data":{"resultType":"scalar","result":[]}}"#)
                .is_err()
        );
    }

    #[test]
    fn patterns_sum_samples_and_sort_by_count() {
        let p = parse_patterns(
            br#"{"status":"success","data":[
              {"pattern":"a <_>","samples":[[1700000000,2],[1700000010,3]]},
              {"pattern":"b <_>","level":"error","samples":[[1700000000,9]]}]}"#,
        )
        .unwrap();
        assert_eq!((p[0].pattern.as_str(), p[0].count), ("b <_>", 9));
        assert_eq!(
            (p[1].count, p[1].first_ms, p[1].last_ms),
            (5, 1700000000000, 1700000010000)
        );
    }
}
