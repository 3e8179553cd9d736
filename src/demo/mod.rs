//! `--demo`: deterministic simulated incidents behind the same backend trait
//! as Prometheus, one per built-in preset. Each story takes two minutes and
//! repeats; values depend only on the seed and the time.
//!
//! - `beam` ([`beam`]): app-1's binary memory climbs to the cgroup limit, it
//!   is OOMKilled and restarts; admission p95 and rejections spike.
//! - `go` ([`go`]): a Coder-like control plane whose database slows down;
//!   coderd-1 leaks goroutines waiting on its saturated `database/sql` pool
//!   until it is OOMKilled.
//! - `http` ([`http`]): a bad deploy of a checkout service: 5xx and tail
//!   latency climb, CPU is throttled, the DB pool saturates, checkout-3
//!   crash-loops, the nodes run short of memory; rolled back at 96 s.
//!
//! Each story also says what its pods log ([`logs`]), in its own words.
//!
//! Queries are answered by their key `pane.query`; values of pods combine as
//! the preset's PromQL would (`max by (pod)`, `sum`, ratios of sums, quantiles
//! of the merged histogram).

pub mod beam;
pub mod cluster;
pub mod go;
pub mod http;
pub mod logs;
#[cfg(test)]
mod tests;
pub mod traces;

pub use beam::{PodSample, LIMIT_BYTES, NAMESPACE, OOM_AT, PODS};

use crate::core::{BoxFut, SourceError};
use crate::dashboard::ResolvedQuery;
use crate::features::metrics::client::{Fetched, MetricsBackend, SampleClock};
use crate::store::{Labels, Series};

pub const PERIOD_SECS: i64 = 120;
const MIB: f64 = 1024.0 * 1024.0;

/// One simulated incident, played for one built-in preset. Each story is a
/// type in a file of its own; [`story_for`] is the only place that names
/// them all.
pub trait Story: Send + Sync {
    /// The built-in preset the story plays.
    fn preset(&self) -> &'static str;

    /// The built-in dashboard the story's metrics select (the preset, or
    /// its service-specific variant: `beam/codex-pooler`).
    fn dashboard(&self) -> &'static str {
        self.preset()
    }

    /// The story's pods.
    fn pods(&self) -> &'static [&'static str];

    /// The namespace the story's pods live in.
    fn namespace(&self) -> &'static str;

    /// The pod the incident happens to.
    fn sick_pod(&self) -> &'static str;

    /// The container of the story's pods (the `container` label).
    fn container(&self) -> &'static str {
        "app"
    }

    /// What the story's pods log over a cycle, in the story's own words:
    /// the rules [`logs::DemoLogs`] picks each line by, first match first;
    /// the last rule takes every slot no other rule took.
    fn log_rules(&self) -> &'static [logs::LogRule];

    /// What `pod` contributes to the query `key` at `t_s`; None for a key
    /// the story does not know.
    fn answer(&self, src: &DemoSource, key: &str, pod: &str, t_s: i64) -> Option<Answer>;

    /// Node-level answers that no pod filter touches (`node_*` metrics);
    /// None for every key unless the story has nodes.
    fn cluster(&self, _src: &DemoSource, _key: &str, _t_s: i64) -> Option<f64> {
        None
    }
}

/// The story for a preset name; anything else (a custom dashboard) is beam.
/// A new story is a file implementing [`Story`] and one line here.
pub fn story_for(preset: &str) -> &'static dyn Story {
    // `go/coderd` is the go story
    let preset = preset.split('/').next().unwrap_or(preset);
    match preset {
        "go" => &go::Go,
        "http" => &http::Http,
        _ => &beam::Beam,
    }
}

/// The namespace `--demo --dashboard NAME` should focus on.
pub fn namespace_for(preset: Option<&str>) -> &'static str {
    story_for(preset.unwrap_or("beam")).namespace()
}

pub struct DemoSource {
    seed: u64,
    story: &'static dyn Story,
}

/// How the rows of one query combine across pods, mirroring its PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// `max by (pod)`: pods stay apart.
    PerPod,
    /// `sum(...)`: one unlabelled row.
    Sum,
    /// `max(...)`: the worst pod, unlabelled.
    Max,
    /// `sum by (l)`: the pod label dropped, equal label sets added.
    SumBy,
    /// `max by (l)`: the pod label dropped, the worst of equal label sets.
    MaxBy,
}

