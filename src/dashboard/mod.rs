//! Dashboards as data: panes name their queries and their widget. Built-in
//! presets are TOML embedded in the binary; the one that fits the metric
//! names a Prometheus exposes is chosen automatically.

pub mod detect;
pub mod model;
pub mod signals;
pub mod vars;

pub use model::{Dashboard, PaneKind, PaneSpec, QuerySpec, ResolvedQuery, Role, TargetVars};
