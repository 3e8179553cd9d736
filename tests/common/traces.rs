//! Loopback Jaeger and Tempo query APIs, and one trace written in each of
//! their four answers, as the upstream servers write them:
//!
//! - Jaeger v1 `/api/traces/{id}`: `{"data":[{"traceID","spans":[…],
//!   "processes":{"p1":…},"warnings":null}],"total":0,"limit":0,
//!   "offset":0,"errors":null}`; µs times; `references` CHILD_OF; typed
//!   tags (`string`, `bool`, `int64`, `float64`), int64 beyond 2^53 as a
//!   string; `span.kind`, `error` and `otel.status_*` as tags; span logs
//!   with an `event` field. Not found: 404 with `"data":null` and
//!   `"errors":[{"code":404,"msg":"trace not found"}]`.
//! - Jaeger v3 `/api/v3/traces/{id}`: the grpc-gateway stream, one
//!   `{"result":{"resourceSpans":[…]}}` per chunk; hex ids; `kind` as a
//!   number; times as strings; status `code` a number. Not found: 404
//!   `{"error":{"httpCode":404,"grpcCode":5,"message":"trace not found"}}`.
//! - Tempo v1 `/api/traces/{id}`: `{"batches":[…]}`, base64 ids, enum names
//!   (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`). Not found: 404, text.
//! - Tempo v2 `/api/v2/traces/{id}`: `{"trace":{"resourceSpans":[…]},
//!   "status":"COMPLETE"}`.
//!
//! Tempo answers `/api/echo` with `echo`; Jaeger has no such route (its
//! router's `404 page not found`).

use std::sync::Arc;

use serde_json::{json, Value};

use super::http::{handler, serve, Response};

/// A tag value.
#[derive(Debug, Clone)]
pub enum Val {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    Float(f64),
}

#[derive(Debug, Clone)]
pub struct FSpan {
    pub id: u64,
    pub parent: Option<u64>,
    pub service: &'static str,
    pub name: &'static str,
    /// `server`, `client`, `internal`, `producer`, `consumer`.
    pub kind: &'static str,
    /// µs since the epoch (Jaeger's unit, so every format says the same).
    pub start_us: i64,
    pub dur_us: i64,
    pub error: Option<&'static str>,
    pub attrs: Vec<(&'static str, Val)>,
    /// (µs, name, attrs)
    pub events: Vec<FEvent>,
}

/// (µs, name, attrs)
pub type FEvent = (i64, &'static str, Vec<(&'static str, Val)>);

#[derive(Debug, Clone)]
pub struct FTrace {
    pub id: u128,
    pub spans: Vec<FSpan>,
}

impl FTrace {
    pub fn hex(&self) -> String {
        format!("{:032x}", self.id)
    }
}

/// A checkout: a gateway calling two services, one of which fails, with
/// attributes of every type (an int64 beyond 2^53 among them) and events.
pub fn checkout() -> FTrace {
    let t0 = 1_796_519_400_000_000i64;
    let s = |id, parent, service, name, kind, start, dur| FSpan {
        id,
        parent,
        service,
        name,
        kind,
        start_us: t0 + start,
        dur_us: dur,
        error: None,
        attrs: vec![],
        events: vec![],
    };
    let mut root = s(
        0x1a,
        None,
        "gateway",
        "POST /checkout",
        "server",
        0,
        250_000,
    );
    root.attrs = vec![
        ("http.method", Val::Str("POST")),
        ("http.status_code", Val::Int(500)),
        ("thread_id", Val::Str("th-42")),
    ];
    let mut cart = s(0x2b, Some(0x1a), "cart", "GetCart", "client", 5_000, 55_000);
    cart.attrs = vec![("cart.items", Val::Int(3)), ("cache.hit", Val::Bool(true))];
    let mut pay = s(
        0x3c,
        Some(0x1a),
        "payments",
        "Charge",
        "server",
        50_000,
        190_000,
    );
    pay.error = Some("card declined");
    pay.attrs = vec![
        ("amount", Val::Float(12.5)),
        ("ledger.seq", Val::Int(9_007_199_254_740_993)),
    ];
    pay.events = vec![(
        t0 + 200_000,
        "exception",
        vec![("exception.message", Val::Str("declined by issuer"))],
    )];
    let db = s(
        0x4d,
        Some(0x3c),
        "payments",
        "SELECT ledger",
        "internal",
        60_000,
        30_000,
    );
    FTrace {
        id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
        spans: vec![root, cart, pay, db],
    }
}

