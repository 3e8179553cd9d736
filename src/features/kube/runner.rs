//! The Kubernetes runner: builds a client from the kubeconfig (or in-cluster
//! config) for the plan's context, then watches pods and events of the
//! namespace with kube-rs's `watcher` and its default backoff. A watch that
//! expires (410 Gone, sent as an ERROR event inside a 200) re-lists; the
//! list's end arrives as one `Replace`, so nothing is lost or doubled.

use std::path::PathBuf;

use crate::core::kube::pod::Pod;
pub use crate::core::kube::{client, client_error, ClientOptions};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::api::events::v1::Event as EventV1;
use kube::runtime::watcher::{self, Event as WEvent};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};

use super::model::{event_info, event_info_v1, pod_info};
use super::{Change, KubeCommand, KubeEvent, KubePlan, Resource};
use crate::core::{now_ms, ErrorKind, Sink, Slot, SourceError};

/// Where the client's configuration comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeOptions {
    /// `--kubeconfig`; None: `KUBECONFIG` (several files merged), else
    /// `~/.kube/config`, else the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// `--context` (port-forwards use it unless their URL names one).
    pub context: Option<String>,
    /// Put in front of every exec credential plugin: (this program, the log
    /// file). The plugin then runs as `watchfloor --log-file LOG
    /// exec-credential -- PLUGIN ARGS…`, which sends its stderr to the log
    /// file (kube-rs would capture it and drop it).
    pub plugin_wrapper: Option<(PathBuf, PathBuf)>,
    /// `k8s://` endpoints, served from the start to the end of the run
    /// (they outlive context switches: their URL fixed where they point).
    pub forwards: Vec<super::forward::ForwardSpec>,
}

impl KubeOptions {
    /// What the shared client builder needs.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            kubeconfig: self.kubeconfig.clone(),
            plugin_wrapper: self.plugin_wrapper.clone(),
        }
    }
}

/// A simulated cluster (the demo): what the API would list at `t_s`.
pub trait Cluster: Send + Sync {
    fn namespace(&self) -> String;
    fn pods(&self, t_s: i64) -> Vec<super::PodInfo>;
    fn events(&self, t_s: i64) -> Vec<super::EventInfo>;
    fn usage(&self, t_s: i64) -> Vec<super::PodUsage>;
}

/// What the runner reads from: the API server, or a simulation.
#[derive(Clone)]
pub enum KubeBackend {
    Api(KubeOptions),
    Simulated(std::sync::Arc<dyn Cluster>),
}

pub struct KubeRunner {
    options: Option<KubeBackend>,
    sink: Sink<KubeEvent>,
    slot: Slot,
    /// The port-forwards, for the runner's whole life.
    _forwards: Slot,
}

impl crate::core::Runner for KubeRunner {
    type Backend = KubeBackend;
    type Event = KubeEvent;
    type Command = KubeCommand;

    fn new(options: Option<KubeBackend>, sink: Sink<KubeEvent>, _refresh: f64) -> KubeRunner {
        let mut forwards = Slot::default();
        if let Some(KubeBackend::Api(o)) = &options {
            let tasks = o
                .forwards
                .iter()
                .map(|f| tokio::spawn(super::forward::serve(f.clone(), o.clone(), sink.clone())))
                .collect();
            forwards.replace(tasks);
        }
        KubeRunner {
            options,
            sink,
            slot: Default::default(),
            _forwards: forwards,
        }
    }

    fn exec(&mut self, cmd: KubeCommand) {
        match cmd {
            KubeCommand::Start(plan) => {
                let Some(opts) = self.options.clone() else {
                    return;
                };
                crate::info!(
                    "kubernetes gen {} (context {}, namespace {})",
                    plan.gen,
                    plan.context.as_deref().unwrap_or("current"),
                    plan.namespace.as_deref().unwrap_or("all")
                );
                let sink = self.sink.clone();
                let task = match opts {
                    KubeBackend::Api(o) => tokio::spawn(run(o, plan, sink)),
                    KubeBackend::Simulated(c) => tokio::spawn(simulate(c, plan, sink)),
                };
                self.slot.replace(vec![task]);
            }
            KubeCommand::Stop => self.slot.stop(),
        }
    }
}

