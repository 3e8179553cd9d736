//! The metrics poller: one task per generation that refreshes every query of
//! the dashboard, incrementally for ranges, with bounded concurrency and
//! per-query exponential backoff. It keeps only its own cursor state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::prometheus::align_down;
use super::{now_ms, DataEvent, MetricsBackend};
use crate::dashboard::ResolvedQuery;

/// What to poll, derived by `update` from the focus and the store.
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
}

pub const MAX_BACKOFF_SECS: f64 = 60.0;

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

struct Cursor {
    resume: Option<i64>,
    failures: u32,
    next_try_ms: i64,
}

pub fn spawn(
    backend: Arc<dyn MetricsBackend>,
    plan: PollPlan,
    tx: mpsc::Sender<DataEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(backend, plan, tx))
}

async fn run(backend: Arc<dyn MetricsBackend>, plan: PollPlan, tx: mpsc::Sender<DataEvent>) {
    let sem = Arc::new(Semaphore::new(plan.max_concurrency.max(1)));
    let mut cursors: HashMap<String, Cursor> = plan
        .queries
        .iter()
        .map(|q| {
            (
                q.key.clone(),
                Cursor {
                    resume: plan.resume.get(&q.key).copied(),
                    failures: 0,
                    next_try_ms: 0,
                },
            )
        })
        .collect();
    let queries: Vec<Arc<ResolvedQuery>> = plan.queries.iter().cloned().map(Arc::new).collect();
    loop {
        let now = plan.pinned_end_ms.unwrap_or_else(now_ms);
        let wall = now_ms();
        let mut set = JoinSet::new();
        for q in &queries {
            let c = &cursors[&q.key];
            if c.next_try_ms > wall {
                continue;
            }
            let (start, end, incremental) = if q.instant {
                (now, now, false)
            } else {
                fetch_range(now, plan.range_secs, plan.step_secs, c.resume)
            };
            let (backend, q, sem, step) = (backend.clone(), q.clone(), sem.clone(), plan.step_secs);
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let result = if q.instant {
                    backend.query_instant(&q, now).await
                } else {
                    backend.query_range(&q, start, end, step).await
                };
                (q.key.clone(), start, end, incremental, result)
            });
        }
        let mut all_ok = true;
        while let Some(joined) = set.join_next().await {
            let Ok((key, start, end, incremental, result)) = joined else {
                continue;
            };
            let c = cursors.get_mut(&key).unwrap();
            match &result {
                Ok(_) => {
                    c.failures = 0;
                    c.next_try_ms = 0;
                    c.resume = Some(end);
                }
                Err(_) => {
                    all_ok = false;
                    c.failures += 1;
                    c.next_try_ms =
                        now_ms() + (backoff_secs(plan.refresh_secs, c.failures) * 1000.0) as i64;
                }
            }
            let ev = DataEvent::Query {
                gen: plan.gen,
                key,
                incremental,
                start_ms: start,
                until_ms: end,
                at_ms: now_ms(),
                result,
            };
            if tx.send(ev).await.is_err() {
                return; // the app is gone
            }
        }
        if plan.pinned_end_ms.is_some() && all_ok && cursors.values().all(|c| c.failures == 0) {
            return; // a pinned window needs one good answer per query
        }
        // Sleep until the next refresh, or sooner if a retry is due.
        let wall = now_ms();
        let next_retry = cursors
            .values()
            .filter(|c| c.failures > 0)
            .map(|c| c.next_try_ms)
            .min();
        let mut wait = (plan.refresh_secs * 1000.0) as i64;
        if let Some(r) = next_retry {
            wait = wait.min((r - wall).max(100));
        }
        if plan.pinned_end_ms.is_some() {
            wait = next_retry.map(|r| (r - wall).max(100)).unwrap_or(wait);
        }
        tokio::time::sleep(Duration::from_millis(wait.max(50) as u64)).await;
    }
}

/// Detects the preset: asks for metric names until the backend answers.
pub fn spawn_detect(
    backend: Arc<dyn MetricsBackend>,
    gen: u64,
    refresh_secs: f64,
    tx: mpsc::Sender<DataEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let result = backend.metric_names().await;
            let ok = result.is_ok();
            if tx
                .send(DataEvent::MetricNames { gen, result })
                .await
                .is_err()
                || ok
            {
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
}
