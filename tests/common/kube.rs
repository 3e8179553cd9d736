//! A loopback Kubernetes API server speaking the documented wire format
//! (API concepts: "Efficient detection of changes", "Retrieving large
//! results sets in chunks"; apimachinery's metav1.Status and watch.Event):
//! - lists are paged with `limit`/`continue`, each page carrying the
//!   list's `metadata.resourceVersion`;
//! - `?watch=true&resourceVersion=N` streams newline-delimited JSON
//!   `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}` with
//!   chunked transfer encoding, every change after N;
//! - a resourceVersion older than the last compaction gets, inside a 200,
//!   `{"type":"ERROR","object":{"kind":"Status",…,"reason":"Expired","code":410}}`
//!   and the stream ends (what kube-rs's watcher answers with a re-list);
//! - a forbidden verb answers 403 with a `Status` body as the API server
//!   writes it (`pods is forbidden: User "…" cannot list resource "pods" …`);
//! - a bearer token is required when one is set (401 `Unauthorized` Status).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::http::read_request;

mod forward;
#[path = "kube_logs.rs"]
mod kube_logs;

/// (namespace, pod) → [(container, memory quantity)].
type Usage = BTreeMap<(String, String), Vec<(String, String)>>;

#[derive(Default)]
struct Cluster {
    rv: u64,
    /// (resource, namespace, name) → object.
    objects: BTreeMap<(String, String, String), Value>,
    /// Every change: (rv, resource, namespace, type, object).
    log: Vec<(u64, String, String, &'static str, Value)>,
    /// Watches from before this resourceVersion are expired (410).
    compacted: u64,
    /// (resource, verb) answered 403.
    forbidden: Vec<(String, String)>,
    token: Option<String>,
    /// Tokens `PREFIX-N` accepted for N at least this (an issuer that
    /// rotates: older tokens have expired), instead of `token`.
    rotating: Option<(String, u64)>,
    /// The last bearer token a request carried.
    last_token: Option<String>,
    /// Requests seen: "GET /api/v1/…".
    requests: Vec<String>,
    /// Bumped to end every open watch with a 410 (an etcd compaction).
    expire_gen: u64,
    /// metrics.k8s.io: (namespace, pod) → [(container, memory quantity)];
    /// None: no metrics-server (the group answers 404).
    usage: Option<Usage>,
    /// (namespace, pod, port) → what a port-forward to it reaches.
    backends: BTreeMap<(String, String, u16), std::net::SocketAddr>,
    forwards_opened: usize,
    /// When the last page of a pod list was answered (benchmarks).
    pods_listed: Option<std::time::Instant>,
    /// Pod logs (kube_logs.rs).
    logs: kube_logs::Logs,
}

#[derive(Clone)]
pub struct FakeKube {
    pub url: String,
    state: Arc<Mutex<Cluster>>,
    changed: watch::Sender<u64>,
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    })
}

