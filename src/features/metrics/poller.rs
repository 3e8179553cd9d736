//! The metrics poller: one task per generation. Every query has its own
//! schedule, and is asked again only when a newer sample can exist: after
//! the next step boundary (range queries) and after the backend's next scrape
//! (learned from its targets), never faster than the refresh. An answer that
//! brings nothing new slows that query down; `r` starts a new plan. A slow
//! query never holds back the others: answers are handled as they come.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::core::{now_ms, Sink, SourceError};
use crate::dashboard::ResolvedQuery;
use crate::features::metrics::client::exemplars;
use crate::features::metrics::client::prometheus::align_down;
use crate::features::metrics::client::{Fetched, MetricsBackend, SampleClock};
use crate::features::metrics::schedule::{Ask, Scheduler};
use crate::features::metrics::MetricsEvent;

/// What to poll, derived by `update` from the target and the store.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPlan {
    pub gen: u64,
    pub queries: Vec<ResolvedQuery>,
    pub range_secs: u64,
    pub step_secs: u64,
    pub refresh_secs: f64,
    /// Live follows the clock; pinned evaluates at this end time once.
    pub pinned_end_ms: Option<i64>,
    /// Where each range query may resume (end of stored data), per key.
    pub resume: HashMap<String, i64>,
    pub max_concurrency: usize,
    /// The sample interval to assume until the backend's clock is known
    /// (the dashboard's `scrape_interval`, 15 s by default).
    pub default_interval_ms: i64,
}

pub const MAX_BACKOFF_SECS: f64 = 60.0;
/// A query the backend refuses (400, 401, 403, 422) is asked again this rarely.
pub const PERMANENT_RETRY_SECS: f64 = 60.0;
/// A scrape becomes queryable shortly after it starts.
pub const INGEST_MARGIN_MS: i64 = 1000;
/// An answer with nothing new doubles the wait, up to 2^this times.
pub const MAX_SLOWDOWN: u32 = 3;
/// How often the sample clock (scrape interval and phase) is asked again.
pub const CLOCK_EVERY_MS: i64 = 300_000;
/// How soon it is asked again when the backend had none to give.
pub const CLOCK_RETRY_MS: i64 = 30_000;

/// Delay before retry number `failures` (1-based): refresh × 2^(n-1), capped.
pub fn backoff_secs(refresh_secs: f64, failures: u32) -> f64 {
    let exp = 2f64.powi(failures.saturating_sub(1).min(10) as i32);
    (refresh_secs.max(1.0) * exp).min(MAX_BACKOFF_SECS)
}

/// The time range one range query fetches now: from its resume point (one
/// step back, because the newest step may have been partial) when that lies
/// inside the window, else the whole window. Returns (start, end, incremental).
pub fn fetch_range(
    now_ms: i64,
    range_secs: u64,
    step_secs: u64,
    resume: Option<i64>,
) -> (i64, i64, bool) {
    let window_start = align_down(now_ms - range_secs as i64 * 1000, step_secs);
    let end = align_down(now_ms, step_secs);
    match resume {
        Some(r) if r >= window_start && r <= end => (
            align_down(r, step_secs) - step_secs as i64 * 1000,
            end,
            true,
        ),
        _ => (window_start, end, false),
    }
}

/// What the scheduler knows about one query after an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct After {
    /// Range query: the step (ms) and the end of the range just fetched.
    pub step_end_ms: Option<(i64, i64)>,
    /// When the answer arrived.
    pub fetched_at: i64,
    pub refresh_ms: i64,
    pub clock: Option<SampleClock>,
    /// Assumed sample interval while the clock is unknown.
    pub default_interval_ms: i64,
    /// Answers in a row that brought nothing new.
    pub unchanged: u32,
}

/// When a query can next return something new. Pure, so it is tested alone.
pub fn next_due(a: After) -> i64 {
    let interval = a
        .clock
        .map(|c| c.interval_ms)
        .unwrap_or(a.default_interval_ms)
        .max(a.refresh_ms);
    let mut due = match a.clock {
        Some(c) => c.next_after(a.fetched_at - INGEST_MARGIN_MS) + INGEST_MARGIN_MS,
        // phase unknown: one interval after this answer
        None => a.fetched_at + interval,
    };
    // nothing new last time(s): wait longer, up to 2^MAX_SLOWDOWN intervals
    let slow = (1i64 << a.unchanged.min(MAX_SLOWDOWN)) - 1;
    due += interval * slow;
    if let Some((step, end)) = a.step_end_ms {
        // the next range fetch ends at the next step boundary: wait for it
        due = due.max(end + step);
    }
    due.max(a.fetched_at + a.refresh_ms)
}

/// What exemplars a latency chart's answer brought along (None: not asked).
type Marks = Option<Result<exemplars::Found, SourceError>>;

enum Done {
    Query(Ask, Result<Fetched, SourceError>, Marks),
    Clock(Option<SampleClock>),
}

pub fn spawn(
    backend: Arc<dyn MetricsBackend>,
    plan: PollPlan,
    tx: Sink<MetricsEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(backend, plan, tx))
}

