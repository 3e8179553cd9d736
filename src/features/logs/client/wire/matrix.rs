//! Matrix: the metric series of a `matrix` (or `vector`) answer, each with its
//! points capped at `MAX_POINTS` while they are read.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::bounded::{Capped, Str};
use super::{Ts, MAX_POINTS};

/// `[secs, "value"]`, in ms.
pub(super) struct Point(pub(super) i64, pub(super) f64);

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
pub(super) struct RawMatrix<'a> {
    #[serde(default, borrow)]
    pub(super) metric: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "points")]
    pub(super) values: (Vec<Point>, usize),
}

fn points<'de, D: Deserializer<'de>>(d: D) -> Result<(Vec<Point>, usize), D::Error> {
    d.deserialize_any(Capped::new(MAX_POINTS, |p: Point| p))
}
