//! The Loki HTTP adapter: query_range, labels, label values, series,
//! index/volume and patterns over reqwest, and the tail WebSocket over
//! tokio-tungstenite with the same auth, headers and tenant on the handshake.
//!
//! Loki answers errors in plain text: 400 carries the LogQL parse position
//! ("parse error at line 1, col 7: …"), 401 "no org id" means a tenant is
//! needed, 429 and 5xx are retried by the engine with backoff.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::config::Endpoint;
use crate::core::http::{build_client, display_host, net_error, read_body, request_headers};
use crate::core::{BoxFut, SourceError};
use crate::features::logs::client::wire::{
    self, Labels, MatrixSeries, QueryAnswer, ServerPattern, TailMessage,
};
use crate::features::logs::client::{LogsBackend, TailOpenError, TailStream};

const ENCODING_FLAGS: &str = "x-loki-response-encoding-flags";
/// Largest tail message accepted (Loki batches; a message is far smaller).
const MAX_TAIL_MESSAGE: usize = 16 << 20;

pub struct LokiClient {
    base: String,
    host: String,
    client: reqwest::Client,
    headers: HeaderMap,
    max_body: u64,
    timeout: Duration,
    /// Why the tail WebSocket cannot be used as configured (then: polling).
    no_ws: Option<String>,
}