fn failed(gen: u64, resource: Option<Resource>, verb: &'static str, e: SourceError) -> KubeEvent {
    KubeEvent::Failed {
        gen,
        at_ms: now_ms(),
        resource,
        verb,
        error: e,
    }
}

/// Builds the client, then runs both watches until the slot is replaced.
async fn run(opts: KubeOptions, plan: KubePlan, sink: Sink<KubeEvent>) {
    let gen = plan.gen;
    let (client, context, server, contexts, default_ns) =
        match client(&opts.client_options(), plan.context.as_deref()).await {
            Ok(c) => c,
            Err(e) => {
                sink.send(failed(gen, None, "connect", e)).await;
                return;
            }
        };
    // as kubectl: the context's namespace unless one is given, or -A
    let namespace = (!plan.all).then(|| plan.namespace.clone().unwrap_or(default_ns));
    if !sink
        .send(KubeEvent::Connected {
            gen,
            context,
            server,
            contexts,
            namespace: namespace.clone(),
        })
        .await
    {
        return;
    }
    let (client_for_metrics, sink_for_metrics) = (client.clone(), sink.clone());
    let (pods, events, events_v1): (Api<Pod>, Api<Event>, Api<EventV1>) = match &namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client),
        ),
    };
    let namespace = namespace.clone();
    let p = watch(
        pods,
        Resource::Pods,
        gen,
        sink.clone(),
        false,
        |ev, at_ms| {
            let change = match ev {
                Change::Replace(v) => Change::Replace(v.iter().map(pod_info).collect()),
                Change::Upsert(p) => Change::Upsert(pod_info(&p)),
                Change::Remove(p) => Change::Remove(pod_info(&p)),
            };
            KubeEvent::Pods { gen, at_ms, change }
        },
    );
    let e = watch_events(events, events_v1, gen, sink);
    let m = usage(client_for_metrics, namespace, gen, sink_for_metrics);
    futures_util::future::join3(p, e, m).await;
}

