//! Port-forwards that heal. An endpoint written
//! `k8s://NAMESPACE/svc/NAME:PORT` (or `pod/NAME:PORT`, `?context=CTX`) is
//! served on 127.0.0.1 at a random port; every accepted connection opens
//! its own WebSocket port-forward (`v4.channel.k8s.io`, through kube-rs),
//! resolving the Service as kubectl does (selector → a Running and Ready
//! pod; service port → targetPort, a named port through the container
//! spec) at every connect. A restarted pod or a rollout is followed; no
//! kubectl process, no second terminal.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ListParams;
use kube::{Api, Client};

use super::runner::KubeOptions;
use super::KubeEvent;
use crate::core::Sink;

/// What a forward points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Service,
    Pod,
}

/// A port by number or by name (a service port's or a container port's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(n) => f.write_str(n),
        }
    }
}

/// `k8s://NAMESPACE/svc/NAME:PORT[/path][?context=CTX]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    pub namespace: String,
    pub kind: Kind,
    pub name: String,
    pub port: PortRef,
    /// None: `--context`, else the kubeconfig's current one.
    pub context: Option<String>,
    /// A path prefix kept for the HTTP client (`/prometheus`).
    pub path: String,
}

impl std::fmt::Display for ForwardTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Service => "svc",
            Kind::Pod => "pod",
        };
        write!(f, "{}/{kind}/{}:{}", self.namespace, self.name, self.port)
    }
}

pub const SCHEME: &str = "k8s://";

/// A DNS-1123 label or subdomain (what namespaces, services and pods are named).
fn dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// Parses `k8s://NAMESPACE/svc|service|pod/NAME:PORT[/path][?context=CTX]`;
/// the error says which part is wrong.
pub fn parse(url: &str) -> Result<ForwardTarget, String> {
    let rest = url
        .strip_prefix(SCHEME)
        .ok_or_else(|| format!("must start with {SCHEME}"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut context = None;
    for kv in query.into_iter().flat_map(|q| q.split('&')) {
        match kv.split_once('=') {
            Some(("context", v)) if !v.is_empty() => context = Some(v.to_string()),
            _ => {
                return Err(format!(
                    "unknown parameter `{kv}` (only ?context=NAME is understood)"
                ))
            }
        }
    }
    let shape = "expected k8s://NAMESPACE/svc/NAME:PORT or k8s://NAMESPACE/pod/NAME:PORT";
    let mut parts = rest.splitn(4, '/');
    let (Some(ns), Some(kind), Some(name_port)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(shape.into());
    };
    let path = parts
        .next()
        .map(|p| format!("/{}", p.trim_end_matches('/')))
        .unwrap_or_default();
    let kind = match kind {
        "svc" | "service" | "services" => Kind::Service,
        "pod" | "pods" => Kind::Pod,
        other => return Err(format!("`{other}`: {shape}")),
    };
    let (name, port) = name_port
        .split_once(':')
        .ok_or_else(|| format!("no port: {shape}"))?;
    for (what, v) in [("namespace", ns), ("name", name)] {
        if !dns_name(v) {
            return Err(format!("{what} `{v}` is not a Kubernetes name"));
        }
    }
    let port = match port.parse::<u16>() {
        Ok(0) => return Err("port 0".into()),
        Ok(n) => PortRef::Number(n),
        // an IANA service name: up to 15 characters, at least one letter
        Err(_)
            if dns_name(port)
                && port.len() <= 15
                && port.bytes().any(|b| b.is_ascii_lowercase()) =>
        {
            PortRef::Name(port.to_string())
        }
        Err(_) => return Err(format!("port `{port}` is neither a number nor a port name")),
    };
    Ok(ForwardTarget {
        namespace: ns.to_string(),
        kind,
        name: name.to_string(),
        port,
        context,
        path: if path == "/" { String::new() } else { path },
    })
}

/// One forward: the endpoint it serves (`prometheus`), where to, and the
/// loopback listener, bound before any client is built so its URL is known.
#[derive(Debug, Clone)]
pub struct ForwardSpec {
    pub label: String,
    pub target: ForwardTarget,
    pub listener: Arc<std::net::TcpListener>,
}

impl PartialEq for ForwardSpec {
    fn eq(&self, o: &Self) -> bool {
        self.label == o.label
            && self.target == o.target
            && self.listener.local_addr().ok() == o.listener.local_addr().ok()
    }
}

impl ForwardSpec {
    /// Binds 127.0.0.1 on a random port for `url`.
    pub fn bind(label: &str, url: &str) -> Result<ForwardSpec, String> {
        let target = parse(url)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        Ok(ForwardSpec {
            label: label.to_string(),
            target,
            listener: Arc::new(listener),
        })
    }

    /// The URL the endpoint's client uses instead: `http://127.0.0.1:PORT/path`.
    pub fn local_url(&self) -> String {
        let port = self.listener.local_addr().map(|a| a.port()).unwrap_or(0);
        format!("http://127.0.0.1:{port}{}", self.target.path)
    }
}

/// A forward's state, as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardState {
    /// No connection yet.
    Idle,
    /// The last connection reached `pod`.
    Ok { pod: String },
    /// The pod went away or cannot be reached: the `n`th try.
    Reconnecting { n: u32, why: String },
    /// Gave up on a connection (the next one tries again).
    Failed(String),
}

/// How long one accepted connection waits for a pod to forward to (a
/// rollout's new pod becoming Ready) before it is dropped.
pub const CONNECT_FOR: Duration = Duration::from_secs(20);

fn event(label: &str, state: ForwardState) -> KubeEvent {
    KubeEvent::Forward {
        label: label.to_string(),
        state,
    }
}

/// Serves `spec` until the runtime ends: a task per accepted connection.
pub async fn serve(spec: ForwardSpec, opts: KubeOptions, sink: Sink<KubeEvent>) {
    let listener = match spec
        .listener
        .try_clone()
        .and_then(tokio::net::TcpListener::from_std)
    {
        Ok(l) => l,
        Err(e) => {
            sink.send(event(&spec.label, ForwardState::Failed(e.to_string())))
                .await;
            return;
        }
    };
    let shared = Arc::new(Forwarder {
        spec,
        opts,
        sink,
        client: tokio::sync::Mutex::new(None),
        failures: std::sync::atomic::AtomicU32::new(0),
        last: tokio::sync::Mutex::new(None),
        said: tokio::sync::Mutex::new(None),
    });
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let _ = sock.set_nodelay(true);
        let f = shared.clone();
        tokio::spawn(async move { f.connection(sock).await });
    }
}

