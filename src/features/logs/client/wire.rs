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

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

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

/// A string as it appears in the body: borrowed unless it has escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// A label object (or null) as it appears in the body, bounded while it is
/// read: at most `MAX_LABELS` pairs, the ones with the smallest names (what
/// sorting and then capping kept), a repeated name keeping its last value.
#[derive(Default)]
struct RawLabels<'a>(BTreeMap<Cow<'a, str>, Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for RawLabels<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawLabels<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of label strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawLabels<'a>, E> {
                Ok(RawLabels::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLabels<'a>, A::Error> {
                let mut m = BTreeMap::new();
                while let Some(Str(k)) = map.next_key()? {
                    let full = m.len() >= MAX_LABELS;
                    if full && m.last_key_value().is_some_and(|(last, _)| *last < k) {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    let Str(v) = map.next_value()?;
                    m.insert(k, v);
                    if m.len() > MAX_LABELS {
                        m.pop_last();
                    }
                }
                Ok(RawLabels(m))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
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

/// A word-at-a-time hash for raw label texts (tens of bytes, one per entry
/// on the tail), compared for equality after.
#[derive(Default)]
struct Words(u64);

impl Words {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Words {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        }
        for &b in words.remainder() {
            self.add(b as u64);
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
    fn get(&mut self, raw: RawLabels<'_>) -> Labels {
        let raw = raw.0;
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

/// Stream labels by their raw JSON text: a text seen before costs one hash
/// and one compare; only a new text is parsed (and then shared with every
/// other text of the same labels through the `LabelCache`).
#[derive(Default)]
struct RawCache<'a> {
    by_text: HashMap<&'a str, Labels, BuildHasherDefault<Words>>,
    sets: LabelCache,
}

impl<'a> RawCache<'a> {
    fn get(&mut self, raw: Option<&'a RawValue>) -> Result<Labels, String> {
        let text = raw.map_or("null", RawValue::get);
        if let Some(l) = self.by_text.get(text) {
            return Ok(l.clone());
        }
        let parsed: RawLabels = serde_json::from_str(text)
            .map_err(|_| "stream labels are not an object of strings".to_string())?;
        let l = self.sets.get(parsed);
        self.by_text.insert(text, l.clone());
        Ok(l)
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

// ---- streams: entries kept up to a limit --------------------------------

/// An entry kept so far: its stream is an index into `Collect::streams`
/// (labels are resolved at the end, for kept entries only).
struct Kept {
    /// Ordering key: the worst kept entry is the greatest (see `Collect::key`).
    key: (i64, u64),
    ts: i64,
    seq: u64,
    stream: usize,
    line: String,
    meta: Vec<(String, String)>,
}

impl PartialEq for Kept {
    fn eq(&self, o: &Kept) -> bool {
        self.key == o.key
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, o: &Kept) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Kept {
    fn cmp(&self, o: &Kept) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// The entries Loki would have returned for `limit` and the direction: the
/// oldest `limit` (forward) or the newest (backward), the first sent winning
/// a tie at a timestamp. Entries that cannot be kept are counted, and their
/// line and metadata are skipped unread.
struct Collect<'a> {
    limit: usize,
    forward: bool,
    seq: u64,
    /// Entries while fewer than `limit`, in the order sent.
    kept: Vec<Kept>,
    /// Once `limit` were kept: a max-heap with the worst on top.
    heap: Option<BinaryHeap<Kept>>,
    dropped: usize,
    /// Raw labels of each stream object, in the order sent.
    streams: Vec<Option<&'a RawValue>>,
}

impl<'a> Collect<'a> {
    fn new(limit: usize, forward: bool) -> Self {
        Collect {
            limit,
            forward,
            seq: 0,
            kept: Vec::new(),
            heap: None,
            dropped: 0,
            streams: Vec::new(),
        }
    }

    /// Smaller is better: older first (forward) or newer first (backward),
    /// then the order sent.
    fn key(&self, ts: i64) -> (i64, u64) {
        (if self.forward { ts } else { !ts }, self.seq)
    }

    fn admits(&self, key: (i64, u64)) -> bool {
        match &self.heap {
            None => self.kept.len() < self.limit,
            Some(h) => h.peek().is_some_and(|worst| key < worst.key),
        }
    }

    fn push(&mut self, k: Kept) {
        match &mut self.heap {
            Some(h) => {
                if let Some(mut worst) = h.peek_mut() {
                    *worst = k;
                    self.dropped += 1;
                }
            }
            None => {
                self.kept.push(k);
                if self.kept.len() >= self.limit {
                    self.heap = Some(BinaryHeap::from(std::mem::take(&mut self.kept)));
                }
            }
        }
    }

    /// Kept entries oldest first (ties in the order sent), with labels.
    fn finish(self, cache: &mut RawCache<'a>) -> Result<(Vec<Entry>, usize), String> {
        let mut kept = match self.heap {
            Some(h) => h.into_vec(),
            None => self.kept,
        };
        kept.sort_unstable_by_key(|k| (k.ts, k.seq));
        let mut resolved: Vec<Option<Labels>> = vec![None; self.streams.len()];
        let mut out = Vec::with_capacity(kept.len());
        for k in kept {
            let labels = match &resolved[k.stream] {
                Some(l) => l.clone(),
                None => {
                    let l = cache.get(self.streams[k.stream])?;
                    resolved[k.stream] = Some(l.clone());
                    l
                }
            };
            out.push(Entry {
                ts_ns: k.ts,
                labels,
                line: k.line,
                meta: k.meta,
            });
        }
        Ok((out, self.dropped))
    }
}

/// A list of stream objects (or null).
struct StreamsSeed<'c, 'a>(&'c mut Collect<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for StreamsSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for StreamsSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of streams")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(StreamSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum StreamKey {
    Stream,
    Values,
    #[serde(other)]
    Other,
}

/// `{"stream":{labels},"values":[...]}`, keys in any order.
struct StreamSeed<'c, 'a>(&'c mut Collect<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for StreamSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for StreamSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stream object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        let stream = c.streams.len();
        let mut raw = None;
        while let Some(key) = map.next_key()? {
            match key {
                StreamKey::Stream => raw = map.next_value::<Option<&'de RawValue>>()?,
                StreamKey::Values => map.next_value_seed(ValuesSeed(&mut *c, stream))?,
                StreamKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        c.streams.push(raw);
        Ok(())
    }
}

/// A stream's `values`: `[ts, line(, metadata)]` entries.
struct ValuesSeed<'c, 'a>(&'c mut Collect<'a>, usize);

impl<'de: 'a, 'a> DeserializeSeed<'de> for ValuesSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ValuesSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of [timestamp, line] values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ValuesSeed(c, stream) = self;
        while seq.next_element_seed(EntrySeed(&mut *c, stream))?.is_some() {}
        Ok(())
    }
}

/// `[ts, line]` or `[ts, line, {structuredMetadata, parsed}]`: the line and
/// metadata are only read when the entry is kept.
struct EntrySeed<'c, 'a>(&'c mut Collect<'a>, usize);

impl<'de: 'a, 'a> DeserializeSeed<'de> for EntrySeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for EntrySeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[timestamp, line(, metadata)]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let EntrySeed(c, stream) = self;
        let Ts(ts) = a
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &"[timestamp, line]"))?;
        let key = c.key(ts);
        let seq = c.seq;
        c.seq += 1;
        if !c.admits(key) {
            a.next_element::<IgnoredAny>()?
                .ok_or_else(|| de::Error::invalid_length(1, &"[timestamp, line]"))?;
            while a.next_element::<IgnoredAny>()?.is_some() {}
            c.dropped += 1;
            return Ok(());
        }
        let line: String = a
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &"[timestamp, line]"))?;
        let mut meta = Vec::new();
        if let Some(m) = a.next_element::<Option<Categorized>>()? {
            let m = m.unwrap_or_default();
            for map in [m.structured, m.parsed].into_iter().flatten() {
                meta.extend(
                    map.0
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
        }
        // tolerate (and ignore) anything a newer server appends
        while a.next_element::<IgnoredAny>()?.is_some() {}
        c.push(Kept {
            key,
            ts,
            seq,
            stream,
            line,
            meta,
        });
        Ok(())
    }
}

/// The categorize-labels element; each map bounded like labels.
#[derive(Deserialize, Default)]
struct Categorized<'a> {
    #[serde(default, borrow, rename = "structuredMetadata")]
    structured: Option<RawLabels<'a>>,
    #[serde(default, borrow)]
    parsed: Option<RawLabels<'a>>,
}

// ---- matrix: series and points capped ------------------------------------

/// `[secs, "value"]`, in ms.
struct Point(i64, f64);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Point;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[timestamp, value]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Point, A::Error> {
                let Ts(ts) = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let Str(v) = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Point(ts / 1_000_000, v.parse().unwrap_or(f64::NAN)))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct RawMatrix<'a> {
    #[serde(default, borrow)]
    metric: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "points")]
    values: (Vec<Point>, usize),
}

