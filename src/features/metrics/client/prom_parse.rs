//! Streaming parser for Prometheus HTTP API bodies. Series beyond the cap are
//! skipped with `IgnoredAny` (never materialised), and bodies that are not the
//! API's JSON (HTML pages, exporters' /metrics, gzip, proxy text) are named in
//! short messages that never echo raw bytes.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::core::{ErrorKind, SourceError};
use crate::features::metrics::client::Fetched;
use crate::store::{Labels, Series};

/// Most points kept per series (Prometheus refuses more than 11,000 per query).
const MAX_POINTS: usize = 11_000;
/// Most labels kept per series (the smallest names), and label pairs kept
/// per answer: a series past that budget is dropped (counted), so tiny labels
/// by the million cannot take ten times the body in maps.
const MAX_SERIES_LABELS: usize = 128;
const MAX_LABEL_PAIRS: usize = 200_000;
/// Most warnings (and infos) kept per answer.
const MAX_WARNINGS: usize = 20;
/// Longest API error, warning or resultType text kept, in chars.
const MAX_TEXT: usize = 500;
/// How much of a non-JSON body is looked at to name it.
const SNIFF: usize = 64 * 1024;
const EXPOSITION: &str = "not a Prometheus API response (metrics exposition: this URL is an \
                          exporter's /metrics page, not a Prometheus server)";
const NO_STATUS: &str = "not a Prometheus API response (JSON without \"status\")";
const NOT_PAIR: &str = "sample is not [time, value]";

/// What `data.result` held (`Strings`: `data` was a list of strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    Matrix,
    Vector,
    Scalar,
    String,
    /// Label values / series names: `data` is a list of strings.
    Strings,
}

/// A parsed answer: the kept series, and how many were left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub fetched: Fetched,
    pub dropped_series: usize,
    pub result_type: ResultKind,
}

/// Parses a Prometheus HTTP API body (any status). Keeps at most `max_series`
/// series, counting the rest without materialising them, and labels are kept
/// RAW (not sanitised: the caller sanitises for display; raw values are needed
/// to build exact queries). `fetched.dropped` is left at 0: the count is
/// `dropped_series`.
pub fn parse_body(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    max_series: usize,
) -> Result<Parsed, SourceError> {
    let env = parse_envelope(status, content_type, body, max_series, 0)?;
    let (result_type, series, dropped_series) = match env.data {
        Data::Strings(..) => (ResultKind::Strings, Vec::new(), 0),
        Data::Result(r) => r.finish().map_err(|m| bad(status, m))?,
    };
    Ok(Parsed {
        fetched: Fetched {
            series,
            warnings: env.warnings,
            bytes: body.len(),
            ..Fetched::default()
        },
        dropped_series,
        result_type,
    })
}

/// For /api/v1/label/<name>/values: the strings (raw), capped at `max`, with
/// the count of the rest.
pub fn parse_strings(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    max: usize,
) -> Result<(Vec<String>, usize), SourceError> {
    match parse_envelope(status, content_type, body, 0, max)?.data {
        Data::Strings(v, rest) => Ok((v, rest)),
        Data::Result(_) => Err(bad(status, "data is not a list of strings".into())),
    }
}

fn bad(status: u16, message: String) -> SourceError {
    SourceError {
        status: Some(status),
        kind: ErrorKind::BadAnswer,
        message,
    }
}

struct Success {
    data: Data,
    warnings: Vec<String>,
}