/// The simulated cluster, as the watches would deliver it: the whole set
/// every second (a handful of pods).
async fn simulate(c: std::sync::Arc<dyn Cluster>, plan: KubePlan, sink: Sink<KubeEvent>) {
    let gen = plan.gen;
    let connected = KubeEvent::Connected {
        gen,
        context: "demo".into(),
        server: "embedded simulation".into(),
        contexts: vec!["demo".into()],
        namespace: Some(c.namespace()),
    };
    if !sink.send(connected).await {
        return;
    }
    loop {
        let at_ms = now_ms();
        let t_s = at_ms / 1000;
        let evs = [
            KubeEvent::Pods {
                gen,
                at_ms,
                change: Change::Replace(c.pods(t_s)),
            },
            KubeEvent::Events {
                gen,
                at_ms,
                change: Change::Replace(c.events(t_s)),
            },
            KubeEvent::Usage {
                gen,
                at_ms,
                result: Ok(Some(c.usage(t_s))),
            },
        ];
        for ev in evs {
            if !sink.send(ev).await {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// How often pod metrics are asked (metrics-server's resolution is 15 s).
const USAGE_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Polls `metrics.k8s.io` for the pods' memory working set. A 404 means
/// the cluster has no metrics-server: said once, asked again slowly.
async fn usage(client: Client, namespace: Option<String>, gen: u64, sink: Sink<KubeEvent>) {
    let path = match &namespace {
        Some(ns) => format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        None => "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
    };
    loop {
        let result = match kube::core::Request::new(path.clone()).list(&Default::default()) {
            Ok(req) => match client.request::<serde_json::Value>(req).await {
                Ok(v) => Ok(Some(super::model::pod_usage(&v))),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                Err(e) => Err(client_error(&e)),
            },
            Err(e) => Err(SourceError::msg(e.to_string())),
        };
        let absent = matches!(result, Ok(None));
        let ev = KubeEvent::Usage {
            gen,
            at_ms: now_ms(),
            result,
        };
        if !sink.send(ev).await {
            return;
        }
        tokio::time::sleep(if absent { USAGE_EVERY * 8 } else { USAGE_EVERY }).await;
    }
}

/// Warning events from events.k8s.io/v1, the API's current one; from
/// core/v1 when the server has no events.k8s.io (404) or RBAC grants only
/// core events (403). One API, not both: they are two views of one
/// storage, so watching both would show every event twice.
async fn watch_events(core: Api<Event>, v1: Api<EventV1>, gen: u64, sink: Sink<KubeEvent>) {
    let refused = watch(
        v1,
        Resource::Events,
        gen,
        sink.clone(),
        true,
        |ev, at_ms| {
            let change = match ev {
                Change::Replace(v) => Change::Replace(v.iter().map(event_info_v1).collect()),
                Change::Upsert(e) => Change::Upsert(event_info_v1(&e)),
                Change::Remove(e) => Change::Remove(event_info_v1(&e)),
            };
            KubeEvent::Events { gen, at_ms, change }
        },
    )
    .await;
    let Some(code) = refused else {
        return;
    };
    crate::info!("events.k8s.io/v1 answered {code}: watching core/v1 events instead");
    watch(core, Resource::Events, gen, sink, false, |ev, at_ms| {
        let change = match ev {
            Change::Replace(v) => Change::Replace(v.iter().map(event_info).collect()),
            Change::Upsert(e) => Change::Upsert(event_info(&e)),
            Change::Remove(e) => Change::Remove(event_info(&e)),
        };
        KubeEvent::Events { gen, at_ms, change }
    })
    .await;
}

/// One resource's watch: init pages are gathered and sent whole at
/// `InitDone`; errors are reported and the watcher goes on (it never ends
/// on an error; `default_backoff` spaces the retries). With `may_refuse`,
/// a first list refused with 404 or 403 ends it instead, returning the
/// code, so the caller can ask another API.
async fn watch<K>(
    api: Api<K>,
    resource: Resource,
    gen: u64,
    sink: Sink<KubeEvent>,
    may_refuse: bool,
    to_event: impl Fn(Change<K>, i64) -> KubeEvent,
) -> Option<u16>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures_util::pin_mut!(stream);
    let mut buffer: Vec<K> = vec![];
    let mut synced = false;
    while let Some(item) = stream.next().await {
        if let (false, true, Err(watcher::Error::InitialListFailed(kube::Error::Api(s)))) =
            (synced, may_refuse, &item)
        {
            if s.code == 404 || s.code == 403 {
                return Some(s.code);
            }
        }
        let ev = match item {
            Ok(WEvent::Init) => {
                buffer.clear();
                continue;
            }
            Ok(WEvent::InitApply(o)) => {
                buffer.push(o);
                continue;
            }
            Ok(WEvent::InitDone) => {
                synced = true;
                to_event(Change::Replace(std::mem::take(&mut buffer)), now_ms())
            }
            Ok(WEvent::Apply(o)) => to_event(Change::Upsert(o), now_ms()),
            Ok(WEvent::Delete(o)) => to_event(Change::Remove(o), now_ms()),
            Err(e) => {
                let (verb, err) = watch_error(&e);
                failed(gen, Some(resource), verb, err)
            }
        };
        if !sink.send(ev).await {
            return None;
        }
    }
    None
}

/// A watcher error as the pane shows it: the verb refused and the API's
/// own status message (`pods is forbidden: User "x" cannot list …`).
fn watch_error(e: &watcher::Error) -> (&'static str, SourceError) {
    let (verb, inner) = match e {
        watcher::Error::InitialListFailed(e) => ("list", e),
        watcher::Error::WatchStartFailed(e) => ("watch", e),
        watcher::Error::WatchFailed(e) => ("watch", e),
        watcher::Error::WatchError(s) => {
            return (
                "watch",
                SourceError {
                    status: Some(s.code),
                    kind: ErrorKind::Unspecified,
                    message: s.message.clone(),
                },
            )
        }
        other => return ("watch", SourceError::msg(other.to_string())),
    };
    (verb, client_error(inner))
}
