//! The serde reading of the envelope: `status`, `errorType`, `error`,
//! `warnings` and `infos` as short cleaned texts, and `data` as a list of
//! strings or an object with `resultType` and `result`; lists are capped
//! while they are read.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::core::{ErrorKind, SourceError};
use crate::store::{Labels, Series};

use super::messages::clean;
use super::series::{Elems, Part, ResultSeed};
use super::{parse_value, to_ms, ResultKind, MAX_TEXT, MAX_WARNINGS, NO_STATUS};

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum EnvKey {
    Status,
    ErrorType,
    Error,
    Warnings,
    Infos,
    Data,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DataKey {
    ResultType,
    Result,
    #[serde(other)]
    Other,
}

#[derive(Default)]
pub(super) struct Envelope {
    pub(super) status: Option<String>,
    pub(super) error_type: Option<String>,
    pub(super) error: Option<String>,
    pub(super) warnings: Vec<String>,
    pub(super) infos: Vec<String>,
    pub(super) data: Option<Data>,
}

impl Envelope {
    /// The API's own verdict: no status at all, or an error envelope.
    pub(super) fn check(&self, status: u16) -> Result<(), SourceError> {
        match self.status.as_deref() {
            None => Err(SourceError {
                status: Some(status),
                kind: ErrorKind::Unspecified,
                message: NO_STATUS.into(),
            }),
            Some("success") => Ok(()),
            Some(_) => Err(SourceError {
                status: Some(status),
                kind: self
                    .error_type
                    .clone()
                    .filter(|k| !k.is_empty())
                    .map_or(ErrorKind::Unspecified, ErrorKind::Api),
                message: self.error.clone().unwrap_or_else(|| "unknown error".into()),
            }),
        }
    }
}

pub(super) enum Data {
    Strings(Vec<String>, usize),
    Result(ResultData),
}

#[derive(Default)]
pub(super) struct ResultData {
    result_type: Option<String>,
    result: Option<Elems>,
}

impl ResultData {
    /// Decides the kind once both `resultType` and `result` were seen.
    pub(super) fn finish(self) -> Result<(ResultKind, Vec<Series>, usize), String> {
        let rt = self.result_type.ok_or("data without resultType")?;
        let el = self.result.ok_or("data without result")?;
        let kind = match rt.as_str() {
            "matrix" => ResultKind::Matrix,
            "vector" => ResultKind::Vector,
            "scalar" => ResultKind::Scalar,
            "string" => ResultKind::String,
            other => return Err(format!("unknown resultType \"{}\"", clean(other, 40))),
        };
        match (kind, el.pair.as_slice()) {
            (ResultKind::Matrix | ResultKind::Vector, []) => Ok((kind, el.series, el.dropped)),
            (ResultKind::Matrix | ResultKind::Vector, _) => {
                Err(format!("{rt} result is not a list of series"))
            }
            (ResultKind::Scalar, [Part::Num(t), Part::Str(v)]) if !el.any_series => {
                let p = (to_ms(*t), parse_value(v)?);
                Ok((kind, vec![Series::new(Labels::new(), [p])], 0))
            }
            (_, [Part::Num(_), Part::Str(_)]) if !el.any_series => Ok((kind, Vec::new(), 0)),
            _ => Err(format!("{rt} result is not [time, value]")),
        }
    }
}

/// A short cleaned text (status, errors, warnings): long hostile strings are
/// read borrowed and cut, never copied whole. Anything but a string is `None`.
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(clean(v, MAX_TEXT))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn opt_text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(map.next_value::<Text>()?.0)
}

/// Keeps the first `cap` elements of a list, consumes the rest with
/// `IgnoredAny` and counts them.
fn take_capped<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    cap: usize,
) -> Result<(Vec<T>, usize), A::Error> {
    let mut kept = Vec::new();
    while kept.len() < cap {
        match seq.next_element()? {
            Some(x) => kept.push(x),
            None => return Ok((kept, 0)),
        }
    }
    let mut rest = 0;
    while seq.next_element::<IgnoredAny>()?.is_some() {
        rest += 1;
    }
    Ok((kept, rest))
}

/// A list (or null) of which the first `cap` elements are kept.
pub(super) struct Capped<T> {
    cap: usize,
    what: &'static str,
    t: PhantomData<T>,
}

pub(super) fn capped<T>(cap: usize, what: &'static str) -> Capped<T> {
    Capped {
        cap,
        what,
        t: PhantomData,
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Capped<T> {
    type Value = (Vec<T>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Capped<T> {
    type Value = (Vec<T>, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Vec::new(), 0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        take_capped(&mut seq, self.cap)
    }
}

#[derive(Clone, Copy)]
pub(super) struct EnvSeed {
    pub(super) max_series: usize,
    pub(super) max_strings: usize,
    /// Only status, errorType and error (after a shape error elsewhere).
    pub(super) head_only: bool,
}

impl<'de> DeserializeSeed<'de> for EnvSeed {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvSeed {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an API response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut env = Envelope::default();
        let warnings = "\"warnings\" as a list of strings";
        while let Some(key) = map.next_key()? {
            match key {
                EnvKey::Status => env.status = opt_text(&mut map)?,
                EnvKey::ErrorType => env.error_type = opt_text(&mut map)?,
                EnvKey::Error => env.error = opt_text(&mut map)?,
                EnvKey::Warnings | EnvKey::Infos if !self.head_only => {
                    let (w, _) = map.next_value_seed(capped::<Text>(MAX_WARNINGS, warnings))?;
                    let w = w.into_iter().filter_map(|t| t.0).collect();
                    match key {
                        EnvKey::Warnings => env.warnings = w,
                        _ => env.infos = w,
                    }
                }
                EnvKey::Data if !self.head_only => {
                    env.data = map.next_value_seed(DataSeed(self))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

struct DataSeed(EnvSeed);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Option<Data>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = Option<Data>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("\"data\" as an object or a list of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (v, rest) = take_capped(&mut seq, self.0.max_strings)?;
        Ok(Some(Data::Strings(v, rest)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = ResultData::default();
        while let Some(key) = map.next_key()? {
            match key {
                DataKey::ResultType => r.result_type = opt_text(&mut map)?,
                DataKey::Result => {
                    r.result = Some(map.next_value_seed(ResultSeed(self.0.max_series))?)
                }
                DataKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(Data::Result(r)))
    }
}
