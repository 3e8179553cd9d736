//! The scheduler alone: no tasks, no clock, no backend.

use std::collections::HashMap;

use super::*;
use crate::core::ErrorKind;
use crate::store::Series;

fn plan(n: usize, alternatives: &[&str], pinned: Option<i64>) -> PollPlan {
    let d = crate::dashboard::Dashboard::builtin("beam").unwrap();
    let mut qs = d.resolve(&Default::default()).unwrap();
    qs.truncate(n);
    for q in &mut qs {
        q.instant = true;
        if !alternatives.is_empty() {
            q.alternatives = alternatives.iter().map(|s| s.to_string()).collect();
            q.alt = 0;
            q.expr = q.alternatives[0].clone();
        }
    }
    PollPlan {
        gen: 1,
        queries: qs,
        range_secs: 3600,
        step_secs: 10,
        refresh_secs: 5.0,
        pinned_end_ms: pinned,
        resume: HashMap::new(),
        max_concurrency: 4,
        default_interval_ms: 15_000,
    }
}

fn data(v: f64) -> Result<Fetched, SourceError> {
    Ok(Fetched {
        series: vec![Series::new(Default::default(), [(1_000, v)])],
        ..Default::default()
    })
}

fn empty() -> Result<Fetched, SourceError> {
    Ok(Fetched::default())
}

fn failure(status: u16) -> Result<Fetched, SourceError> {
    Err(SourceError {
        status: Some(status),
        kind: ErrorKind::Unspecified,
        message: "down".into(),
    })
}

const T: i64 = 1_700_000_000_000;

/// A live scheduler whose sample clock has answered (scrapes every 15 s),
/// so `wake` is about the queries.
fn live(n: usize, alternatives: &[&str]) -> Scheduler {
    let mut s = Scheduler::new(plan(n, alternatives, None));
    assert!(s.clock_due(T));
    let clock = SampleClock {
        interval_ms: 15_000,
        last_ms: T - 1_000,
    };
    s.on_clock(Some(clock), T);
    s
}

#[test]
fn every_query_is_due_once_then_in_flight() {
    let mut s = Scheduler::new(plan(3, &[], None));
    assert_eq!(s.due(T).len(), 3);
    assert!(s.due(T).is_empty(), "in flight: not asked twice");
    assert!(s.clock_due(T));
    assert!(!s.clock_due(T), "the clock is in flight");
}

#[test]
fn an_empty_convention_tries_the_next_at_once_then_starts_over() {
    let mut s = live(1, &["a_metric", "b_metric", "c_metric"]);
    let a = s.due(T).remove(0);
    assert_eq!((a.alt, a.query.expr.as_str()), (0, "a_metric"));
    s.on_answer(&a, &empty(), T);
    let b = s.due(T).remove(0);
    assert_eq!(
        (b.alt, b.query.expr.as_str()),
        (1, "b_metric"),
        "asked at once"
    );
    s.on_answer(&b, &empty(), T);
    let c = s.due(T).remove(0);
    assert_eq!(c.alt, 2);
    // the last one is empty too: back to the first, at the next due time
    s.on_answer(&c, &empty(), T);
    assert!(s.due(T).is_empty(), "not at once after the last");
    let next = s.wake().unwrap();
    assert!(next > T);
    assert_eq!(s.due(next).remove(0).alt, 0);
}

#[test]
fn a_failure_backs_off_and_a_success_elsewhere_wakes_it() {
    let mut s = Scheduler::new(plan(2, &[], None));
    let mut asks = s.due(T);
    let (a, b) = (asks.remove(0), asks.remove(0));
    s.on_answer(&a, &failure(503), T);
    // the refresh (5 s) is the first backoff
    assert!(s.due(T + 4_000).is_empty());
    s.on_answer(&b, &data(1.0), T + 1_000);
    // the backend answers again: the failed query is due now
    let again = s.due(T + 1_000);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].query.key, a.query.key);
}

#[test]
fn a_refused_query_is_not_woken_and_waits_a_minute() {
    let mut s = Scheduler::new(plan(2, &[], None));
    let mut asks = s.due(T);
    let (a, b) = (asks.remove(0), asks.remove(0));
    s.on_answer(&a, &failure(400), T);
    s.on_answer(&b, &data(1.0), T);
    assert!(s.due(T + 59_000).iter().all(|x| x.query.key != a.query.key));
    assert!(s.due(T + 60_000).iter().any(|x| x.query.key == a.query.key));
}

#[test]
fn nothing_new_slows_a_query_down() {
    let mut s = live(1, &[]);
    let mut at = T;
    let mut gaps = vec![];
    for _ in 0..4 {
        let a = s.due(at).remove(0);
        s.on_answer(&a, &data(7.0), at);
        let next = s.wake().unwrap();
        gaps.push(next - at);
        at = next;
    }
    // the first answer is new; each same answer after it waits longer
    assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "{gaps:?}");
}

#[test]
fn a_pinned_window_finishes_after_one_good_answer_each() {
    let mut s = Scheduler::new(plan(2, &[], Some(T)));
    assert!(!s.clock_due(T), "a pinned window needs no clock");
    let asks = s.due(T);
    assert!(!s.finished());
    s.on_answer(&asks[0], &data(1.0), T);
    assert!(!s.finished());
    s.on_answer(&asks[1], &data(1.0), T);
    assert!(s.finished());
}
