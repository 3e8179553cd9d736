//! Everything the screen shows, owned by the event loop; changed only by `update`.

use std::collections::BTreeSet;

use super::focus::Focus;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::dashboard::{Dashboard, ResolvedQuery};
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

/// Health of the metrics backend, for the header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendHealth {
    pub name: String,
    pub url: String,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub requests: u64,
    pub bytes: u64,
}

impl BackendHealth {
    pub fn ok(&self) -> bool {
        match (self.last_ok_ms, self.last_error_ms) {
            (_, None) => self.last_ok_ms.is_some(),
            (Some(ok), Some(err)) => ok > err,
            (None, Some(_)) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    pub mode: Mode,
    /// Index into the dashboard's panes.
    pub focused: usize,
    pub zoom: bool,
    pub picker_index: usize,
    pub width: u16,
    pub height: u16,
}

#[derive(Debug, Clone)]
pub struct State {
    pub profile: Option<String>,
    pub focus: Focus,
    /// Bumped on every re-target; replies for older generations are dropped.
    pub gen: u64,
    pub now_ms: i64,
    pub refresh_secs: f64,
    pub step_secs: u64,
    pub dashboard: Option<Dashboard>,
    pub choice: DashboardChoice,
    pub user_vars: std::collections::BTreeMap<String, String>,
    pub queries: Vec<ResolvedQuery>,
    pub store: SeriesStore,
    pub backend: BackendHealth,
    pub ui: UiState,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Shown as badges (e.g. TLS verification off, theme problems).
    pub warnings: Vec<String>,
    pub max_concurrency: usize,
    pub quit: bool,
}

impl State {
    pub fn new(
        profile: Option<String>,
        focus: Focus,
        refresh_secs: f64,
        theme: Theme,
        keymap: Keymap,
    ) -> State {
        State {
            profile,
            focus,
            gen: 0,
            now_ms: crate::sources::now_ms(),
            refresh_secs,
            step_secs: 1,
            dashboard: None,
            choice: DashboardChoice::Auto,
            user_vars: Default::default(),
            queries: vec![],
            store: SeriesStore::default(),
            backend: BackendHealth::default(),
            ui: UiState {
                mode: Mode::Normal,
                focused: 0,
                zoom: false,
                picker_index: 0,
                width: 200,
                height: 50,
            },
            theme,
            keymap,
            warnings: vec![],
            max_concurrency: 4,
            quit: false,
        }
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

    /// Whether every query has been answered at least once (data or error).
    pub fn all_answered(&self) -> bool {
        !self.queries.is_empty()
            && self.queries.iter().all(|q| {
                self.store
                    .get(&q.key)
                    .is_some_and(|d| d.last_ok.is_some() || d.error.is_some())
            })
    }

    /// The pods the picker offers: those in the latest answers (raw label
    /// values, for exact queries; the picker shows them sanitised), capped.
    pub fn pods(&self) -> Vec<String> {
        let mut pods = BTreeSet::new();
        for q in self.store.queries.values() {
            for s in &q.series {
                if let Some(p) = s.labels.get("pod") {
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
