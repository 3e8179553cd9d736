//! The demo's cluster: the pods and warning events the Kubernetes API would
//! show for the story being played, derived from the same figures the
//! metrics answer (restart counts, the last termination and its time, the
//! memory limit and working set), so the Kubernetes pane never contradicts
//! the other panes.

use super::{Answer, DemoSource};
use crate::features::kube::{ContainerInfo, EventInfo, PodInfo, PodUsage, Terminated};

/// After a kill, the container waits this long in CrashLoopBackOff (the
/// kubelet's first back-off is 10 s).
const BACKOFF_SECS: i64 = 10;

fn value(src: &DemoSource, key: &str, pod: &str, t_s: i64) -> Option<(crate::store::Labels, f64)> {
    match src.answer(key, pod, t_s)? {
        Answer::Rows(_, rows) => rows.into_iter().next(),
        _ => None,
    }
}

/// The story's pods at `t_s`.
pub fn pods(src: &DemoSource, t_s: i64) -> Vec<PodInfo> {
    let story = src.story();
    story
        .pods()
        .iter()
        .enumerate()
        .map(|(i, &pod)| {
            let restarts = value(src, "restarts.total", pod, t_s).map_or(0.0, |r| r.1) as i64;
            let reason = value(src, "restarts.last_reason", pod, t_s)
                .map(|(l, _)| l.get("reason").cloned().unwrap_or_default());
            let at = match src.terminated_at(pod, t_s) {
                Answer::Rows(_, rows) => rows.first().map(|r| r.1 as i64),
                _ => None,
            };
            let last = reason.map(|reason| Terminated {
                exit_code: match reason.as_str() {
                    "OOMKilled" => 137,
                    "Completed" => 0,
                    _ => 1,
                },
                reason,
                finished_ms: at.map(|s| s * 1000),
            });
            // just killed: the kubelet backs off before starting it again
            let waiting = match (&last, at) {
                (Some(l), Some(at)) if l.exit_code != 0 && t_s - at < BACKOFF_SECS => {
                    Some("CrashLoopBackOff".to_string())
                }
                _ => None,
            };
            let limit = value(src, "memory.limit", pod, t_s).map(|r| r.1);
            PodInfo {
                namespace: story.namespace().into(),
                name: pod.into(),
                phase: "Running".into(),
                node: format!("node-{}", (b'a' + (i % 2) as u8) as char),
                created_ms: Some(((t_s.div_euclid(3600) - 1) * 3600) * 1000),
                deleting: false,
                containers: vec![ContainerInfo {
                    name: story.container().into(),
                    ready: waiting.is_none(),
                    restarts,
                    waiting,
                    last,
                    mem_request: limit.map(|l| l / 2.0),
                    mem_limit: limit,
                    seen: Default::default(),
                }],
            }
        })
        .collect()
}

/// What metrics-server would say: each pod's working set.
pub fn usage(src: &DemoSource, t_s: i64) -> Vec<PodUsage> {
    let story = src.story();
    story
        .pods()
        .iter()
        .filter_map(|&pod| {
            Some(PodUsage {
                namespace: story.namespace().into(),
                pod: pod.into(),
                memory: value(src, "memory.working_set", pod, t_s)?.1,
            })
        })
        .collect()
}

/// The warnings the kubelet and the kernel would have raised: for each pod
/// killed, an OOMKilling from its node (for an OOM) and a BackOff on the
/// pod, counting its restarts in the last 15 minutes.
pub fn events(src: &DemoSource, t_s: i64) -> Vec<EventInfo> {
    let mut out = vec![];
    for p in pods(src, t_s) {
        let Some((c, term)) = p.last_terminated() else {
            continue;
        };
        let Some(at_ms) = term.finished_ms else {
            continue;
        };
        if term.exit_code == 0 {
            continue;
        }
        let recent = value(src, "restarts.recent", &p.name, t_s).map_or(0.0, |r| r.1) as i64;
        if term.is_oom() {
            out.push(EventInfo {
                uid: format!("oom-{}", p.name),
                namespace: p.namespace.clone(),
                object: format!("Node/{}", p.node),
                pod: None,
                reason: "OOMKilling".into(),
                message: format!(
                    "Memory cgroup out of memory: Killed process in pod {} container {}",
                    p.name, c.name
                ),
                warning: true,
                count: recent.max(1),
                last_ms: at_ms,
            });
        }
        out.push(EventInfo {
            uid: format!("backoff-{}", p.name),
            namespace: p.namespace.clone(),
            object: format!("Pod/{}", p.name),
            pod: Some(p.name.clone()),
            reason: "BackOff".into(),
            message: format!("Back-off restarting failed container {}", c.name),
            warning: true,
            count: recent.max(1),
            last_ms: at_ms + 1000,
        });
    }
    out
}
