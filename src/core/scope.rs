//! What exists, as the sources have seen it.

use std::collections::{BTreeMap, BTreeSet};

/// Most pods the picker lists.
pub const MAX_PICKER_PODS: usize = 1000;

/// What the sources have seen exists: the jobs and the pods of each job,
/// fed by whichever source sees them. A re-target never clears it, so a
/// source's plan reads it instead of another source's data (which a
/// re-target may just have emptied).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub pods_by_job: BTreeMap<String, BTreeSet<String>>,
}

/// Jobs remembered in the scope.
const MAX_SCOPE_JOBS: usize = 1000;

impl Scope {
    /// Records that `pod` belongs to `job`; true when it was new.
    pub fn learn(&mut self, job: &str, pod: &str) -> bool {
        if job.is_empty() || pod.is_empty() {
            return false;
        }
        if !self.pods_by_job.contains_key(job) && self.pods_by_job.len() >= MAX_SCOPE_JOBS {
            return false;
        }
        let pods = self.pods_by_job.entry(job.to_string()).or_default();
        pods.len() < MAX_PICKER_PODS && pods.insert(pod.to_string())
    }

    /// Whether `pod` is known to belong to `job`.
    pub fn knows(&self, job: &str, pod: &str) -> bool {
        self.pods_by_job.get(job).is_some_and(|p| p.contains(pod))
    }

    /// The pods seen for `job`, sorted.
    pub fn pods_of(&self, job: &str) -> Vec<String> {
        self.pods_by_job
            .get(job)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }
}