/// The same checkout when it went well: payments answered in 20 ms.
pub fn checkout_fast() -> FTrace {
    let mut t = checkout();
    t.id = 0x0af7651916cd43dd8448eb211c80319c;
    for s in &mut t.spans {
        s.error = None;
        match s.name {
            "POST /checkout" => s.dur_us = 80_000,
            "Charge" => s.dur_us = 20_000,
            "SELECT ledger" => s.dur_us = 5_000,
            _ => {}
        }
    }
    t
}

fn hex16(id: u64) -> String {
    format!("{id:016x}")
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn jaeger_tag(k: &str, v: &Val) -> Value {
    match v {
        Val::Str(s) => json!({"key": k, "type": "string", "value": s}),
        // Jaeger writes int64 as a number; beyond 2^53 a JSON reader
        // would lose digits, so it is a string there
        Val::Int(i) if i.unsigned_abs() > 1 << 53 => {
            json!({"key": k, "type": "int64", "value": i.to_string()})
        }
        Val::Int(i) => json!({"key": k, "type": "int64", "value": i}),
        Val::Bool(b) => json!({"key": k, "type": "bool", "value": b}),
        Val::Float(f) => json!({"key": k, "type": "float64", "value": f}),
    }
}

fn otlp_value(v: &Val) -> Value {
    match v {
        Val::Str(s) => json!({"stringValue": s}),
        Val::Int(i) => json!({"intValue": i.to_string()}),
        Val::Bool(b) => json!({"boolValue": b}),
        Val::Float(f) => json!({"doubleValue": f}),
    }
}

fn otlp_attrs(a: &[(&str, Val)]) -> Value {
    Value::Array(
        a.iter()
            .map(|(k, v)| json!({"key": k, "value": otlp_value(v)}))
            .collect(),
    )
}

pub fn jaeger_v1(t: &FTrace) -> Value {
    let mut services: Vec<&str> = vec![];
    for s in &t.spans {
        if !services.contains(&s.service) {
            services.push(s.service);
        }
    }
    let processes: serde_json::Map<String, Value> = services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("p{}", i + 1),
                json!({"serviceName": s, "tags": [
                    {"key": "telemetry.sdk.language", "type": "string", "value": "rust"}]}),
            )
        })
        .collect();
    let spans: Vec<Value> = t
        .spans
        .iter()
        .map(|s| {
            let mut tags: Vec<Value> = s.attrs.iter().map(|(k, v)| jaeger_tag(k, v)).collect();
            tags.push(json!({"key": "span.kind", "type": "string", "value": s.kind}));
            if let Some(m) = s.error {
                tags.push(json!({"key": "error", "type": "bool", "value": true}));
                tags.push(json!({"key": "otel.status_code", "type": "string", "value": "ERROR"}));
                tags.push(json!({"key": "otel.status_description", "type": "string", "value": m}));
            }
            let refs: Vec<Value> = s
                .parent
                .iter()
                .map(|p| json!({"refType": "CHILD_OF", "traceID": t.hex(), "spanID": hex16(*p)}))
                .collect();
            let logs: Vec<Value> = s
                .events
                .iter()
                .map(|(at, name, a)| {
                    let mut f: Vec<Value> =
                        vec![json!({"key": "event", "type": "string", "value": name})];
                    f.extend(a.iter().map(|(k, v)| jaeger_tag(k, v)));
                    json!({"timestamp": at, "fields": f})
                })
                .collect();
            let pid = services.iter().position(|x| *x == s.service).unwrap() + 1;
            json!({"traceID": t.hex(), "spanID": hex16(s.id), "operationName": s.name,
                "references": refs, "startTime": s.start_us, "duration": s.dur_us,
                "tags": tags, "logs": logs, "processID": format!("p{pid}"), "warnings": null,
                "flags": 1})
        })
        .collect();
    json!({"data": [{"traceID": t.hex(), "spans": spans, "processes": processes, "warnings": null}],
        "total": 0, "limit": 0, "offset": 0, "errors": null})
}