/// A lognormal share of a latency histogram: `weight` events per second
/// with the given median and log-space standard deviation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lognormal {
    pub weight: f64,
    pub median: f64,
    pub sigma: f64,
}

/// What one pod contributes to one query at one instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Rows(Combine, Vec<(Labels, f64)>),
    /// `sum(num) / sum(den)`: this pod's numerator and denominator.
    Ratio(f64, f64),
    /// `histogram_quantile(q, sum by (le) (rate(...)))`: this pod's events.
    Quantile(f64, Vec<Lognormal>),
}

impl DemoSource {
    /// The beam story.
    pub fn new(seed: u64) -> DemoSource {
        DemoSource::with_preset(seed, "beam")
    }

    /// The story for a built-in preset ("beam", "go", "http"); unknown → beam.
    pub fn with_preset(seed: u64, preset: &str) -> DemoSource {
        DemoSource {
            seed,
            story: story_for(preset),
        }
    }

    pub fn story(&self) -> &'static dyn Story {
        self.story
    }

    /// Deterministic noise in [-1, 1] for (seed, salt, t).
    fn noise(&self, salt: u64, t_s: i64) -> f64 {
        let mut x = self.seed
            ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (t_s as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 29;
        (x % 20_001) as f64 / 10_000.0 - 1.0
    }

    /// Seconds into the two-minute cycle.
    pub fn phase(&self, t_s: i64) -> f64 {
        (t_s + self.shift()).rem_euclid(PERIOD_SECS) as f64
    }

    fn shift(&self) -> i64 {
        (self.seed % PERIOD_SECS as u64) as i64
    }

    /// Events that happen `at` seconds into every cycle, counted from the
    /// epoch up to and including `t_s` (kills, crashes).
    fn cycle_events(&self, t_s: i64, at: i64) -> i64 {
        (t_s + self.shift() - at).div_euclid(PERIOD_SECS)
    }

    /// Restarts of a container that dies `at` seconds into every cycle:
    /// (total, in the 15 minutes up to `t_s`). The pod was created between
    /// one and two hours ago (at the start of the previous UTC hour), so the
    /// count stays readable and the 15-minute window lies within its life.
    fn restart_counts(&self, t_s: i64, at: &[i64]) -> (f64, f64) {
        let created = (t_s.div_euclid(3600) - 1) * 3600;
        let count = |t: i64| at.iter().map(|&a| self.cycle_events(t, a)).sum::<i64>();
        let now = count(t_s);
        (
            (now - count(created)) as f64,
            (now - count(t_s - 900)) as f64,
        )
    }

    /// Node-level answers that no pod filter touches (`node_*` metrics).
    fn cluster(&self, key: &str, t_s: i64) -> Option<f64> {
        self.story.cluster(self, key, t_s)
    }

    fn answer(&self, key: &str, pod: &str, t_s: i64) -> Option<Answer> {
        if key == "restarts.last_terminated_at" {
            return Some(self.terminated_at(pod, t_s));
        }
        self.story.answer(self, key, pod, t_s)
    }

    /// When `pod`'s container last terminated, for every story alike: the
    /// moment its restart count last went up, found by walking back; a
    /// container that ended before the count began (a `Completed` one)
    /// ended when the pod was created, at the start of the previous UTC
    /// hour. Only containers with a last terminated reason have one.
    fn terminated_at(&self, pod: &str, t_s: i64) -> Answer {
        let rows = |key: &str, t: i64| match self.story.answer(self, key, pod, t) {
            Some(Answer::Rows(_, v)) => v,
            _ => vec![],
        };
        let Some((mut labels, _)) = rows("restarts.last_reason", t_s).into_iter().next() else {
            return Answer::Rows(Combine::PerPod, vec![]);
        };
        labels.remove("reason");
        let total = |t: i64| rows("restarts.total", t).first().map_or(0.0, |r| r.1);
        let (now, floor) = (total(t_s), t_s - 2 * PERIOD_SECS);
        let mut t = t_s;
        while t > floor && total(t - 10) == now {
            t -= 10;
        }
        let at = if t <= floor {
            (t_s.div_euclid(3600) - 1) * 3600
        } else {
            while total(t - 1) == now {
                t -= 1;
            }
            t
        };
        Answer::Rows(Combine::PerPod, vec![(labels, at as f64)])
    }

    /// The combined rows of `key` at `t_s` over `pods`; None for a key the
    /// story does not know.
    fn combined(&self, key: &str, pods: &[&str], t_s: i64) -> Option<Vec<(Labels, f64)>> {
        if let Some(v) = self.cluster(key, t_s) {
            return Some(vec![(Labels::new(), v)]);
        }
        let mut rows: Vec<(Labels, f64)> = Vec::new();
        let mut ratio: Option<(f64, f64)> = None;
        let mut dist: Option<(f64, Vec<Lognormal>)> = None;
        for pod in pods {
            match self.answer(key, pod, t_s)? {
                Answer::Rows(mode, vals) => merge(&mut rows, mode, vals),
                Answer::Ratio(n, d) => {
                    let r = ratio.get_or_insert((0.0, 0.0));
                    r.0 += n;
                    r.1 += d;
                }
                Answer::Quantile(q, comps) => dist.get_or_insert((q, vec![])).1.extend(comps),
            }
        }
        if let Some((n, d)) = ratio {
            if d > 0.0 {
                rows.push((Labels::new(), n / d));
            }
        }
        if let Some((q, comps)) = dist {
            let v = quantile(q, &comps);
            if v.is_finite() {
                rows.push((Labels::new(), v));
            }
        }
        Some(rows)
    }

    /// Series for `q` at the given instants (unix seconds).
    pub fn evaluate(&self, q: &ResolvedQuery, times: &[i64]) -> Vec<Series> {
        // settings give every `--demo` run the beam namespace unless told
        // otherwise, so the other stories answer to it as well
        let ns_ok = q
            .target_namespace
            .as_deref()
            .is_none_or(|n| n == self.story.namespace() || n == NAMESPACE);
        let pods: Vec<&str> = self
            .story
            .pods()
            .iter()
            .copied()
            .filter(|p| q.target_pod.as_deref().is_none_or(|f| f == *p))
            .filter(|_| ns_ok)
            .collect();
        let mut out: Vec<Series> = Vec::new();
        for &t in times {
            let Some(rows) = self.combined(&q.key, &pods, t) else {
                return vec![];
            };
            for (l, v) in rows {
                match out.iter_mut().find(|s| s.labels == l) {
                    Some(s) => s.points.push_back((t * 1000, v)),
                    None => out.push(Series::new(l, [(t * 1000, v)])),
                }
            }
        }
        out
    }
}

