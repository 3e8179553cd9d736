//! Everything the screen shows, owned by the event loop; changed only by
//! `update`. One part per source (its generation, health and data), the
//! target the sources follow, and the UI's view stack.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::target::Target;
use super::views::{InputPurpose, ViewStack};
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::dashboard::{Dashboard, ResolvedQuery, Role};
use crate::sources::probes::{ProbeOk, ProbeSpec};
use crate::sources::SampleClock;
use crate::store::{QueryData, SeriesStore};

/// Most pods the picker lists.
pub const MAX_PICKER_PODS: usize = 1000;

/// How the dashboard was chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum DashboardChoice {
    /// `--dashboard` or config: fixed.
    Fixed,
    /// Detected from the metric names the backend exposes.
    Auto,
}

/// Health of one source, for the header: last success, last error, and
/// the requests it made (the last minute's are kept for a rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// "prom", "demo", "probes": shown in the header.
    pub name: String,
    /// Where it reads from, for display (no userinfo).
    pub url: String,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    /// The last error will not go away by asking again (bad query, auth).
    pub permanent: bool,
    pub requests: u64,
    pub bytes: u64,
    /// Times of the requests of the last minute, for "requests per minute".
    pub recent: VecDeque<i64>,
}

impl Health {
    pub fn named(name: &str, url: &str) -> Health {
        Health {
            name: name.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    pub fn ok(&self) -> bool {
        match (self.last_ok_ms, self.last_error_ms) {
            (_, None) => self.last_ok_ms.is_some(),
            (Some(ok), Some(err)) => ok > err,
            (None, Some(_)) => false,
        }
    }

    /// Counts one request answered at `at_ms`.
    pub fn count(&mut self, at_ms: i64, bytes: u64) {
        self.requests += 1;
        self.bytes += bytes;
        self.recent.push_back(at_ms);
        while self.recent.front().is_some_and(|&t| t < at_ms - 60_000) {
            self.recent.pop_front();
        }
    }

    /// Requests in the minute up to `now_ms`.
    pub fn per_minute(&self, now_ms: i64) -> usize {
        self.recent.iter().filter(|&&t| t > now_ms - 60_000).count()
    }

    pub fn succeeded(&mut self, at_ms: i64) {
        self.last_ok_ms = Some(at_ms);
    }

    pub fn failed(&mut self, at_ms: i64, error: String, permanent: bool) {
        self.last_error = Some(error);
        self.last_error_ms = Some(at_ms);
        self.permanent = permanent;
    }
}

/// The metrics source (Prometheus or the demo) and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsState {
    /// Whether a Prometheus (or the demo) is configured at all.
    pub configured: bool,
    /// Bumped on every re-target and pause; older answers are dropped.
    pub gen: u64,
    pub health: Health,
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
}

/// What the sources have seen exists: the jobs and the pods of each job,
/// fed by whichever source sees them. A re-target never clears it, so a
/// source's plan reads it instead of another source's data (which a
/// re-target may just have emptied).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub pods_by_job: BTreeMap<String, BTreeSet<String>>,
}

/// Jobs remembered in the scope.
const MAX_SCOPE_JOBS: usize = 1000;

impl Scope {
    /// Records that `pod` belongs to `job`; true when it was new.
    pub fn learn(&mut self, job: &str, pod: &str) -> bool {
        if job.is_empty() || pod.is_empty() {
            return false;
        }
        if !self.pods_by_job.contains_key(job) && self.pods_by_job.len() >= MAX_SCOPE_JOBS {
            return false;
        }
        let pods = self.pods_by_job.entry(job.to_string()).or_default();
        pods.len() < MAX_PICKER_PODS && pods.insert(pod.to_string())
    }

    /// The pods seen for `job`, sorted.
    pub fn pods_of(&self, job: &str) -> Vec<String> {
        self.pods_by_job
            .get(job)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// One probe's latest result and its recent history (for flapping).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeStatus {
    pub spec: ProbeSpec,
    pub last: Option<Result<ProbeOk, String>>,
    pub last_at_ms: Option<i64>,
    /// When the probe last changed between healthy and not.
    pub changed_at_ms: Option<i64>,
    /// Newest last: true = healthy. Capped at PROBE_HISTORY.
    pub history: VecDeque<bool>,
}

/// Results kept per probe for its history strip.
pub const PROBE_HISTORY: usize = 60;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbesState {
    pub gen: u64,
    pub health: Health,
    pub probes: Vec<ProbeStatus>,
    pub interval_secs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    pub views: ViewStack,
    /// One line for the footer: a command's result or error (true = error).
    pub message: Option<(String, bool)>,
    /// Text-input histories, per purpose.
    pub history: BTreeMap<InputPurpose, Vec<String>>,
    /// The pane with the focus.
    pub focused: Focus,
    pub zoom: bool,
    pub width: u16,
    pub height: u16,
}

impl UiState {
    /// The key mode of the view on top.
    pub fn mode(&self) -> Mode {
        match self.views.mode() {
            Mode::Normal if self.focused == Focus::Logs => Mode::Logs,
            m => m,
        }
    }
}

/// Which pane has the focus: a metric pane (by index into the dashboard's
/// panes) or the log pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Focus {
    Pane(usize),
    Logs,
}