fn parse_envelope(
    status: u16,
    ct: Option<&str>,
    body: &[u8],
    max_series: usize,
    max_strings: usize,
) -> Result<Success, SourceError> {
    let fail = |message: String| SourceError {
        status: Some(status),
        kind: ErrorKind::Unspecified,
        message,
    };
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(fail("empty response".into()));
    };
    if !matches!(body[start], b'{' | b'[') {
        let what = describe(ct, body);
        // a server without the API paths (an exporter, a web app): say so
        if status == 404 && !what.starts_with("not a Prometheus API") {
            return Err(fail(format!(
                "not a Prometheus API (no /api/v1 here: {what})"
            )));
        }
        return Err(fail(what));
    }
    let seed = EnvSeed {
        max_series,
        max_strings,
        head_only: false,
    };
    let err = match run(seed, body) {
        Ok(env) => {
            env.check(status)?;
            let data = env
                .data
                .ok_or_else(|| bad(status, "success without data".into()))?;
            let mut warnings = env.warnings;
            warnings.extend(env.infos);
            warnings.truncate(MAX_WARNINGS);
            return Ok(Success { data, warnings });
        }
        Err(e) => e,
    };
    if !err.is_data() {
        return Err(fail(json_error(&err, body)));
    }
    // The shape is wrong somewhere: look again at the envelope alone, since an
    // API error or a JSON that is not the API at all must be told as such.
    let seed = EnvSeed {
        head_only: true,
        ..seed
    };
    match run(seed, body) {
        Ok(env) => env.check(status)?,
        Err(e) if e.is_data() => return Err(fail(NO_STATUS.into())),
        Err(e) => return Err(fail(json_error(&e, body))),
    }
    Err(bad(status, shape_message(&err)))
}

fn run(seed: EnvSeed, body: &[u8]) -> Result<Envelope, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let env = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(env)
}

/// "invalid JSON at byte N": serde_json gives line and column, the offset is
/// computed from the body.
fn json_error(e: &serde_json::Error, body: &[u8]) -> String {
    let line_start = match e.line() {
        0 | 1 => 0,
        l => body
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(l - 2)
            .map_or(body.len(), |(i, _)| i + 1),
    };
    if e.is_eof() {
        return format!("invalid JSON at byte {} (truncated?)", body.len());
    }
    let at = (line_start + e.column()).saturating_sub(1).min(body.len());
    format!("invalid JSON at byte {at}")
}

/// A shape error in words, without position and without long body excerpts.
fn shape_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let pos = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(pos.as_str()).unwrap_or(&full);
    let msg = match msg
        .strip_prefix("invalid type: ")
        .and_then(|r| r.rsplit_once(", expected "))
    {
        Some((got, want)) => {
            let got = match got.split([' ', '`', '"']).next().unwrap_or("") {
                "string" => "a string",
                "integer" | "floating" => "a number",
                "boolean" => "a boolean",
                "map" => "an object",
                "sequence" => "a list",
                "null" => "null",
                _ => "something else",
            };
            format!("expected {want}, got {got}")
        }
        None => msg.to_string(),
    };
    clean(&msg, 200)
}

/// Names a body that is not JSON: HTML, metrics exposition, binary, or text.
fn describe(ct: Option<&str>, body: &[u8]) -> String {
    let ct = ct.unwrap_or("").to_ascii_lowercase();
    let head = &body[..body.len().min(SNIFF)];
    let lead = head.trim_ascii_start();
    let starts = |p: &[u8]| lead.len() >= p.len() && lead[..p.len()].eq_ignore_ascii_case(p);
    let size = fmt_size(body.len());
    if ct.starts_with("text/html") || starts(b"<!doctype") || starts(b"<html") || starts(b"<head") {
        return match html_title(head) {
            Some(t) => format!("not a Prometheus API response (HTML, {size}) titled \"{t}\""),
            None => format!("not a Prometheus API response (HTML, {size})"),
        };
    }
    let exposition = ct.starts_with("application/openmetrics-text")
        || (ct.starts_with("text/plain") && ct.contains("version=0.0.4"))
        || head
            .split(|&b| b == b'\n')
            .take(200)
            .any(|l| l.starts_with(b"# HELP ") || l.starts_with(b"# TYPE "));
    if exposition {
        return EXPOSITION.into();
    }
    // masked whole before its first line is taken (a secret may be split
    // across the line break)
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !mostly_control(t))
        .map(crate::text::redact::redact);
    let line = text
        .as_deref()
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()));
    match line.map(|l| clean(l, 200)).filter(|l| !l.is_empty()) {
        Some(l) => l,
        None => format!("not a Prometheus API response (binary, {size})"),
    }
}

