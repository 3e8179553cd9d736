//! The shared reqwest client: auth, headers, TLS, timeouts, gzip.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::config::Endpoint;
use crate::core::{ErrorKind, SourceError};
use crate::text::redact;
use crate::text::units::format_bytes;

/// Builds the client for one endpoint. Secrets are resolved here, go into
/// headers marked sensitive, and never into an error message.
/// Returns the client and warnings to show (e.g. TLS verification off).
pub fn build_client(ep: &Endpoint) -> Result<(reqwest::Client, Vec<String>), String> {
    build(ep).map_err(|e| with_origin(ep, &e))
}

/// An endpoint's error, cleaned, prefixed with where it was configured.
fn with_origin(ep: &Endpoint, e: &str) -> String {
    let e = crate::text::display(e).into_owned();
    if ep.origin.is_empty() {
        e
    } else {
        format!("{}: {e}", ep.origin)
    }
}

fn headers(ep: &Endpoint) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    register_url_secrets(&ep.url);
    if let Some(tok) = &ep.bearer_token {
        let s = tok
            .resolve()
            .map_err(|e| format!("bearer token ({tok:?}): {e}"))?;
        let mut v = HeaderValue::from_str(&format!("Bearer {}", s.expose())).map_err(|_| {
            format!("bearer token ({tok:?}) contains characters not allowed in a header")
        })?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    if let Some((user, pass)) = &ep.basic {
        let p = pass
            .resolve()
            .map_err(|e| format!("basic password ({pass:?}): {e}"))?;
        let raw = format!("{user}:{}", p.expose());
        // the password was registered when resolved; the header value
        // derived from it is a secret of its own
        redact::Secrets::register(&base64(raw.as_bytes()));
        let mut v =
            HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes()))).map_err(|_| {
                "basic credentials contain characters not allowed in a header".to_string()
            })?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    for (name, r) in &ep.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        let s = r
            .resolve()
            .map_err(|e| format!("header {name} ({r:?}): {e}"))?;
        let mut v = HeaderValue::from_str(s.expose())
            .map_err(|_| format!("header {name} ({r:?}) has characters not allowed in a header"))?;
        v.set_sensitive(true);
        headers.insert(n, v);
    }
    if let Some(t) = &ep.tenant {
        let v = HeaderValue::from_str(t)
            .map_err(|_| "tenant has characters not allowed in a header".to_string())?;
        headers.insert(HeaderName::from_static("x-scope-orgid"), v);
    }
    Ok(headers)
}

/// The headers every request to `ep` carries (auth, configured headers,
/// tenant), secrets marked sensitive; for handshakes made without reqwest
/// (the Loki tail WebSocket).
pub fn request_headers(ep: &Endpoint) -> Result<HeaderMap, String> {
    headers(ep).map_err(|e| with_origin(ep, &e))
}

/// How a client treats a 3xx answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Follow redirects within the endpoint's origin (scheme, host and port
    /// all equal), up to 10; a redirect anywhere else is returned as it came
    /// (and [`read_body`] turns it into an error): the configured headers
    /// (API keys, tenant) never reach another origin.
    SameOrigin,
    /// Never follow: the answer is the 3xx itself (probes report it).
    None,
}

/// The redirect policy: same-origin hops only. reqwest drops
/// `Authorization` on a host change but keeps every other default header,
/// so a cross-origin hop is refused here, before any request is made.
fn redirect_policy(r: Redirects) -> reqwest::redirect::Policy {
    match r {
        Redirects::None => reqwest::redirect::Policy::none(),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(|u| u.origin());
            if attempt.previous().len() > 10 {
                attempt.error("more than 10 redirects")
            } else if first.is_some_and(|o| o != attempt.url().origin()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }),
    }
}

fn build(ep: &Endpoint) -> Result<(reqwest::Client, Vec<String>), String> {
    build_with(ep, Redirects::SameOrigin)
}

