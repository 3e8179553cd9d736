//! Traces from Jaeger or Tempo: one span tree whatever the backend
//! (`client::wire` decodes the four answers, `tree` builds the tree, its
//! order, depths and critical path), shown as a waterfall in a full-screen
//! view (`pane`, keys in `keys`). A trace is asked for by id, when a jump
//! (`t` on a log line, `--trace ID`) sets the trace id; the newest ask wins.

pub mod client;
pub mod compare;
pub mod compare_view;
pub mod keys;
pub mod list_view;
pub mod pane;
pub mod runner;
pub mod tree;
pub mod waterfall;

use std::sync::Arc;

use crate::core::{Ctx, Feature, Health, Outcome, Source, SourceCommon, SourceError, Target};
use tree::Trace;

#[derive(Debug, Clone, PartialEq)]
pub enum TracesEvent {
    Loaded {
        gen: u64,
        at_ms: i64,
        id: String,
        result: Result<Arc<Trace>, SourceError>,
    },
    Found {
        gen: u64,
        at_ms: i64,
        result: Result<Vec<client::search::Summary>, SourceError>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TracesCommand {
    Fetch {
        gen: u64,
        id: String,
    },
    Search {
        gen: u64,
        query: client::search::Query,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TracesState {
    pub common: SourceCommon,
    /// The trace shown (the last one loaded).
    pub trace: Option<Arc<Trace>>,
    /// The id asked for and not answered yet.
    pub loading: Option<String>,
    /// Why the last ask gave no trace: (id, message).
    pub error: Option<(String, String)>,
    /// The trace marked with `c`, to compare the next one against.
    pub baseline: Option<Arc<Trace>>,
    /// The baseline against the trace in view, found when `c` opened it
    /// (not on every frame: 100,000 spans are grouped in tens of ms).
    pub comparison: Vec<compare::Row>,
    /// The last search: what was asked and, once answered, what it found.
    pub search: Option<Search>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub gen: u64,
    pub query: client::search::Query,
    pub result: Option<Result<Vec<client::search::Summary>, String>>,
}

impl Default for TracesState {
    fn default() -> Self {
        let mut common = SourceCommon::new("traces");
        common.health = Health::named("traces", "");
        TracesState {
            common,
            trace: None,
            loading: None,
            error: None,
            baseline: None,
            comparison: vec![],
            search: None,
        }
    }
}

impl TracesState {
    /// Asks for a trace (a new generation: an older answer is dropped).
    pub fn open(&mut self, id: &str) -> Vec<TracesCommand> {
        if !self.common.configured {
            self.error = Some((
                id.to_string(),
                "no trace backend: pass --traces URL (Jaeger or Tempo), or set [profiles.NAME.traces] url".into(),
            ));
            return vec![];
        }
        if self.trace.as_ref().is_some_and(|t| t.id == id) && self.loading.is_none() {
            return vec![];
        }
        self.common.gen += 1;
        self.loading = Some(id.to_string());
        self.error = None;
        vec![TracesCommand::Fetch {
            gen: self.common.gen,
            id: id.to_string(),
        }]
    }
}

impl TracesState {
    /// Asks for the traces a query finds (a newer search wins).
    pub fn find(&mut self, query: client::search::Query) -> Vec<TracesCommand> {
        let gen = self.search.as_ref().map_or(0, |s| s.gen) + 1;
        let configured = self.common.configured;
        self.search = Some(Search {
            gen,
            query: query.clone(),
            result: (!configured)
                .then(|| Err("no trace backend: pass --traces URL (Jaeger or Tempo)".into())),
        });
        if !configured {
            return vec![];
        }
        vec![TracesCommand::Search { gen, query }]
    }
}

impl Feature for TracesState {
    type Event = TracesEvent;
    type Command = TracesCommand;

    /// `--trace ID`: the trace is asked for at start.
    fn start(&mut self, ctx: &Ctx) -> Vec<TracesCommand> {
        match ctx.trace_id {
            Some(id) => self.open(id),
            None => vec![],
        }
    }

    fn retarget(&mut self, _ctx: &Ctx, _before: &Target) -> Vec<TracesCommand> {
        vec![]
    }

    fn on_event(&mut self, ev: TracesEvent, _ctx: &Ctx) -> Outcome<TracesCommand> {
        let (gen, at_ms, id, result) = match ev {
            TracesEvent::Loaded {
                gen,
                at_ms,
                id,
                result,
            } => (gen, at_ms, id, result),
            TracesEvent::Found { gen, at_ms, result } => {
                let Some(s) = self.search.as_mut().filter(|s| s.gen == gen) else {
                    return Outcome::none();
                };
                match &result {
                    Ok(_) => self.common.health.succeeded(at_ms),
                    Err(e) => self.common.health.failed(at_ms, e.message.clone(), false),
                }
                let q = &s.query;
                s.result = Some(
                    result
                        .map(|v| v.into_iter().filter(|t| q.keeps(t)).collect())
                        .map_err(|e| e.message),
                );
                return Outcome::changed(vec![]);
            }
        };
        if !self.common.current(gen) {
            return Outcome::none();
        }
        self.loading = None;
        match result {
            Ok(t) => {
                self.common.health.succeeded(at_ms);
                self.trace = Some(t);
            }
            Err(e) => {
                // a missing trace is an answer, not a failing backend
                if e.status == Some(404) || e.message == client::wire::NOT_FOUND {
                    self.common.health.succeeded(at_ms);
                } else {
                    self.common.health.failed(at_ms, e.message.clone(), false);
                }
                self.error = Some((id, e.message));
            }
        }
        Outcome::changed(vec![])
    }
}

impl Source for TracesState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    /// Settled when nothing is being asked.
    fn settled(&self) -> bool {
        !self.common.configured
            || (self.loading.is_none() && self.search.as_ref().is_none_or(|s| s.result.is_some()))
    }
}