/// OTLP resource spans: `hex` ids as hex (Jaeger v3) or base64 (Tempo);
/// `enums`: kind and status as names (Tempo) or numbers (Jaeger v3).
pub fn otlp(t: &FTrace, hex_ids: bool, enums: bool) -> Value {
    let id = |bytes: &[u8]| {
        if hex_ids {
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        } else {
            b64(bytes)
        }
    };
    let kind = |k: &str| -> Value {
        let n = ["", "internal", "server", "client", "producer", "consumer"]
            .iter()
            .position(|x| *x == k)
            .unwrap_or(0);
        if enums {
            json!(format!("SPAN_KIND_{}", k.to_uppercase()))
        } else {
            json!(n)
        }
    };
    let mut services: Vec<&str> = vec![];
    for s in &t.spans {
        if !services.contains(&s.service) {
            services.push(s.service);
        }
    }
    let rs: Vec<Value> = services
        .iter()
        .map(|svc| {
            let spans: Vec<Value> = t
                .spans
                .iter()
                .filter(|s| s.service == *svc)
                .map(|s| {
                    let mut v = json!({
                        "traceId": id(&t.id.to_be_bytes()),
                        "spanId": id(&s.id.to_be_bytes()),
                        "name": s.name,
                        "kind": kind(s.kind),
                        "startTimeUnixNano": (s.start_us * 1000).to_string(),
                        "endTimeUnixNano": ((s.start_us + s.dur_us) * 1000).to_string(),
                        "attributes": otlp_attrs(&s.attrs),
                        "events": s.events.iter().map(|(at, name, a)| json!({
                            "timeUnixNano": (at * 1000).to_string(), "name": name,
                            "attributes": otlp_attrs(a)})).collect::<Vec<_>>(),
                        "status": {}
                    });
                    if let Some(p) = s.parent {
                        v["parentSpanId"] = json!(id(&p.to_be_bytes()));
                    }
                    if let Some(m) = s.error {
                        v["status"] = if enums {
                            json!({"code": "STATUS_CODE_ERROR", "message": m})
                        } else {
                            json!({"code": 2, "message": m})
                        };
                    }
                    v
                })
                .collect();
            json!({"resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": svc}},
                    {"key": "telemetry.sdk.language", "value": {"stringValue": "rust"}}]},
                "scopeSpans": [{"scope": {"name": "app"}, "spans": spans}]})
        })
        .collect();
    Value::Array(rs)
}

/// Jaeger v3's stream: one `result` per resource, as separate chunks.
pub fn jaeger_v3(t: &FTrace) -> String {
    let Value::Array(rs) = otlp(t, true, false) else {
        unreachable!()
    };
    rs.into_iter()
        .map(|r| json!({"result": {"resourceSpans": [r]}}).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn tempo_v1(t: &FTrace) -> Value {
    json!({"batches": otlp(t, false, true)})
}

pub fn tempo_v2(t: &FTrace) -> Value {
    json!({"trace": {"resourceSpans": otlp(t, false, true)}, "status": "COMPLETE"})
}

/// Which server a fake is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flavour {
    /// v1 and v3.
    Jaeger,
    /// v3 only (v1 is a missing route).
    JaegerV3Only,
    /// v2 and v1, `/api/echo`.
    Tempo,
    /// A Tempo before 2.5: no v2 route.
    TempoV1Only,
}

/// Serves `traces` as `flavour`; returns the base URL.
pub async fn serve_traces(flavour: Flavour, traces: Vec<FTrace>) -> String {
    let traces = Arc::new(traces);
    serve(handler(move |req| {
        let traces = traces.clone();
        async move {
            let path = req.path().to_string();
            let no_route = || Response::new(404, "text/plain; charset=utf-8", "404 page not found\n");
            let tempo = matches!(flavour, Flavour::Tempo | Flavour::TempoV1Only);
            if path == "/api/echo" {
                return if tempo {
                    Response::new(200, "text/plain", "echo")
                } else {
                    no_route()
                };
            }
            if path == "/api/search" && tempo {
                return tempo_search(&traces, &req.target);
            }
            if path == "/api/traces" && !tempo {
                return jaeger_search(&traces, &req.target);
            }
            let (api, id) = if let Some(id) = path.strip_prefix("/api/v3/traces/") {
                ("v3", id)
            } else if let Some(id) = path.strip_prefix("/api/v2/traces/") {
                ("v2", id)
            } else if let Some(id) = path.strip_prefix("/api/traces/") {
                ("v1", id)
            } else {
                return no_route();
            };
            let served = matches!(
                (flavour, api),
                (Flavour::Jaeger, "v1" | "v3")
                    | (Flavour::JaegerV3Only, "v3")
                    | (Flavour::Tempo, "v1" | "v2")
                    | (Flavour::TempoV1Only, "v1")
            );
            if !served {
                return no_route();
            }
            let found = traces.iter().find(|t| t.hex() == id.to_ascii_lowercase());
            match (flavour, api, found) {
                (_, "v3", Some(t)) => Response::json(200, jaeger_v3(t)),
                (_, "v3", None) => Response::json(
                    404,
                    r#"{"error":{"httpCode":404,"grpcCode":5,"message":"trace not found"}}"#,
                ),
                (Flavour::Jaeger, _, Some(t)) => Response::json(200, jaeger_v1(t).to_string()),
                (Flavour::Jaeger, _, None) => Response::json(
                    404,
                    r#"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}"#,
                ),
                (_, "v2", Some(t)) => Response::json(200, tempo_v2(t).to_string()),
                (_, _, Some(t)) => Response::json(200, tempo_v1(t).to_string()),
                (_, _, None) => Response::new(404, "text/plain", "trace not found"),
            }
        }
    }))
    .await
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| watchfloor::core::http::percent_decode(v))
    })
}

