//! The app: Action, Target, State, the pure `update`, the view stack, the
//! command line, and the event loop.
pub mod action;
pub mod headless;
pub mod jumps;
pub mod keymap;
pub mod keys;
pub mod layout;
pub mod palette;
pub mod registry;
pub mod run;
pub mod state;
pub mod update;
pub mod views;

pub use crate::core::target::Target;
pub use action::Action;
pub use registry::{start, Backends, Command, SourceEvent, Tasks};
pub use state::State;
pub use update::{update, Event};
