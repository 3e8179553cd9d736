//! The tail WebSocket's message: `{"streams":[...],"dropped_entries":[...]}`,
//! every entry kept, and the entries the server could not send.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::bounded::{RawCache, RawLabels};
use super::streams::{Collect, StreamsSeed};
use super::{json_error, Entry, Labels, Ts};

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
