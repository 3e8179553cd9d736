//! Prometheus HTTP API adapter (also Thanos, Mimir, VictoriaMetrics):
//! /api/v1/query, /api/v1/query_range, /api/v1/label/__name__/values.

use serde::Deserialize;
use serde_json::Value;

use super::{BoxFut, Fetched, MetricsBackend, SourceError};
use crate::config::Endpoint;
use crate::dashboard::ResolvedQuery;
use crate::store::{Labels, Series};
use crate::text::sanitize;

/// Queries longer than this go as a POST form (URLs have length limits).
pub const POST_THRESHOLD: usize = 1024;
/// Prometheus refuses range queries with more points than this per series.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Value>,
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
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
            .map_err(|_| format!("bad sample value `{s}`")),
    }
}

fn parse_pair(v: &Value) -> Result<(i64, f64), String> {
    let arr = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or("sample is not [time, value]")?;
    let t = arr[0].as_f64().ok_or("sample time is not a number")?;
    let val = arr[1].as_str().ok_or("sample value is not a string")?;
    Ok(((t * 1000.0).round() as i64, parse_value(val)?))
}

fn parse_labels(v: Option<&Value>) -> Labels {
    let mut l = Labels::new();
    if let Some(Value::Object(m)) = v {
        for (k, v) in m {
            if let Some(s) = v.as_str() {
                l.insert(sanitize(k).into_owned(), sanitize(s).into_owned());
            }
        }
    }
    l
}

/// Parses an API response body (any status) into series, or the API error.
/// Handles matrix, vector, scalar; `warnings` (and `infos`) are returned.
pub fn parse_envelope(status: u16, body: &[u8]) -> Result<Fetched, SourceError> {
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) => {
            // Not the API's JSON: a proxy page, a plain-text error.
            let text = String::from_utf8_lossy(body);
            let text = sanitize(text.trim());
            let short: String = text.chars().take(200).collect();
            return Err(SourceError {
                status: Some(status),
                kind: None,
                message: if short.is_empty() {
                    "empty response".into()
                } else {
                    short
                },
            });
        }
    };
    if env.status != "success" {
        return Err(SourceError {
            status: Some(status),
            kind: env.error_type.map(|k| sanitize(&k).into_owned()),
            message: sanitize(env.error.as_deref().unwrap_or("unknown error")).into_owned(),
        });
    }
    let bad = |m: String| SourceError {
        status: Some(status),
        kind: Some("bad_response".into()),
        message: m,
    };
    let data = env.data.ok_or_else(|| bad("success without data".into()))?;
    let mut warnings: Vec<String> = env
        .warnings
        .iter()
        .map(|w| sanitize(w).into_owned())
        .collect();
    warnings.extend(env.infos.iter().map(|w| sanitize(w).into_owned()));
    let series = parse_data(&data).map_err(bad)?;
    Ok(Fetched {
        series,
        warnings,
        bytes: body.len(),
    })
}

fn parse_data(data: &Value) -> Result<Vec<Series>, String> {
    // label/values answers are a bare list of strings
    if data.is_array() {
        return Ok(vec![]);
    }
    let rt = data
        .get("resultType")
        .and_then(Value::as_str)
        .ok_or("no resultType")?;
    let result = data.get("result").ok_or("no result")?;
    match rt {
        "matrix" => result
            .as_array()
            .ok_or("matrix result is not a list")?
            .iter()
            .map(|s| {
                let pts = s
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().map(parse_pair).collect::<Result<Vec<_>, _>>())
                    .transpose()?
                    .unwrap_or_default();
                Ok(Series::new(parse_labels(s.get("metric")), pts))
            })
            .collect(),
        "vector" => result
            .as_array()
            .ok_or("vector result is not a list")?
            .iter()
            .map(|s| {
                let p = parse_pair(s.get("value").ok_or("vector sample without value")?)?;
                Ok(Series::new(parse_labels(s.get("metric")), [p]))
            })
            .collect(),
        "scalar" => Ok(vec![Series::new(Labels::new(), [parse_pair(result)?])]),
        "string" => Ok(vec![]),
        other => Err(format!("unknown resultType `{other}`")),
    }
}

/// A step that keeps a range under 11,000 points and near `target` points,
/// rounded to a friendly value and never below `min_step`.
pub fn choose_step(range_secs: u64, target_points: u64, min_step: u64) -> u64 {
    const NICE: [u64; 17] = [
        1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
    ];
    let raw = range_secs
        .div_ceil(target_points.max(1))
        .max(min_step)
        .max(1);
    let nice = NICE.iter().copied().find(|&n| n >= raw).unwrap_or(raw);
    let floor = range_secs.div_ceil(MAX_POINTS_PER_SERIES - 1);
    nice.max(floor).max(1)
}

/// Aligns a millisecond timestamp down to a multiple of `step_secs`, so that
/// every refresh evaluates at the same instants and merges cleanly.
pub fn align_down(t_ms: i64, step_secs: u64) -> i64 {
    let s = (step_secs as i64) * 1000;
    t_ms.div_euclid(s) * s
}

fn ts(t_ms: i64) -> String {
    if t_ms % 1000 == 0 {
        (t_ms / 1000).to_string()
    } else {
        format!("{:.3}", t_ms as f64 / 1000.0)
    }
}

/// The HTTP adapter. One shared reqwest client per endpoint.
pub struct PrometheusClient {
    base: String,
    client: reqwest::Client,
}

