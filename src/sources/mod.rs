//! Source adapters. Each runs as tokio tasks and sends owned results
//! (`SourceEvent`, one variant per source kind) over one channel; tasks never
//! touch app state. Each kind has its own generation: an answer carries the
//! generation it was asked for and is dropped when that is no longer current.

pub mod demo;
pub mod http;
pub mod loki;
pub mod poller;
pub mod probes;
pub mod prom_parse;
pub mod prometheus;

use std::future::Future;
use std::pin::Pin;

use crate::dashboard::detect::Inventory;
use crate::dashboard::ResolvedQuery;
use crate::store::Series;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What went wrong, beyond the HTTP status: decides whether asking again
/// can help and what the pane says before the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing more than the status and the message (transport errors,
    /// plain-text errors).
    #[default]
    Unspecified,
    /// The API's own error type (Prometheus `errorType`: `bad_data`,
    /// `execution`, `timeout`, …).
    Api(String),
    /// The answer is not what this API answers (shape, JSON).
    BadAnswer,
    /// The answer passed the body cap while it was read.
    TooLarge,
    /// A redirect to another origin, not followed.
    Redirect,
    /// A probe got another status than the one it expects.
    Unexpected(u16),
}

impl ErrorKind {
    /// The word shown after the status (`HTTP 400 bad_data: …`).
    pub fn label(&self) -> Option<String> {
        match self {
            ErrorKind::Unspecified => None,
            ErrorKind::Api(s) => Some(s.clone()),
            ErrorKind::BadAnswer => Some("bad_response".into()),
            ErrorKind::TooLarge => Some("too_large".into()),
            ErrorKind::Redirect => Some("redirect".into()),
            ErrorKind::Unexpected(s) => Some(format!("expected {s}")),
        }
    }

    /// Asking again will not change it (a refused query, a redirect).
    pub fn is_permanent(&self) -> bool {
        match self {
            ErrorKind::Redirect => true,
            ErrorKind::Api(s) => s == "bad_data",
            _ => false,
        }
    }
}

/// A failed request, as shown in a pane: HTTP status (if any), what kind
/// of failure, and the backend's own error text, sanitised and without
/// secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct SourceError {
    pub status: Option<u16>,
    pub kind: ErrorKind,
    pub message: String,
}

impl SourceError {
    /// An error that asking again will not fix (a query the server
    /// refuses, missing credentials, a redirect): shown, and retried slowly.
    pub fn is_permanent(&self) -> bool {
        matches!(self.status, Some(400 | 401 | 403 | 404 | 405 | 422)) || self.kind.is_permanent()
    }

    /// The status and kind only when there is one ("HTTP 404"), else the
    /// message cut to 60 characters: for a note beside a mode.
    pub fn short(&self) -> String {
        match self.status {
            Some(st) => format!("HTTP {st}"),
            None => crate::text::display(&self.message.chars().take(60).collect::<String>())
                .into_owned(),
        }
    }

    pub fn msg(message: impl Into<String>) -> SourceError {
        SourceError {
            status: None,
            kind: ErrorKind::Unspecified,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.status {
            s.push_str(&format!("HTTP {st}"));
        }
        if let Some(k) = &self.kind.label() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(k);
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&self.message);
        // backends echo requests in their errors: nothing leaves unredacted
        crate::text::display(&s).into_owned()
    }
}

/// One answer from a metrics backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
    /// Bytes of response body received (after decompression), for the budget.
    pub bytes: usize,
    /// Series the answer held beyond the per-query cap: counted, not kept.
    pub dropped: usize,
}

/// When a backend's samples arrive: the scrape interval and the time of
/// the newest scrape, so a poll can be timed just after the next one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleClock {
    pub interval_ms: i64,
    pub last_ms: i64,
}

impl SampleClock {
    /// The first scrape strictly after `t_ms`.
    pub fn next_after(&self, t_ms: i64) -> i64 {
        let iv = self.interval_ms.max(1);
        if t_ms < self.last_ms {
            return self.last_ms;
        }
        self.last_ms + ((t_ms - self.last_ms) / iv + 1) * iv
    }
}

/// A Prometheus-API backend: the real HTTP adapter, or the embedded demo.
pub trait MetricsBackend: Send + Sync {
    /// "prom" or "demo": shown in the header.
    fn name(&self) -> &'static str;
    /// Range query over [start, end] (ms) at `step_secs`.
    fn query_range<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>>;
    /// Instant query at `at_ms`.
    fn query_instant<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        at_ms: i64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>>;
    /// Which jobs expose which of `names` (the presets' metrics), the label
    /// names, and the jobs: for detection per job and label choice.
    fn inventory<'a>(&'a self, names: &'a [String]) -> BoxFut<'a, Result<Inventory, SourceError>>;
    /// When samples arrive (None: unknown, poll at the refresh rate).
    fn sample_clock(&self) -> BoxFut<'_, Result<Option<SampleClock>, SourceError>>;
}

/// What the metrics source sends.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsEvent {
    /// A query answered (or failed). `incremental` says whether `result`
    /// extends the stored data from `start_ms` or replaces it.
    Query {
        gen: u64,
        key: String,
        /// Which of the query's alternatives answered.
        alt: usize,
        incremental: bool,
        start_ms: i64,
        until_ms: i64,
        at_ms: i64,
        result: Result<Fetched, SourceError>,
    },
    /// What the backend has, for preset detection.
    Inventory {
        gen: u64,
        at_ms: i64,
        result: Result<Inventory, SourceError>,
    },
    /// The sample clock was asked (one request).
    Clock {
        gen: u64,
        at_ms: i64,
        clock: Option<SampleClock>,
    },
}

impl MetricsEvent {
    pub fn gen(&self) -> u64 {
        match self {
            MetricsEvent::Query { gen, .. }
            | MetricsEvent::Inventory { gen, .. }
            | MetricsEvent::Clock { gen, .. } => *gen,
        }
    }
}

/// Everything tasks send to the app: one variant per source kind.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    Metrics(MetricsEvent),
    Probes(probes::ProbeEvent),
    Logs(loki::LogsEvent),
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, SourceError};

    #[test]
    fn the_kind_decides_permanence_and_its_label() {
        let e = |status, kind| SourceError {
            status,
            kind,
            message: "m".into(),
        };
        assert!(e(Some(302), ErrorKind::Redirect).is_permanent());
        assert!(e(Some(400), ErrorKind::Unspecified).is_permanent());
        assert!(e(Some(422), ErrorKind::Api("bad_data".into())).is_permanent());
        assert!(e(None, ErrorKind::Api("bad_data".into())).is_permanent());
        assert!(!e(Some(503), ErrorKind::Api("execution".into())).is_permanent());
        assert!(!e(Some(200), ErrorKind::TooLarge).is_permanent());
        assert!(!e(None, ErrorKind::Unspecified).is_permanent());
        assert_eq!(
            e(Some(200), ErrorKind::TooLarge).to_string(),
            "HTTP 200 too_large: m"
        );
        assert_eq!(
            e(Some(503), ErrorKind::Unexpected(200)).to_string(),
            "HTTP 503 expected 200: m"
        );
        assert_eq!(e(None, ErrorKind::Unspecified).to_string(), "m");
    }
}
