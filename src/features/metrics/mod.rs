//! Metrics: the Prometheus-API source (or the demo), its dashboard and
//! series store, the poller and the metric panes.
pub mod client;
pub mod exemplars;
pub mod panes;
pub mod poller;
pub mod runner;
pub mod schedule;

use std::collections::{BTreeMap, BTreeSet};

use crate::core::scope::MAX_PICKER_PODS;
use crate::core::{Ctx, Effect, Feature, Outcome, Source, SourceCommon, SourceError, Target};
use crate::dashboard::detect::{detect, Inventory};
use crate::dashboard::{Dashboard, ResolvedQuery, Role, TargetVars};
use crate::store::{QueryData, SeriesStore};
use client::{Fetched, SampleClock};
use poller::PollPlan;

/// Points per series we aim for: enough for a 300-column chart.
pub const TARGET_POINTS: u64 = 360;

/// What the metrics source sends.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsEvent {
    /// A query answered (or failed). `incremental` says whether `result`
    /// extends the stored data from `start_ms` or replaces it.
    Query {
        gen: u64,
        key: String,
        /// Which of the query's alternatives answered.
        alt: usize,
        incremental: bool,
        start_ms: i64,
        until_ms: i64,
        at_ms: i64,
        result: Result<Fetched, SourceError>,
    },
    /// What the backend has, for preset detection.
    Inventory {
        gen: u64,
        at_ms: i64,
        result: Result<Inventory, SourceError>,
    },
    /// The sample clock was asked (one request).
    Clock {
        gen: u64,
        at_ms: i64,
        clock: Option<SampleClock>,
    },
    /// A latency chart's exemplars over the range its answer covered
    /// (sent just before that answer).
    Exemplars {
        gen: u64,
        key: String,
        at_ms: i64,
        incremental: bool,
        start_ms: i64,
        until_ms: i64,
        result: Result<client::exemplars::Found, SourceError>,
    },
}

impl MetricsEvent {
    pub fn gen(&self) -> u64 {
        match self {
            MetricsEvent::Query { gen, .. }
            | MetricsEvent::Inventory { gen, .. }
            | MetricsEvent::Clock { gen, .. }
            | MetricsEvent::Exemplars { gen, .. } => *gen,
        }
    }
}

/// How the dashboard was chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum DashboardChoice {
    /// `--dashboard` or config: fixed.
    Fixed,
    /// Detected from the metric names the backend exposes.
    Auto,
}

/// The metrics source (Prometheus or the demo) and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsState {
    /// Configured (a Prometheus or the demo), generation (bumped on every
    /// re-target and pause; older answers are dropped) and health.
    pub common: SourceCommon,
    pub dashboard: Option<Dashboard>,
    pub choice: DashboardChoice,
    /// A dashboard that does not resolve (a variable typo): not the backend's fault.
    pub dashboard_error: Option<String>,
    pub user_vars: BTreeMap<String, String>,
    pub queries: Vec<ResolvedQuery>,
    pub store: SeriesStore,
    pub step_secs: u64,
    pub max_concurrency: usize,
    pub clock: Option<SampleClock>,
    /// The pods of the last answers while no pod was chosen: what the picker
    /// offers while one is (the answers then hold only that pod).
    pub known_pods: Vec<String>,
    /// Per query key, the alternative (metric convention) that last
    /// returned data: new plans start there.
    pub chosen: std::collections::HashMap<String, usize>,
    /// Why this dashboard, for which job, and which signals it found.
    pub detection: Option<crate::dashboard::detect::Detection>,
    /// Every job the backend has (for completion).
    pub jobs: Vec<String>,
    /// The latency charts' exemplars (trace ids of observations).
    pub exemplars: exemplars::Exemplars,
}

/// What the metrics source is told.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsCommand {
    /// Find out which preset fits (metric names).
    Detect {
        gen: u64,
    },
    /// Replace the running poller with this plan.
    Start(PollPlan),
    Stop,
}

impl Default for MetricsState {
    fn default() -> Self {
        let mut common = SourceCommon::new("prom");
        common.configured = true;
        MetricsState {
            common,
            dashboard: None,
            choice: DashboardChoice::Auto,
            dashboard_error: None,
            user_vars: Default::default(),
            queries: vec![],
            store: SeriesStore::default(),
            step_secs: 1,
            max_concurrency: 4,
            clock: None,
            known_pods: vec![],
            chosen: Default::default(),
            detection: None,
            jobs: vec![],
            exemplars: Default::default(),
        }
    }
}

