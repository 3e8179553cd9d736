//! A source compiled only for tests: it proves the seam. Registered in the
//! same lines a real source takes (`features/mod.rs`, `registry!`, the
//! `State` field), it is driven through `update` like any other: it shows
//! in the header, `--once` waits for it, a Target change gives it exactly
//! one new plan, and the Scope reaches it through `Ctx`.

use crate::core::{
    Ctx, Feature, Health, Outcome, Runner, Sink, Slot, Source, SourceCommon, Target,
};

/// What the echo source is told: the job it should follow now.
#[derive(Debug, Clone, PartialEq)]
pub enum EchoCommand {
    Plan {
        gen: u64,
        job: Option<String>,
        pods: Vec<String>,
    },
}

/// What it sends back: the plan it got, answered.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoEvent {
    pub gen: u64,
    pub at_ms: i64,
    pub job: Option<String>,
    /// Pods it saw, (job, pod): for the Scope every feature reads.
    pub learned: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EchoState {
    pub common: SourceCommon,
    /// Every plan made, in order.
    pub plans: Vec<EchoCommand>,
    /// The job of the newest answer.
    pub answered: Option<Option<String>>,
}

impl Default for EchoState {
    fn default() -> Self {
        EchoState {
            common: SourceCommon::new("echo"),
            plans: vec![],
            answered: None,
        }
    }
}

impl EchoState {
    /// Turns the source on (as `main` does for a configured backend).
    pub fn configure(&mut self) {
        self.common.configured = true;
        self.common.health = Health::named("echo", "test://echo");
    }

    fn plan(&mut self, ctx: &Ctx) -> Vec<EchoCommand> {
        if !self.common.configured {
            return vec![];
        }
        self.common.gen += 1;
        self.answered = None;
        let job = ctx.target.job.clone();
        let pods = job
            .as_deref()
            .map(|j| ctx.scope.pods_of(j))
            .unwrap_or_default();
        let c = EchoCommand::Plan {
            gen: self.common.gen,
            job,
            pods,
        };
        self.plans.push(c.clone());
        vec![c]
    }
}

impl Source for EchoState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    fn settled(&self) -> bool {
        !self.common.configured || self.answered.is_some()
    }
}

impl Feature for EchoState {
    type Event = EchoEvent;
    type Command = EchoCommand;

    fn start(&mut self, ctx: &Ctx) -> Vec<EchoCommand> {
        self.plan(ctx)
    }

    fn retarget(&mut self, ctx: &Ctx, _before: &Target) -> Vec<EchoCommand> {
        self.plan(ctx)
    }

    fn on_event(&mut self, ev: EchoEvent, _ctx: &Ctx) -> Outcome<EchoCommand> {
        if !self.common.current(ev.gen) {
            return Outcome::none();
        }
        self.common.health.count(ev.at_ms, 0);
        self.common.health.succeeded(ev.at_ms);
        self.answered = Some(ev.job);
        let out = Outcome::changed(vec![]);
        if ev.learned.is_empty() {
            out
        } else {
            out.with(crate::core::Effect::Learn(ev.learned))
        }
    }

    /// A job's pods became known: plan again when they change the plan.
    fn on_scope(&mut self, ctx: &Ctx) -> Vec<EchoCommand> {
        let now = ctx
            .target
            .job
            .as_deref()
            .map(|j| ctx.scope.pods_of(j))
            .unwrap_or_default();
        match self.plans.last() {
            Some(EchoCommand::Plan { pods, .. }) if *pods != now => self.plan(ctx),
            _ => vec![],
        }
    }
}

/// Answers each plan at once, from a task, through the sink.
pub struct EchoRunner {
    sink: Sink<EchoEvent>,
    slot: Slot,
}

impl Runner for EchoRunner {
    type Backend = ();
    type Event = EchoEvent;
    type Command = EchoCommand;

    fn new(_backend: Option<()>, sink: Sink<EchoEvent>, _refresh: f64) -> EchoRunner {
        EchoRunner {
            sink,
            slot: Slot::default(),
        }
    }

    fn exec(&mut self, cmd: EchoCommand) {
        let EchoCommand::Plan { gen, job, .. } = cmd;
        let sink = self.sink.clone();
        self.slot.replace(vec![tokio::spawn(async move {
            let at_ms = crate::core::now_ms();
            let learned = vec![];
            sink.send(EchoEvent {
                gen,
                at_ms,
                job,
                learned,
            })
            .await;
        })]);
    }
}

#[cfg(test)]
mod tests;