struct Forwarder {
    spec: ForwardSpec,
    opts: KubeOptions,
    sink: Sink<KubeEvent>,
    /// Built at the first connection, kept (kube-rs refreshes its token).
    client: tokio::sync::Mutex<Option<Client>>,
    /// Failed tries since the last success.
    failures: std::sync::atomic::AtomicU32,
    last: tokio::sync::Mutex<Option<ForwardState>>,
    /// The failure last written to the log file (None: working).
    said: tokio::sync::Mutex<Option<String>>,
}

impl Forwarder {
    async fn client(&self) -> Result<Client, String> {
        let mut c = self.client.lock().await;
        if let Some(c) = c.as_ref() {
            return Ok(c.clone());
        }
        let context = self
            .spec
            .target
            .context
            .clone()
            .or(self.opts.context.clone());
        let (client, ..) = super::runner::client(&self.opts, context.as_deref())
            .await
            .map_err(|e| e.message)?;
        *c = Some(client.clone());
        Ok(client)
    }

    /// Says a new state (the same one again is not news).
    async fn report(&self, state: ForwardState) {
        {
            let mut last = self.last.lock().await;
            if last.as_ref() == Some(&state) {
                return;
            }
            *last = Some(state.clone());
        }
        self.sink.send(event(&self.spec.label, state)).await;
    }