impl LokiClient {
    /// Returns the client and warnings (TLS verification off).
    pub fn new(ep: &Endpoint) -> Result<(LokiClient, Vec<String>), String> {
        let (client, warnings) = build_client(ep)?;
        let mut headers = request_headers(ep)?;
        // reqwest turns URL userinfo into Basic auth by itself; the
        // WebSocket handshake needs it said
        if ep.bearer_token.is_none() && ep.basic.is_none() {
            if let Some(v) = url_basic_auth(&ep.url) {
                headers.insert(reqwest::header::AUTHORIZATION, v);
            }
        }
        let https = ep.url.starts_with("https:");
        let custom_tls =
            ep.ca_file.is_some() || ep.client_cert.is_some() || ep.insecure_skip_verify;
        let proxy = [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()));
        let no_ws = if https && custom_tls {
            Some("the tail WebSocket does not take the endpoint's TLS settings (ca_file, client certificate, insecure_skip_verify): polling".to_string())
        } else if proxy {
            Some("an HTTP(S) proxy is set: polling through it".to_string())
        } else {
            None
        };
        Ok((
            LokiClient {
                base: ep.url.trim_end_matches('/').to_string(),
                host: display_host(&ep.url),
                client,
                headers,
                max_body: ep.max_body_bytes,
                timeout: Duration::from_secs_f64(ep.timeout_secs),
                no_ws,
            },
            warnings,
        ))
    }

    /// The URL for display: without userinfo, secrets masked.
    pub fn base_url(&self) -> String {
        crate::text::redact::redact_url(&self.base)
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .client
            .get(&url)
            .query(params)
            .header(ENCODING_FLAGS, "categorize-labels")
            .send()
            .await
            .map_err(|e| net_error(&e, &self.host))?;
        let body = read_body(resp, self.max_body, &self.host).await?;
        if (200..300).contains(&body.status) {
            Ok(body.bytes)
        } else {
            Err(http_error(body.status, &body.bytes))
        }
    }

    async fn get_optional(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, SourceError> {
        match self.get(path, params).await {
            Ok(b) => Ok(Some(b)),
            // an older Loki (or a gateway) without this endpoint
            Err(e) if matches!(e.status, Some(404 | 405 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn ws_url(&self, params: &[(&str, String)]) -> Result<String, SourceError> {
        let mut u = reqwest::Url::parse(&format!("{}/loki/api/v1/tail", self.base))
            .map_err(|_| SourceError::msg("the Loki URL does not parse"))?;
        let scheme = if u.scheme() == "https" { "wss" } else { "ws" };
        u.set_scheme(scheme)
            .map_err(|_| SourceError::msg("the Loki URL cannot carry a WebSocket"))?;
        // credentials travel in headers, never in the handshake URL
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(u.to_string())
    }
}

/// A non-2xx answer: Loki's plain-text error, first line, cleaned, and what
/// it means for the user.
pub fn http_error(status: u16, body: &[u8]) -> SourceError {
    let text = String::from_utf8_lossy(body);
    let text = crate::text::display(text.trim());
    let first: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let looks_html = first.trim_start().starts_with('<');
    let mut message = if first.is_empty() || looks_html {
        match status {
            404 => "not a Loki API (no /loki/api/v1 here)".to_string(),
            _ => format!("{} answer", if looks_html { "an HTML" } else { "an empty" }),
        }
    } else {
        first
    };
    match status {
        401 | 403 if message.contains("org id") || message.contains("tenant") => {
            message.push_str(" (set the tenant: --loki-tenant or the profile's loki.tenant)")
        }
        401 | 403 => message.push_str(" (check the Loki credentials or tenant)"),
        429 => message.push_str(" (rate limited: retrying with backoff)"),
        _ => {}
    }
    SourceError {
        status: Some(status),
        kind: crate::core::ErrorKind::Unspecified,
        message,
    }
}

fn ns(t: i64) -> String {
    t.to_string()
}

impl LogsBackend for LokiClient {
    fn name(&self) -> &'static str {
        "loki"
    }

    fn query_range<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        forward: bool,
    ) -> BoxFut<'a, Result<Vec<wire::Entry>, SourceError>> {
        Box::pin(async move {
            let p = [
                ("query", query.to_string()),
                ("start", ns(start_ns)),
                ("end", ns(end_ns)),
                ("limit", limit.to_string()),
                (
                    "direction",
                    if forward { "forward" } else { "backward" }.into(),
                ),
            ];
            let body = self.get("/loki/api/v1/query_range", &p).await?;
            let (answer, left_out) = wire::parse_query_limited(&body, limit, forward)
                .map_err(|m| bad_answer(&self.host, m))?;
            if left_out > 0 {
                crate::info!(
                    "loki {}: query_range answered {left_out} entries beyond the limit of {limit}; not kept",
                    self.host
                );
            }
            match answer {
                QueryAnswer::Streams(e) => Ok(e),
                QueryAnswer::Matrix(_) => Err(SourceError::msg(
                    "a metric query where a log query was expected",
                )),
            }
        })
    }

    fn volume<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Option<Vec<MatrixSeries>>, SourceError>> {
        Box::pin(async move {
            let p = [
                (
                    "query",
                    crate::features::logs::client::logql::volume_query(query, step_secs),
                ),
                ("start", ns(start_ns)),
                ("end", ns(end_ns)),
                ("step", format!("{}s", step_secs.max(1))),
            ];
            let Some(body) = self.get_optional("/loki/api/v1/query_range", &p).await? else {
                return Ok(None);
            };
            match wire::parse_query(&body).map_err(|m| bad_answer(&self.host, m))? {
                QueryAnswer::Matrix(m) => Ok(Some(m)),
                QueryAnswer::Streams(_) => Ok(None),
            }
        })
    }

    fn patterns<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Option<Vec<ServerPattern>>, SourceError>> {
        Box::pin(async move {
            let sel = crate::features::logs::client::logql::selector_of(query).unwrap_or(query);
            let p = [
                ("query", sel.to_string()),
                ("start", ns(start_ns)),
                ("end", ns(end_ns)),
            ];
            match self.get_optional("/loki/api/v1/patterns", &p).await? {
                None => Ok(None),
                Some(body) => wire::parse_patterns(&body)
                    .map(Some)
                    .map_err(|m| bad_answer(&self.host, m)),
            }
        })
    }

    fn labels(&self, start_ns: i64, end_ns: i64) -> BoxFut<'_, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            let p = [("start", ns(start_ns)), ("end", ns(end_ns))];
            let body = self.get("/loki/api/v1/labels", &p).await?;
            wire::parse_strings(&body).map_err(|m| bad_answer(&self.host, m))
        })
    }

    fn label_values<'a>(
        &'a self,
        name: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            let path = format!("/loki/api/v1/label/{}/values", url_segment(name));
            let p = [("start", ns(start_ns)), ("end", ns(end_ns))];
            let body = self.get(&path, &p).await?;
            wire::parse_strings(&body).map_err(|m| bad_answer(&self.host, m))
        })
    }

    fn series<'a>(
        &'a self,
        selector: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<Labels>, SourceError>> {
        Box::pin(async move {
            let p = [
                ("match[]", selector.to_string()),
                ("start", ns(start_ns)),
                ("end", ns(end_ns)),
            ];
            let body = self.get("/loki/api/v1/series", &p).await?;
            wire::parse_series(&body).map_err(|m| bad_answer(&self.host, m))
        })
    }

    fn tail<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        limit: usize,
    ) -> BoxFut<'a, Result<Box<dyn TailStream>, TailOpenError>> {
        Box::pin(async move {
            if let Some(why) = &self.no_ws {
                return Err(TailOpenError::NoWebSocket(SourceError::msg(why.clone())));
            }
            let p = [
                ("query", query.to_string()),
                ("start", ns(start_ns)),
                ("limit", limit.to_string()),
                ("delay_for", "0".to_string()),
            ];
            let url = self.ws_url(&p).map_err(TailOpenError::Failed)?;
            let mut req = url
                .into_client_request()
                .map_err(|_| TailOpenError::Failed(SourceError::msg("bad tail request")))?;
            for (k, v) in &self.headers {
                req.headers_mut().insert(k.clone(), v.clone());
            }
            req.headers_mut().insert(
                HeaderName::from_static(ENCODING_FLAGS),
                HeaderValue::from_static("categorize-labels"),
            );
            let cfg = tungstenite::protocol::WebSocketConfig {
                max_message_size: Some(MAX_TAIL_MESSAGE),
                max_frame_size: Some(MAX_TAIL_MESSAGE),
                ..Default::default()
            };
            let connect = tokio_tungstenite::connect_async_with_config(req, Some(cfg), true);
            let (ws, _) = match tokio::time::timeout(self.timeout, connect).await {
                Err(_) => {
                    return Err(TailOpenError::Failed(SourceError::msg(format!(
                        "tail to {}: timed out opening the WebSocket",
                        self.host
                    ))))
                }
                Ok(Err(e)) => return Err(ws_open_error(e, &self.host, &self.base)),
                Ok(Ok(x)) => x,
            };
            Ok(Box::new(WsTail {
                ws,
                host: self.host.clone(),
            }) as Box<dyn TailStream>)
        })
    }
}

