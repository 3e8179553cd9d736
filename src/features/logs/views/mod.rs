//! Full-screen views above the dashboard: a log line in detail, the top
//! log patterns, and the Memory pane's sampler snapshot.
pub mod detail;
pub mod patterns;
pub mod sampler;

pub use crate::core::view::{first_row, full};
