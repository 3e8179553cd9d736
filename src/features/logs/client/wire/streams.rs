//! Streams: the entries of a `streams` answer (or a tail message), kept up to
//! a limit while they are read. A kept entry remembers its stream by index;
//! labels are resolved at the end, for kept entries only, and a line that
//! cannot be kept is skipped unread.

use std::collections::BinaryHeap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::bounded::{RawCache, RawLabels};
use super::{Entry, Labels, Ts};

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
pub(super) struct Collect<'a> {
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
    pub(super) fn new(limit: usize, forward: bool) -> Self {
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
    pub(super) fn finish(self, cache: &mut RawCache<'a>) -> Result<(Vec<Entry>, usize), String> {
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
pub(super) struct StreamsSeed<'c, 'a>(pub(super) &'c mut Collect<'a>);

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
