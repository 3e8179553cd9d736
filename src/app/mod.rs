//! The app: Action, Focus, State, the pure `update`, and the event loop.
pub mod action;
pub mod focus;
pub mod run;
pub mod state;
pub mod update;

pub use action::Action;
pub use focus::Focus;
pub use state::State;
pub use update::{update, Command, Event};
