//! The shared reqwest client: auth, headers, TLS, timeouts, gzip.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::config::Endpoint;

/// Builds the client for one endpoint. Secrets are resolved here, go into
/// headers marked sensitive, and never into an error message.
/// Returns the client and warnings to show (e.g. TLS verification off).
pub fn build_client(ep: &Endpoint) -> Result<(reqwest::Client, Vec<String>), String> {
    let mut headers = HeaderMap::new();
    let mut warnings = Vec::new();
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
    let mut b = reqwest::Client::builder()
        .default_headers(headers)
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
        warnings.push(format!("TLS verification is OFF for {}", ep.url));
        b = b.danger_accept_invalid_certs(true);
    }
    let client = b.build().map_err(|e| format!("HTTP client: {e}"))?;
    Ok((client, warnings))
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
