//! The trace backend over HTTP: Jaeger (`/api/traces/{id}`, else
//! `/api/v3/traces/{id}`) or Tempo (`/api/v2/traces/{id}`, else
//! `/api/traces/{id}` on a Tempo older than 2.5), told by `--traces-kind`
//! or found out once from the API (Tempo answers `/api/echo` with `echo`).
//! Answers are read within the endpoint's body cap (256 MiB by default).

pub mod search;
pub mod wire;

use tokio::sync::OnceCell;

use crate::config::Endpoint;
use crate::core::http::{build_client, display_host, net_error, read_body};
use crate::core::{BoxFut, ErrorKind, SourceError};
use wire::{decode, WireError};

use super::tree::{build, Trace};

/// Which API the backend speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jaeger,
    Tempo,
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        match s.to_ascii_lowercase().as_str() {
            "jaeger" => Ok(Kind::Jaeger),
            "tempo" => Ok(Kind::Tempo),
            _ => Err(format!("`{s}`: expected jaeger or tempo")),
        }
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jaeger => "jaeger",
            Kind::Tempo => "tempo",
        }
    }
}

/// What the traces feature asks of its backend.
pub trait TracesBackend: Send + Sync {
    /// One trace by id (any case, 16 or 32 hex digits).
    fn trace<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Trace, SourceError>>;
    /// For the header: `jaeger`, `tempo`, or the configured kind.
    fn describe(&self) -> String;
    /// The traces a query finds, slowest first.
    fn search<'a>(
        &'a self,
        q: &'a search::Query,
    ) -> BoxFut<'a, Result<Vec<search::Summary>, SourceError>>;
}

pub struct HttpTraces {
    client: reqwest::Client,
    base: String,
    host: String,
    cap: u64,
    kind: OnceCell<Kind>,
}

impl HttpTraces {
    pub fn new(ep: &Endpoint, kind: Option<Kind>) -> Result<HttpTraces, String> {
        let (client, _warnings) = build_client(ep)?;
        let kinds = OnceCell::new();
        if let Some(k) = kind {
            let _ = kinds.set(k);
        }
        Ok(HttpTraces {
            client,
            base: ep.url.trim_end_matches('/').to_string(),
            host: display_host(&ep.url),
            cap: ep.max_body_bytes,
            kind: kinds,
        })
    }

    async fn get(&self, path: &str) -> Result<(u16, Vec<u8>), SourceError> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| net_error(&e, &self.host))?;
        let body = read_body(resp, self.cap, &self.host).await?;
        Ok((body.status, body.bytes))
    }

    /// Tempo answers `/api/echo` with `echo`; anything else is Jaeger.
    async fn kind(&self) -> Result<Kind, SourceError> {
        self.kind
            .get_or_try_init(|| async {
                let (status, body) = self.get("/api/echo").await?;
                Ok(if status == 200 && body.trim_ascii() == b"echo" {
                    Kind::Tempo
                } else {
                    Kind::Jaeger
                })
            })
            .await
            .copied()
    }

    /// The trace from the first path whose route exists: a 404 that is
    /// not JSON and does not say "trace" is a missing route (an older
    /// server), and the next path is tried.
    async fn fetch(&self, id: &str, paths: &[String]) -> Result<Trace, SourceError> {
        let mut last = None;
        for path in paths {
            let (status, body) = self.get(path).await?;
            let no_route = status == 404 && !looks_like_trace_answer(&body);
            if no_route {
                last = Some(status);
                continue;
            }
            return answer(id, status, &body);
        }
        Err(SourceError {
            status: last,
            kind: ErrorKind::Unspecified,
            message: "the trace API is not there (is this Jaeger or Tempo? see --traces-kind)"
                .into(),
        })
    }
}

/// A 404 of the trace API itself (JSON, or Tempo's text naming the trace),
/// not of an unknown route (`404 page not found`).
fn looks_like_trace_answer(body: &[u8]) -> bool {
    let t = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    t.trim_start().starts_with('{') || (t.contains("trace") && !t.contains("page not found"))
}

/// An answer into a trace, or the error to show.
fn answer(id: &str, status: u16, body: &[u8]) -> Result<Trace, SourceError> {
    let err = |status: u16, message: String| SourceError {
        status: Some(status),
        kind: ErrorKind::Unspecified,
        message,
    };
    match decode(body) {
        Ok(d) => Ok(build(id, d.spans, d.warnings, d.partial)),
        Err(WireError::NotFound) => Err(err(status, wire::NOT_FOUND.into())),
        Err(_) if status == 404 => Err(err(status, wire::NOT_FOUND.into())),
        Err(e @ WireError::Backend(_)) => Err(err(status, e.to_string())),
        // not an answer of the API (a proxy's page): its start, cleaned
        Err(_) if status >= 400 => {
            let text = crate::text::display(&String::from_utf8_lossy(&body[..body.len().min(300)]))
                .trim()
                .to_string();
            Err(err(
                status,
                format!("trace backend answered {status}: {text}"),
            ))
        }
        Err(e) => Err(err(status, e.to_string())),
    }
}

/// A trace id as typed or found in a log line: 16 or 32 hex digits (the
/// backend's form: 32 lower-case digits), else None.
pub fn normalise_id(id: &str) -> Option<String> {
    let id = id.trim();
    ((id.len() == 16 || id.len() == 32) && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{:0>32}", id.to_ascii_lowercase()))
}

impl TracesBackend for HttpTraces {
    fn trace<'a>(&'a self, id: &'a str) -> BoxFut<'a, Result<Trace, SourceError>> {
        Box::pin(async move {
            let Some(id) = normalise_id(id) else {
                return Err(SourceError::msg(format!(
                    "`{}` is not a trace id (16 or 32 hex digits)",
                    crate::text::display(id)
                )));
            };
            let paths = match self.kind().await? {
                Kind::Jaeger => vec![format!("/api/traces/{id}"), format!("/api/v3/traces/{id}")],
                Kind::Tempo => vec![format!("/api/v2/traces/{id}"), format!("/api/traces/{id}")],
            };
            self.fetch(&id, &paths).await
        })
    }

    fn search<'a>(
        &'a self,
        q: &'a search::Query,
    ) -> BoxFut<'a, Result<Vec<search::Summary>, SourceError>> {
        Box::pin(async move {
            let kind = self.kind().await?;
            let path = match kind {
                Kind::Tempo => search::tempo_path(q),
                Kind::Jaeger => search::jaeger_path(q),
            }
            .map_err(SourceError::msg)?;
            let (status, body) = self.get(&path).await?;
            if status >= 400 {
                let text =
                    crate::text::display(&String::from_utf8_lossy(&body[..body.len().min(300)]))
                        .trim()
                        .to_string();
                return Err(SourceError {
                    status: Some(status),
                    kind: ErrorKind::Unspecified,
                    message: format!("trace search answered {status}: {text}"),
                });
            }
            let mut hits = match kind {
                Kind::Tempo => search::tempo_hits(&body),
                Kind::Jaeger => search::jaeger_hits(&body),
            }
            .map_err(|e| SourceError::msg(format!("trace search answer not understood: {e}")))?;
            search::slowest_first(&mut hits);
            Ok(hits)
        })
    }

    fn describe(&self) -> String {
        match self.kind.get() {
            Some(k) => format!("{} at {}", k.name(), self.host),
            None => self.host.clone(),
        }
    }
}