impl Focus {
    /// The metric pane's index, if a metric pane has the focus.
    pub fn pane(self) -> Option<usize> {
        match self {
            Focus::Pane(i) => Some(i),
            Focus::Logs => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub profile: Option<String>,
    /// What every source looks at; compared before and after each event.
    pub target: Target,
    /// The time cursor (ms) shared by every chart; None: latest.
    pub cursor_ms: Option<i64>,
    /// The selected trace id, for correlation.
    pub trace_id: Option<String>,
    pub now_ms: i64,
    pub refresh_secs: f64,
    pub metrics: MetricsState,
    pub probes: ProbesState,
    pub logs: super::logs::LogsState,
    /// What exists, as the sources have seen it.
    pub scope: Scope,
    pub ui: UiState,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Shown as badges (e.g. TLS verification off, theme problems).
    pub warnings: Vec<String>,
    pub quit: bool,
}

impl State {
    pub fn new(
        profile: Option<String>,
        target: Target,
        refresh_secs: f64,
        theme: Theme,
        keymap: Keymap,
    ) -> State {
        State {
            profile,
            target,
            cursor_ms: None,
            trace_id: None,
            now_ms: crate::sources::now_ms(),
            refresh_secs,
            metrics: MetricsState {
                configured: true,
                gen: 0,
                health: Health::default(),
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
            },
            probes: ProbesState::default(),
            logs: Default::default(),
            scope: Scope::default(),
            ui: UiState {
                views: ViewStack::default(),
                message: None,
                history: BTreeMap::new(),
                focused: Focus::Pane(0),
                zoom: false,
                width: 200,
                height: 50,
            },
            theme,
            keymap,
            warnings: vec![],
            quit: false,
        }
    }

    /// The queries of one pane with their data.
    pub fn pane_queries<'a>(
        &'a self,
        pane: &'a str,
    ) -> impl Iterator<Item = (&'a ResolvedQuery, Option<&'a QueryData>)> + 'a {
        self.metrics
            .queries
            .iter()
            .filter(move |q| q.pane == pane)
            .map(|q| (q, self.metrics.store.get(&q.key)))
    }

    /// The queries of one pane with one role.
    pub fn role_queries<'a>(
        &'a self,
        pane: &'a str,
        role: Role,
    ) -> impl Iterator<Item = (&'a ResolvedQuery, Option<&'a QueryData>)> + 'a {
        self.pane_queries(pane).filter(move |(q, _)| q.role == role)
    }

    /// The label name this dashboard uses for `which` (`pod`, `container`, …).
    pub fn label<'a>(&'a self, which: &'a str) -> &'a str {
        self.metrics
            .dashboard
            .as_ref()
            .map(|d| d.label_name(which))
            .unwrap_or(which)
    }

    /// Whether every query has settled: it has data, or failed, or every
    /// one of its alternatives (metric conventions) answered with nothing.
    /// A query whose first convention came back empty is not settled: the
    /// next one is asked at once, and "no series; needs …" would be wrong.
    pub fn all_answered(&self) -> bool {
        !self.metrics.queries.is_empty()
            && self.metrics.queries.iter().all(|q| {
                self.metrics.store.get(&q.key).is_some_and(|d| {
                    let n = q.alternatives.len().clamp(1, 64);
                    let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                    d.error.is_some()
                        || (d.last_ok.is_some()
                            && (!d.series.is_empty() || d.empty_alts & all == all))
                })
            })
    }

    /// Whether every configured source has answered at least once (for `--once`).
    pub fn sources_answered(&self) -> bool {
        let metrics = !self.metrics.configured
            || self.all_answered()
            || (self.metrics.dashboard.is_none() && self.metrics.health.last_error.is_some())
            || self.metrics.dashboard_error.is_some();
        let probes = self.probes.probes.iter().all(|p| p.last.is_some());
        // logs: the backfill finished (lines or not), or failed
        let logs = !self.logs.configured
            || !matches!(self.logs.mode, crate::sources::loki::TailMode::Backfill)
            || self.logs.health.last_error.is_some();
        metrics && probes && logs
    }

    /// Whether every configured source answered without error.
    pub fn sources_ok(&self) -> bool {
        let metrics = !self.metrics.configured || self.metrics.health.ok();
        let probes = self.probes.probes.is_empty() || self.probes.health.last_ok_ms.is_some();
        let logs = !self.logs.configured || self.logs.health.ok();
        metrics && probes && logs
    }

    /// The pods the picker offers: those in the latest answers (raw label
    /// values, for exact queries; the picker shows them sanitised), capped.
    /// While one pod is chosen, those of the last answers for all pods.
    pub fn pods(&self) -> Vec<String> {
        if self.target.pod.is_some() && !self.metrics.known_pods.is_empty() {
            let mut p = self.metrics.known_pods.clone();
            if let Some(cur) = &self.target.pod {
                if !p.contains(cur) {
                    p.push(cur.clone());
                    p.sort();
                }
            }
            return p;
        }
        self.answered_pods()
    }

    /// The pods in the latest answers, capped.
    pub fn answered_pods(&self) -> Vec<String> {
        let label = self.label("pod");
        let mut pods = BTreeSet::new();
        for q in self.metrics.store.queries.values() {
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
}