fn points<'de, D: Deserializer<'de>>(d: D) -> Result<(Vec<Point>, usize), D::Error> {
    d.deserialize_any(Capped::new(MAX_POINTS, |p: Point| p))
}

/// A list (or null) of which the first `max` elements are kept (mapped by
/// `f`); the rest are skipped unread and counted.
struct Capped<T, F> {
    max: usize,
    f: F,
    t: PhantomData<fn() -> T>,
}

impl<T, F> Capped<T, F> {
    fn new(max: usize, f: F) -> Self {
        Capped {
            max,
            f,
            t: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>, O, F: FnMut(T) -> O> DeserializeSeed<'de> for Capped<T, F> {
    type Value = (Vec<O>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>, O, F: FnMut(T) -> O> Visitor<'de> for Capped<T, F> {
    type Value = (Vec<O>, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut kept = Vec::new();
        while kept.len() < self.max {
            match seq.next_element::<T>()? {
                Some(x) => kept.push((self.f)(x)),
                None => return Ok((kept, 0)),
            }
        }
        let mut rest = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            rest += 1;
        }
        Ok((kept, rest))
    }
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

// ---- tail ----------------------------------------------------------------

#[derive(Deserialize)]
struct RawDropped<'a> {
    #[serde(default, borrow)]
    labels: RawLabels<'a>,
    timestamp: Ts,
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

#[derive(Deserialize)]
#[serde(field_identifier)]
enum TailKey {
    #[serde(rename = "streams")]
    Streams,
    #[serde(rename = "dropped_entries")]
    Dropped,
    #[serde(other)]
    Other,
}

/// `{"streams":[...],"dropped_entries":[...]}`: every entry kept.
struct TailSeed<'c, 'a>(&'c mut Collect<'a>, &'c mut Vec<RawDropped<'a>>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for TailSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for TailSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tail message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let TailSeed(c, dropped) = self;
        while let Some(key) = map.next_key()? {
            match key {
                TailKey::Streams => map.next_value_seed(StreamsSeed(&mut *c))?,
                TailKey::Dropped => {
                    *dropped = map
                        .next_value::<Option<Vec<RawDropped>>>()?
                        .unwrap_or_default()
                }
                TailKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

pub fn parse_tail(text: &str) -> Result<TailMessage, String> {
    let mut c = Collect::new(usize::MAX, true);
    let mut dropped = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    TailSeed(&mut c, &mut dropped)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| json_error(&e))?;
    let mut cache = RawCache::default();
    let (entries, _) = c.finish(&mut cache)?;
    Ok(TailMessage {
        entries,
        dropped: dropped
            .into_iter()
            .map(|d| Dropped {
                ts_ns: d.timestamp.0,
                labels: cache.sets.get(d.labels),
            })
            .collect(),
    })
}

// ---- labels, label values, series, patterns --------------------------------

#[derive(Deserialize)]
struct ListEnvelope<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// `{"status":"success","data":[...]}`: the first `max` elements of `data`
/// mapped by `f`, and how many more there were (skipped unread).
fn parse_list<'a, T: Deserialize<'a>, O>(
    body: &'a [u8],
    max: usize,
    f: impl FnMut(T) -> O,
) -> Result<(Vec<O>, usize), String> {
    let env: ListEnvelope = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if env.status != "success" {
        return Err(format!("status {}", env.status));
    }
    let Some(data) = env.data else {
        return Ok((Vec::new(), 0));
    };
    let mut de = serde_json::Deserializer::from_str(data.get());
    Capped::new(max, f)
        .deserialize(&mut de)
        .map_err(|e| format!("invalid data: {}", json_error(&e)))
}

/// `{"status":"success","data":["a","b"]}` (labels, label values): at most
/// `MAX_STRINGS`, each capped like a label; how many more is logged.
pub fn parse_strings(body: &[u8]) -> Result<Vec<String>, String> {
    let (v, more) = parse_strings_capped(body, MAX_STRINGS)?;
    if more > 0 {
        crate::info!("loki answered {more} label names or values more than the {MAX_STRINGS} kept");
    }
    Ok(v)
}

/// The first `max` strings (each capped like a label), and how many more.
pub fn parse_strings_capped(body: &[u8], max: usize) -> Result<(Vec<String>, usize), String> {
    parse_list(body, max, |Str(s)| cap(s))
}

/// `{"status":"success","data":[{labels},...]}` (series): at most
/// `MAX_SERIES` label sets (capped like stream labels, one shared `Labels`
/// per distinct set); how many more is logged.
pub fn parse_series(body: &[u8]) -> Result<Vec<Labels>, String> {
    let (v, more) = parse_series_capped(body, MAX_SERIES)?;
    if more > 0 {
        crate::info!("loki answered {more} series more than the {MAX_SERIES} kept");
    }
    Ok(v)
}

/// The first `max` label sets, and how many more.
pub fn parse_series_capped(body: &[u8], max: usize) -> Result<(Vec<Labels>, usize), String> {
    let mut cache = LabelCache::default();
    parse_list(body, max, |l: RawLabels| cache.get(l))
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

/// A pattern's samples folded as they are read (never kept).
#[derive(Default)]
struct Samples {
    count: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Samples, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Samples;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of [timestamp, count] samples")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Samples, A::Error> {
                let mut s = Samples::default();
                while let Some((Ts(t), n)) = a.next_element::<(Ts, f64)>()? {
                    let ms = t / 1_000_000;
                    s.count = s.count.saturating_add(n.max(0.0) as u64);
                    s.first_ms = Some(s.first_ms.map_or(ms, |f| f.min(ms)));
                    s.last_ms = Some(s.last_ms.map_or(ms, |l| l.max(ms)));
                }
                Ok(s)
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct RawPattern {
    pattern: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    samples: Samples,
}

/// `{"status":"success","data":[{"pattern":"..","samples":[[secs,count],..]}]}`:
/// at most `MAX_PATTERNS`, most frequent first.
pub fn parse_patterns(body: &[u8]) -> Result<Vec<ServerPattern>, String> {
    let (mut out, _) = parse_list(body, MAX_PATTERNS, |p: RawPattern| ServerPattern {
        count: p.samples.count,
        first_ms: p.samples.first_ms.unwrap_or(0),
        last_ms: p.samples.last_ms.unwrap_or(0),
        pattern: p.pattern,
        level: p.level,
    })?;
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
#[path = "wire_tests.rs"]
mod tests;
