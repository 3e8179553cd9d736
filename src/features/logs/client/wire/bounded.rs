//! The bounded readers every answer is built from: a string borrowed from the
//! body and cut to `MAX_LABEL_BYTES`, a label object capped at `MAX_LABELS`
//! while it is read, a list of which only the first elements are kept (the
//! rest skipped unread and counted), and the per-answer caches that share one
//! `Labels` per distinct label set.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Labels, MAX_LABELS, MAX_LABEL_BYTES};

pub(super) fn cap(s: Cow<'_, str>) -> String {
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
pub(super) struct Str<'a>(pub(super) Cow<'a, str>);

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
pub(super) struct RawLabels<'a>(pub(super) BTreeMap<Cow<'a, str>, Cow<'a, str>>);

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
pub(super) struct LabelCache(HashMap<u64, Vec<Labels>>);

impl LabelCache {
    pub(super) fn get(&mut self, raw: RawLabels<'_>) -> Labels {
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
pub(super) struct RawCache<'a> {
    by_text: HashMap<&'a str, Labels, BuildHasherDefault<Words>>,
    pub(super) sets: LabelCache,
}

impl<'a> RawCache<'a> {
    pub(super) fn get(&mut self, raw: Option<&'a RawValue>) -> Result<Labels, String> {
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

/// A list (or null) of which the first `max` elements are kept (mapped by
/// `f`); the rest are skipped unread and counted.
pub(super) struct Capped<T, F> {
    max: usize,
    f: F,
    t: PhantomData<fn() -> T>,
}

impl<T, F> Capped<T, F> {
    pub(super) fn new(max: usize, f: F) -> Self {
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
