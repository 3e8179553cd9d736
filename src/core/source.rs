//! The source seam. Each feature's state part implements [`Source`] (what
//! the header, help, health logging and `--once` ask of every source) and
//! [`Feature`] (start, re-target, react to its events and to the Scope).
//! The app holds the typed event and command enums (one variant per
//! feature) and delegates to these in one line each.

use super::{Health, Scope, Target};

/// Which source: its short name ("prom", "loki", "probes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub &'static str);

/// What every source has: whether it is configured, its generation (an
/// answer of another generation is dropped) and its health.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCommon {
    pub id: SourceId,
    pub configured: bool,
    pub gen: u64,
    pub health: Health,
}

impl SourceCommon {
    pub fn new(id: &'static str) -> SourceCommon {
        SourceCommon {
            id: SourceId(id),
            configured: false,
            gen: 0,
            health: Health::default(),
        }
    }

    /// Whether `gen` is the current generation.
    pub fn current(&self, gen: u64) -> bool {
        gen == self.gen
    }
}

/// A read-only view of what the features share, taken before any source
/// resets: the Target, the clock, the Scope, the time cursor and the
/// selected trace id. A feature reads this, never another feature's state.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub target: &'a Target,
    pub now_ms: i64,
    pub scope: &'a Scope,
    pub cursor_ms: Option<i64>,
    pub trace_id: Option<&'a str>,
    pub refresh_secs: f64,
}

/// What a feature asks of the app beyond its own state (the app applies
/// these after the reducer returns, in order).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Pods seen for jobs, for the Scope: (job, pod).
    Learn(Vec<(String, String)>),
    /// Scope the Target to this job unless one is chosen (detection).
    ScopeToJob(String),
    /// A badge in the header.
    Warn(String),
    /// A line for the footer (true: an error).
    Message(String, bool),
    /// The panes changed: the focus goes back to the first.
    FocusFirst,
    /// Moments to mark on every chart's time axis (OOM kills, restarts),
    /// replacing those this source marked before.
    Marks(Vec<TimeMark>),
}

/// A moment marked on the charts' time axes: a container's termination.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeMark {
    pub at_ms: i64,
    pub pod: String,
    /// An OOM kill (else another termination).
    pub oom: bool,
}

/// What a feature's reducer returns: its commands, whether the screen
/// changed, and what it asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<C> {
    pub cmds: Vec<C>,
    pub changed: bool,
    pub effects: Vec<Effect>,
}

impl<C> Outcome<C> {
    pub fn none() -> Outcome<C> {
        Outcome {
            cmds: vec![],
            changed: false,
            effects: vec![],
        }
    }

    pub fn changed(cmds: Vec<C>) -> Outcome<C> {
        Outcome {
            cmds,
            changed: true,
            effects: vec![],
        }
    }

    pub fn with(mut self, e: Effect) -> Outcome<C> {
        self.effects.push(e);
        self
    }
}

/// A state the header shows: its long and short forms; a bad one is
/// always shown, in the alarm colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    pub long: String,
    pub short: String,
    pub bad: bool,
}

/// What the header, help, health logging and `--once` ask of every source.
pub trait Source {
    fn common(&self) -> &SourceCommon;

    /// For `--once`: whether what it asked first has settled (answered,
    /// failed, or every alternative tried).
    fn settled(&self) -> bool;

    /// For `--once`: what keeps it from a complete answer, a line each.
    fn problems(&self) -> Vec<String> {
        let c = self.common();
        let h = &c.health;
        if !c.configured || h.ok() {
            return vec![];
        }
        let why = h
            .last_error
            .clone()
            .unwrap_or_else(|| "no answer before the timeout".into());
        vec![format!("{} at {}: {why}", h.name, h.url)]
    }

    /// Said beside a healthy mark in the header ("polling (tail refused:
    /// HTTP 404)").
    fn note(&self) -> Option<String> {
        None
    }

    /// Short states the header shows beside the sources' health (each
    /// port-forward's), whether or not the source itself is configured.
    fn badges(&self) -> Vec<Badge> {
        vec![]
    }

    /// What help says about its buffers and state, a line each.
    fn help_lines(&self) -> Vec<String> {
        vec![]
    }
}

/// A feature's reducer: pure over its own state part and a [`Ctx`].
pub trait Feature: Source {
    type Event;
    type Command;

    /// The first commands.
    fn start(&mut self, ctx: &Ctx) -> Vec<Self::Command>;

    /// The Target changed from `before` (the one re-target of an event).
    fn retarget(&mut self, ctx: &Ctx, before: &Target) -> Vec<Self::Command>;

    /// One of its events arrived.
    fn on_event(&mut self, ev: Self::Event, ctx: &Ctx) -> Outcome<Self::Command>;

    /// The Scope learned something.
    fn on_scope(&mut self, _ctx: &Ctx) -> Vec<Self::Command> {
        vec![]
    }
}

/// A feature's runner: owns its backend client and task slots, sends its
/// events through a [`Sink`](super::Sink), never touches State.
pub trait Runner {
    /// What it reads from (`()` when it builds its clients per plan).
    type Backend;
    type Event;
    type Command;

    fn new(
        backend: Option<Self::Backend>,
        sink: super::Sink<Self::Event>,
        refresh_secs: f64,
    ) -> Self;

    fn exec(&mut self, cmd: Self::Command);
}
