//! The simple `{"status":"success","data":[...]}` answers: labels, label
//! values, series and patterns, each list capped while it is read.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::bounded::{cap, Capped, LabelCache, RawLabels, Str};
use super::{json_error, Labels, Ts, MAX_PATTERNS, MAX_SERIES, MAX_STRINGS};

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
