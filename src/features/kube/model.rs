//! What the Kubernetes source keeps of the API's objects: owned, small,
//! and only the fields the panes show. The conversion from the API types
//! is pure (no client), so it is tested on JSON as the API server sends it.

use crate::core::kube::pod::{ContainerStatus, Pod, ResourceRequirements};
use k8s_openapi::api::core::v1::Event;

/// A pod as the Pods pane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    pub phase: String,
    pub node: String,
    pub created_ms: Option<i64>,
    /// Set while the pod is being deleted (`Terminating`).
    pub deleting: bool,
    pub containers: Vec<ContainerInfo>,
}

/// One container's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerInfo {
    pub name: String,
    pub ready: bool,
    pub restarts: i64,
    /// Why it is waiting (`CrashLoopBackOff`, `ImagePullBackOff`, …).
    pub waiting: Option<String>,
    /// The previous run's end: kept only in `lastState.terminated`.
    pub last: Option<Terminated>,
    /// Bytes, from the spec.
    pub mem_request: Option<f64>,
    pub mem_limit: Option<f64>,
    /// Restart counts seen (when, count), oldest first: kept by the pods
    /// list across updates (empty as the watch delivers a pod), so the
    /// restarts in a window are read from the container itself.
    pub seen: std::collections::VecDeque<(i64, i64)>,
}

impl ContainerInfo {
    /// Restarts since `since_ms` (0 when seen only once, or the count
    /// went down: a new container id, not restarts).
    pub fn restarts_since(&self, since_ms: i64) -> i64 {
        if self.seen.len() < 2 {
            return 0;
        }
        // the last count at or before the window's start, else the first seen
        let base = self
            .seen
            .iter()
            .rev()
            .find(|(t, _)| *t <= since_ms)
            .or(self.seen.front())
            .map_or(self.restarts, |(_, n)| *n);
        (self.restarts - base).max(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Terminated {
    pub reason: String,
    pub exit_code: i32,
    pub finished_ms: Option<i64>,
}

impl Terminated {
    /// An OOM kill: the reason, or the kernel's SIGKILL exit code when the
    /// runtime did not say (137 = 128 + 9).
    pub fn is_oom(&self) -> bool {
        self.reason == "OOMKilled" || (self.reason.is_empty() && self.exit_code == 137)
    }
}

impl PodInfo {
    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }

    pub fn restarts(&self) -> i64 {
        self.containers.iter().map(|c| c.restarts).sum()
    }

    /// Restarts of all its containers since `since_ms`.
    pub fn restarts_since(&self, since_ms: i64) -> i64 {
        self.containers
            .iter()
            .map(|c| c.restarts_since(since_ms))
            .sum()
    }

    pub fn ready(&self) -> (usize, usize) {
        let r = self.containers.iter().filter(|c| c.ready).count();
        (r, self.containers.len())
    }

    /// What `kubectl get pods` says in STATUS: a waiting reason first
    /// (CrashLoopBackOff says more than Running), then Terminating, then
    /// the phase.
    pub fn status(&self) -> &str {
        if let Some(w) = self.containers.iter().find_map(|c| c.waiting.as_deref()) {
            return w;
        }
        if self.deleting {
            return "Terminating";
        }
        &self.phase
    }

    /// The most recent termination of any of its containers.
    pub fn last_terminated(&self) -> Option<(&ContainerInfo, &Terminated)> {
        self.containers
            .iter()
            .filter_map(|c| c.last.as_ref().map(|t| (c, t)))
            .max_by_key(|(_, t)| t.finished_ms.unwrap_or(i64::MIN))
    }
}

fn ms(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> i64 {
    t.0.as_millisecond()
}

/// A pod from the API.
pub fn pod_info(p: &Pod) -> PodInfo {
    let meta = &p.metadata;
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let statuses: &[ContainerStatus] = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let spec_containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    // every container of the spec, with its status when there is one (a
    // pending pod has none yet)
    let mut names: Vec<&str> = spec_containers.iter().map(|c| c.name.as_str()).collect();
    for s in statuses {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let containers = names
        .into_iter()
        .map(|name| {
            let st = statuses.iter().find(|s| s.name == name);
            let sp = spec_containers.iter().find(|c| c.name == name);
            type Quantities = std::collections::BTreeMap<
                String,
                k8s_openapi::apimachinery::pkg::api::resource::Quantity,
            >;
            let mem = |which: fn(&ResourceRequirements) -> Option<&Quantities>| {
                sp.and_then(|c| c.resources.as_ref())
                    .and_then(which)
                    .and_then(|m| m.get("memory"))
                    .and_then(|q| parse_quantity(&q.0))
            };
            ContainerInfo {
                name: name.to_string(),
                ready: st.is_some_and(|s| s.ready),
                restarts: st.map_or(0, |s| s.restart_count as i64),
                waiting: st
                    .and_then(|s| s.state.as_ref())
                    .and_then(|s| s.waiting.as_ref())
                    .and_then(|w| w.reason.clone()),
                last: st
                    .and_then(|s| s.last_state.as_ref())
                    .and_then(|s| s.terminated.as_ref())
                    .map(|t| Terminated {
                        reason: t.reason.clone().unwrap_or_default(),
                        exit_code: t.exit_code,
                        finished_ms: t.finished_at.as_ref().map(ms),
                    }),
                mem_request: mem(|r| r.requests.as_ref()),
                mem_limit: mem(|r| r.limits.as_ref()),
                seen: Default::default(),
            }
        })
        .collect();
    PodInfo {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        node: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        created_ms: meta.creation_timestamp.as_ref().map(ms),
        deleting: meta.deletion_timestamp.is_some(),
        containers,
    }
}

/// An event as the Events list shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventInfo {
    pub uid: String,
    pub namespace: String,
    /// `Pod/app-1`.
    pub object: String,
    /// The pod it is about, when it is about a pod.
    pub pod: Option<String>,
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub count: i64,
    /// When it last happened.
    pub last_ms: i64,
}

/// What both event APIs say of one event, in their own field names.
struct EventFields<'a> {
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    object: Option<&'a k8s_openapi::api::core::v1::ObjectReference>,
    reason: Option<&'a String>,
    message: Option<&'a String>,
    type_: Option<&'a String>,
    /// series.count, else the (deprecated) count
    count: Option<i64>,
    /// series.lastObservedTime, lastTimestamp, eventTime, firstTimestamp (ms)
    times: [Option<i64>; 4],
}

impl EventFields<'_> {
    fn info(self) -> EventInfo {
        let kind = self.object.and_then(|o| o.kind.clone()).unwrap_or_default();
        let name = self.object.and_then(|o| o.name.clone()).unwrap_or_default();
        let last_ms = self
            .times
            .into_iter()
            .flatten()
            .next()
            .or_else(|| self.meta.creation_timestamp.as_ref().map(ms))
            .unwrap_or(0);
        let text = |s: Option<&String>| s.cloned().unwrap_or_default();
        EventInfo {
            uid: self.meta.uid.clone().unwrap_or_default(),
            namespace: self.meta.namespace.clone().unwrap_or_default(),
            object: format!("{kind}/{name}"),
            pod: (kind == "Pod").then_some(name),
            reason: text(self.reason),
            message: text(self.message),
            warning: self.type_.map(String::as_str) == Some("Warning"),
            count: self.count.unwrap_or(1),
            last_ms,
        }
    }
}

/// A core/v1 event. Newer clusters fill `eventTime` and `series` instead of
/// `lastTimestamp` and `count`: both are read.
pub fn event_info(e: &Event) -> EventInfo {
    let series = e.series.as_ref();
    EventFields {
        meta: &e.metadata,
        object: Some(&e.involved_object),
        reason: e.reason.as_ref(),
        message: e.message.as_ref(),
        type_: e.type_.as_ref(),
        count: series.and_then(|s| s.count).or(e.count).map(i64::from),
        times: [
            series
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0.as_millisecond()),
            e.last_timestamp.as_ref().map(ms),
            e.event_time.as_ref().map(|t| t.0.as_millisecond()),
            e.first_timestamp.as_ref().map(ms),
        ],
    }
    .info()
}