impl MetricsState {
    /// The label name this dashboard uses for `which` (`pod`, `container`, …).
    pub fn label<'a>(&'a self, which: &'a str) -> &'a str {
        self.dashboard
            .as_ref()
            .map(|d| d.label_name(which))
            .unwrap_or(which)
    }

    /// The queries of one pane with their data.
    pub fn pane_queries<'a>(
        &'a self,
        pane: &'a str,
    ) -> impl Iterator<Item = (&'a ResolvedQuery, Option<&'a QueryData>)> + 'a {
        self.queries
            .iter()
            .filter(move |q| q.pane == pane)
            .map(|q| (q, self.store.get(&q.key)))
    }

    /// The exemplar nearest `at_ms` in [start, end] of every latency
    /// chart (of two as near, the slower), with its query: what `x` opens.
    pub fn exemplar_near(
        &self,
        at_ms: i64,
        start_ms: i64,
        end_ms: i64,
    ) -> Option<(&ResolvedQuery, &client::exemplars::Exemplar)> {
        let charts = || self.queries.iter().filter(|q| client::exemplars::wants(q));
        let e =
            self.exemplars
                .nearest(charts().map(|q| q.key.as_str()), at_ms, start_ms, end_ms)?;
        let q = charts().find(|q| self.exemplars.of(&q.key).iter().any(|x| std::ptr::eq(x, e)))?;
        Some((q, e))
    }

    /// The queries of one pane with one role.
    pub fn role_queries<'a>(
        &'a self,
        pane: &'a str,
        role: Role,
    ) -> impl Iterator<Item = (&'a ResolvedQuery, Option<&'a QueryData>)> + 'a {
        self.pane_queries(pane).filter(move |(q, _)| q.role == role)
    }

    /// Whether every query has settled: it has data, or failed, or every
    /// one of its alternatives (metric conventions) answered with nothing.
    /// A query whose first convention came back empty is not settled: the
    /// next one is asked at once, and "no series; needs …" would be wrong.
    pub fn all_answered(&self) -> bool {
        !self.queries.is_empty()
            && self.queries.iter().all(|q| {
                self.store.get(&q.key).is_some_and(|d| {
                    let n = q.alternatives.len().clamp(1, 64);
                    let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                    d.error.is_some()
                        || (d.last_ok.is_some()
                            && (!d.series.is_empty() || d.empty_alts & all == all))
                })
            })
    }

    /// Every query of the pane settled with no series (each metric
    /// convention tried, none failed): the pane has nothing to draw and
    /// gives its space away.
    pub fn pane_empty(&self, pane: &str) -> bool {
        let mut any = false;
        for (q, d) in self.pane_queries(pane) {
            any = true;
            let Some(d) = d else { return false };
            let n = q.alternatives.len().clamp(1, 64);
            let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            let settled_empty = d.last_ok.is_some()
                && d.error.is_none()
                && d.series.is_empty()
                && d.empty_alts & all == all;
            if !settled_empty {
                return false;
            }
        }
        any
    }

    /// The pods the picker offers: those in the latest answers (raw label
    /// values, for exact queries; the picker shows them sanitised), capped.
    /// While one pod is chosen, those of the last answers for all pods.
    pub fn pods(&self, chosen: Option<&str>) -> Vec<String> {
        if let Some(cur) = chosen {
            if !self.known_pods.is_empty() {
                let mut p = self.known_pods.clone();
                if !p.iter().any(|x| x == cur) {
                    p.push(cur.to_string());
                    p.sort();
                }
                return p;
            }
        }
        self.answered_pods()
    }

    /// The pods in the latest answers, capped.
    pub fn answered_pods(&self) -> Vec<String> {
        let label = self.label("pod");
        let mut pods = BTreeSet::new();
        for q in self.store.queries.values() {
            for s in &q.series {
                if let Some(p) = s.labels.get(label) {
                    pods.insert(p.as_str());
                }
            }
        }
        pods.into_iter()
            .take(MAX_PICKER_PODS)
            .map(str::to_string)
            .collect()
    }

    /// A new generation and plan. `reset` drops stored data (the scope
    /// changed); otherwise polling resumes from what is stored.
    pub fn plan(&mut self, ctx: &Ctx, reset: bool) -> Vec<MetricsCommand> {
        if !self.common.configured {
            return vec![];
        }
        self.common.gen += 1;
        let gen = self.common.gen;
        let Some(d) = &self.dashboard else {
            return vec![MetricsCommand::Detect { gen }];
        };
        if reset {
            self.store.clear();
            self.exemplars.clear();
        }
        let t = ctx.target;
        self.step_secs = crate::core::target::choose_step(t.range_secs, TARGET_POINTS, 1);
        let vars = TargetVars {
            namespace: t.namespace.clone(),
            job: t.job.clone(),
            pod: t.pod.clone(),
            range_secs: t.range_secs,
            step_secs: self.step_secs,
        };
        match d.resolve(&vars) {
            Ok(mut q) => {
                // start each query with the convention that answered last time
                for r in &mut q {
                    if let Some(&alt) = self.chosen.get(&r.key) {
                        r.use_alt(alt);
                    }
                }
                self.queries = q;
                self.dashboard_error = None;
            }
            Err(e) => {
                // the dashboard's fault, not the backend's
                self.queries.clear();
                self.dashboard_error = Some(e);
                return vec![MetricsCommand::Stop];
            }
        }
        vec![MetricsCommand::Start(PollPlan {
            gen,
            queries: self.queries.clone(),
            range_secs: t.range_secs,
            step_secs: self.step_secs,
            refresh_secs: ctx.refresh_secs,
            pinned_end_ms: t.pinned_end_ms,
            resume: self.store.resume_points(),
            max_concurrency: self.max_concurrency,
            default_interval_ms: d
                .variables
                .get("scrape_interval")
                .and_then(|s| crate::text::units::parse_duration(s).ok())
                .map(|s| (s * 1000.0) as i64)
                .unwrap_or(15_000),
        })]
    }

    /// Detection per job: the preset and job that fit best, label names
    /// from what exists (the user's variables win), scoped to that job
    /// unless the user chose one. Re-targeting follows from the job;
    /// otherwise a new plan.
    fn on_inventory(&mut self, inv: Inventory, ctx: &Ctx) -> Outcome<MetricsCommand> {
        let presets = Dashboard::builtins();
        let det = detect(&presets, &inv, ctx.target.job.as_deref());
        self.jobs = inv.all_jobs.clone();
        let mut out = Outcome::changed(vec![]).with(Effect::FocusFirst);
        let (chosen, job) = match &det {
            Some(d) => (
                Dashboard::builtin(&d.dashboard_name()).expect("detected a built-in"),
                d.job.clone(),
            ),
            None => {
                out = out.with(Effect::Warn(
                    "no preset matched the metric names; showing `http`".into(),
                ));
                (Dashboard::builtin("http").expect("http preset"), None)
            }
        };
        let labels = det.as_ref().map(|d| d.labels.clone()).unwrap_or_default();
        self.dashboard = Some(
            chosen
                .with_overrides(&labels)
                .with_overrides(&self.user_vars),
        );
        self.detection = det;
        // several jobs: scope to the chosen one, so unrelated jobs are never summed
        if ctx.target.job.is_none() && inv.jobs.len() > 1 {
            if let Some(j) = job {
                // the target changes: update re-targets once
                return out.with(Effect::ScopeToJob(j));
            }
        }
        out.cmds = self.plan(ctx, true);
        out
    }

    fn on_query(&mut self, ev: MetricsEvent, ctx: &Ctx) -> Outcome<MetricsCommand> {
        let MetricsEvent::Query {
            key,
            alt,
            incremental,
            until_ms,
            at_ms,
            result,
            ..
        } = ev
        else {
            return Outcome::none();
        };
        let mut out = Outcome::changed(vec![]);
        let window_start = until_ms - ctx.target.range_secs as i64 * 1000;
        if let Ok(f) = &result {
            let (job_l, pod_l) = (self.label("job"), self.label("pod"));
            let learned: Vec<(String, String)> = f
                .series
                .iter()
                .filter_map(|s| Some((s.labels.get(job_l)?, s.labels.get(pod_l)?)))
                .filter(|(j, p)| !ctx.scope.knows(j, p))
                .map(|(j, p)| (j.clone(), p.clone()))
                .collect();
            if !learned.is_empty() {
                out = out.with(Effect::Learn(learned));
            }
        }
        let h = &mut self.common.health;
        h.count(at_ms, result.as_ref().map(|f| f.bytes as u64).unwrap_or(0));
        let entry = self.store.entry(&key);
        match result {
            Ok(f) => {
                if !f.series.is_empty() && self.chosen.get(&key) != Some(&alt) {
                    self.chosen.insert(key.clone(), alt);
                    if let Some(q) = self.queries.iter_mut().find(|q| q.key == key) {
                        q.use_alt(alt);
                    }
                }
                if f.series.is_empty() {
                    entry.empty_alts |= 1u64 << alt.min(63);
                } else {
                    entry.empty_alts = 0;
                }
                if incremental {
                    entry.merge(f.series, f.dropped, until_ms, window_start);
                } else {
                    entry.replace(f.series, f.dropped, until_ms);
                }
                entry.last_ok = Some(at_ms);
                entry.error = None;
                entry.failures = 0;
                entry.warnings = f
                    .warnings
                    .iter()
                    .map(|w| crate::text::display(w).into_owned())
                    .collect();
                h.succeeded(at_ms);
            }
            Err(e) => {
                entry.error = Some(e.to_string());
                entry.failures += 1;
                h.failed(at_ms, e.to_string(), e.is_permanent());
            }
        }
        out
    }
}