/// Adds one pod's rows to the combined rows.
fn merge(rows: &mut Vec<(Labels, f64)>, mode: Combine, vals: Vec<(Labels, f64)>) {
    for (mut l, v) in vals {
        match mode {
            Combine::PerPod => rows.push((l, v)),
            Combine::Sum | Combine::Max => match rows.first_mut() {
                Some(r) if mode == Combine::Sum => r.1 += v,
                Some(r) => r.1 = r.1.max(v),
                None => rows.push((Labels::new(), v)),
            },
            Combine::SumBy | Combine::MaxBy => {
                l.remove("pod");
                match rows.iter_mut().find(|r| r.0 == l) {
                    Some(r) if mode == Combine::SumBy => r.1 += v,
                    Some(r) => r.1 = r.1.max(v),
                    None => rows.push((l, v)),
                }
            }
        }
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26, error < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// The `q` quantile of the merged distribution of `comps` (bisection in log
/// space); NaN when nothing happened.
pub fn quantile(q: f64, comps: &[Lognormal]) -> f64 {
    let total: f64 = comps.iter().map(|c| c.weight).sum();
    if total <= 0.0 || comps.is_empty() {
        return f64::NAN;
    }
    let cdf = |ln_x: f64| {
        comps
            .iter()
            .map(|c| c.weight * normal_cdf((ln_x - c.median.ln()) / c.sigma))
            .sum::<f64>()
            / total
    };
    let spread = comps.iter().map(|c| c.sigma).fold(0.0, f64::max) * 8.0;
    let mut lo = comps.iter().map(|c| c.median.ln()).fold(f64::MAX, f64::min) - spread;
    let mut hi = comps.iter().map(|c| c.median.ln()).fold(f64::MIN, f64::max) + spread;
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// Mean of a mixture of lognormals (for Little's law).
pub(crate) fn mean(comps: &[Lognormal]) -> f64 {
    let total: f64 = comps.iter().map(|c| c.weight).sum();
    comps
        .iter()
        .map(|c| c.weight * c.median * (c.sigma * c.sigma / 2.0).exp())
        .sum::<f64>()
        / total
}

pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One row labelled with the pod.
pub(crate) fn pod_row(pod: &str, v: f64) -> Vec<(Labels, f64)> {
    vec![(labels(&[("pod", pod)]), v)]
}

/// Rough JSON size of a result, so the demo reports bytes like the real adapter.
fn approx_bytes(series: &[Series]) -> usize {
    series
        .iter()
        .map(|s| 40 + s.labels.len() * 24 + s.points.len() * 24)
        .sum()
}

impl MetricsBackend for DemoSource {
    fn name(&self) -> &'static str {
        "demo"
    }

    /// The traces of the demo's own lines (see `traces::exemplars`).
    fn query_exemplars<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
    ) -> BoxFut<'a, Result<crate::features::metrics::client::exemplars::Found, SourceError>> {
        Box::pin(async move {
            let t = traces::DemoTraces::new(self.seed, self.story.preset());
            let exemplars = traces::exemplars(&t, q, start_ms, end_ms).await?;
            Ok(crate::features::metrics::client::exemplars::Found {
                // about what Prometheus would send for them
                bytes: exemplars.len() * 120,
                exemplars,
            })
        })
    }

    fn query_range<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(async move {
            let step = (step_secs.max(1) * 1000) as i64;
            let times: Vec<i64> = (0..)
                .map(|i| start_ms + i * step)
                .take_while(|t| *t <= end_ms)
                .map(|t| t.div_euclid(1000))
                .collect();
            let series = self.evaluate(q, &times);
            Ok(Fetched {
                bytes: approx_bytes(&series),
                series,
                ..Default::default()
            })
        })
    }

    fn query_instant<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        at_ms: i64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(async move {
            let series = self.evaluate(q, &[at_ms.div_euclid(1000)]);
            Ok(Fetched {
                bytes: approx_bytes(&series),
                series,
                ..Default::default()
            })
        })
    }

    /// The story's preset `detect` names, so detection picks that preset.
    /// One job, "demo", exposing the metrics of the first convention of
    /// every query of the story's preset (the demo plays that convention;
    /// the others, such as the HTTP names every preset knows, are absent).
    fn inventory<'a>(
        &'a self,
        _names: &'a [String],
    ) -> BoxFut<'a, Result<crate::dashboard::detect::Inventory, SourceError>> {
        Box::pin(async move {
            let d = crate::dashboard::Dashboard::builtin_all(self.story.preset())
                .expect("built-in preset");
            let names = crate::dashboard::detect::first_convention_names(&d);
            let mut inv = crate::dashboard::detect::Inventory::default();
            inv.jobs.insert("demo".into(), names.into_iter().collect());
            inv.labels = ["pod", "namespace", "container", "job"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            inv.all_jobs = vec!["demo".into()];
            Ok(inv)
        })
    }

    /// The demo has a sample every second.
    fn sample_clock(&self) -> BoxFut<'_, Result<Option<SampleClock>, SourceError>> {
        Box::pin(async move {
            Ok(Some(SampleClock {
                interval_ms: 1000,
                last_ms: 0,
            }))
        })
    }
}

impl crate::features::kube::runner::Cluster for DemoSource {
    fn namespace(&self) -> String {
        self.story.namespace().into()
    }

    fn pods(&self, t_s: i64) -> Vec<crate::features::kube::PodInfo> {
        cluster::pods(self, t_s)
    }

    fn events(&self, t_s: i64) -> Vec<crate::features::kube::EventInfo> {
        cluster::events(self, t_s)
    }

    fn usage(&self, t_s: i64) -> Vec<crate::features::kube::PodUsage> {
        cluster::usage(self, t_s)
    }
}
