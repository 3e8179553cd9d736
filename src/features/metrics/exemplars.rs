//! The exemplars held per latency chart: merged as the chart's answers
//! come (the same ranges), trimmed to the window, capped; and the one
//! nearest a moment, which `x` opens.

use std::collections::BTreeMap;

use crate::core::SourceError;
use crate::features::metrics::client::exemplars::Exemplar;

/// Most exemplars held per query (the newest are kept).
pub const MAX_PER_QUERY: usize = 5_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exemplars {
    /// Per query key, oldest first.
    by_key: BTreeMap<String, Vec<Exemplar>>,
    /// The last failure to read them, per key (the chart still draws).
    pub errors: BTreeMap<String, String>,
}

impl Exemplars {
    pub fn clear(&mut self) {
        self.by_key.clear();
        self.errors.clear();
    }

    /// Whether any chart holds one.
    pub fn any(&self) -> bool {
        self.by_key.values().any(|v| !v.is_empty())
    }

    /// Those of one query, oldest first.
    pub fn of(&self, key: &str) -> &[Exemplar] {
        self.by_key.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// An answer for [start, until]: an incremental one replaces what was
    /// held from `start` on, a full one replaces everything; then what fell
    /// out of the window (before `window_start`) goes. A failure keeps what
    /// was held.
    pub fn on_answer(
        &mut self,
        key: &str,
        incremental: bool,
        start_ms: i64,
        window_start: i64,
        result: Result<Vec<Exemplar>, SourceError>,
    ) {
        let fresh = match result {
            Ok(v) => v,
            Err(e) => {
                self.errors.insert(key.to_string(), e.to_string());
                return;
            }
        };
        self.errors.remove(key);
        let held = self.by_key.entry(key.to_string()).or_default();
        if incremental {
            held.retain(|e| e.at_ms < start_ms);
        } else {
            held.clear();
        }
        held.extend(fresh);
        held.sort_by_key(|e| e.at_ms);
        // the same observation twice (overlapping ranges) is one mark
        held.dedup_by(|a, b| a.at_ms == b.at_ms && a.trace_id == b.trace_id);
        held.retain(|e| e.at_ms >= window_start);
        if held.len() > MAX_PER_QUERY {
            held.drain(..held.len() - MAX_PER_QUERY);
        }
    }

    /// Of the queries `keys`, the exemplar nearest `at_ms` within
    /// [start, end]; of two as near, the slower.
    pub fn nearest<'a>(
        &'a self,
        keys: impl IntoIterator<Item = &'a str>,
        at_ms: i64,
        start_ms: i64,
        end_ms: i64,
    ) -> Option<&'a Exemplar> {
        keys.into_iter()
            .flat_map(|k| self.of(k))
            .filter(|e| e.at_ms >= start_ms && e.at_ms <= end_ms)
            .min_by(|a, b| {
                (a.at_ms - at_ms)
                    .abs()
                    .cmp(&(b.at_ms - at_ms).abs())
                    .then(b.value.total_cmp(&a.value))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(at_ms: i64, value: f64, id: &str) -> Exemplar {
        Exemplar {
            at_ms,
            value,
            trace_id: id.into(),
        }
    }

    #[test]
    fn answers_merge_over_their_range_and_the_window_trims() {
        let mut s = Exemplars::default();
        s.on_answer(
            "q",
            false,
            0,
            0,
            Ok(vec![ex(10, 1.0, "a"), ex(20, 1.0, "b")]),
        );
        // an incremental answer from 20 on replaces what was held from 20
        s.on_answer(
            "q",
            true,
            20,
            0,
            Ok(vec![ex(20, 1.0, "b"), ex(30, 1.0, "c")]),
        );
        let ids: Vec<&str> = s.of("q").iter().map(|e| e.trace_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        // a failure keeps them, and says why
        s.on_answer(
            "q",
            true,
            30,
            0,
            Err(SourceError {
                status: Some(503),
                kind: Default::default(),
                message: "down".into(),
            }),
        );
        assert_eq!(s.of("q").len(), 3);
        assert!(s.errors["q"].contains("down"));
        // the window moved past the first
        s.on_answer("q", true, 30, 15, Ok(vec![ex(30, 1.0, "c")]));
        let ids: Vec<&str> = s.of("q").iter().map(|e| e.trace_id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert!(s.errors.is_empty());
        // a full answer replaces everything
        s.on_answer("q", false, 0, 0, Ok(vec![ex(5, 1.0, "z")]));
        assert_eq!(s.of("q").len(), 1);
    }

    #[test]
    fn nearest_to_the_moment_then_slowest() {
        let mut s = Exemplars::default();
        s.on_answer(
            "a",
            false,
            0,
            0,
            Ok(vec![
                ex(100, 0.2, "early"),
                ex(190, 0.1, "fast"),
                ex(500, 9.0, "out"),
            ]),
        );
        s.on_answer("b", false, 0, 0, Ok(vec![ex(210, 0.9, "slow")]));
        let near = |at| {
            s.nearest(["a", "b"], at, 0, 400)
                .map(|e| e.trace_id.clone())
        };
        assert_eq!(near(200).as_deref(), Some("slow"), "as near: the slower");
        assert_eq!(near(120).as_deref(), Some("early"));
        // outside the window never
        assert_eq!(near(450).as_deref(), Some("slow"));
        assert_eq!(s.nearest(["c"], 0, 0, 400), None);
    }
}