/// The task: asks what the scheduler says is due, hands each answer back
/// to it, and sends the answer on. The decisions are all in `Scheduler`.
async fn run(backend: Arc<dyn MetricsBackend>, plan: PollPlan, tx: Sink<MetricsEvent>) {
    let sem = Arc::new(Semaphore::new(plan.max_concurrency.max(1)));
    let (gen, step) = (plan.gen, plan.step_secs);
    let mut sched = Scheduler::new(plan);
    let mut set: JoinSet<Done> = JoinSet::new();
    loop {
        let wall = now_ms();
        if sched.clock_due(wall) {
            let b = backend.clone();
            set.spawn(async move { Done::Clock(b.sample_clock().await.ok().flatten()) });
        }
        for ask in sched.due(wall) {
            let (backend, sem) = (backend.clone(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let result = if ask.query.instant {
                    backend.query_instant(&ask.query, ask.end).await
                } else {
                    backend
                        .query_range(&ask.query, ask.start, ask.end, step)
                        .await
                };
                // a latency chart with data: the traces of its observations
                // over the same range, with the convention that answered
                let marks = match &result {
                    Ok(f) if !f.series.is_empty() && exemplars::wants(&ask.query) => Some(
                        backend
                            .query_exemplars(&ask.query, ask.start, ask.end)
                            .await,
                    ),
                    _ => None,
                };
                Done::Query(ask, result, marks)
            });
        }
        if sched.finished() {
            return; // a pinned window needs one good answer per query
        }
        let sleep = sched
            .wake()
            .map(|w| Duration::from_millis((w - now_ms()).clamp(10, 3_600_000) as u64));
        let done = tokio::select! {
            Some(j) = set.join_next(), if !set.is_empty() => j.ok(),
            _ = tokio::time::sleep(sleep.unwrap_or(Duration::ZERO)), if sleep.is_some() => None,
        };
        let Some(done) = done else { continue };
        let at = now_ms();
        let ev = match done {
            Done::Clock(c) => {
                sched.on_clock(c, at);
                MetricsEvent::Clock {
                    gen,
                    at_ms: at,
                    clock: c,
                }
            }
            Done::Query(ask, result, marks) => {
                sched.on_answer(&ask, &result, at);
                // the chart first, then its marks
                let key = ask.query.key.clone();
                let ev = MetricsEvent::Query {
                    gen,
                    key: key.clone(),
                    alt: ask.alt,
                    incremental: ask.incremental,
                    start_ms: ask.start,
                    until_ms: ask.end,
                    at_ms: at,
                    result,
                };
                match marks {
                    None => ev,
                    Some(result) => {
                        if !tx.send(ev).await {
                            return;
                        }
                        MetricsEvent::Exemplars {
                            gen,
                            key,
                            at_ms: now_ms(),
                            incremental: ask.incremental,
                            start_ms: ask.start,
                            until_ms: ask.end,
                            result,
                        }
                    }
                }
            }
        };
        if !tx.send(ev).await {
            return; // the app is gone
        }
    }
}

