//! Streaming parser for Prometheus HTTP API bodies. Series beyond the cap are
//! skipped with `IgnoredAny` (never materialised), and bodies that are not the
//! API's JSON (HTML pages, exporters' /metrics, gzip, proxy text) are named in
//! short messages that never echo raw bytes.
//!
//! This file holds the caps, the answer types and the entry points (the
//! envelope first, then a second look at a body of the wrong shape); beside
//! it: `envelope` (the serde reading of the envelope and `data`), `series`
//! (`data.result`: series objects or one sample) and `messages` (short
//! descriptions of bodies that are not the API's JSON).

mod envelope;
mod messages;
mod series;

use serde::de::DeserializeSeed;

use crate::core::{ErrorKind, SourceError};
use crate::features::metrics::client::Fetched;

use envelope::{Data, EnvSeed, Envelope};
use messages::{clean, describe, json_error, shape_message};

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
#[cfg(test)]
mod tests;
