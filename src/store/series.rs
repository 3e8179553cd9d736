//! Series ring buffers per query, with the incremental merge of range results.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Label set of one series, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Most points kept per series (Prometheus refuses more than 11,000 per query).
pub const MAX_POINTS: usize = 11_000;
/// Most series kept per query; presets aggregate or top-k beyond this.
pub const MAX_SERIES: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// (timestamp in milliseconds, value), ascending by time.
    pub points: VecDeque<(i64, f64)>,
}

impl Series {
    pub fn new(labels: Labels, points: impl IntoIterator<Item = (i64, f64)>) -> Self {
        Series {
            labels,
            points: points.into_iter().collect(),
        }
    }

    pub fn last(&self) -> Option<(i64, f64)> {
        self.points.back().copied()
    }

    /// The newest point at or before `at` (the time cursor), or the newest.
    pub fn at(&self, at: Option<i64>) -> Option<(i64, f64)> {
        match at {
            None => self.last(),
            Some(t) => {
                let i = self.points.partition_point(|p| p.0 <= t);
                i.checked_sub(1).map(|i| self.points[i])
            }
        }
    }

    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }

    /// Merges newer points: everything from the first new timestamp on is
    /// replaced by the new points (the newest step may have been partial).
    fn merge(&mut self, new_points: &VecDeque<(i64, f64)>) {
        let Some(&(first, _)) = new_points.front() else {
            return;
        };
        while matches!(self.points.back(), Some(&(t, _)) if t >= first) {
            self.points.pop_back();
        }
        self.points.extend(new_points.iter().copied());
        while self.points.len() > MAX_POINTS {
            self.points.pop_front();
        }
    }

    fn trim_before(&mut self, t_ms: i64) {
        while matches!(self.points.front(), Some(&(t, _)) if t < t_ms) {
            self.points.pop_front();
        }
    }
}

/// What the store holds for one query of one pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryData {
    pub series: Vec<Series>,
    /// End of the newest successful fetch (ms); the next refresh starts here.
    pub fetched_until: Option<i64>,
    /// Wall time (ms) of the last successful fetch.
    pub last_ok: Option<i64>,
    /// The last error, cleared by the next success.
    pub error: Option<String>,
    /// Consecutive failures, for the retry display.
    pub failures: u32,
    /// Warnings Prometheus attached to the last answer.
    pub warnings: Vec<String>,
    /// Series left out because the query returned more than MAX_SERIES.
    pub truncated_series: usize,
    /// Alternatives (bit per index) that answered with no series since
    /// the last answer that had some: all set means none has data.
    pub empty_alts: u64,
}

impl QueryData {
    /// Replaces the data with a full (non-incremental) result: what the
    /// answer does not hold is gone. `dropped` is how many series the answer
    /// had beyond the cap (counted while parsing, never materialised).
    pub fn replace(&mut self, mut series: Vec<Series>, dropped: usize, until: i64) {
        self.truncated_series = dropped + series.len().saturating_sub(MAX_SERIES);
        series.truncate(MAX_SERIES);
        for s in &mut series {
            while s.points.len() > MAX_POINTS {
                s.points.pop_front();
            }
        }
        self.series = series;
        self.fetched_until = Some(until);
    }

