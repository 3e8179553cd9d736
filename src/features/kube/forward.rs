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

pub use crate::config::k8s_url::{parse, ForwardTarget, Kind, PortRef, SCHEME};

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
        resolved: tokio::sync::Mutex::new(None),
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
    /// Built at the first connection, kept (kube-rs refreshes its token);
    /// a failure to build it is kept a while (every connection would
    /// otherwise read the kubeconfig again).
    client: tokio::sync::Mutex<Option<Result<Client, (tokio::time::Instant, String)>>>,
    /// The last resolution and when: connections arriving together share
    /// one (a dashboard opens many at once; the API server is not asked
    /// once per connection per try).
    resolved: tokio::sync::Mutex<Option<(tokio::time::Instant, Resolved)>>,
    /// Failed tries since the last success.
    failures: std::sync::atomic::AtomicU32,
    last: tokio::sync::Mutex<Option<ForwardState>>,
    /// The failure last written to the log file (None: working).
    said: tokio::sync::Mutex<Option<String>>,
}

/// A pod and its port, or why there is none.
type Resolved = Result<(String, u16), Failure>;

/// Why no forward could be opened; `lasting` when asking again soon will
/// not help (no kubeconfig, no such Service or port, RBAC): the connection
/// is closed at once rather than held while the client times out.
#[derive(Debug, Clone)]
struct Failure {
    why: String,
    lasting: bool,
}

impl Failure {
    fn passing(why: String) -> Failure {
        Failure {
            why,
            lasting: false,
        }
    }
}

/// How long a resolution (or a failure to build the client) is reused.
const RESOLVED_FOR: Duration = Duration::from_millis(500);
const CLIENT_RETRY: Duration = Duration::from_secs(5);
/// Request bytes held while no pod is ready (then the connection is let go).
const HOLD_MAX: usize = 1 << 20;

/// An API error that asking again will not cure.
fn lasting(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if matches!(s.code, 401 | 403 | 404))
}

impl Forwarder {
    async fn client(&self) -> Result<Client, Failure> {
        let mut c = self.client.lock().await;
        match c.as_ref() {
            Some(Ok(c)) => return Ok(c.clone()),
            Some(Err((at, why))) if at.elapsed() < CLIENT_RETRY => {
                return Err(Failure {
                    why: why.clone(),
                    lasting: true,
                })
            }
            _ => {}
        }
        let context = self
            .spec
            .target
            .context
            .clone()
            .or(self.opts.context.clone());
        match crate::core::kube::client(&self.opts.client_options(), context.as_deref()).await {
            Ok((client, ..)) => {
                *c = Some(Ok(client.clone()));
                Ok(client)
            }
            Err(e) => {
                *c = Some(Err((tokio::time::Instant::now(), e.message.clone())));
                Err(Failure {
                    why: e.message,
                    lasting: true,
                })
            }
        }
    }

    /// Says a new state (the same one again is not news); under the lock,
    /// so states reach the app in the order they were decided.
    async fn report(&self, state: ForwardState) {
        let mut last = self.last.lock().await;
        if last.as_ref() == Some(&state) {
            return;
        }
        *last = Some(state.clone());
        self.sink.send(event(&self.spec.label, state)).await;
    }

    /// A failure: counted, logged once per reason, shown.
    async fn failed(&self, f: &Failure, last_try: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.failures.fetch_add(1, Relaxed) + 1;
        if self.said.lock().await.replace(f.why.clone()).as_ref() != Some(&f.why) {
            crate::warn!("forward {}: {}", self.spec.label, f.why);
        }
        let state = if f.lasting || last_try {
            ForwardState::Failed(f.why.clone())
        } else {
            ForwardState::Reconnecting {
                n,
                why: f.why.clone(),
            }
        };
        self.report(state).await;
    }

    /// One accepted connection: find a pod and open a forward to it,
    /// trying again (a rollout in progress) for up to [`CONNECT_FOR`] while
    /// the client is still there (its request is held meanwhile); then copy
    /// both ways until either side ends.
    async fn connection(&self, mut sock: tokio::net::TcpStream) {
        use std::sync::atomic::Ordering::Relaxed;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let give_up = tokio::time::Instant::now() + CONNECT_FOR;
        let mut pause = Duration::from_millis(50);
        let mut held: Vec<u8> = vec![];
        let mut buf = [0u8; 8192];
        let (mut upstream, pod, mut pf, port) = loop {
            match self.open().await {
                Ok(v) => break v,
                Err(f) => {
                    let last_try = tokio::time::Instant::now() + pause > give_up;
                    self.failed(&f, last_try).await;
                    if f.lasting || last_try {
                        return;
                    }
                    // wait, but let go as soon as the client hangs up
                    let wake = tokio::time::Instant::now() + pause;
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(wake) => break,
                            r = sock.read(&mut buf), if held.len() < HOLD_MAX => match r {
                                Ok(n) if n > 0 => held.extend_from_slice(&buf[..n]),
                                _ => return,
                            },
                        }
                    }
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
        let copied = async {
            upstream.write_all(&held).await?;
            tokio::io::copy_bidirectional(&mut sock, &mut upstream).await
        }
        .await;
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
            self.failed(&Failure::passing(format!("{pod}: {msg}")), true)
                .await;
        } else if let Err(e) = copied {
            crate::info!("forward {} via {pod}: {e}", self.spec.label);
        }
    }

