//! The metrics runner: detection and polling tasks, a slot each. It owns
//! the backend and sends owned `MetricsEvent`s; it never touches State.

use std::sync::Arc;

use super::client::MetricsBackend;
use super::{poller, MetricsCommand, MetricsEvent};
use crate::core::{Runner, Sink, Slot};

pub struct MetricsRunner {
    backend: Option<Arc<dyn MetricsBackend>>,
    sink: Sink<MetricsEvent>,
    refresh_secs: f64,
    detect: Slot,
    poller: Slot,
}

impl Runner for MetricsRunner {
    type Backend = Arc<dyn MetricsBackend>;
    type Event = MetricsEvent;
    type Command = MetricsCommand;

    fn new(
        backend: Option<Arc<dyn MetricsBackend>>,
        sink: Sink<MetricsEvent>,
        refresh_secs: f64,
    ) -> MetricsRunner {
        MetricsRunner {
            backend,
            sink,
            refresh_secs,
            detect: Slot::default(),
            poller: Slot::default(),
        }
    }

    fn exec(&mut self, cmd: MetricsCommand) {
        let Some(backend) = &self.backend else {
            return;
        };
        match cmd {
            MetricsCommand::Detect { gen } => {
                self.detect.replace(vec![poller::spawn_detect(
                    backend.clone(),
                    gen,
                    self.refresh_secs,
                    self.sink.clone(),
                )]);
            }
            MetricsCommand::Start(plan) => {
                crate::info!(
                    "polling gen {} ({} queries, step {}s)",
                    plan.gen,
                    plan.queries.len(),
                    plan.step_secs
                );
                self.poller.replace(vec![poller::spawn(
                    backend.clone(),
                    plan,
                    self.sink.clone(),
                )]);
            }
            MetricsCommand::Stop => self.poller.stop(),
        }
    }
}
