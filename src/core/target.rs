//! The correlation context: which cluster, namespace, job and pod, over
//! which time window (live or pinned). Every source derives its queries from
//! it; `update` re-targets every source once when it changes.

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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// Kubernetes context (cluster); None: the kubeconfig's current one.
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// Prometheus job to scope to; None: every job.
    pub job: Option<String>,
    pub pod: Option<String>,
    pub range_secs: u64,
    /// Paused: the window ends here (ms). Live when None.
    pub pinned_end_ms: Option<i64>,
}

impl Target {
    /// Whether `other` differs only in being paused/resumed: data already
    /// held stays valid, only newer answers are needed.
    pub fn same_scope(&self, other: &Target) -> bool {
        Target {
            pinned_end_ms: None,
            ..self.clone()
        } == Target {
            pinned_end_ms: None,
            ..other.clone()
        }
    }

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

/// A step that keeps a range under 11,000 points and near `target` points,
/// rounded to a friendly value and never below `min_step`.
pub fn choose_step(range_secs: u64, target_points: u64, min_step: u64) -> u64 {
    const NICE: [u64; 17] = [
        1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400,
    ];
    let raw = range_secs
        .div_ceil(target_points.max(1))
        .max(min_step)
        .max(1);
    let nice = NICE.iter().copied().find(|&n| n >= raw).unwrap_or(raw);
    let floor = range_secs.div_ceil(MAX_POINTS_PER_SERIES - 1);
    nice.max(floor).max(1)
}

/// Prometheus refuses range queries with more points than this per series.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_step_and_clamp() {
        let f = Target {
            range_secs: 3600,
            ..Default::default()
        };
        assert_eq!(f.step_window(true), 3 * 3600);
        assert_eq!(f.step_window(false), 1800);
        let f = Target {
            range_secs: 300,
            ..f
        };
        assert_eq!(f.step_window(false), 300);
        let f = Target {
            range_secs: 2000,
            ..f
        };
        assert_eq!(f.step_window(false), 1800);
        assert_eq!(f.step_window(true), 3600);
    }
}
