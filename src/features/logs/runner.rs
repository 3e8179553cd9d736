//! The logs runner: the follow engine (and its volume poller) in one slot,
//! on-demand asks (patterns, completion) in another. It owns the backend
//! and sends owned `LogsEvent`s; it never touches State.

use std::sync::Arc;

use super::client::LogsBackend;
use super::{completion, engine, LogsCommand, LogsEvent};
use crate::core::{Runner, Sink, Slot};

pub struct LogsRunner {
    /// The backend as given, and the one in use (bound to the plan's
    /// Kubernetes context, for a source that depends on one).
    given: Option<Arc<dyn LogsBackend>>,
    backend: Option<Arc<dyn LogsBackend>>,
    sink: Sink<LogsEvent>,
    follow: Slot,
    asks: Slot,
}

impl Runner for LogsRunner {
    type Backend = Arc<dyn LogsBackend>;
    type Event = LogsEvent;
    type Command = LogsCommand;

    fn new(
        backend: Option<Arc<dyn LogsBackend>>,
        sink: Sink<LogsEvent>,
        _refresh: f64,
    ) -> LogsRunner {
        LogsRunner {
            given: backend.clone(),
            backend,
            sink,
            follow: Slot::default(),
            asks: Slot::default(),
        }
    }

    fn exec(&mut self, cmd: LogsCommand) {
        if let (LogsCommand::Start(plan), Some(g)) = (&cmd, &self.given) {
            self.backend = Some(
                g.in_context(plan.context.as_deref())
                    .unwrap_or_else(|| g.clone()),
            );
        }
        let Some(b) = &self.backend else {
            return;
        };
        match cmd {
            LogsCommand::Start(plan) => {
                crate::info!(
                    "logs gen {}: {}",
                    plan.gen,
                    crate::text::display(&plan.query)
                );
                self.asks.stop();
                self.follow
                    .replace(engine::spawn(b.clone(), plan, self.sink.clone()));
            }
            LogsCommand::Stop => {
                self.follow.stop();
                self.asks.stop();
            }
            LogsCommand::Patterns {
                gen,
                query,
                start_ns,
            } => self.asks.push(completion::spawn_patterns(
                b.clone(),
                gen,
                query,
                start_ns,
                self.sink.clone(),
            )),
            LogsCommand::Complete {
                gen,
                ask,
                window_ns,
            } => self.asks.push(completion::spawn_completions(
                b.clone(),
                gen,
                ask,
                window_ns,
                self.sink.clone(),
            )),
        }
    }
}
