//! Untrusted text handling: sanitising for the terminal and human units.
pub mod sanitize;
pub mod units;

pub use sanitize::sanitize;