    /// Merges an incremental range result and drops what fell out of the window.
    /// Series in the answer always have a slot; a series the answer no longer
    /// holds keeps its in-window history only while slots are free (newest
    /// first), and is evicted once its last point leaves the window. So after
    /// a flood of junk series, the real ones come back with the next answer.
    pub fn merge(&mut self, new: Vec<Series>, dropped: usize, until: i64, window_start: i64) {
        let mut old: HashMap<Labels, Series> = std::mem::take(&mut self.series)
            .into_iter()
            .map(|s| (s.labels.clone(), s))
            .collect();
        let over = new.len().saturating_sub(MAX_SERIES);
        let mut kept: Vec<Series> = Vec::with_capacity(new.len().min(MAX_SERIES));
        for s in new.into_iter().take(MAX_SERIES) {
            let mut cur = old
                .remove(&s.labels)
                .unwrap_or_else(|| Series::new(s.labels.clone(), []));
            cur.merge(&s.points);
            kept.push(cur);
        }
        let mut absent: Vec<Series> = old.into_values().collect();
        absent.sort_by_key(|s| std::cmp::Reverse(s.last().map(|p| p.0)));
        let free = MAX_SERIES - kept.len();
        kept.extend(absent.into_iter().take(free));
        for s in &mut kept {
            s.trim_before(window_start);
        }
        kept.retain(|s| !s.points.is_empty());
        self.series = kept;
        self.truncated_series = dropped + over;
        self.fetched_until = Some(until);
    }

    /// Sum of every series' value at `at` (NaN when there are none).
    pub fn sum_at(&self, at: Option<i64>) -> f64 {
        let vals: Vec<f64> = self
            .series
            .iter()
            .filter_map(|s| s.at(at).map(|p| p.1))
            .collect();
        if vals.is_empty() {
            f64::NAN
        } else {
            vals.iter().sum()
        }
    }

    /// The value at `at` of the series whose label `name` equals `value`.
    pub fn value_for(&self, name: &str, value: &str, at: Option<i64>) -> Option<f64> {
        self.series
            .iter()
            .find(|s| s.label(name) == value)
            .and_then(|s| s.at(at).map(|p| p.1))
    }

    /// Newest value of the series whose label `name` equals `value`.
    pub fn latest_for(&self, name: &str, value: &str) -> Option<f64> {
        self.value_for(name, value, None)
    }

    /// Pointwise sum over all series, aligned by timestamp, ascending.
    pub fn summed_points(&self) -> Vec<(i64, f64)> {
        self.summed_tail(usize::MAX)
    }

    /// `summed_points` of the newest `n` timestamps only (a sparkline needs
    /// no more than its width): each series contributes its last `n` finite
    /// points.
    pub fn summed_tail(&self, n: usize) -> Vec<(i64, f64)> {
        let mut all: Vec<(i64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().rev().filter(|p| p.1.is_finite()).take(n))
            .copied()
            .collect();
        all.sort_unstable_by_key(|p| p.0);
        let mut out: Vec<(i64, f64)> = Vec::with_capacity(all.len().min(n));
        for (t, v) in all {
            match out.last_mut() {
                Some(last) if last.0 == t => last.1 += v,
                _ => out.push((t, v)),
            }
        }
        let extra = out.len().saturating_sub(n);
        out.drain(..extra);
        out
    }

    pub fn has_data(&self) -> bool {
        self.series.iter().any(|s| !s.points.is_empty())
    }

    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// All query data of the current dashboard, keyed by query id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesStore {
    pub queries: HashMap<String, QueryData>,
}

impl SeriesStore {
    pub fn get(&self, id: &str) -> Option<&QueryData> {
        self.queries.get(id)
    }

    pub fn entry(&mut self, id: &str) -> &mut QueryData {
        self.queries.entry(id.to_string()).or_default()
    }

    pub fn clear(&mut self) {
        self.queries.clear();
    }