/// Detects the preset: asks for metric names until the backend answers.
pub fn spawn_detect(
    backend: Arc<dyn MetricsBackend>,
    gen: u64,
    refresh_secs: f64,
    tx: Sink<MetricsEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let names =
                crate::dashboard::detect::wanted_names(&crate::dashboard::Dashboard::builtins());
            let result = backend.inventory(&names).await;
            let ok = result.is_ok();
            let ev = MetricsEvent::Inventory {
                gen,
                at_ms: now_ms(),
                result,
            };
            if !tx.send(ev).await || ok {
                return;
            }
            failures += 1;
            tokio::time::sleep(Duration::from_secs_f64(backoff_secs(
                refresh_secs,
                failures,
            )))
            .await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_secs(5.0, 1), 5.0);
        assert_eq!(backoff_secs(5.0, 2), 10.0);
        assert_eq!(backoff_secs(5.0, 3), 20.0);
        assert_eq!(backoff_secs(5.0, 30), MAX_BACKOFF_SECS);
    }

    #[test]
    fn fetch_range_is_incremental_only_inside_window() {
        let now = 1_700_000_003_000;
        let (s, e, inc) = fetch_range(now, 3600, 10, None);
        assert!(!inc);
        assert_eq!(e, 1_700_000_000_000);
        assert_eq!(s, align_down(now - 3_600_000, 10));
        let (s, e, inc) = fetch_range(now, 3600, 10, Some(1_699_999_990_000));
        assert!(inc);
        assert_eq!(s, 1_699_999_980_000);
        assert_eq!(e, 1_700_000_000_000);
        // resume far in the past: full window again
        let (_, _, inc) = fetch_range(now, 3600, 10, Some(now - 7_200_000));
        assert!(!inc);
    }

    #[test]
    fn a_query_waits_for_the_next_scrape_and_step() {
        let clock = SampleClock {
            interval_ms: 15_000,
            last_ms: 1_000_000,
        };
        let base = After {
            step_end_ms: None,
            fetched_at: 1_001_500,
            refresh_ms: 1_000,
            clock: Some(clock),
            default_interval_ms: 15_000,
            unchanged: 0,
        };
        // an instant query: just after the next scrape, not at the 1 s refresh
        assert_eq!(next_due(base), 1_015_000 + INGEST_MARGIN_MS);
        // asked inside the ingest margin of a scrape: that scrape counts
        assert_eq!(
            next_due(After {
                fetched_at: 1_000_400,
                ..base
            }),
            1_001_400
        );
        // a range query also waits for its next step boundary
        let r = next_due(After {
            step_end_ms: Some((60_000, 1_020_000)),
            ..base
        });
        assert_eq!(r, 1_080_000);
        // nothing new: 2, 4, then at most 8 intervals
        let slow = |n| {
            next_due(After {
                unchanged: n,
                ..base
            })
        };
        assert_eq!(slow(1) - slow(0), 15_000);
        assert_eq!(slow(2) - slow(0), 45_000);
        assert_eq!(slow(9), slow(3));
        // no clock: the assumed interval after the answer, never below the refresh
        let no_clock = After {
            clock: None,
            ..base
        };
        assert_eq!(next_due(no_clock), 1_001_500 + 15_000);
        let slow_refresh = After {
            refresh_ms: 30_000,
            ..no_clock
        };
        assert_eq!(next_due(slow_refresh), 1_001_500 + 30_000);
    }

    /// Answers only expressions that name a metric it has.
    struct Conventions(&'static [&'static str]);

    impl MetricsBackend for Conventions {
        fn name(&self) -> &'static str {
            "test"
        }
        fn query_range<'a>(
            &'a self,
            q: &'a ResolvedQuery,
            s: i64,
            _e: i64,
            _st: u64,
        ) -> crate::core::BoxFut<'a, Result<Fetched, SourceError>> {
            self.query_instant(q, s)
        }
        fn query_instant<'a>(
            &'a self,
            q: &'a ResolvedQuery,
            at: i64,
        ) -> crate::core::BoxFut<'a, Result<Fetched, SourceError>> {
            let has = self.0.iter().any(|m| q.expr.contains(m));
            Box::pin(async move {
                let series = if has {
                    vec![crate::store::Series::new(Default::default(), [(at, 1.0)])]
                } else {
                    vec![]
                };
                Ok(Fetched {
                    series,
                    ..Default::default()
                })
            })
        }
        fn inventory<'a>(
            &'a self,
            _names: &'a [String],
        ) -> crate::core::BoxFut<'a, Result<crate::dashboard::detect::Inventory, SourceError>>
        {
            Box::pin(async { Ok(Default::default()) })
        }
        fn sample_clock(
            &self,
        ) -> crate::core::BoxFut<'_, Result<Option<SampleClock>, SourceError>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn plan(alternatives: &[&str], alt: usize) -> PollPlan {
        let d = crate::dashboard::Dashboard::builtin("beam").unwrap();
        let mut q = d.resolve(&Default::default()).unwrap().remove(0);
        q.alternatives = alternatives.iter().map(|s| s.to_string()).collect();
        q.alt = alt;
        q.expr = q.alternatives[alt].clone();
        q.instant = true;
        PollPlan {
            gen: 1,
            queries: vec![q],
            range_secs: 3600,
            step_secs: 10,
            refresh_secs: 60.0,
            pinned_end_ms: None,
            resume: HashMap::new(),
            max_concurrency: 1,
            default_interval_ms: 60_000,
        }
    }

    async fn answers(backend: Conventions, plan: PollPlan, n: usize) -> Vec<(usize, usize)> {
        let (tx, mut rx) = mpsc::channel(16);
        let h = spawn(Arc::new(backend), plan, Sink::direct(tx));
        let mut out = vec![];
        while out.len() < n {
            match tokio::time::timeout(Duration::from_millis(1500), rx.recv()).await {
                Ok(Some(MetricsEvent::Query { alt, result, .. })) => {
                    out.push((alt, result.map(|f| f.series.len()).unwrap_or(0)))
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        h.abort();
        out
    }

    #[tokio::test]
    async fn alternatives_are_tried_in_order_until_one_has_data() {
        // telemetry_metrics names absent, prometheus.erl names present
        let got = answers(
            Conventions(&["erlang_vm_process_count"]),
            plan(
                &["vm_system_counts_process_count", "erlang_vm_process_count"],
                0,
            ),
            2,
        )
        .await;
        assert_eq!(got, vec![(0, 0), (1, 1)]);
        // the remembered winner is asked first: no wasted request
        let got = answers(
            Conventions(&["erlang_vm_process_count"]),
            plan(
                &["vm_system_counts_process_count", "erlang_vm_process_count"],
                1,
            ),
            1,
        )
        .await;
        assert_eq!(got, vec![(1, 1)]);
        // every convention empty: each is asked once, then it waits its turn
        let got = answers(Conventions(&[]), plan(&["a_metric", "b_metric"], 0), 3).await;
        assert_eq!(
            got,
            vec![(0, 0), (1, 0)],
            "no third request before the next round"
        );
    }
}
