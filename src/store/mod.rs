//! Bounded stores. Every buffer has a cap, and the caps are shown in the UI.
pub mod logs;
pub mod series;

pub use series::{Labels, QueryData, Series, SeriesStore};
