//! Source adapters. Each runs as tokio tasks and sends owned results
//! (`DataEvent`) over one channel; tasks never touch app state.

pub mod demo;
pub mod http;
pub mod poller;
pub mod prom_parse;
pub mod prometheus;

use std::future::Future;
use std::pin::Pin;

use crate::dashboard::ResolvedQuery;
use crate::store::Series;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failed request, as shown in a pane: HTTP status (if any) and the
/// backend's own error text, sanitised and without secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct SourceError {
    pub status: Option<u16>,
    pub kind: Option<String>,
    pub message: String,
}

impl SourceError {
    pub fn msg(message: impl Into<String>) -> SourceError {
        SourceError {
            status: None,
            kind: None,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(st) = self.status {
            s.push_str(&format!("HTTP {st}"));
        }
        if let Some(k) = &self.kind {
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
    /// Every metric name (`__name__` values), for preset detection.
    fn metric_names(&self) -> BoxFut<'_, Result<Vec<String>, SourceError>>;
}

/// Everything tasks send to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum DataEvent {
    /// A query answered (or failed). `incremental` says whether `result`
    /// extends the stored data from `start_ms` or replaces it.
    Query {
        gen: u64,
        key: String,
        incremental: bool,
        start_ms: i64,
        until_ms: i64,
        at_ms: i64,
        result: Result<Fetched, SourceError>,
    },
    /// Metric names for preset detection.
    MetricNames {
        gen: u64,
        result: Result<Vec<String>, SourceError>,
    },
}

impl DataEvent {
    pub fn gen(&self) -> u64 {
        match self {
            DataEvent::Query { gen, .. } | DataEvent::MetricNames { gen, .. } => *gen,
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