    /// The pod and port now: one resolution shared by the connections that
    /// ask within [`RESOLVED_FOR`].
    async fn resolve(&self, client: Client) -> Result<(String, u16), Failure> {
        let mut r = self.resolved.lock().await;
        if let Some((at, v)) = r.as_ref() {
            if at.elapsed() < RESOLVED_FOR {
                return v.clone();
            }
        }
        let v = resolve(client, &self.spec.target).await;
        *r = Some((tokio::time::Instant::now(), v.clone()));
        v
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
        Failure,
    > {
        let client = self.client().await?;
        let t = &self.spec.target;
        let (pod, port) = self.resolve(client.clone()).await?;
        let pods: Api<Pod> = Api::namespaced(client, &t.namespace);
        let mut pf = pods.portforward(&pod, &[port]).await.map_err(|e| {
            // the pod went between the lookup and the upgrade: look again
            if let Ok(mut r) = self.resolved.try_lock() {
                *r = None;
            }
            Failure::passing(format!("port-forward to pod/{pod}:{port}: {}", short(&e)))
        })?;
        let stream = pf.take_stream(port).ok_or_else(|| {
            Failure::passing(format!(
                "port-forward to pod/{pod}: no stream for port {port}"
            ))
        })?;
        Ok((stream, format!("pod/{pod}"), pf, port))
    }
}

fn short(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// Running and not being deleted.
fn running(p: &Pod) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        && p.metadata.deletion_timestamp.is_none()
}

/// A pod that can take traffic: Running, Ready, not being deleted.
fn ready(p: &Pod) -> bool {
    let running = running(p);
    let ready = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    running && ready
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

/// Among the Service's pods, the one kubectl would pick: a Ready one if
/// any (else a Running one), then fewest restarts, then the oldest (so a
/// forward stays on one pod while it lives).
pub fn choose(mut pods: Vec<Pod>) -> Option<Pod> {
    pods.retain(running);
    if pods.iter().any(ready) {
        pods.retain(ready);
    }
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
async fn resolve(client: Client, t: &ForwardTarget) -> Result<(String, u16), Failure> {
    let api = |what: String| {
        move |e: kube::Error| Failure {
            why: format!("{what}: {}", short(&e)),
            lasting: lasting(&e),
        }
    };
    let lasting_failure = |why: String| Failure { why, lasting: true };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &t.namespace);
    match t.kind {
        Kind::Pod => {
            let pod = pods
                .get(&t.name)
                .await
                .map_err(api(format!("pod/{}", t.name)))?;
            // as kubectl: a Running pod will do, ready or not (a Prometheus
            // replaying its WAL still answers)
            if !running(&pod) {
                let phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default();
                return Err(Failure::passing(format!(
                    "pod/{} is not running ({phase})",
                    t.name
                )));
            }
            let port = match &t.port {
                PortRef::Number(n) => *n,
                PortRef::Name(n) => named_port(&pod, n).ok_or_else(|| {
                    lasting_failure(format!("pod/{} has no port named {n}", t.name))
                })?,
            };
            Ok((t.name.clone(), port))
        }
        Kind::Service => {
            let svcs: Api<Service> = Api::namespaced(client, &t.namespace);
            let svc = svcs
                .get(&t.name)
                .await
                .map_err(api(format!("svc/{}", t.name)))?;
            let spec = svc.spec.unwrap_or_default();
            let sp = spec
                .ports
                .iter()
                .flatten()
                .find(|p| match &t.port {
                    PortRef::Number(n) => p.port == i32::from(*n),
                    PortRef::Name(n) => p.name.as_deref() == Some(n.as_str()),
                })
                .ok_or_else(|| lasting_failure(format!("svc/{} has no port {}", t.name, t.port)))?
                .clone();
            let selector = spec.selector.unwrap_or_default();
            if selector.is_empty() {
                return Err(lasting_failure(format!(
                    "svc/{} has no selector: forward to a pod instead",
                    t.name
                )));
            }
            let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let list = pods
                .list(&ListParams::default().labels(&labels.join(",")))
                .await
                .map_err(api(format!("pods of svc/{}", t.name)))?;
            let pod = choose(list.items)
                .ok_or_else(|| Failure::passing(format!("no running pod for svc/{}", t.name)))?;
            let name = pod.metadata.name.clone().unwrap_or_default();
            let port = match sp.target_port {
                None => u16::try_from(sp.port).ok(),
                Some(IntOrString::Int(n)) => u16::try_from(n).ok(),
                Some(IntOrString::String(n)) => match n.parse::<u16>() {
                    Ok(p) => Some(p),
                    Err(_) => named_port(&pod, &n),
                },
            }
            .ok_or_else(|| {
                Failure::passing(format!(
                    "pod/{name} has no port for svc/{}:{}",
                    t.name, t.port
                ))
            })?;
            Ok((name, port))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // none ready: a running one will do (kubectl's choice too)
        assert_eq!(
            name(choose(pods[3..].to_vec())).as_deref(),
            Some("starting")
        );
        assert_eq!(name(choose(pods[4..].to_vec())), None);
        assert_eq!(named_port(&pods[0], "web"), Some(9090));
        assert_eq!(named_port(&pods[0], "grpc"), None);
    }
}
