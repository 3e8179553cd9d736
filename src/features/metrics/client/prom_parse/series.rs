//! `data.result`: a list of series objects (each kept or skipped unread, its
//! labels and points capped, the answer's label pairs budgeted) or a single
//! `[time, value]` sample.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::store::{Labels, Series};

use super::envelope::capped;
use super::{parse_value, to_ms, MAX_LABEL_PAIRS, MAX_POINTS, MAX_SERIES_LABELS, NOT_PAIR};

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum SeriesKey {
    Metric,
    Values,
    Value,
    #[serde(other)]
    Other,
}

#[derive(Default)]
pub(super) struct Elems {
    pub(super) series: Vec<Series>,
    pub(super) dropped: usize,
    pub(super) any_series: bool,
    pub(super) pair: Vec<Part>,
}

pub(super) enum Part {
    Num(f64),
    Str(String),
}

enum Elem {
    /// A series object; `None` when beyond the cap.
    Series(Option<Series>),
    Part(Part),
}

/// `data.result`: a list of series objects, or a `[time, value]` pair.
pub(super) struct ResultSeed(pub(super) usize);

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = Elems;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elems, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed {
    type Value = Elems;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"result\" as a list")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Elems, E> {
        Ok(Elems::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elems, A::Error> {
        let mut el = Elems::default();
        let mut i = 0usize;
        let mut budget = MAX_LABEL_PAIRS;
        loop {
            if el.any_series && i >= self.0 {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                el.dropped += 1;
            } else {
                match seq.next_element_seed(ElemSeed(i < self.0, &mut budget))? {
                    None => break,
                    Some(Elem::Series(s)) if el.pair.is_empty() => {
                        el.any_series = true;
                        match s {
                            Some(s) => el.series.push(s),
                            None => el.dropped += 1,
                        }
                    }
                    Some(Elem::Part(p)) if !el.any_series && el.pair.len() < 2 => el.pair.push(p),
                    Some(_) => {
                        return Err(de::Error::custom(
                            "result is neither a list of series nor a [time, value] sample",
                        ))
                    }
                }
            }
            i += 1;
        }
        Ok(el)
    }
}

/// One element of `result`; the flag says whether a series is kept, the
/// count is what is left of the answer's label pairs.
struct ElemSeed<'b>(bool, &'b mut usize);

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = Elem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = Elem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("series objects or a [time, value] sample in \"result\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        Ok(Elem::Part(Part::Num(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        self.visit_f64(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Elem, E> {
        Ok(Elem::Part(Part::Str(v.chars().take(1024).collect())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Elem, A::Error> {
        if !self.0 {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Elem::Series(None));
        }
        let mut labels = Labels::new();
        let mut points = Vec::new();
        let mut over_budget = false;
        while let Some(key) = map.next_key()? {
            match key {
                SeriesKey::Metric => {
                    labels = map.next_value::<LabelSet>()?.0;
                    match self.1.checked_sub(labels.len()) {
                        Some(left) => *self.1 = left,
                        None => over_budget = true,
                    }
                }
                SeriesKey::Values => {
                    let what = "\"values\" as a list of [time, value] samples";
                    points = map.next_value_seed(capped::<Sample>(MAX_POINTS, what))?.0;
                }
                SeriesKey::Value => points = vec![map.next_value::<Sample>()?],
                SeriesKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if over_budget {
            return Ok(Elem::Series(None));
        }
        Ok(Elem::Series(Some(Series::new(
            labels,
            points.into_iter().map(|s| (s.0, s.1)),
        ))))
    }
}

/// The `metric` object, raw, with at most `MAX_SERIES_LABELS` labels: the
/// smallest names, a repeated name keeping its last value.
struct LabelSet(Labels);

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LabelSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"metric\" as an object of label strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<LabelSet, E> {
                Ok(LabelSet(Labels::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LabelSet, A::Error> {
                let mut l = Labels::new();
                while let Some(k) = map.next_key::<String>()? {
                    let full = l.len() >= MAX_SERIES_LABELS;
                    if full && l.last_key_value().is_some_and(|(last, _)| *last < k) {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    l.insert(k, map.next_value::<String>()?);
                    if l.len() > MAX_SERIES_LABELS {
                        l.pop_last();
                    }
                }
                Ok(LabelSet(l))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[time, value]` sample: time in seconds (a number), value a string.
struct Sample(i64, f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sample;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [time, value] sample")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
                let t: Time = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom(NOT_PAIR))?;
                let v: Value = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom(NOT_PAIR))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(NOT_PAIR));
                }
                Ok(Sample(t.0, v.0))
            }
        }
        d.deserialize_seq(V)
    }
}

struct Time(i64);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number for the sample time")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
                Ok(Time(to_ms(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_f64(V)
    }
}

struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string for the sample value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                parse_value(v).map(Value).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}
