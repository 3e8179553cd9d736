//! A Pod as watchfloor reads it: the few fields the pods pane and the log
//! source use, in k8s-openapi's shape (so code reads it as it would read a
//! `Pod`), and nothing else. Decoding a full `k8s_openapi` Pod builds every
//! field of a spec of ~200 fields through nested `Option`s of large
//! structs: at 5,000 pods and 50 updates a second that decoding was a third
//! of watchfloor's CPU. Here every field not named is skipped by the
//! parser, and `managedFields`, labels and annotations are never built.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

/// `v1/Pod`, lean: watched, listed and got like the full one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    #[serde(default, deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<PodSpec>,
    #[serde(default)]
    pub status: Option<PodStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    pub name: String,
    #[serde(default)]
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceRequirements {
    #[serde(default)]
    pub requests: Option<BTreeMap<String, Quantity>>,
    #[serde(default)]
    pub limits: Option<BTreeMap<String, Quantity>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    #[serde(default)]
    pub state: Option<ContainerState>,
    #[serde(default)]
    pub last_state: Option<ContainerState>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerState {
    #[serde(default)]
    pub waiting: Option<ContainerStateWaiting>,
    /// Only whether it is there is read.
    #[serde(default)]
    pub running: Option<IgnoredAny>,
    #[serde(default)]
    pub terminated: Option<ContainerStateTerminated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerStateWaiting {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateTerminated {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub finished_at: Option<Time>,
}

/// The metadata fields read (the watcher tracks `resourceVersion`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
}

fn lean_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = Option::<Meta>::deserialize(d)?.unwrap_or_default();
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        ..Default::default()
    })
}

impl kube::Resource for Pod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> std::borrow::Cow<'_, str> {
        "Pod".into()
    }
    fn group(_: &()) -> std::borrow::Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> std::borrow::Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A pod as a real API server writes it (managedFields, labels, probes,
    /// volumes, conditions …): the fields read come through the same as a
    /// full k8s-openapi decode gives them, the rest is not kept.
    #[test]
    fn reads_what_the_full_pod_reads_and_keeps_nothing_else() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-1", "namespace": "shop", "uid": "u-1",
                "resourceVersion": "42", "creationTimestamp": "2026-12-06T01:00:00Z",
                "deletionTimestamp": "2026-12-06T02:00:00Z",
                "labels": {"app": "api"}, "annotations": {"a": "b"},
                "managedFields": [{"manager": "kubelet", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "api", "uid": "r"}]},
            "spec": {"nodeName": "node-a", "restartPolicy": "Always",
                "volumes": [{"name": "v", "emptyDir": {}}],
                "containers": [{"name": "api", "image": "api:1",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
                    "resources": {"requests": {"memory": "256Mi", "cpu": "100m"},
                                  "limits": {"memory": "512Mi"}}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "api", "ready": true, "restartCount": 3,
                    "image": "api:1", "imageID": "sha", "started": true,
                    "state": {"running": {"startedAt": "2026-12-06T01:05:00Z"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                        "finishedAt": "2026-12-06T01:04:59Z", "startedAt": "2026-12-06T01:00:00Z"}}}]}
        });
        let full: k8s_openapi::api::core::v1::Pod = serde_json::from_value(v.clone()).unwrap();
        let lean: Pod = serde_json::from_value(v).unwrap();
        let (fm, lm) = (&full.metadata, &lean.metadata);
        assert_eq!(
            (&lm.name, &lm.namespace, &lm.uid, &lm.resource_version),
            (&fm.name, &fm.namespace, &fm.uid, &fm.resource_version)
        );
        assert_eq!(lm.creation_timestamp, fm.creation_timestamp);
        assert_eq!(lm.deletion_timestamp, fm.deletion_timestamp);
        assert!(lm.labels.is_none() && lm.managed_fields.is_none() && lm.annotations.is_none());
        let (fs, ls) = (full.spec.unwrap(), lean.spec.unwrap());
        assert_eq!(ls.node_name, fs.node_name);
        let (fr, lr) = (
            fs.containers[0].resources.clone().unwrap(),
            ls.containers[0].resources.clone().unwrap(),
        );
        assert_eq!((lr.requests, lr.limits), (fr.requests, fr.limits));
        let fst = &full.status.unwrap().container_statuses.unwrap()[0];
        let lean_status = lean.status.unwrap();
        assert_eq!(lean_status.phase.as_deref(), Some("Running"));
        let lst = &lean_status.container_statuses.unwrap()[0];
        assert_eq!(
            (lst.ready, lst.restart_count),
            (fst.ready, fst.restart_count)
        );
        assert!(lst.state.as_ref().unwrap().running.is_some());
        let (ft, lt) = (
            fst.last_state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap(),
            lst.last_state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap(),
        );
        assert_eq!(
            (&lt.reason, lt.exit_code, &lt.finished_at),
            (&ft.reason, ft.exit_code, &ft.finished_at)
        );
    }

    /// What a pending pod and a null metadata look like do not fail it.
    #[test]
    fn a_pod_with_little_in_it_decodes() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("p"));
        assert!(p.status.unwrap().container_statuses.is_none());
        let p: Pod = serde_json::from_value(json!({"metadata": null})).unwrap();
        assert!(p.metadata.name.is_none() && p.spec.is_none());
    }
}