impl PrometheusClient {
    pub fn new(ep: &Endpoint) -> Result<(PrometheusClient, Vec<String>), String> {
        let (client, warnings) = super::http::build_client(ep)?;
        Ok((
            PrometheusClient {
                base: ep.url.trim_end_matches('/').to_string(),
                client,
            },
            warnings,
        ))
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        path: &str,
        params: &[(&str, String)],
        long: bool,
    ) -> Result<Fetched, SourceError> {
        let url = format!("{}{path}", self.base);
        let req = if long {
            self.client.post(&url).form(params)
        } else {
            self.client.get(&url).query(params)
        };
        let resp = req.send().await.map_err(|e| net_error(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| net_error(&e))?;
        parse_envelope(status, &body)
    }

    pub async fn instant(&self, expr: &str, at_ms: i64) -> Result<Fetched, SourceError> {
        let p = [("query", expr.to_string()), ("time", ts(at_ms))];
        self.call("/api/v1/query", &p, expr.len() > POST_THRESHOLD)
            .await
    }

    pub async fn range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> Result<Fetched, SourceError> {
        let p = [
            ("query", expr.to_string()),
            ("start", ts(start_ms)),
            ("end", ts(end_ms)),
            ("step", step_secs.to_string()),
        ];
        self.call("/api/v1/query_range", &p, expr.len() > POST_THRESHOLD)
            .await
    }

    pub async fn label_values(&self, label: &str) -> Result<Vec<String>, SourceError> {
        let url = format!("{}/api/v1/label/{label}/values", self.base);
        let resp = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| net_error(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| net_error(&e))?;
        parse_envelope(status, &body)?;
        let env: Envelope =
            serde_json::from_slice(&body).map_err(|e| SourceError::msg(e.to_string()))?;
        Ok(env
            .data
            .and_then(|d| d.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }
}

/// A transport error in words an on-call engineer reads at a glance. The URL
/// is left out (it is in the header), and so is anything that might hold a secret.
fn net_error(e: &reqwest::Error) -> SourceError {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut deepest = String::new();
        while let Some(s) = src {
            deepest = s.to_string();
            src = s.source();
        }
        if deepest.is_empty() {
            "cannot connect".into()
        } else {
            format!("cannot connect: {deepest}")
        }
    } else if e.is_decode() || e.is_body() {
        "response body broken off".into()
    } else {
        let mut s = e.to_string();
        if let Some(u) = e.url() {
            s = s.replace(u.as_str(), "");
        }
        s
    };
    SourceError::msg(sanitize(&what).into_owned())
}

impl MetricsBackend for PrometheusClient {
    fn name(&self) -> &'static str {
        "prom"
    }

    fn query_range<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(self.range(&q.expr, start_ms, end_ms, step_secs))
    }

    fn query_instant<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        at_ms: i64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(self.instant(&q.expr, at_ms))
    }

    fn metric_names(&self) -> BoxFut<'_, Result<Vec<String>, SourceError>> {
        Box::pin(self.label_values("__name__"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matrix_with_special_values_and_warnings() {
        let body = br#"{"status":"success","warnings":["partial response"],
          "data":{"resultType":"matrix","result":[
            {"metric":{"pod":"app-1"},"values":[[1700000000,"1.5"],[1700000010.5,"NaN"],[1700000020,"+Inf"],[1700000030,"-Inf"]]}]}}"#;
        let f = parse_envelope(200, body).unwrap();
        assert_eq!(f.warnings, vec!["partial response"]);
        let p: Vec<_> = f.series[0].points.iter().copied().collect();
        assert_eq!(p[0], (1_700_000_000_000, 1.5));
        assert_eq!(p[1].0, 1_700_000_010_500);
        assert!(p[1].1.is_nan());
        assert_eq!(p[2].1, f64::INFINITY);
        assert_eq!(p[3].1, f64::NEG_INFINITY);
        assert_eq!(f.series[0].label("pod"), "app-1");
    }

    #[test]
    fn parses_vector_and_scalar() {
        let v = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.0,"42"]}]}}"#;
        assert_eq!(
            parse_envelope(200, v).unwrap().series[0].last(),
            Some((1000, 42.0))
        );
        let s = br#"{"status":"success","data":{"resultType":"scalar","result":[2,"7"]}}"#;
        assert_eq!(
            parse_envelope(200, s).unwrap().series[0].last(),
            Some((2000, 7.0))
        );
    }

    #[test]
    fn api_errors_carry_status_type_and_text() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        let e = parse_envelope(400, body).unwrap_err();
        assert_eq!(e.status, Some(400));
        assert_eq!(e.to_string(), "HTTP 400 bad_data: parse error at char 5");
        let e = parse_envelope(503, b"Service Unavailable\x1b]0;x\x07\n").unwrap_err();
        assert_eq!(e.to_string(), "HTTP 503: Service Unavailable");
        let e = parse_envelope(200, br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#).unwrap_err();
        assert!(e.message.contains("bad sample value"));
    }

    #[test]
    fn hostile_label_values_are_sanitised() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a\u001b[2Jb"},"value":[1,"1"]}]}}"#;
        assert_eq!(
            parse_envelope(200, body).unwrap().series[0].label("pod"),
            "ab"
        );
    }

    #[test]
    fn step_selection_respects_point_limit() {
        assert_eq!(choose_step(3600, 360, 1), 10);
        assert_eq!(choose_step(300, 360, 1), 1);
        assert_eq!(choose_step(300, 360, 5), 5);
        for range in [60, 3600, 86400, 7 * 86400, 90 * 86400, 400 * 86400] {
            for target in [1, 100, 1000, 100_000] {
                let step = choose_step(range, target, 1);
                assert!(
                    range / step < MAX_POINTS_PER_SERIES,
                    "range {range} target {target} step {step}"
                );
            }
        }
    }

    #[test]
    fn align_down_is_a_step_multiple() {
        assert_eq!(align_down(1_700_000_012_345, 10), 1_700_000_010_000);
        assert_eq!(align_down(-1, 10), -10_000);
    }
}
