//! Logs: the Loki adapter (`client`), its wire format (`wire`), LogQL
//! building (`logql`) and the follow engine (`engine`: backfill, tail,
//! resume, dedupe, fill or mark, polling fallback), shared by the TUI's log
//! pane and the headless `watchfloor logs`.

pub mod kube;
pub mod logql;
pub mod loki;
pub mod wire;

use crate::core::{BoxFut, SourceError};
use std::sync::Arc;

pub use wire::{Entry, Labels, MatrixSeries, ServerPattern, TailMessage};

/// Why a tail could not be opened.
#[derive(Debug, Clone, PartialEq)]
pub enum TailOpenError {
    /// The server (or a proxy in front of it) will not upgrade to a
    /// WebSocket: poll query_range instead.
    NoWebSocket(SourceError),
    /// Anything else (refused, auth, rate limit): retry with backoff.
    Failed(SourceError),
}

/// An open tail: messages until the server closes it (None).
pub trait TailStream: Send {
    fn next(&mut self) -> BoxFut<'_, Option<Result<TailMessage, SourceError>>>;
}

/// A Loki-API log backend: the real HTTP adapter, or the embedded demo.
pub trait LogsBackend: Send + Sync {
    /// The same source bound to Kubernetes context `context` (a `:ctx`
    /// switch), when the source depends on one; None: it does not.
    fn in_context(&self, _context: Option<&str>) -> Option<Arc<dyn LogsBackend>> {
        None
    }

    /// "loki" or "demo": shown in the header.
    fn name(&self) -> &'static str;
    /// Entries of a log query in [start, end) (ns), oldest first; the
    /// oldest `limit` when `forward`, else the newest `limit`.
    fn query_range<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        forward: bool,
    ) -> BoxFut<'a, Result<Vec<Entry>, SourceError>>;
    /// Lines per step by detected level over [start, end); None when the
    /// server cannot answer it (then the pane counts retained lines).
    fn volume<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Option<Vec<MatrixSeries>>, SourceError>>;
    /// The server's log patterns of the window; None without the endpoint.
    fn patterns<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Option<Vec<ServerPattern>>, SourceError>>;
    /// Label names of the streams in [start, end).
    fn labels(&self, start_ns: i64, end_ns: i64) -> BoxFut<'_, Result<Vec<String>, SourceError>>;
    /// One label's values over the streams in [start, end).
    fn label_values<'a>(
        &'a self,
        name: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<String>, SourceError>>;
    /// The label sets of the streams a selector matches in [start, end).
    fn series<'a>(
        &'a self,
        selector: &'a str,
        start_ns: i64,
        end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<Labels>, SourceError>>;
    /// Opens the tail WebSocket from `start_ns`.
    fn tail<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        limit: usize,
    ) -> BoxFut<'a, Result<Box<dyn TailStream>, TailOpenError>>;
}