/// An events.k8s.io/v1 event: `regarding`, `note`, `series` and the
/// `deprecated*` fields that carry what core/v1 clients wrote. The same
/// event has the same uid in both APIs (one storage, two views).
pub fn event_info_v1(e: &k8s_openapi::api::events::v1::Event) -> EventInfo {
    let series = e.series.as_ref();
    EventFields {
        meta: &e.metadata,
        object: e.regarding.as_ref(),
        reason: e.reason.as_ref(),
        message: e.note.as_ref(),
        type_: e.type_.as_ref(),
        count: series
            .map(|s| s.count)
            .or(e.deprecated_count)
            .map(i64::from),
        times: [
            series.map(|s| s.last_observed_time.0.as_millisecond()),
            e.deprecated_last_timestamp.as_ref().map(ms),
            e.event_time.as_ref().map(|t| t.0.as_millisecond()),
            e.deprecated_first_timestamp.as_ref().map(ms),
        ],
    }
    .info()
}

/// A `PodMetricsList` (metrics.k8s.io/v1beta1): each pod's containers'
/// memory usage (the working set) summed. Items without a usable memory
/// figure are skipped.
pub fn pod_usage(v: &serde_json::Value) -> Vec<super::PodUsage> {
    let items = v["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .filter_map(|it| {
            let mem: Vec<f64> = it["containers"]
                .as_array()?
                .iter()
                .filter_map(|c| parse_quantity(c["usage"]["memory"].as_str()?))
                .collect();
            let pod = it["metadata"]["name"].as_str()?;
            (!mem.is_empty()).then(|| super::PodUsage {
                namespace: it["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                pod: pod.into(),
                memory: mem.iter().sum(),
            })
        })
        .collect()
}

