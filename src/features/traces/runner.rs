//! The traces task: one fetch at a time (a newer ask aborts the older),
//! its answer sent as an owned event.

use std::sync::Arc;

use super::client::TracesBackend;
use super::{TracesCommand, TracesEvent};
use crate::core::{now_ms, Sink, Slot};

pub struct TracesRunner {
    backend: Option<Arc<dyn TracesBackend>>,
    sink: Sink<TracesEvent>,
    slot: Slot,
    /// The search task (a newer search aborts it; a fetch does not).
    search: Slot,
}

impl crate::core::Runner for TracesRunner {
    type Backend = Arc<dyn TracesBackend>;
    type Event = TracesEvent;
    type Command = TracesCommand;

    fn new(backend: Option<Self::Backend>, sink: Sink<TracesEvent>, _refresh: f64) -> Self {
        TracesRunner {
            backend,
            sink,
            slot: Slot::default(),
            search: Slot::default(),
        }
    }

    fn exec(&mut self, cmd: TracesCommand) {
        let Some(b) = self.backend.clone() else {
            return;
        };
        let sink = self.sink.clone();
        match cmd {
            TracesCommand::Fetch { gen, id } => {
                let task = tokio::spawn(async move {
                    let result = b.trace(&id).await.map(Arc::new);
                    sink.send(TracesEvent::Loaded {
                        gen,
                        at_ms: now_ms(),
                        id,
                        result,
                    })
                    .await;
                });
                self.slot.replace(vec![task]);
            }
            TracesCommand::Search { gen, query } => {
                let task = tokio::spawn(async move {
                    let result = b.search(&query).await;
                    sink.send(TracesEvent::Found {
                        gen,
                        at_ms: now_ms(),
                        result,
                    })
                    .await;
                });
                self.search.replace(vec![task]);
            }
        }
    }
}
