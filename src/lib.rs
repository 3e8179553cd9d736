//! watchfloor: a terminal UI for runtime triage during incidents.
//!
//! Data flows one way: source tasks send owned `SourceEvent`s (one variant per source kind) over a channel,
//! `app::update` applies them (and keys) to `State` purely, and `ui::draw`
//! renders `State` only.

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod dashboard;
pub mod demo;
pub mod export;
pub mod features;
pub mod logging;
pub mod store;
pub mod terminal;
pub mod text;
pub mod ui;
