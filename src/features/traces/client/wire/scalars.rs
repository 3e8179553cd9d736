//! JSON scalars as the trace answers write them: numbers that may be
//! strings, and tag values of any type as text (borrowed when they can be).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A number that may come as a JSON number or a string (int64 beyond
/// 2^53, OTLP's uint64 times).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Num(pub(super) i64);

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
pub(super) struct BText<'a>(pub(super) Cow<'a, str>);

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
pub(super) struct Text(pub(super) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BText::deserialize(d).map(|b| Text(b.0.into_owned()))
    }
}
