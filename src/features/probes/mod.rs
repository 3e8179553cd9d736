//! Probes: HTTP health endpoints asked on an interval, with a history strip.
pub mod pane;
pub mod runner;

use std::collections::VecDeque;

use crate::core::{Ctx, Feature, Health, Outcome, Source, SourceCommon, Target};
pub use runner::{ProbeEvent, ProbeOk, ProbePlan, ProbeSpec};

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

#[derive(Debug, Clone, PartialEq)]
pub struct ProbesState {
    /// Configured (any probe), generation and health.
    pub common: SourceCommon,
    pub probes: Vec<ProbeStatus>,
    pub interval_secs: f64,
}

/// What the probes source is told.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbesCommand {
    Start(ProbePlan),
    Stop,
}

impl Default for ProbesState {
    fn default() -> Self {
        let mut common = SourceCommon::new("probes");
        common.health = Health::named("probes", "");
        ProbesState {
            common,
            probes: vec![],
            interval_secs: 1.0,
        }
    }
}

impl ProbesState {
    /// The probes to ask, each with no answer yet.
    pub fn set(&mut self, specs: &[ProbeSpec], interval_secs: f64) {
        self.common.configured = !specs.is_empty();
        self.interval_secs = interval_secs;
        self.probes = specs
            .iter()
            .map(|spec| ProbeStatus {
                spec: spec.clone(),
                last: None,
                last_at_ms: None,
                changed_at_ms: None,
                history: Default::default(),
            })
            .collect();
    }
}

impl Source for ProbesState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    fn settled(&self) -> bool {
        self.probes.iter().all(|p| p.last.is_some())
    }

    /// Each probe that failed or did not answer.
    fn problems(&self) -> Vec<String> {
        self.probes
            .iter()
            .filter_map(|p| match &p.last {
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(format!("probe {}: {e}", p.spec.name)),
                None => Some(format!(
                    "probe {}: no answer before the timeout",
                    p.spec.name
                )),
            })
            .collect()
    }
}

impl Feature for ProbesState {
    type Event = ProbeEvent;
    type Command = ProbesCommand;

    fn start(&mut self, _ctx: &Ctx) -> Vec<ProbesCommand> {
        if self.probes.is_empty() {
            return vec![];
        }
        self.common.gen += 1;
        vec![ProbesCommand::Start(ProbePlan {
            gen: self.common.gen,
            probes: self.probes.iter().map(|p| p.spec.clone()).collect(),
            interval_secs: self.interval_secs,
        })]
    }

    /// Probes ask fixed endpoints: the Target does not change them.
    fn retarget(&mut self, _ctx: &Ctx, _before: &Target) -> Vec<ProbesCommand> {
        vec![]
    }

    fn on_event(&mut self, ev: ProbeEvent, _ctx: &Ctx) -> Outcome<ProbesCommand> {
        if !self.common.current(ev.gen) {
            return Outcome::none();
        }
        self.common.health.count(ev.at_ms, 0);
        let Some(st) = self.probes.get_mut(ev.index) else {
            return Outcome::none();
        };
        let healthy = ev.result.is_ok();
        let was = st.last.as_ref().map(Result::is_ok);
        if was != Some(healthy) {
            st.changed_at_ms = Some(ev.at_ms);
        }
        st.history.push_back(healthy);
        while st.history.len() > PROBE_HISTORY {
            st.history.pop_front();
        }
        st.last = Some(ev.result.map_err(|e| e.to_string()));
        st.last_at_ms = Some(ev.at_ms);
        // the source is healthy when every probe answered as expected
        let failing = self.probes.iter().find_map(|s| match &s.last {
            Some(Err(e)) => Some(format!("{}: {e}", s.spec.name)),
            _ => None,
        });
        match failing {
            None => self.common.health.succeeded(ev.at_ms),
            Some(e) => self.common.health.failed(ev.at_ms, e, false),
        }
        Outcome::changed(vec![])
    }
}