/// `Authorization: Basic …` from a URL's userinfo (percent-decoded), marked
/// sensitive; its secret forms are registered with the redactor already.
fn url_basic_auth(url: &str) -> Option<HeaderValue> {
    let u = reqwest::Url::parse(url).ok()?;
    let pass = u.password()?;
    let dec = crate::core::http::percent_decode;
    let raw = format!("{}:{}", dec(u.username()), dec(pass));
    let mut v = HeaderValue::from_str(&format!(
        "Basic {}",
        crate::core::http::base64(raw.as_bytes())
    ))
    .ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn bad_answer(host: &str, m: String) -> SourceError {
    SourceError::msg(format!("{host}: not a Loki answer ({m})"))
}

/// A path segment with everything but unreserved characters percent-encoded.
fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn ws_open_error(e: tungstenite::Error, host: &str, base: &str) -> TailOpenError {
    match e {
        // a redirect is never followed: the handshake carries the
        // credentials and tenant (the same rule as every HTTP request)
        tungstenite::Error::Http(resp) if resp.status().is_redirection() => {
            let to = reqwest::Url::parse(base)
                .map(|b| crate::core::http::redirect_target(&b, resp.headers()))
                .unwrap_or_else(|_| "elsewhere".into());
            TailOpenError::NoWebSocket(SourceError {
                status: Some(resp.status().as_u16()),
                kind: crate::core::ErrorKind::Redirect,
                message: format!("tail redirected to {to}, not followed"),
            })
        }
        tungstenite::Error::Http(resp) => {
            let status = resp.status().as_u16();
            let body = resp.body().as_deref().unwrap_or(&[]);
            let err = http_error(status, body);
            // a proxy that will not upgrade answers 400/404/405/426 (or a
            // 200 page); auth and rate limits are the server's own answer
            if matches!(status, 401 | 403 | 429) || status >= 500 {
                TailOpenError::Failed(err)
            } else {
                TailOpenError::NoWebSocket(err)
            }
        }
        tungstenite::Error::Io(io) => TailOpenError::Failed(SourceError::msg(format!(
            "cannot connect to {host}: {}",
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
                k => format!("{k}"),
            }
        ))),
        tungstenite::Error::Url(_) => {
            TailOpenError::Failed(SourceError::msg("the Loki URL cannot carry a WebSocket"))
        }
        tungstenite::Error::Protocol(p) => TailOpenError::NoWebSocket(SourceError::msg(format!(
            "tail to {host}: the WebSocket upgrade failed ({p})"
        ))),
        other => TailOpenError::Failed(SourceError::msg(format!(
            "tail to {host}: {}",
            crate::text::display(&other.to_string())
        ))),
    }
}

struct WsTail {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    host: String,
}

/// Without any frame (Loki pings every second) for this long, the
/// connection is taken for dead.
const TAIL_IDLE: Duration = Duration::from_secs(45);

impl TailStream for WsTail {
    fn next(&mut self) -> BoxFut<'_, Option<Result<TailMessage, SourceError>>> {
        Box::pin(async move {
            loop {
                let msg = match tokio::time::timeout(TAIL_IDLE, self.ws.next()).await {
                    Err(_) => {
                        return Some(Err(SourceError::msg(format!(
                            "tail to {}: no data or ping for {}s",
                            self.host,
                            TAIL_IDLE.as_secs()
                        ))))
                    }
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => {
                        return Some(Err(SourceError::msg(format!(
                            "tail to {}: {}",
                            self.host,
                            match e {
                                tungstenite::Error::ConnectionClosed
                                | tungstenite::Error::AlreadyClosed => "closed".to_string(),
                                tungstenite::Error::Io(io) => format!("{}", io.kind()),
                                tungstenite::Error::Capacity(_) =>
                                    "a message over the 16 MiB cap".to_string(),
                                other => crate::text::display(&other.to_string()).into_owned(),
                            }
                        ))))
                    }
                    Ok(Some(Ok(m))) => m,
                };
                match msg {
                    tungstenite::Message::Text(t) => {
                        return Some(wire::parse_tail(&t).map_err(|m| bad_answer(&self.host, m)))
                    }
                    tungstenite::Message::Binary(b) => {
                        return Some(
                            std::str::from_utf8(&b)
                                .map_err(|_| "binary frame".to_string())
                                .and_then(wire::parse_tail)
                                .map_err(|m| bad_answer(&self.host, m)),
                        )
                    }
                    tungstenite::Message::Close(_) => return None,
                    // pings are answered by tungstenite on the next read
                    _ => continue,
                }
            }
        })
    }
}