impl Source for MetricsState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    fn settled(&self) -> bool {
        !self.common.configured
            || self.all_answered()
            || (self.dashboard.is_none() && self.common.health.last_error.is_some())
            || self.dashboard_error.is_some()
    }

    fn problems(&self) -> Vec<String> {
        let mut out = vec![];
        if let Some(e) = &self.dashboard_error {
            out.push(format!("dashboard: {e}"));
        }
        let h = &self.common.health;
        if self.common.configured && !h.ok() {
            let why = h
                .last_error
                .clone()
                .unwrap_or_else(|| "no answer before the timeout".into());
            out.push(format!("{} at {}: {why}", h.name, h.url));
        }
        out
    }

    fn help_lines(&self) -> Vec<String> {
        let points: usize = self.store.queries.values().map(|q| q.point_count()).sum();
        let mut out = vec![format!(
            "Buffers: {points} points; caps {} points/series, {} series/query.",
            crate::store::series::MAX_POINTS,
            crate::store::series::MAX_SERIES,
        )];
        if let Some(c) = self.clock {
            out.push(format!(
                "Samples every {}.",
                crate::text::units::format_duration(c.interval_ms as f64 / 1000.0)
            ));
        }
        if let Some(det) = &self.detection {
            out.push(format!(
                "Dashboard {} for job {} ({}/{} of its names); {}/{} signals.",
                det.dashboard_name(),
                crate::text::display(det.job.as_deref().unwrap_or("any")),
                det.score.0,
                det.score.1,
                det.found,
                det.total
            ));
            for miss in &det.missing {
                out.push(format!("missing {}", crate::text::display(miss)));
            }
        }
        out
    }
}

