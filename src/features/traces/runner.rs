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
        }
    }

    fn exec(&mut self, cmd: TracesCommand) {
        let TracesCommand::Fetch { gen, id } = cmd;
        let Some(b) = self.backend.clone() else {
            return;
        };
        let sink = self.sink.clone();
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
}
