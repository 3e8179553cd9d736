//! The Prometheus HTTP API: requests (`prometheus`) and the capped,
//! typed parsing of its answers (`prom_parse`).
pub mod exemplars;
pub mod prom_parse;
pub mod prometheus;

use crate::core::{BoxFut, SourceError};
use crate::dashboard::detect::Inventory;
use crate::dashboard::ResolvedQuery;
use crate::store::Series;

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
    /// The exemplars (observations with a trace id) of the series `q`
    /// selects over [start, end]. Backends without any have none.
    fn query_exemplars<'a>(
        &'a self,
        _q: &'a ResolvedQuery,
        _start_ms: i64,
        _end_ms: i64,
    ) -> BoxFut<'a, Result<exemplars::Found, SourceError>> {
        Box::pin(async { Ok(Default::default()) })
    }
}