fn has_attr(t: &FTrace, k: &str, v: &str) -> bool {
    t.spans.iter().any(|s| {
        s.attrs
            .iter()
            .any(|(a, x)| *a == k && matches!(x, Val::Str(y) if *y == v))
    })
}

/// A TraceQL duration (`500ms`, `1s`, `2m`) in µs.
fn traceql_duration_us(v: &str) -> Option<i64> {
    let split = v.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let n: f64 = v[..split].parse().ok()?;
    let unit = match &v[split..] {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 6e7,
        "h" => 3.6e9,
        _ => return None,
    };
    Some((n * unit) as i64)
}

/// Tempo's search: `q` a TraceQL of `span.K = "V"`,
/// `resource.service.name = "S"`, `name = "OP"`, `status = error` and
/// `traceDuration >= D` joined by `&&`; anything else is Tempo's parse
/// error. Trace ids written as Tempo does in search results, without
/// leading zeros.
fn tempo_search(traces: &[FTrace], target: &str) -> Response {
    let q = query_param(target, "q").unwrap_or_default();
    let conds: Vec<(String, String)> = q
        .trim_matches(|c| c == '{' || c == '}' || c == ' ')
        .split("&&")
        .filter_map(|c| {
            let (k, v) = c.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect();
    let known = |k: &str, v: &str| {
        k.starts_with("span.")
            || k == "resource.service.name"
            || k == "name"
            || (k == "status" && v == "error")
            || (k == "traceDuration >" && traceql_duration_us(v).is_some())
    };
    if conds.is_empty() || !conds.iter().all(|(k, v)| known(k, v)) {
        return Response::new(400, "text/plain", "invalid TraceQL query: parse error");
    }
    // one spanset: a span of the service has the name
    let service = conds
        .iter()
        .find(|(k, _)| k == "resource.service.name")
        .map(|(_, v)| v.clone());
    let hits: Vec<Value> = traces
        .iter()
        .filter(|t| {
            conds.iter().all(|(k, v)| match k.strip_prefix("span.") {
                Some(attr) => has_attr(t, attr, v),
                None => match k.as_str() {
                    "resource.service.name" => t.spans.iter().any(|s| s.service == v),
                    "name" => t
                        .spans
                        .iter()
                        .any(|s| s.name == v && service.as_deref().is_none_or(|x| s.service == x)),
                    "status" => t.spans.iter().any(|s| s.error.is_some()),
                    _ => t.spans[0].dur_us >= traceql_duration_us(v).unwrap_or(0),
                },
            })
        })
        .map(|t| {
            let root = &t.spans[0];
            let mut v = json!({
                "traceID": format!("{:x}", t.id),
                "rootServiceName": root.service,
                "rootTraceName": root.name,
                "startTimeUnixNano": (root.start_us * 1000).to_string(),
            });
            if root.dur_us >= 1000 {
                v["durationMs"] = json!(root.dur_us / 1000);
            }
            v
        })
        .collect();
    Response::json(
        200,
        json!({"traces": hits, "metrics": {"inspectedBytes": "1024"}}).to_string(),
    )
}

/// Jaeger's search: whole traces of `service` (and its `operation`) with
/// `tags` (JSON; the `error` tag is the bool Jaeger writes on failed
/// spans) and at least `minDuration` long; without a service, Jaeger's 400.
fn jaeger_search(traces: &[FTrace], target: &str) -> Response {
    let Some(service) = query_param(target, "service") else {
        return Response::json(
            400,
            r#"{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter 'service' is required"}]}"#,
        );
    };
    let tags: serde_json::Map<String, Value> = query_param(target, "tags")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let data: Vec<Value> = traces
        .iter()
        .filter(|t| t.spans.iter().any(|s| s.service == service))
        .filter(|t| {
            tags.iter().all(|(k, v)| match (k.as_str(), v.as_str()) {
                ("error", Some("true")) => t.spans.iter().any(|s| s.error.is_some()),
                (_, Some(v)) => has_attr(t, k, v),
                _ => false,
            })
        })
        .filter(|t| {
            let min = query_param(target, "minDuration").and_then(|d| traceql_duration_us(&d));
            min.is_none_or(|m| t.spans[0].dur_us >= m)
        })
        // an operation of that service
        .filter(|t| {
            query_param(target, "operation")
                .is_none_or(|op| t.spans.iter().any(|s| s.service == service && s.name == op))
        })
        .map(|t| jaeger_v1(t)["data"][0].clone())
        .collect();
    Response::json(
        200,
        json!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": null}).to_string(),
    )
}
