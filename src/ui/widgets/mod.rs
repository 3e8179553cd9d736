//! Small drawing helpers shared by panes: bars, sparklines, time charts.
pub mod bar;
pub mod chart;
pub mod spark;

use ratatui::style::Style;

use crate::config::theme::Theme;

/// Style for a value against thresholds (higher is worse).
pub fn level_style(theme: &Theme, v: f64, warn: Option<f64>, crit: Option<f64>) -> Style {
    if v.is_nan() {
        return theme.dim;
    }
    if crit.is_some_and(|c| v >= c) {
        theme.crit
    } else if warn.is_some_and(|w| v >= w) {
        theme.warn
    } else {
        theme.text
    }
}
