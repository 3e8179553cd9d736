//! The correlation context. Panes derive their queries from it; a key that
//! changes focus re-targets every pane at once.

/// Time windows that `[` and `]` step through.
pub const WINDOWS: [u64; 11] = [
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    30 * 86400,
];

#[derive(Debug, Clone, PartialEq)]
pub struct Focus {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub range_secs: u64,
    /// Paused: the window ends here (ms). Live when None.
    pub pinned_end_ms: Option<i64>,
}

impl Focus {
    pub fn is_live(&self) -> bool {
        self.pinned_end_ms.is_none()
    }

    /// The window's end: now when live.
    pub fn end_ms(&self, now_ms: i64) -> i64 {
        self.pinned_end_ms.unwrap_or(now_ms)
    }

    pub fn start_ms(&self, now_ms: i64) -> i64 {
        self.end_ms(now_ms) - self.range_secs as i64 * 1000
    }

    /// The next shorter/longer preset window (a custom one snaps to its neighbour).
    pub fn step_window(&self, grow: bool) -> u64 {
        if grow {
            WINDOWS
                .iter()
                .copied()
                .find(|&w| w > self.range_secs)
                .unwrap_or(self.range_secs)
        } else {
            WINDOWS
                .iter()
                .rev()
                .copied()
                .find(|&w| w < self.range_secs)
                .unwrap_or(self.range_secs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_step_and_clamp() {
        let f = Focus {
            namespace: None,
            pod: None,
            range_secs: 3600,
            pinned_end_ms: None,
        };
        assert_eq!(f.step_window(true), 3 * 3600);
        assert_eq!(f.step_window(false), 1800);
        let f = Focus {
            range_secs: 300,
            ..f
        };
        assert_eq!(f.step_window(false), 300);
        let f = Focus {
            range_secs: 2000,
            ..f
        };
        assert_eq!(f.step_window(false), 1800);
        assert_eq!(f.step_window(true), 3600);
    }
}
