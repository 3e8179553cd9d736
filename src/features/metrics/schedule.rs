//! The poller's decisions, pure: which query is due, which alternative
//! (metric convention) it asks, what an answer changes (the next
//! convention at once, backoff, slowdown when nothing is new, waking the
//! queries that backed off once the backend answers again), when the
//! sample clock is asked. The task in `poller.rs` only does the I/O.

use std::collections::HashMap;
use std::sync::Arc;

use super::client::{Fetched, SampleClock};
use super::poller::{
    backoff_secs, fetch_range, next_due, After, PollPlan, CLOCK_EVERY_MS, CLOCK_RETRY_MS,
    PERMANENT_RETRY_SECS,
};
use crate::core::SourceError;
use crate::dashboard::ResolvedQuery;

/// One request to make: the query under the alternative to ask, and its range.
#[derive(Debug, Clone)]
pub struct Ask {
    pub query: Arc<ResolvedQuery>,
    pub alt: usize,
    pub start: i64,
    pub end: i64,
    pub incremental: bool,
}

#[derive(Debug, Clone)]
struct Sched {
    /// The alternative asked now.
    alt: usize,
    /// The last failure will not go away by asking again.
    permanent: bool,
    resume: Option<i64>,
    failures: u32,
    next_ms: i64,
    in_flight: bool,
    done: bool,
    unchanged: u32,
    fingerprint: Option<u64>,
}

pub struct Scheduler {
    plan: PollPlan,
    queries: Vec<Arc<ResolvedQuery>>,
    sched: HashMap<String, Sched>,
    clock: Option<SampleClock>,
    clock_next: i64,
    clock_in_flight: bool,
}

impl Scheduler {
    pub fn new(plan: PollPlan) -> Scheduler {
        let sched = plan
            .queries
            .iter()
            .map(|q| {
                let s = Sched {
                    alt: q.alt.min(q.alternatives.len().saturating_sub(1)),
                    permanent: false,
                    resume: plan.resume.get(&q.key).copied(),
                    failures: 0,
                    next_ms: 0,
                    in_flight: false,
                    done: false,
                    unchanged: 0,
                    fingerprint: None,
                };
                (q.key.clone(), s)
            })
            .collect();
        let queries = plan.queries.iter().cloned().map(Arc::new).collect();
        Scheduler {
            plan,
            queries,
            sched,
            clock: None,
            clock_next: 0,
            clock_in_flight: false,
        }
    }

    fn live(&self) -> bool {
        self.plan.pinned_end_ms.is_none()
    }

    /// Whether the sample clock is to be asked now (it is then in flight).
    pub fn clock_due(&mut self, wall: i64) -> bool {
        let due = self.live() && !self.clock_in_flight && wall >= self.clock_next;
        self.clock_in_flight |= due;
        due
    }

    /// The requests due at `wall` (each is then in flight).
    pub fn due(&mut self, wall: i64) -> Vec<Ask> {
        let now = self.plan.pinned_end_ms.unwrap_or(wall);
        let mut out = vec![];
        for q in &self.queries {
            let s = self
                .sched
                .get_mut(&q.key)
                .expect("every query is scheduled");
            if s.in_flight || s.done || s.next_ms > wall {
                continue;
            }
            s.in_flight = true;
            let (start, end, incremental) = if q.instant {
                (now, now, false)
            } else {
                fetch_range(now, self.plan.range_secs, self.plan.step_secs, s.resume)
            };
            let query = if s.alt != q.alt {
                let mut other = (**q).clone();
                other.use_alt(s.alt);
                Arc::new(other)
            } else {
                q.clone()
            };
            out.push(Ask {
                query,
                alt: s.alt,
                start,
                end,
                incremental,
            });
        }
        out
    }

    /// A pinned window is done when every query answered once.
    pub fn finished(&self) -> bool {
        !self.live() && self.sched.values().all(|s| s.done)
    }

    /// When something is next due (None: nothing until an answer).
    pub fn wake(&self) -> Option<i64> {
        self.sched
            .values()
            .filter(|s| !s.in_flight && !s.done)
            .map(|s| s.next_ms)
            .chain(
                self.live()
                    .then_some(self.clock_next)
                    .filter(|_| !self.clock_in_flight),
            )
            .min()
    }

    /// The sample clock answered at `at`.
    pub fn on_clock(&mut self, c: Option<SampleClock>, at: i64) {
        self.clock_in_flight = false;
        self.clock = c.or(self.clock);
        // no scrape seen yet (a fresh server): ask again soon
        self.clock_next = at
            + if c.is_some() {
                CLOCK_EVERY_MS
            } else {
                CLOCK_RETRY_MS
            };
    }

    /// An answer to `ask` arrived at `at`: when the query is next asked,
    /// and under which alternative.
    pub fn on_answer(&mut self, ask: &Ask, result: &Result<Fetched, SourceError>, at: i64) {
        let live = self.live();
        let (plan, clock) = (&self.plan, self.clock);
        let alts = ask.query.alternatives.len();
        let alt = ask.alt;
        let s = self.sched.get_mut(&ask.query.key).expect("scheduled");
        s.in_flight = false;
        // when this query can next bring something new
        let due = |unchanged| {
            next_due(After {
                step_end_ms: (!ask.query.instant)
                    .then_some((plan.step_secs as i64 * 1000, ask.end)),
                fetched_at: at,
                refresh_ms: (plan.refresh_secs * 1000.0) as i64,
                clock,
                default_interval_ms: plan.default_interval_ms,
                unchanged,
            })
        };
        match result {
            // no data under this convention: try the next one now; after
            // the last, start again from the first next time
            Ok(f) if f.series.is_empty() && alts > 1 && alt + 1 < alts => {
                s.alt = alt + 1;
                s.resume = None; // another convention: its whole window
                s.next_ms = 0;
            }
            Ok(f) if f.series.is_empty() && alts > 1 && alt > 0 => {
                s.alt = 0;
                s.resume = None;
                s.next_ms = due(s.unchanged);
            }
            Ok(f) => {
                s.failures = 0;
                s.resume = Some(ask.end);
                let fp = fingerprint(f);
                s.unchanged = if s.fingerprint == Some(fp) {
                    s.unchanged + 1
                } else {
                    0
                };
                s.fingerprint = Some(fp);
                s.done = !live;
                s.next_ms = due(s.unchanged);
            }
            Err(e) => {
                s.failures += 1;
                s.permanent = e.is_permanent();
                let wait = if e.is_permanent() {
                    PERMANENT_RETRY_SECS
                } else {
                    backoff_secs(plan.refresh_secs, s.failures)
                };
                s.next_ms = at + (wait * 1000.0) as i64;
            }
        }
        // the backend answers again: queries backing off from a transient
        // failure are asked now, not after their backoff
        if result.is_ok() {
            for o in self.sched.values_mut() {
                if o.failures > 0 && !o.permanent && !o.in_flight {
                    o.next_ms = o.next_ms.min(at);
                }
            }
        }
    }
}

/// A fingerprint of the newest value of each series: equal fingerprints
/// mean the answer brought nothing new.
fn fingerprint(f: &Fetched) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut acc = f.series.len() as u64;
    for s in &f.series {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.labels.hash(&mut h);
        if let Some((_, v)) = s.last() {
            v.to_bits().hash(&mut h);
        }
        acc ^= h.finish();
    }
    acc
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
