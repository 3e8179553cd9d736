//! Small drawing helpers shared by panes: bars, sparklines, time charts.
pub mod bar;
pub mod chart;
pub mod spark;

use ratatui::style::Style;

use crate::config::theme::Theme;

/// Where a value stands against its thresholds (higher is worse): decided
/// by view builders, turned into a style by draw functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    Normal,
    Warn,
    Crit,
    NoData,
}

impl Level {
    pub fn of(v: f64, warn: Option<f64>, crit: Option<f64>) -> Level {
        if v.is_nan() {
            Level::NoData
        } else if crit.is_some_and(|c| v >= c) {
            Level::Crit
        } else if warn.is_some_and(|w| v >= w) {
            Level::Warn
        } else {
            Level::Normal
        }
    }

    pub fn style(self, theme: &Theme) -> Style {
        match self {
            Level::Normal => theme.text,
            Level::Warn => theme.warn,
            Level::Crit => theme.crit,
            Level::NoData => theme.dim,
        }
    }
}

/// A value formatted in its unit ("—" without data) with its level.
pub fn figure(v: f64, q: &crate::dashboard::ResolvedQuery) -> (String, Level) {
    let text = if v.is_nan() {
        "—".to_string()
    } else {
        crate::text::units::format_value(v, q.unit)
    };
    (text, Level::of(v, q.warn, q.crit))
}