fn mostly_control(text: &str) -> bool {
    let (mut n, mut ctl) = (0usize, 0usize);
    for c in text.chars().take(4096) {
        n += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{1b}') {
            ctl += 1;
        }
    }
    ctl * 10 > n
}

fn html_title(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let find = |from: usize, pat: &[u8]| {
        lower
            .get(from..)?
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|i| i + from)
    };
    let open = find(0, b"<title")?;
    let text_start = open + lower[open..].iter().position(|&b| b == b'>')? + 1;
    let text_end = find(text_start, b"</title")?;
    let raw = String::from_utf8_lossy(&head[text_start..text_end]);
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text, |t, (from, to)| t.replace(from, to));
    Some(clean(&text, 60)).filter(|t| !t.is_empty())
}

/// "512 B", "1.2 KiB", "16.0 MiB".
fn fmt_size(n: usize) -> String {
    const KIB: f64 = 1024.0;
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / KIB),
        _ => format!("{:.1} MiB", n as f64 / (KIB * KIB)),
    }
}

/// Drops control characters and whole ESC / C1 sequences (tabs and newlines
/// become spaces), trims, and keeps at most `max` chars (the last one an ellipsis).
fn clean(s: &str, max: usize) -> String {
    // secrets are masked before anything is cut: a cut secret would no
    // longer match, and its first half would be shown; the one sanitiser
    // (whole sequences out, a stray introducer alone, tabs and newlines as
    // spaces) then makes it fit for the screen
    let s = crate::text::redact::redact(s);
    let s = crate::text::sanitize(&s);
    let mut out = String::new();
    for (n, c) in s.trim().chars().enumerate() {
        if n == max {
            out.pop();
            out.push('…');
            break;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

/// Parses a sample value string: Prometheus sends numbers as strings,
/// including "NaN", "+Inf" and "-Inf".
pub fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|_| format!("bad sample value \"{}\"", clean(s, 40))),
    }
}

fn to_ms(secs: f64) -> i64 {
    (secs * 1000.0).round() as i64
}

// ---- serde plumbing -------------------------------------------------------

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
struct Envelope {
    status: Option<String>,
    error_type: Option<String>,
    error: Option<String>,
    warnings: Vec<String>,
    infos: Vec<String>,
    data: Option<Data>,
}

impl Envelope {
    /// The API's own verdict: no status at all, or an error envelope.
    fn check(&self, status: u16) -> Result<(), SourceError> {
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

enum Data {
    Strings(Vec<String>, usize),
    Result(ResultData),
}

#[derive(Default)]
struct ResultData {
    result_type: Option<String>,
    result: Option<Elems>,
}

#[derive(Default)]
struct Elems {
    series: Vec<Series>,
    dropped: usize,
    any_series: bool,
    pair: Vec<Part>,
}

enum Part {
    Num(f64),
    Str(String),
}

enum Elem {
    /// A series object; `None` when beyond the cap.
    Series(Option<Series>),
    Part(Part),
}

impl ResultData {
    /// Decides the kind once both `resultType` and `result` were seen.
    fn finish(self) -> Result<(ResultKind, Vec<Series>, usize), String> {
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
struct Capped<T> {
    cap: usize,
    what: &'static str,
    t: PhantomData<T>,
}

fn capped<T>(cap: usize, what: &'static str) -> Capped<T> {
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
struct EnvSeed {
    max_series: usize,
    max_strings: usize,
    /// Only status, errorType and error (after a shape error elsewhere).
    head_only: bool,
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

/// `data.result`: a list of series objects, or a `[time, value]` pair.
struct ResultSeed(usize);

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

#[cfg(test)]
#[path = "prom_parse_tests.rs"]
mod tests;