impl Feature for MetricsState {
    type Event = MetricsEvent;
    type Command = MetricsCommand;

    fn start(&mut self, ctx: &Ctx) -> Vec<MetricsCommand> {
        self.plan(ctx, true)
    }

    /// Only pausing or resuming keeps the data held.
    fn retarget(&mut self, ctx: &Ctx, before: &Target) -> Vec<MetricsCommand> {
        let reset = !ctx.target.same_scope(before);
        if before.pod.is_none() && reset {
            // the picker keeps offering every pod while one is chosen
            self.known_pods = self.answered_pods();
        }
        self.plan(ctx, reset)
    }

    fn on_event(&mut self, ev: MetricsEvent, ctx: &Ctx) -> Outcome<MetricsCommand> {
        if !self.common.current(ev.gen()) {
            return Outcome::none(); // an answer for an old target
        }
        match ev {
            MetricsEvent::Clock { at_ms, clock, .. } => {
                self.common.health.count(at_ms, 0);
                self.clock = clock.or(self.clock);
                Outcome::none()
            }
            MetricsEvent::Inventory { at_ms, result, .. } => {
                self.common.health.count(at_ms, 0);
                match result {
                    Ok(inv) => {
                        self.common.health.succeeded(at_ms);
                        self.on_inventory(inv, ctx)
                    }
                    Err(e) => {
                        let h = &mut self.common.health;
                        h.failed(at_ms, e.to_string(), e.is_permanent());
                        Outcome::changed(vec![])
                    }
                }
            }
            q @ MetricsEvent::Query { .. } => self.on_query(q, ctx),
            MetricsEvent::Exemplars {
                key,
                at_ms,
                incremental,
                start_ms,
                until_ms,
                result,
                ..
            } => {
                let bytes = result.as_ref().map_or(0, |f| f.bytes as u64);
                self.common.health.count(at_ms, bytes);
                let window_start = until_ms - ctx.target.range_secs as i64 * 1000;
                let result = result.map(|f| f.exemplars);
                self.exemplars
                    .on_answer(&key, incremental, start_ms, window_start, result);
                Outcome::changed(vec![])
            }
        }
    }
}
