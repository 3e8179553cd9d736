//! Two traces side by side: per service and operation, how many spans and
//! how much time each trace spent there, and the difference (the second
//! minus the first), largest difference first. "Compare with a fast trace"
//! of the runbook: what the slow one did more of.

use std::collections::BTreeMap;

use super::tree::Trace;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub service: String,
    pub operation: String,
    pub count: (usize, usize),
    /// Summed span durations (ns).
    pub total_ns: (i64, i64),
}

impl Row {
    pub fn diff_ns(&self) -> i64 {
        self.total_ns.1 - self.total_ns.0
    }
}

/// The rows of `a` (the baseline) against `b`.
pub fn compare(a: &Trace, b: &Trace) -> Vec<Row> {
    let mut m: BTreeMap<(String, String), Row> = BTreeMap::new();
    for (which, t) in [(0, a), (1, b)] {
        for s in &t.spans {
            let r = &s.raw;
            let row = m
                .entry((r.service.to_string(), r.name.clone()))
                .or_insert_with(|| Row {
                    service: r.service.to_string(),
                    operation: r.name.clone(),
                    count: (0, 0),
                    total_ns: (0, 0),
                });
            if which == 0 {
                row.count.0 += 1;
                row.total_ns.0 += r.dur_ns;
            } else {
                row.count.1 += 1;
                row.total_ns.1 += r.dur_ns;
            }
        }
    }
    let mut rows: Vec<Row> = m.into_values().collect();
    rows.sort_by(|x, y| {
        y.diff_ns()
            .abs()
            .cmp(&x.diff_ns().abs())
            .then_with(|| (&x.service, &x.operation).cmp(&(&y.service, &y.operation)))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::traces::client::wire::RawSpan;
    use crate::features::traces::tree::build;

    fn trace(id: &str, spans: &[(&str, &str, i64)]) -> Trace {
        let raw = spans
            .iter()
            .enumerate()
            .map(|(i, (svc, op, dur))| RawSpan {
                span_id: format!("{i:016x}"),
                parent_id: (i > 0).then(|| format!("{:016x}", 0)),
                service: std::sync::Arc::from(*svc),
                name: op.to_string(),
                start_ns: 0,
                dur_ns: *dur,
                ..Default::default()
            })
            .collect();
        build(id, raw, vec![], false)
    }

    #[test]
    fn what_the_slow_trace_did_more_of_comes_first() {
        let fast = trace(
            "a",
            &[
                ("gw", "GET /", 100),
                ("db", "SELECT", 30),
                ("cache", "GET", 5),
            ],
        );
        let slow = trace(
            "b",
            &[
                ("gw", "GET /", 900),
                ("db", "SELECT", 300),
                ("db", "SELECT", 400),
                ("auth", "verify", 10),
            ],
        );
        let rows = compare(&fast, &slow);
        let shown: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}:{} {}/{} {}",
                    r.service,
                    r.operation,
                    r.count.0,
                    r.count.1,
                    r.diff_ns()
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "gw:GET / 1/1 800",
                "db:SELECT 1/2 670",
                "auth:verify 0/1 10",
                "cache:GET 1/0 -5",
            ]
        );
    }
}