    /// One accepted connection: find a pod and open a forward to it,
    /// trying again (a rollout in progress) for up to [`CONNECT_FOR`];
    /// then copy both ways until either side ends.
    async fn connection(&self, mut sock: tokio::net::TcpStream) {
        use std::sync::atomic::Ordering::Relaxed;
        let give_up = tokio::time::Instant::now() + CONNECT_FOR;
        let mut pause = Duration::from_millis(50);
        let (mut upstream, pod, mut pf, port) = loop {
            match self.open().await {
                Ok(v) => break v,
                Err(why) => {
                    let n = self.failures.fetch_add(1, Relaxed) + 1;
                    // said once per reason, not once per try of every connection
                    if self.said.lock().await.replace(why.clone()).as_ref() != Some(&why) {
                        crate::warn!("forward {}: {why}", self.spec.label);
                    }
                    if tokio::time::Instant::now() + pause > give_up {
                        self.report(ForwardState::Failed(why)).await;
                        return;
                    }
                    self.report(ForwardState::Reconnecting { n, why }).await;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
            }
        };
        self.failures.store(0, Relaxed);
        if self.said.lock().await.take().is_some() {
            crate::info!("forward {}: {pod} answers again", self.spec.label);
        }
        self.report(ForwardState::Ok { pod: pod.clone() }).await;
        let errors = pf.take_error(port);
        let copied = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
        drop(upstream);
        // the kubelet says on the error channel why a port could not be reached
        let said = match errors {
            Some(e) => tokio::time::timeout(Duration::from_millis(200), e)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        pf.abort();
        if let Some(msg) = said.filter(|m| !m.is_empty()) {
            let msg = crate::text::display(&msg);
            self.failures.fetch_add(1, Relaxed);
            self.report(ForwardState::Failed(format!("{pod}: {msg}")))
                .await;
        } else if let Err(e) = copied {
            crate::info!("forward {} via {pod}: {e}", self.spec.label);
        }
    }

    /// Resolves the target to a pod and port and opens the WebSocket.
    async fn open(
        &self,
    ) -> Result<
        (
            tokio::io::DuplexStream,
            String,
            kube::api::Portforwarder,
            u16,
        ),
        String,
    > {
        let client = self.client().await?;
        let t = &self.spec.target;
        let (pod, port) = resolve(client.clone(), t).await?;
        let pods: Api<Pod> = Api::namespaced(client, &t.namespace);
        let mut pf = pods
            .portforward(&pod, &[port])
            .await
            .map_err(|e| format!("port-forward to pod/{pod}:{port}: {}", short(&e)))?;
        let stream = pf
            .take_stream(port)
            .ok_or_else(|| format!("port-forward to pod/{pod}: no stream for port {port}"))?;
        Ok((stream, format!("pod/{pod}"), pf, port))
    }
}

fn short(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// A pod that can take traffic: Running, Ready, not being deleted.
fn ready(p: &Pod) -> bool {
    let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    let ready = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    running && ready && p.metadata.deletion_timestamp.is_none()
}

/// A container port of `pod` by name.
fn named_port(pod: &Pod, name: &str) -> Option<u16> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| u16::try_from(p.container_port).ok())
}

/// Among the Service's ready pods, the one kubectl would pick: fewest
/// restarts, then the oldest (so a forward stays on one pod while it lives).
pub fn choose(mut pods: Vec<Pod>) -> Option<Pod> {
    pods.retain(ready);
    let restarts = |p: &Pod| -> i32 {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| cs.iter().map(|c| c.restart_count).sum())
            .unwrap_or(0)
    };
    pods.sort_by(|a, b| {
        restarts(a)
            .cmp(&restarts(b))
            .then_with(|| {
                a.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    pods.into_iter().next()
}

/// The pod and container port to forward to, asked of the API now.
async fn resolve(client: Client, t: &ForwardTarget) -> Result<(String, u16), String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &t.namespace);
    match t.kind {
        Kind::Pod => {
            let pod = pods
                .get(&t.name)
                .await
                .map_err(|e| format!("pod/{}: {}", t.name, short(&e)))?;
            if !ready(&pod) {
                let phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default();
                return Err(format!("pod/{} is not running and ready ({phase})", t.name));
            }
            let port = match &t.port {
                PortRef::Number(n) => *n,
                PortRef::Name(n) => named_port(&pod, n)
                    .ok_or_else(|| format!("pod/{} has no port named {n}", t.name))?,
            };
            Ok((t.name.clone(), port))
        }
        Kind::Service => {
            let svcs: Api<Service> = Api::namespaced(client, &t.namespace);
            let svc = svcs
                .get(&t.name)
                .await
                .map_err(|e| format!("svc/{}: {}", t.name, short(&e)))?;
            let spec = svc.spec.unwrap_or_default();
            let sp = spec
                .ports
                .iter()
                .flatten()
                .find(|p| match &t.port {
                    PortRef::Number(n) => p.port == i32::from(*n),
                    PortRef::Name(n) => p.name.as_deref() == Some(n.as_str()),
                })
                .ok_or_else(|| format!("svc/{} has no port {}", t.name, t.port))?
                .clone();
            let selector = spec.selector.unwrap_or_default();
            if selector.is_empty() {
                return Err(format!(
                    "svc/{} has no selector: forward to a pod instead",
                    t.name
                ));
            }
            let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let list = pods
                .list(&ListParams::default().labels(&labels.join(",")))
                .await
                .map_err(|e| format!("pods of svc/{}: {}", t.name, short(&e)))?;
            let pod = choose(list.items)
                .ok_or_else(|| format!("no running and ready pod for svc/{}", t.name))?;
            let name = pod.metadata.name.clone().unwrap_or_default();
            let port = match sp.target_port {
                None => u16::try_from(sp.port).ok(),
                Some(IntOrString::Int(n)) => u16::try_from(n).ok(),
                Some(IntOrString::String(n)) => match n.parse::<u16>() {
                    Ok(p) => Some(p),
                    Err(_) => named_port(&pod, &n),
                },
            }
            .ok_or_else(|| format!("pod/{name} has no port for svc/{}:{}", t.name, t.port))?;
            Ok((name, port))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_why() {
        let t = parse("k8s://monitoring/svc/prometheus:9090").unwrap();
        assert_eq!(
            (t.namespace.as_str(), &t.kind, t.name.as_str(), &t.port),
            (
                "monitoring",
                &Kind::Service,
                "prometheus",
                &PortRef::Number(9090)
            )
        );
        assert_eq!(t.context, None);
        let t = parse("k8s://obs/pod/loki-0:http-metrics/loki?context=prod").unwrap();
        assert_eq!(t.kind, Kind::Pod);
        assert_eq!(t.port, PortRef::Name("http-metrics".into()));
        assert_eq!(t.path, "/loki");
        assert_eq!(t.context.as_deref(), Some("prod"));
        for (bad, says) in [
            ("k8s://monitoring/svc/prometheus", "no port"),
            ("k8s://monitoring/deploy/prometheus:9090", "deploy"),
            ("k8s://Monitoring/svc/prometheus:9090", "namespace"),
            ("k8s://monitoring/svc/prometheus:0", "port 0"),
            ("k8s://monitoring/svc/prometheus:99999", "port `99999`"),
            (
                "k8s://monitoring/svc/prometheus:9090?ctx=a",
                "unknown parameter",
            ),
            ("k8s://monitoring", "expected"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn pod(name: &str, created: &str, restarts: i32, ready_: bool, phase: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 9090}]}]},
            "status": {"phase": phase,
                "conditions": [{"type": "Ready", "status": if ready_ {"True"} else {"False"}}],
                "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": ready_,
                    "restartCount": restarts}]}
        }))
        .unwrap()
    }

    #[test]
    fn the_pod_chosen_is_ready_then_steadiest_then_oldest() {
        let pods = vec![
            pod("new", "2026-12-06T02:00:00Z", 0, true, "Running"),
            pod("old", "2026-12-06T01:00:00Z", 0, true, "Running"),
            pod("flappy", "2026-12-06T00:00:00Z", 4, true, "Running"),
            pod("starting", "2026-12-05T00:00:00Z", 0, false, "Running"),
            pod("pending", "2026-12-05T00:00:00Z", 0, true, "Pending"),
        ];
        let name = |p: Option<Pod>| p.and_then(|p| p.metadata.name);
        assert_eq!(name(choose(pods.clone())).as_deref(), Some("old"));
        assert_eq!(name(choose(pods[2..].to_vec())).as_deref(), Some("flappy"));
        assert_eq!(name(choose(pods[3..].to_vec())), None);
        assert_eq!(named_port(&pods[0], "web"), Some(9090));
        assert_eq!(named_port(&pods[0], "grpc"), None);
    }
}
