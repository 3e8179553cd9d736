//! Completion asks of the LogQL editor (label names, values, the scope of
//! a selector) and the on-demand patterns request.

use std::sync::Arc;

use crate::core::{now_ms, Sink};
use crate::features::logs::client::wire::Labels;
use crate::features::logs::client::LogsBackend;
use crate::features::logs::engine::LogsEvent;

fn now_ns() -> i64 {
    now_ms() * 1_000_000
}

/// One request for the patterns of the window (on demand).
pub fn spawn_patterns(
    backend: Arc<dyn LogsBackend>,
    gen: u64,
    query: String,
    start_ns: i64,
    tx: Sink<LogsEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let result = backend.patterns(&query, start_ns, now_ns()).await;
        let ev = LogsEvent::Patterns {
            gen,
            at_ms: now_ms(),
            result,
        };
        tx.send(ev).await;
    })
}

/// What the LogQL editor's completion asks the server, over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionAsk {
    /// Label names.
    Names,
    /// One label's values.
    Values(String),
    /// The streams a selector matches (`series`): the values of every
    /// label in the scope of the current query, asked once.
    Scope(String),
}

/// Answers a completion ask with `Completions` events (one per label for
/// a scope; the state merges them). Failures are quiet: completion is a
/// convenience and the query itself reports the server's errors.
pub fn spawn_completions(
    backend: Arc<dyn LogsBackend>,
    gen: u64,
    ask: CompletionAsk,
    (start_ns, end_ns): (i64, i64),
    tx: Sink<LogsEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        type Answer = (Option<String>, Result<Vec<String>, String>);
        let answers: Vec<Answer> = match ask {
            CompletionAsk::Names => match backend.labels(start_ns, end_ns).await {
                Ok(v) => vec![(None, Ok(v))],
                Err(_) => vec![],
            },
            // the one ask a key press waits for: its failure is told
            CompletionAsk::Values(name) => {
                let r = backend.label_values(&name, start_ns, end_ns).await;
                vec![(Some(name), r.map_err(|e| e.to_string()))]
            }
            CompletionAsk::Scope(sel) => match backend.series(&sel, start_ns, end_ns).await {
                Ok(series) => scope_values(&series)
                    .into_iter()
                    .map(|(l, v)| (l, Ok(v)))
                    .collect(),
                Err(_) => vec![],
            },
        };
        for (label, values) in answers {
            let ev = LogsEvent::Completions { gen, label, values };
            if !tx.send(ev).await {
                return;
            }
        }
    })
}

/// Label names and each label's distinct values (sorted) over `series`.
pub fn scope_values(series: &[Labels]) -> Vec<(Option<String>, Vec<String>)> {
    let mut by: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for s in series {
        for (k, v) in s.iter() {
            by.entry(k.as_str()).or_default().insert(v.as_str());
        }
    }
    let mut out = vec![(None, by.keys().map(|k| k.to_string()).collect())];
    out.extend(by.into_iter().map(|(k, vs)| {
        (
            Some(k.to_string()),
            vs.into_iter().map(str::to_string).collect(),
        )
    }));
    out
}