impl FakeKube {
    /// Serves on a free loopback port until the runtime ends.
    pub async fn start() -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (changed, _) = watch::channel(0u64);
        let fake = FakeKube {
            url,
            state: Arc::new(Mutex::new(Cluster {
                rv: 100,
                ..Default::default()
            })),
            changed,
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move { f.connection(sock).await });
            }
        });
        fake
    }

    /// From a thread of its own, for tests that drive a child process.
    pub fn start_in_thread() -> FakeKube {
        super::http::in_thread(FakeKube::start)
    }

    /// A kubeconfig for this server (context `fake`, namespace `shop`),
    /// written to `dir`; with `token`, the user sends it as a bearer token.
    pub fn kubeconfig(&self, dir: &std::path::Path, token: Option<&str>) -> std::path::PathBuf {
        self.state.lock().unwrap().token = token.map(str::to_string);
        let user = match token {
            Some(t) => format!("    token: {t}\n"),
            None => "    {}\n".to_string(),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: shop\n- name: other\n  context:\n    cluster: fake\n    user: fake\n    namespace: other\nusers:\n- name: fake\n  user:\n{user}",
            self.url
        );
        let p = dir.join("kubeconfig");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A kubeconfig whose user gets its token from an exec credential
    /// plugin (`command`, asked in `interactiveMode: IfAvailable`, which a
    /// TUI must not honour); the server requires `token`.
    pub fn kubeconfig_exec(
        &self,
        dir: &std::path::Path,
        command: &std::path::Path,
        token: &str,
    ) -> std::path::PathBuf {
        self.state.lock().unwrap().token = Some(token.to_string());
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: plugin\n    namespace: shop\nusers:\n- name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: IfAvailable\n",
            self.url,
            command.display()
        );
        let p = dir.join("kubeconfig-exec");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn change(&self, resource: &str, ns: &str, name: &str, obj: Option<Value>) {
        let mut s = self.state.lock().unwrap();
        s.rv += 1;
        let rv = s.rv;
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let (kind, obj) = match obj {
            Some(mut o) => {
                o["metadata"]["resourceVersion"] = json!(rv.to_string());
                o["metadata"]["namespace"] = json!(ns);
                o["metadata"]["name"] = json!(name);
                if o["metadata"]["uid"].is_null() {
                    o["metadata"]["uid"] = json!(format!("uid-{resource}-{ns}-{name}"));
                }
                let kind = if s.objects.contains_key(&key) {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                s.objects.insert(key, o.clone());
                (kind, o)
            }
            None => match s.objects.remove(&key) {
                Some(mut o) => {
                    o["metadata"]["resourceVersion"] = json!(rv.to_string());
                    ("DELETED", o)
                }
                None => return,
            },
        };
        s.log
            .push((rv, resource.to_string(), ns.to_string(), kind, obj));
        drop(s);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Adds or replaces a pod (`kind`/`apiVersion` filled in).
    pub fn put_pod(&self, ns: &str, name: &str, mut pod: Value) {
        pod["kind"] = json!("Pod");
        pod["apiVersion"] = json!("v1");
        self.change("pods", ns, name, Some(pod));
    }

    pub fn delete_pod(&self, ns: &str, name: &str) {
        self.change("pods", ns, name, None);
    }

    pub fn put_event(&self, ns: &str, name: &str, mut ev: Value) {
        ev["kind"] = json!("Event");
        ev["apiVersion"] = json!("v1");
        self.change("events", ns, name, Some(ev));
    }

    /// Compacts history: every open watch ends with a 410 ERROR event and
    /// a watch from any older resourceVersion is refused the same way.
    pub fn expire_watches(&self) {
        let mut s = self.state.lock().unwrap();
        s.compacted = s.rv + 1;
        s.expire_gen += 1;
        drop(s);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Installs metrics-server's figures: `pod`'s container `memory`
    /// (`412Mi`), served at /apis/metrics.k8s.io/v1beta1/….
    pub fn set_usage(&self, ns: &str, pod: &str, container: &str, memory: &str) {
        let mut s = self.state.lock().unwrap();
        let u = s.usage.get_or_insert_with(Default::default);
        let e = u.entry((ns.into(), pod.into())).or_default();
        e.retain(|(c, _)| c != container);
        e.push((container.into(), memory.into()));
    }

    /// Answers `verb` (`list`, `watch`) on `resource` with a 403.
    pub fn forbid(&self, resource: &str, verb: &str) {
        self.state
            .lock()
            .unwrap()
            .forbidden
            .push((resource.into(), verb.into()));
    }

    /// Accepts only tokens `PREFIX<N>` with N >= `min` from now on (older
    /// ones have expired, as an identity provider's short-lived tokens do).
    pub fn accept_tokens_from(&self, prefix: &str, min: u64) {
        self.state.lock().unwrap().rotating = Some((prefix.to_string(), min));
    }

    /// The last bearer token a request carried.
    pub fn last_token(&self) -> Option<String> {
        self.state.lock().unwrap().last_token.clone()
    }

    /// When the last page of a pod list was answered.
    pub fn pods_listed(&self) -> Option<std::time::Instant> {
        self.state.lock().unwrap().pods_listed
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    async fn connection(&self, mut sock: tokio::net::TcpStream) {
        // one request per connection (the answer says `connection: close`)
        let Some(req) = read_request(&mut sock).await else {
            return;
        };
        let q = query(&req.target);
        let path = req.path().to_string();
        self.state
            .lock()
            .unwrap()
            .requests
            .push(format!("{} {}", req.method, req.target));
        let (want, rotating) = {
            let mut st = self.state.lock().unwrap();
            let bearer = req
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .map(str::to_string);
            if bearer.is_some() {
                st.last_token = bearer;
            }
            (st.token.clone(), st.rotating.clone())
        };
        let bearer = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "));
        let allowed = match (&rotating, &want) {
            (Some((prefix, min)), _) => bearer
                .and_then(|b| b.strip_prefix(prefix.as_str()))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= *min),
            (None, Some(t)) => bearer == Some(t.as_str()),
            (None, None) => true,
        };
        if !allowed {
            return send(&mut sock, 401, &status(401, "Unauthorized", "Unauthorized")).await;
        }
        if let Some(pod) = kube_logs::route(&path) {
            return self.serve_log(&mut sock, pod, &req.target).await;
        }
        if let Some(ns) = metrics_route(&path) {
            let usage = self.state.lock().unwrap().usage.clone();
            let Some(usage) = usage else {
                let msg = "the server could not find the requested resource";
                return send(&mut sock, 404, &status(404, "NotFound", msg)).await;
            };
            let items: Vec<Value> = usage
                .iter()
                .filter(|((n, _), _)| ns.as_deref().is_none_or(|x| x == n))
                .map(|((n, p), cs)| {
                    let containers: Vec<Value> = cs
                        .iter()
                        .map(|(c, m)| json!({"name": c, "usage": {"cpu": "5m", "memory": m}}))
                        .collect();
                    json!({"metadata": {"name": p, "namespace": n,
                        "creationTimestamp": "2026-12-06T01:00:00Z"},
                        "timestamp": "2026-12-06T01:00:00Z", "window": "15.2s",
                        "containers": containers})
                })
                .collect();
            let body = json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {}, "items": items});
            return send(&mut sock, 200, &body).await;
        }
        if self.object_route(&mut sock, &req).await.is_some() {
            return;
        }
        let Some((resource, ns)) = route(&path) else {
            let msg = format!("the server could not find the requested resource ({path})");
            return send(&mut sock, 404, &status(404, "NotFound", &msg)).await;
        };
        let watching = q.get("watch").is_some_and(|v| v == "true" || v == "1");
        let verb = if watching { "watch" } else { "list" };
        let forbidden = self
            .state
            .lock()
            .unwrap()
            .forbidden
            .iter()
            .any(|(r, v)| *r == resource && v == verb);
        if forbidden {
            let scope = match &ns {
                Some(n) => format!("in the namespace \"{n}\""),
                None => "at the cluster scope".into(),
            };
            let (name, group) = if resource == EVENTS_V1 {
                ("events", EVENTS_V1)
            } else {
                (resource.as_str(), "")
            };
            let full = if group.is_empty() {
                name.to_string()
            } else {
                format!("{name}.{group}")
            };
            let msg = format!(
                "{full} is forbidden: User \"system:serviceaccount:shop:viewer\" cannot {verb} resource \"{name}\" in API group \"{group}\" {scope}"
            );
            return send(&mut sock, 403, &status(403, "Forbidden", &msg)).await;
        }
        if watching {
            let from: u64 = q
                .get("resourceVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            self.stream(&mut sock, &resource, ns.as_deref(), from).await;
        } else {
            let body = self.list(&resource, ns.as_deref(), &q);
            send(&mut sock, 200, &body).await;
            if resource == "pods" && body["metadata"]["continue"].is_null() {
                self.state.lock().unwrap().pods_listed = Some(std::time::Instant::now());
            }
        }
    }

    fn list(&self, shown: &str, ns: Option<&str>, q: &BTreeMap<String, String>) -> Value {
        let (resource, convert) = storage(shown);
        let s = self.state.lock().unwrap();
        let items: Vec<&Value> = s
            .objects
            .iter()
            .filter(|((r, n, _), _)| r == resource && ns.is_none_or(|x| x == n))
            .map(|(_, v)| v)
            .filter(|v| forward::selected(v, q.get("labelSelector")))
            .collect();
        let limit: usize = q
            .get("limit")
            .and_then(|v| v.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let offset: usize = q
            .get("continue")
            .and_then(|c| c.strip_prefix("page-"))
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = items
            .iter()
            .skip(offset)
            .take(limit)
            .map(|v| convert(v))
            .collect();
        let next = offset + page.len();
        let mut meta = json!({"resourceVersion": s.rv.to_string()});
        if next < items.len() {
            meta["continue"] = json!(format!("page-{next}"));
            meta["remainingItemCount"] = json!(items.len() - next);
        }
        let kind = match resource {
            "pods" => "PodList",
            "services" => "ServiceList",
            _ => "EventList",
        };
        let api = if shown == EVENTS_V1 {
            "events.k8s.io/v1"
        } else {
            "v1"
        };
        json!({"kind": kind, "apiVersion": api, "metadata": meta, "items": page})
    }

    /// The watch: every change after `from`, then new ones as they come,
    /// until the client goes or history is compacted (410 inside the 200).
    async fn stream(
        &self,
        sock: &mut tokio::net::TcpStream,
        shown: &str,
        ns: Option<&str>,
        from: u64,
    ) {
        let (resource, convert) = storage(shown);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut rx = self.changed.subscribe();
        let mut bookmarked = false;
        let (mut sent, expire_gen) = {
            let s = self.state.lock().unwrap();
            (from, s.expire_gen)
        };
        // a bookmark first: the stream is live at the current version
        let rv_now = self.state.lock().unwrap().rv;
        let kind = if resource == "pods" { "Pod" } else { "Event" };
        let bookmark = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "v1",
            "metadata": {"resourceVersion": rv_now.to_string()}}});
        loop {
            let (lines, expired) = {
                let s = self.state.lock().unwrap();
                if from < s.compacted || s.expire_gen != expire_gen {
                    (vec![], true)
                } else {
                    let lines: Vec<(u64, Value)> = s
                        .log
                        .iter()
                        .filter(|(rv, r, n, _, _)| {
                            *rv > sent && r == resource && ns.is_none_or(|x| x == n)
                        })
                        .map(|(rv, _, _, t, o)| (*rv, json!({"type": t, "object": convert(o)})))
                        .collect();
                    (lines, false)
                }
            };
            if expired {
                let msg = format!(
                    "too old resource version: {from} ({})",
                    self.state.lock().unwrap().compacted
                );
                let e = json!({"type": "ERROR", "object": status(410, "Expired", &msg)});
                let _ = chunk(sock, &e).await;
                break;
            }
            if !bookmarked {
                bookmarked = true;
                if chunk(sock, &bookmark).await.is_err() {
                    return;
                }
            }
            for (rv, l) in lines {
                if chunk(sock, &l).await.is_err() {
                    return;
                }
                sent = rv;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
        let _ = sock.write_all(b"0\r\n\r\n").await;
        let _ = sock.shutdown().await;
    }
}

async fn chunk(sock: &mut tokio::net::TcpStream, v: &Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(v).unwrap();
    line.push(b'\n');
    sock.write_all(format!("{:x}\r\n", line.len()).as_bytes())
        .await?;
    sock.write_all(&line).await?;
    sock.write_all(b"\r\n").await?;
    sock.flush().await
}

async fn send(sock: &mut tokio::net::TcpStream, code: u16, body: &Value) {
    let body = serde_json::to_vec(body).unwrap();
    let head = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(&body).await;
    let _ = sock.shutdown().await;
}

/// events.k8s.io/v1 events: the stored core/v1 events, seen through the
/// newer API (as the API server does: one storage, two views, same uids).
const EVENTS_V1: &str = "events.k8s.io";

/// A core/v1 Event as events.k8s.io/v1 shows it (field names from the
/// API reference: involvedObject → regarding, message → note, count →
/// deprecatedCount, first/lastTimestamp → deprecatedFirst/LastTimestamp,
/// source → deprecatedSource; `series` and `eventTime` as they are).
fn event_v1(core: &Value) -> Value {
    let mut v = json!({
        "kind": "Event", "apiVersion": "events.k8s.io/v1",
        "metadata": core["metadata"].clone(),
        "regarding": core["involvedObject"].clone(),
        "reason": core["reason"].clone(), "note": core["message"].clone(),
        "type": core["type"].clone(),
        "eventTime": core.get("eventTime").cloned().unwrap_or(Value::Null),
        "reportingController": "kubelet", "reportingInstance": "node-a",
        "action": "Killing",
    });
    for (from, to) in [
        ("count", "deprecatedCount"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("source", "deprecatedSource"),
        ("series", "series"),
    ] {
        if let Some(x) = core.get(from).filter(|x| !x.is_null()) {
            v[to] = x.clone();
        }
    }
    v
}

/// Where a resource's objects are stored, and how they are shown.
fn storage(resource: &str) -> (&str, fn(&Value) -> Value) {
    if resource == EVENTS_V1 {
        ("events", event_v1)
    } else {
        (resource, Value::clone)
    }
}

/// `/api/v1/namespaces/NS/pods` → ("pods", Some(NS)); `/api/v1/pods` →
/// ("pods", None); likewise events (core/v1 and events.k8s.io/v1).
fn route(path: &str) -> Option<(String, Option<String>)> {
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match p.as_slice() {
        ["api", "v1", "namespaces", ns, r] if *r == "pods" || *r == "events" => {
            Some((r.to_string(), Some(ns.to_string())))
        }
        ["api", "v1", r] if *r == "pods" || *r == "events" => Some((r.to_string(), None)),
        ["apis", "events.k8s.io", "v1", "namespaces", ns, "events"] => {
            Some((EVENTS_V1.to_string(), Some(ns.to_string())))
        }
        ["apis", "events.k8s.io", "v1", "events"] => Some((EVENTS_V1.to_string(), None)),
        _ => None,
    }
}

/// `/apis/metrics.k8s.io/v1beta1/namespaces/NS/pods` → Some(Some(NS)).
fn metrics_route(path: &str) -> Option<Option<String>> {
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match p.as_slice() {
        ["apis", "metrics.k8s.io", "v1beta1", "namespaces", ns, "pods"] => {
            Some(Some(ns.to_string()))
        }
        ["apis", "metrics.k8s.io", "v1beta1", "pods"] => Some(None),
        _ => None,
    }
}

fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%3D", "=").replace("%2C", ",")))
                .collect()
        })
        .unwrap_or_default()
}

/// A pod as the API server returns it: `phase`, and per container its
/// state and last state (JSON as in core/v1 ContainerStatus).
pub fn pod(containers: &[(&str, Value)], phase: &str) -> Value {
    let spec: Vec<Value> = containers
        .iter()
        .map(|(n, _)| {
            json!({"name": n, "image": "app:1",
                "resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}})
        })
        .collect();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(n, st)| {
            let mut s = st.clone();
            s["name"] = json!(n);
            s["image"] = json!("app:1");
            s["imageID"] = json!("");
            if s["restartCount"].is_null() {
                s["restartCount"] = json!(0);
            }
            if s["ready"].is_null() {
                s["ready"] = json!(true);
            }
            s
        })
        .collect();
    let all_ready = statuses.iter().all(|s| s["ready"] == json!(true));
    json!({
        "metadata": {"creationTimestamp": "2026-12-06T00:00:00Z"},
        "spec": {"nodeName": "node-a", "containers": spec},
        "status": {"phase": phase, "containerStatuses": statuses, "conditions": [
            {"type": "Ready", "status": if phase == "Running" && all_ready {"True"} else {"False"}}]}
    })
}
