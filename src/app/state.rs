//! Everything the screen shows, owned by the event loop; changed only by
//! `update`. One part per source (its generation, health and data), the
//! target the sources follow, and the UI's view stack.

use std::collections::BTreeMap;

use crate::app::keymap::{Keymap, Mode};
use crate::app::views::{InputPurpose, ViewStack};
use crate::config::theme::Theme;
pub use crate::core::scope::MAX_PICKER_PODS;
use crate::core::Target;
pub use crate::core::{Health, Scope};
use crate::dashboard::{ResolvedQuery, Role};
pub use crate::features::metrics::{DashboardChoice, MetricsState};
pub use crate::features::probes::{ProbeStatus, ProbesState, PROBE_HISTORY};
use crate::store::QueryData;

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
    /// `--low-bandwidth`: fewer frames, the clock less often, ASCII cells.
    pub low_bandwidth: bool,
    /// Tab landed on a pane the layout does not draw (no data, no room):
    /// it is shown in the metric area until the focus moves on.
    pub peek: bool,
    pub width: u16,
    pub height: u16,
    /// Where each jump to the log pane came from (`l` in the trace view,
    /// `L` at the time cursor), newest last: Esc at the dashboard goes back
    /// one, so a trail of jumps is walked back the way it came.
    pub jump_back: Vec<JumpBack>,
}

/// What going back from a jump to the log pane restores: the window (and
/// pod), the log filters, the focus and cursor, and the trace view as it
/// was when the jump came from one.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpBack {
    pub target: crate::core::Target,
    pub filters: Vec<crate::features::logs::client::logql::Filter>,
    pub focused: Focus,
    pub cursor_ms: Option<i64>,
    pub view: Option<(crate::app::views::View, crate::app::views::Saved)>,
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
    /// The Kubernetes pane.
    Kube,
}

impl Focus {
    /// The metric pane's index, if a metric pane has the focus.
    pub fn pane(self) -> Option<usize> {
        match self {
            Focus::Pane(i) => Some(i),
            Focus::Logs | Focus::Kube => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub profile: Option<String>,
    /// The profile is marked production: the header shows it in the
    /// warning colour.
    pub production: bool,
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
    pub logs: crate::features::logs::LogsState,
    pub kube: crate::features::kube::KubeState,
    pub traces: crate::features::traces::TracesState,
    #[cfg(test)]
    pub echo: crate::features::echo::EchoState,
    /// What exists, as the sources have seen it.
    pub scope: Scope,
    /// Moments every chart marks on its time axis (OOM kills, restarts),
    /// from whichever source knows them.
    pub marks: Vec<crate::core::TimeMark>,
    pub ui: UiState,
    pub theme: Theme,
    /// The themes `:theme NAME` switches between, loaded and fitted to the
    /// terminal's colours at start (the switch reads no file).
    pub themes: Vec<Theme>,
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
            production: false,
            target,
            cursor_ms: None,
            trace_id: None,
            now_ms: crate::core::now_ms(),
            refresh_secs,
            metrics: Default::default(),
            probes: Default::default(),
            logs: Default::default(),
            kube: Default::default(),
            traces: Default::default(),
            #[cfg(test)]
            echo: Default::default(),
            scope: Scope::default(),
            marks: vec![],
            ui: UiState {
                views: ViewStack::default(),
                message: None,
                history: BTreeMap::new(),
                focused: Focus::Pane(0),
                zoom: false,
                peek: false,
                low_bandwidth: false,
                width: 200,
                height: 50,
                jump_back: vec![],
            },
            themes: vec![theme.clone()],
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
        self.metrics.pane_queries(pane)
    }

    /// The queries of one pane with one role.
    pub fn role_queries<'a>(
        &'a self,
        pane: &'a str,
        role: Role,
    ) -> impl Iterator<Item = (&'a ResolvedQuery, Option<&'a QueryData>)> + 'a {
        self.metrics.role_queries(pane, role)
    }

    /// The label name this dashboard uses for `which` (`pod`, `container`, …).
    pub fn label<'a>(&'a self, which: &'a str) -> &'a str {
        self.metrics.label(which)
    }

    /// Whether every metrics query has settled (see `MetricsState::all_answered`).
    pub fn all_answered(&self) -> bool {
        self.metrics.all_answered()
    }

    /// Whether every configured source has settled (for `--once`).
    pub fn sources_answered(&self) -> bool {
        self.sources().iter().all(|s| s.settled())
    }

    /// What keeps `--once` from a complete answer, a line each.
    pub fn problems(&self) -> Vec<String> {
        self.sources().iter().flat_map(|s| s.problems()).collect()
    }

    /// The pods the picker offers (see `MetricsState::pods`).
    /// Pods to pick from: those the metrics answered, and those the
    /// Kubernetes API lists in the namespace in view (sorted, once each).
    pub fn pods(&self) -> Vec<String> {
        let mut v = self.metrics.pods(self.target.pod.as_deref());
        let k8s: Vec<String> = self
            .kube
            .pods
            .values()
            .filter(|p| {
                self.kube.all_namespaces
                    || self
                        .target
                        .namespace
                        .as_deref()
                        .is_none_or(|n| n == p.namespace)
            })
            .map(|p| p.name.clone())
            .collect();
        if !k8s.is_empty() {
            v.extend(k8s);
            v.sort();
            v.dedup();
        }
        v
    }

    /// The pods in the latest answers, capped.
    pub fn answered_pods(&self) -> Vec<String> {
        self.metrics.answered_pods()
    }
}