/// A Kubernetes quantity (`512Mi`, `1.5Gi`, `1G`, `129e6`, `128974848`)
/// as a number; None for anything else.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (s, mul) in SUFFIXES {
        if let Some(num) = q.strip_suffix(s) {
            return num.parse::<f64>().ok().map(|v| v * mul);
        }
    }
    for (s, mul) in [("P", 1e15), ("E", 1e18)] {
        if let Some(num) = q.strip_suffix(s) {
            return num.parse::<f64>().ok().map(|v| v * mul);
        }
    }
    // plain, or with a decimal exponent (`129e6`)
    q.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_metrics_sum_the_containers_memory() {
        let v = serde_json::json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {}, "items": [
            {"metadata": {"name": "api-1", "namespace": "shop"}, "timestamp": "2026-12-06T01:00:00Z",
             "window": "10.5s", "containers": [
                {"name": "api", "usage": {"cpu": "250m", "memory": "400Mi"}},
                {"name": "sidecar", "usage": {"cpu": "1m", "memory": "12Mi"}}]},
            {"metadata": {"name": "odd", "namespace": "shop"}, "containers": [
                {"name": "x", "usage": {"cpu": "1m"}}]}
        ]});
        let u = pod_usage(&v);
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].pod.as_str(), u[0].memory),
            ("api-1", 412.0 * 1048576.0)
        );
    }

    #[test]
    fn quantities_parse_as_the_api_writes_them() {
        assert_eq!(parse_quantity("512Mi"), Some(536870912.0));
        assert_eq!(parse_quantity("1.5Gi"), Some(1610612736.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("129e6"), Some(129e6));
        assert_eq!(parse_quantity("128974848"), Some(128974848.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("lots"), None);
        assert_eq!(parse_quantity("1Zi"), None);
    }

    /// The OOMKilled reason survives only in `lastState.terminated`; a
    /// crash-looping container says so in `state.waiting`.
    #[test]
    fn a_pod_keeps_its_last_termination_and_waiting_reason() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api-7d9f8b-x2k4q", "namespace": "shop",
                         "creationTimestamp": "2026-12-06T01:00:00Z"},
            "spec": {"nodeName": "node-a", "containers": [
                {"name": "api", "resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
                {"name": "sidecar"}
            ]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "api", "ready": false, "restartCount": 7, "image": "x", "imageID": "",
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                 "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                     "finishedAt": "2026-12-06T01:10:00Z"}}},
                {"name": "sidecar", "ready": true, "restartCount": 0, "image": "y", "imageID": "",
                 "state": {"running": {"startedAt": "2026-12-06T01:00:05Z"}}}
            ]}
        }))
        .unwrap();
        let p = pod_info(&pod);
        assert_eq!(
            (p.namespace.as_str(), p.name.as_str()),
            ("shop", "api-7d9f8b-x2k4q")
        );
        assert_eq!(p.status(), "CrashLoopBackOff");
        assert_eq!(p.ready(), (1, 2));
        assert_eq!(p.restarts(), 7);
        assert_eq!(p.node, "node-a");
        let (c, t) = p.last_terminated().unwrap();
        assert_eq!(c.name, "api");
        assert!(t.is_oom());
        assert_eq!(t.exit_code, 137);
        assert_eq!(t.finished_ms, Some(1_796_519_400_000));
        assert_eq!(c.mem_limit, Some(536870912.0));
        assert_eq!(c.mem_request, Some(268435456.0));
        // a 137 with no reason is an OOM kill too; an Error is not
        let t = Terminated {
            reason: String::new(),
            exit_code: 137,
            finished_ms: None,
        };
        assert!(t.is_oom());
        assert!(!Terminated {
            reason: "Error".into(),
            exit_code: 1,
            finished_ms: None
        }
        .is_oom());
    }

    #[test]
    fn events_read_both_the_old_and_the_new_count_fields() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api.1", "namespace": "shop", "uid": "u1"},
            "involvedObject": {"kind": "Pod", "name": "api-1"},
            "reason": "BackOff", "message": "Back-off restarting failed container",
            "type": "Warning", "count": 12,
            "lastTimestamp": "2026-12-06T01:10:00Z"
        }))
        .unwrap();
        let i = event_info(&e);
        assert_eq!(
            (i.count, i.warning, i.pod.as_deref()),
            (12, true, Some("api-1"))
        );
        assert_eq!(i.last_ms, 1_796_519_400_000);
        let e: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n.1", "namespace": "shop", "uid": "u2"},
            "involvedObject": {"kind": "Node", "name": "node-a"},
            "reason": "OOMKilling", "type": "Warning",
            "eventTime": "2026-12-06T01:09:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-12-06T01:10:00.000000Z"},
            "reportingComponent": "kernel-monitor"
        }))
        .unwrap();
        let i = event_info(&e);
        assert_eq!(
            (i.count, i.pod.clone(), i.object.as_str()),
            (3, None, "Node/node-a")
        );
        assert_eq!(i.last_ms, 1_796_519_400_000);
    }
}
