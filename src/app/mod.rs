//! The app: Action, Target, State, the pure `update`, the view stack, the
//! command line, and the event loop.
pub mod action;
pub mod headless;
pub mod layout;
pub mod logs;
pub mod logs_keys;
pub mod palette;
pub mod run;
pub mod state;
pub mod target;
pub mod update;
pub mod views;

pub use action::Action;
pub use state::State;
pub use target::Target;
pub use update::{update, Command, Event};