    /// Where the next fetch of each query may start (incremental refresh).
    pub fn resume_points(&self) -> HashMap<String, i64> {
        self.queries
            .iter()
            .filter_map(|(k, q)| q.fetched_until.map(|t| (k.clone(), t)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pod: &str) -> Labels {
        [("pod".to_string(), pod.to_string())].into_iter().collect()
    }

    #[test]
    fn merge_appends_new_points_and_replaces_overlap() {
        let mut q = QueryData::default();
        q.replace(
            vec![Series::new(labels("a"), [(0, 1.0), (10, 2.0), (20, 3.0)])],
            0,
            20,
        );
        q.merge(
            vec![Series::new(labels("a"), [(20, 3.5), (30, 4.0)])],
            0,
            30,
            0,
        );
        let pts: Vec<_> = q.series[0].points.iter().copied().collect();
        assert_eq!(pts, vec![(0, 1.0), (10, 2.0), (20, 3.5), (30, 4.0)]);
        assert_eq!(q.fetched_until, Some(30));
    }

    #[test]
    fn merge_trims_window_and_adds_new_series() {
        let mut q = QueryData::default();
        q.replace(vec![Series::new(labels("a"), [(0, 1.0), (10, 2.0)])], 0, 10);
        q.merge(vec![Series::new(labels("b"), [(20, 9.0)])], 0, 20, 5);
        assert_eq!(q.series.len(), 2);
        assert_eq!(q.series[0].points.len(), 1);
        assert_eq!(q.latest_for("pod", "b"), Some(9.0));
        assert_eq!(q.sum_at(None), 11.0);
        // a series whose points all fall out of the window is dropped
        q.merge(vec![], 0, 40, 15);
        assert_eq!(q.series.len(), 1);
        assert_eq!(q.series[0].label("pod"), "b");
    }

    #[test]
    fn values_at_the_cursor() {
        let s = Series::new(labels("a"), [(10, 1.0), (20, 2.0), (30, 3.0)]);
        assert_eq!(s.at(None), Some((30, 3.0)));
        assert_eq!(s.at(Some(25)), Some((20, 2.0)));
        assert_eq!(s.at(Some(20)), Some((20, 2.0)));
        assert_eq!(s.at(Some(5)), None);
    }

    #[test]
    fn merge_caps_points() {
        let mut q = QueryData::default();
        let pts = (0..(MAX_POINTS as i64 + 50)).map(|i| (i, i as f64));
        q.merge(vec![Series::new(labels("a"), pts)], 0, 0, 0);
        assert_eq!(q.series[0].points.len(), MAX_POINTS);
        assert_eq!(q.series[0].points.front().unwrap().0, 50);
    }

    #[test]
    fn a_flood_of_series_gives_way_to_the_real_ones() {
        let mut q = QueryData::default();
        let real = || vec![Series::new(labels("app-1"), [(100, 1.0)])];
        q.replace(real(), 0, 100);
        // one burst: the cap is full of junk, the rest counted, not kept
        let junk: Vec<Series> = (0..MAX_SERIES)
            .map(|i| Series::new(labels(&format!("junk-{i}")), [(110, 0.0)]))
            .collect();
        q.merge(junk, 59_500, 110, 0);
        assert_eq!(q.series.len(), MAX_SERIES);
        assert_eq!(q.truncated_series, 59_500);
        assert!(q.latest_for("pod", "app-1").is_none());
        // the backend is healthy again: the real pod is back at once, and
        // the "left out" figure describes this answer, not a running sum
        q.merge(vec![Series::new(labels("app-1"), [(120, 2.0)])], 0, 120, 0);
        assert_eq!(q.latest_for("pod", "app-1"), Some(2.0));
        assert_eq!(q.truncated_series, 0);
        // junk that no answer returns is evicted once it leaves the window
        q.merge(
            vec![Series::new(labels("app-1"), [(130, 3.0)])],
            0,
            130,
            115,
        );
        assert_eq!(q.series.len(), 1, "{:?}", q.series.len());
        // a full answer replaces everything
        q.replace(vec![Series::new(labels("app-2"), [(140, 1.0)])], 7, 140);
        assert_eq!(q.series.len(), 1);
        assert_eq!(q.truncated_series, 7);
    }

    #[test]
    fn summed_points_align_by_time() {
        let mut q = QueryData::default();
        q.replace(
            vec![
                Series::new(labels("a"), [(0, 1.0), (10, 2.0)]),
                Series::new(labels("b"), [(10, 5.0), (20, f64::NAN)]),
            ],
            0,
            20,
        );
        assert_eq!(q.summed_points(), vec![(0, 1.0), (10, 7.0)]);
        assert_eq!(q.summed_tail(1), vec![(10, 7.0)]);
    }
}
