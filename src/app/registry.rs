//! The features, registered once. `registry!` lists each feature's State
//! field, its event/command variant, its state part and its runner, and
//! expands to everything that loops over the features: the typed
//! `SourceEvent` and `Command` enums (one variant per feature), the event
//! dispatch, start, the one re-target, the Scope reaction, `State::sources`,
//! the runners and the backends they read from.
//!
//! Adding a source: its folder under `features/`, `pub mod` for it, one
//! line below, its field in `State` (default-built), and its backend given
//! in `main.rs`.

use std::sync::Arc;

use crate::app::state::State;
use crate::core::{Effect, Feature, Runner, Sink, Source, Target};
use crate::features::kube::runner::KubeRunner;
use crate::features::kube::KubeState;
use crate::features::logs::runner::LogsRunner;
use crate::features::logs::LogsState;
use crate::features::metrics::runner::MetricsRunner;
use crate::features::metrics::MetricsState;
use crate::features::probes::runner::ProbesRunner;
use crate::features::probes::ProbesState;
use crate::features::traces::runner::TracesRunner;
use crate::features::traces::TracesState;

/// Builds the read-only context from a State's shared fields. A macro, so
/// that it borrows those fields only and a feature part can be borrowed
/// mutably beside it.
#[macro_export]
macro_rules! ctx {
    ($s:expr) => {
        $crate::core::Ctx {
            target: &$s.target,
            now_ms: $s.now_ms,
            scope: &$s.scope,
            cursor_ms: $s.cursor_ms,
            trace_id: $s.trace_id.as_deref(),
            refresh_secs: $s.refresh_secs,
        }
    };
}

macro_rules! registry {
    ($($(#[$m:meta])* $field:ident: $Variant:ident($St:ty, $Run:ty);)*) => {
        /// Everything tasks send to the app: one variant per feature.
        #[derive(Debug, Clone, PartialEq)]
        pub enum SourceEvent {
            $($(#[$m])* $Variant(<$St as Feature>::Event),)*
        }

        /// Commands: one variant per feature, each with its own payload.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Command {
            $($(#[$m])* $Variant(<$St as Feature>::Command),)*
            Quit,
        }

        /// The backends the runners read from (None: not configured).
        #[derive(Clone, Default)]
        pub struct Backends {
            $($(#[$m])* pub $field: Option<<$Run as Runner>::Backend>,)*
        }

        /// Owns the source tasks: a runner per feature, each with its slots
        /// (dropping `Tasks` drops the slots, which abort their tasks).
        pub struct Tasks {
            $($(#[$m])* $field: $Run,)*
        }

        impl Tasks {
            pub fn new(
                backends: Backends,
                tx: tokio::sync::mpsc::Sender<SourceEvent>,
                refresh_secs: f64,
            ) -> Tasks {
                Tasks {
                    $($(#[$m])* $field: <$Run as Runner>::new(
                        backends.$field,
                        Sink::new(tx.clone(), SourceEvent::$Variant),
                        refresh_secs,
                    ),)*
                }
            }

            /// Runs commands; returns true when the app should quit.
            pub fn exec(&mut self, cmds: Vec<Command>) -> bool {
                let mut quit = false;
                for c in cmds {
                    match c {
                        $($(#[$m])* Command::$Variant(c) => self.$field.exec(c),)*
                        Command::Quit => quit = true,
                    }
                }
                quit
            }
        }

        impl State {
            /// Every source, in header order.
            pub fn sources(&self) -> Vec<&dyn Source> {
                #[allow(clippy::vec_init_then_push)]
                let v = {
                    let mut v: Vec<&dyn Source> = Vec::new();
                    $($(#[$m])* v.push(&self.$field);)*
                    v
                };
                v
            }
        }

        /// One source event to its feature; the effects it asks for applied.
        pub(crate) fn dispatch(state: &mut State, ev: SourceEvent) -> (Vec<Command>, bool) {
            match ev {
                $($(#[$m])* SourceEvent::$Variant(ev) => {
                    let o = state.$field.on_event(ev, &$crate::ctx!(state));
                    let cmds = o.cmds.into_iter().map(Command::$Variant).collect();
                    let scope_changed = apply_effects(state, o.effects);
                    finish(state, cmds, o.changed, scope_changed)
                })*
            }
        }

        /// The first commands: every configured source starts.
        pub fn start(state: &mut State) -> Vec<Command> {
            let mut cmds = vec![];
            $($(#[$m])* {
                let c = state.$field.start(&$crate::ctx!(state));
                cmds.extend(c.into_iter().map(Command::$Variant));
            })*
            cmds
        }

        /// The Target changed: every source that follows it gets a new
        /// generation and a new plan, once.
        pub(crate) fn retarget(state: &mut State, before: &Target) -> Vec<Command> {
            let mut cmds = vec![];
            $($(#[$m])* {
                let c = state.$field.retarget(&$crate::ctx!(state), before);
                cmds.extend(c.into_iter().map(Command::$Variant));
            })*
            cmds
        }

        /// The Scope learned something: every source may narrow its plan.
        fn on_scope(state: &mut State) -> Vec<Command> {
            let mut cmds = vec![];
            $($(#[$m])* {
                let c = state.$field.on_scope(&$crate::ctx!(state));
                cmds.extend(c.into_iter().map(Command::$Variant));
            })*
            cmds
        }
    };
}

registry! {
    metrics: Metrics(MetricsState, MetricsRunner);
    probes: Probes(ProbesState, ProbesRunner);
    logs: Logs(LogsState, LogsRunner);
    kube: Kube(KubeState, KubeRunner);
    traces: Traces(TracesState, TracesRunner);
    #[cfg(test)]
    echo: Echo(crate::features::echo::EchoState, crate::features::echo::EchoRunner);
}

/// Applies what a reducer asked of the app; true when the Scope changed.
fn apply_effects(state: &mut State, effects: Vec<Effect>) -> bool {
    let mut scope_changed = false;
    for e in effects {
        match e {
            Effect::Learn(pairs) => {
                for (job, pod) in pairs {
                    scope_changed |= state.scope.learn(&job, &pod);
                }
            }
            Effect::ScopeToJob(job) => {
                if state.target.job.is_none() {
                    state.target.job = Some(job);
                }
            }
            Effect::Warn(w) => {
                if !state.warnings.contains(&w) {
                    state.warnings.push(w);
                }
            }
            Effect::Message(text, error) => state.ui.message = Some((text, error)),
            Effect::FocusFirst => {
                state.ui.focused = crate::app::state::Focus::Pane(0);
                state.ui.peek = false;
            }
            Effect::Marks(m) => state.marks = m,
        }
    }
    scope_changed
}

fn finish(
    state: &mut State,
    mut cmds: Vec<Command>,
    changed: bool,
    scope_changed: bool,
) -> (Vec<Command>, bool) {
    if scope_changed {
        cmds.extend(on_scope(state));
    }
    (cmds, changed)
}

/// Backends by kind, for callers that have one.
impl Backends {
    pub fn metrics(m: Arc<dyn crate::features::metrics::client::MetricsBackend>) -> Backends {
        Backends {
            metrics: Some(m),
            ..Default::default()
        }
    }
}