/// [`build_client`] with a given redirect rule (probes never follow).
pub fn build_client_with(
    ep: &Endpoint,
    redirects: Redirects,
) -> Result<(reqwest::Client, Vec<String>), String> {
    build_with(ep, redirects).map_err(|e| with_origin(ep, &e))
}

fn build_with(
    ep: &Endpoint,
    redirects: Redirects,
) -> Result<(reqwest::Client, Vec<String>), String> {
    let headers = headers(ep)?;
    let mut warnings = Vec::new();
    let mut b = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(redirect_policy(redirects))
        // never tell another server where the request came from (the URL
        // holds the query, and may hold a token)
        .referer(false)
        .timeout(Duration::from_secs_f64(ep.timeout_secs))
        .connect_timeout(Duration::from_secs_f64(ep.timeout_secs.min(5.0)))
        .gzip(true)
        .pool_max_idle_per_host(ep.max_concurrency)
        .user_agent(concat!("watchfloor/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &ep.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        b = b.add_root_certificate(cert);
    }
    if let (Some(cert), Some(key)) = (&ep.client_cert, &ep.client_key) {
        let mut pem =
            std::fs::read(cert).map_err(|e| format!("client_cert {}: {e}", cert.display()))?;
        pem.extend(std::fs::read(key).map_err(|e| format!("client_key {}: {e}", key.display()))?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("client certificate/key: {e}"))?;
        b = b.identity(id);
    }
    if ep.insecure_skip_verify {
        warnings.push(format!(
            "TLS verification is OFF for {}",
            redact::redact_url(&ep.url)
        ));
        b = b.danger_accept_invalid_certs(true);
    }
    let client = b.build().map_err(|e| format!("HTTP client: {e}"))?;
    Ok((client, warnings))
}

/// Registers the password (or token) in a URL's userinfo with the redactor,
/// raw, percent-decoded and as the basic-auth header value it becomes.
pub fn register_url_secrets(url: &str) {
    let Ok(u) = reqwest::Url::parse(url) else {
        return;
    };
    let user = u.username().to_string();
    if let Some(p) = u.password() {
        redact::Secrets::register(p);
        let dec = percent_decode(p);
        redact::Secrets::register(&dec);
        let udec = percent_decode(&user);
        redact::Secrets::register(&base64(format!("{udec}:{dec}").as_bytes()));
    } else if !user.is_empty() {
        // a bare token as the user part (https://TOKEN@host)
        redact::Secrets::register(&user);
    }
}

/// A query value percent-encoded (everything but RFC 3986's unreserved
/// characters).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP answer read whole, within the endpoint's body cap.
pub struct Body {
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Reads a response body chunk by chunk and refuses it once it passes `cap`
/// bytes, so a flood never materialises in full (the connection is dropped).
pub async fn read_body(
    mut resp: reqwest::Response,
    cap: u64,
    host: &str,
) -> Result<Body, SourceError> {
    let status = resp.status().as_u16();
    // 304 Not Modified is no redirect (nothing conditional is asked)
    if resp.status().is_redirection() && status != 304 {
        return Err(redirect_error(&resp));
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| crate::text::sanitize(s).into_owned());
    let too_big = |n: u64| SourceError {
        status: Some(status),
        kind: ErrorKind::TooLarge,
        message: format!(
            "answer larger than the {} body cap ({} so far): narrow the query or raise max_body",
            format_bytes(cap as f64),
            format_bytes(n as f64)
        ),
    };
    if let Some(len) = resp.content_length() {
        if len > cap {
            return Err(too_big(len));
        }
    }
    let mut bytes = Vec::with_capacity(resp.content_length().unwrap_or(0).min(cap) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(|e| net_error(&e, host))? {
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Err(too_big((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        status,
        content_type,
        bytes,
    })
}

/// A 3xx answer that was not followed: where it pointed (host and port
/// only: the Location may carry a token), never followed.
pub fn redirect_error(resp: &reqwest::Response) -> SourceError {
    let to = redirect_target(resp.url(), resp.headers());
    SourceError {
        status: Some(resp.status().as_u16()),
        kind: ErrorKind::Redirect,
        message: format!("redirected to {to}, not followed"),
    }
}

/// `scheme://host:port` a 3xx points to (relative locations resolved
/// against `base`), or a word saying it had none.
pub fn redirect_target(base: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> String {
    let Some(loc) = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return "nowhere (no Location)".into();
    };
    match base.join(loc) {
        Ok(u) => {
            let host = display_host(u.as_str());
            if u.scheme() != base.scheme() {
                format!("{}://{host}", u.scheme())
            } else {
                host
            }
        }
        Err(_) => "an unparsable Location".into(),
    }
}

/// `host:port` of a URL for messages: never the userinfo, path or query.
pub fn display_host(url: &str) -> String {
    crate::config::host_port(url)
}

/// A transport error in words an on-call engineer reads at a glance: the
/// cause (refused, reset, timed out, TLS, DNS) and the host, never the URL
/// (it may hold userinfo or tokens in its query).
pub fn net_error(e: &reqwest::Error, host: &str) -> SourceError {
    let mut chain = Vec::new();
    let mut io_kind = None;
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        chain.push(s.to_string().to_ascii_lowercase());
        src = s.source();
    }
    let all = chain.join(" / ");
    use std::io::ErrorKind as K;
    let cause = if e.is_timeout() || io_kind == Some(K::TimedOut) {
        "timed out".to_string()
    } else if io_kind == Some(K::ConnectionRefused) || all.contains("connection refused") {
        "connection refused".into()
    } else if io_kind == Some(K::ConnectionReset) || all.contains("connection reset") {
        "connection reset by peer".into()
    } else if all.contains("dns error") || all.contains("failed to lookup") {
        "DNS lookup failed (no such host?)".into()
    } else if all.contains("certificate")
        || all.contains("tls")
        || all.contains("handshake")
        || all.contains("invalidcontenttype")
    {
        let detail = chain
            .iter()
            .rev()
            .find(|c| !c.is_empty())
            .cloned()
            .unwrap_or_default();
        let detail: String = detail.chars().take(120).collect();
        format!("TLS failed: {detail}")
    } else if all.contains("connection closed")
        || all.contains("incomplete message")
        || io_kind == Some(K::UnexpectedEof)
        || io_kind == Some(K::BrokenPipe)
    {
        "the server closed the connection mid-answer".into()
    } else if e.is_decode() {
        "the answer's encoding is broken (bad gzip?)".into()
    } else if e.is_body() {
        "the answer was cut off".into()
    } else if e.is_connect() {
        let last = chain.last().cloned().unwrap_or_default();
        format!(
            "cannot connect: {}",
            last.chars().take(120).collect::<String>()
        )
    } else {
        let last = chain
            .last()
            .cloned()
            .unwrap_or_else(|| "request failed".into());
        last.chars().take(120).collect()
    };
    let verb = if e.is_connect() || cause.starts_with("DNS") || cause == "connection refused" {
        "cannot connect to"
    } else {
        "request to"
    };
    SourceError::msg(crate::text::sanitize(&format!("{verb} {host}: {cause}")).into_owned())
}

/// Standard base64 (for basic auth), so we need no extra crate for one header.
pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn missing_secret_names_reference_only() {
        let mut ep = Endpoint::plain("http://127.0.0.1:1");
        ep.bearer_token = Some(crate::config::SecretRef::Env("WF_NO_SUCH_TOKEN_VAR".into()));
        let err = build_client(&ep).unwrap_err();
        assert!(err.contains("env:WF_NO_SUCH_TOKEN_VAR"), "{err}");
    }

    #[test]
    fn insecure_skip_verify_warns() {
        let mut ep = Endpoint::plain("https://127.0.0.1:1");
        ep.insecure_skip_verify = true;
        let (_, w) = build_client(&ep).unwrap();
        assert!(w[0].contains("TLS verification is OFF"));
    }
}
