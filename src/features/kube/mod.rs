//! Kubernetes: pods and warning events of the namespace in view, from the
//! API server's watches (a kubeconfig is enough). The API is the ground
//! truth for "is it OOM-killed, is it crash-looping": `lastState.terminated`
//! keeps the OOMKilled reason that kube-state-metrics only shows a scrape
//! later, if the cluster has it at all.
//!
//! State and reducer only (no client): the runner watches and sends owned
//! [`model`] values tagged with the plan's generation.

pub mod forward;
pub mod model;
pub mod pane;
pub mod runner;

use std::collections::BTreeMap;

use crate::core::{Ctx, Feature, Health, Outcome, Source, SourceCommon, SourceError, Target};
pub use model::{ContainerInfo, EventInfo, PodInfo, Terminated};
pub use runner::{Cluster, KubeBackend};

/// Events kept, newest first.
pub const MAX_EVENTS: usize = 500;
/// Pods kept (a namespace larger than this shows the first by name).
pub const MAX_PODS: usize = 20_000;
/// Restart counts remembered per container, for the increase over the window.
const RESTART_HISTORY: usize = 64;

/// What changed in one watched list.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// A (re-)list finished: this is the whole set now. A watch that
    /// expired (410) ends in one of these, so nothing is lost or doubled.
    Replace(Vec<T>),
    Upsert(T),
    Remove(T),
}

/// The resources watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Pods,
    Events,
    /// metrics.k8s.io pod metrics.
    Metrics,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::Events => "events",
            Resource::Metrics => "metrics",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum KubeEvent {
    /// The client is built: which context and server it talks to.
    Connected {
        gen: u64,
        context: String,
        server: String,
        /// Every context of the kubeconfig (for `:ctx` and its completion).
        contexts: Vec<String>,
        /// The namespace watched (the context's own when none was given;
        /// None: every namespace).
        namespace: Option<String>,
    },
    Pods {
        gen: u64,
        at_ms: i64,
        change: Change<PodInfo>,
    },
    Events {
        gen: u64,
        at_ms: i64,
        change: Change<EventInfo>,
    },
    /// Memory working set per pod from `metrics.k8s.io` (metrics-server),
    /// polled; Ok(None): the API has no metrics.k8s.io (404).
    Usage {
        gen: u64,
        at_ms: i64,
        result: Result<Option<Vec<PodUsage>>, SourceError>,
    },
    /// A list or watch failed (the watcher retries with backoff); `verb` is
    /// what was refused (`list`, `watch`) so a 403 names resource and verb.
    Failed {
        gen: u64,
        at_ms: i64,
        resource: Option<Resource>,
        verb: &'static str,
        error: SourceError,
    },
    /// A port-forward's new state (forwards live for the whole run, across
    /// context switches: no generation).
    Forward {
        label: String,
        state: forward::ForwardState,
    },
}

impl KubeEvent {
    fn gen(&self) -> u64 {
        match self {
            KubeEvent::Connected { gen, .. }
            | KubeEvent::Pods { gen, .. }
            | KubeEvent::Events { gen, .. }
            | KubeEvent::Usage { gen, .. }
            | KubeEvent::Failed { gen, .. } => *gen,
            KubeEvent::Forward { .. } => 0,
        }
    }
}

/// One pod's memory working set (bytes, summed over its containers) as
/// metrics-server measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodUsage {
    pub namespace: String,
    pub pod: String,
    pub memory: f64,
}

/// What the runner is asked to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct KubePlan {
    pub gen: u64,
    /// None: the context's namespace (as kubectl), unless `all`.
    pub namespace: Option<String>,
    /// Every namespace (`-A`).
    pub all: bool,
    /// None: the kubeconfig's current context.
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KubeCommand {
    Start(KubePlan),
    Stop,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeState {
    pub common: SourceCommon,
    /// The context and API server in use (from the runner).
    pub context: Option<String>,
    pub server: Option<String>,
    /// The kubeconfig's contexts.
    pub contexts: Vec<String>,
    /// The namespace watched (None: all, or not connected yet).
    pub namespace: Option<String>,
    pub pods: BTreeMap<(String, String), PodInfo>,
    /// Warning and normal events, newest first.
    pub events: Vec<EventInfo>,
    /// Memory working set per (namespace, pod) from metrics.k8s.io.
    pub usage: BTreeMap<(String, String), f64>,
    /// metrics.k8s.io answered (Some(false): it is not installed).
    pub usage_available: Option<bool>,
    /// The marks last given to the charts (None: none yet for this plan).
    pub marked: Option<Vec<crate::core::TimeMark>>,
    /// Which lists have completed once for this plan.
    pub synced: Vec<Resource>,
    /// The last error per resource (None: the client itself).
    pub errors: BTreeMap<Option<Resource>, String>,
    /// Every namespace (`-A`).
    pub all_namespaces: bool,
    /// Each port-forward's state, by the endpoint it serves.
    pub forwards: BTreeMap<String, forward::ForwardState>,
}

impl Default for KubeState {
    fn default() -> Self {
        let mut common = SourceCommon::new("k8s");
        common.health = Health::named("k8s", "");
        KubeState {
            common,
            context: None,
            server: None,
            contexts: vec![],
            namespace: None,
            pods: BTreeMap::new(),
            events: vec![],
            usage: BTreeMap::new(),
            usage_available: None,
            marked: None,
            synced: vec![],
            errors: BTreeMap::new(),
            all_namespaces: false,
            forwards: BTreeMap::new(),
        }
    }
}

impl KubeState {
    fn plan(&mut self, t: &Target) -> Vec<KubeCommand> {
        if !self.common.configured {
            return vec![];
        }
        self.common.gen += 1;
        self.pods.clear();
        self.events.clear();
        self.usage.clear();
        self.usage_available = None;
        self.marked = None;
        self.namespace = None;
        self.synced.clear();
        self.errors.clear();
        vec![KubeCommand::Start(KubePlan {
            gen: self.common.gen,
            namespace: t.namespace.clone(),
            all: self.all_namespaces,
            context: t.context.clone(),
        })]
    }

    /// The pods in view: those of the namespace watched; the Target's pod
    /// only when one is chosen.
    pub fn pods_in_view<'a>(&'a self, t: &'a Target) -> impl Iterator<Item = &'a PodInfo> + 'a {
        self.pods
            .values()
            .filter(move |p| t.pod.as_deref().is_none_or(|f| f == p.name))
            .filter(move |p| self.namespace.as_deref().is_none_or(|n| n == p.namespace))
    }

    /// Carries the restart counts seen of the pod's old self into `p`,
    /// adding its count now when it changed.
    fn remember(old: Option<PodInfo>, p: &mut PodInfo, at_ms: i64) {
        let mut old = old.map(|o| o.containers).unwrap_or_default();
        for c in &mut p.containers {
            if let Some(o) = old.iter_mut().find(|o| o.name == c.name) {
                c.seen = std::mem::take(&mut o.seen);
            }
            if c.seen.back().is_none_or(|(_, n)| *n != c.restarts) {
                c.seen.push_back((at_ms, c.restarts));
                while c.seen.len() > RESTART_HISTORY {
                    c.seen.pop_front();
                }
            }
        }
    }

    fn on_pods(&mut self, at_ms: i64, change: Change<PodInfo>) {
        match change {
            Change::Replace(all) => {
                let mut old = std::mem::take(&mut self.pods);
                for mut p in all.into_iter().take(MAX_PODS) {
                    let key = p.key();
                    Self::remember(old.remove(&key), &mut p, at_ms);
                    self.pods.insert(key, p);
                }
                if !self.synced.contains(&Resource::Pods) {
                    self.synced.push(Resource::Pods);
                }
            }
            Change::Upsert(mut p) => {
                let key = p.key();
                if self.pods.len() < MAX_PODS || self.pods.contains_key(&key) {
                    Self::remember(self.pods.remove(&key), &mut p, at_ms);
                    self.pods.insert(key, p);
                }
            }
            Change::Remove(p) => {
                self.pods.remove(&p.key());
            }
        }
    }

    fn on_events(&mut self, change: Change<EventInfo>) {
        match change {
            Change::Replace(all) => {
                self.events = all;
                if !self.synced.contains(&Resource::Events) {
                    self.synced.push(Resource::Events);
                }
            }
            Change::Upsert(e) => {
                self.events.retain(|x| x.uid != e.uid);
                self.events.push(e);
            }
            Change::Remove(e) => self.events.retain(|x| x.uid != e.uid),
        }
        // newest first, capped
        self.events.sort_by_key(|e| std::cmp::Reverse(e.last_ms));
        self.events.truncate(MAX_EVENTS);
    }
}

impl Source for KubeState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    /// Not configured, or both lists and the pod metrics answered once (or
    /// failed), or the client could not be built.
    fn settled(&self) -> bool {
        !self.common.configured
            || self.errors.contains_key(&None)
            || ([Resource::Pods, Resource::Events]
                .iter()
                .all(|r| self.synced.contains(r) || self.errors.contains_key(&Some(*r)))
                && (self.usage_available.is_some()
                    || self.errors.contains_key(&Some(Resource::Metrics))))
    }

    fn problems(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|(r, e)| match r {
                Some(r) => format!("kubernetes {}: {e}", r.name()),
                None => format!("kubernetes: {e}"),
            })
            .collect()
    }

    fn note(&self) -> Option<String> {
        self.context.clone()
    }

    fn badges(&self) -> Vec<crate::core::Badge> {
        use forward::ForwardState as F;
        self.forwards
            .iter()
            .map(|(label, st)| {
                let (state, bad) = match st {
                    F::Ok { .. } => ("ok".to_string(), false),
                    F::Reconnecting { n, why } => {
                        let why: String = why.chars().take(50).collect();
                        (format!("reconnecting {n}: {why}"), true)
                    }
                    F::Failed(why) => {
                        let why: String = why.chars().take(60).collect();
                        (format!("failed: {why}"), true)
                    }
                };
                crate::core::Badge {
                    long: format!("⇄ {label} {state}"),
                    short: format!("⇄{label} {}", if bad { "✗" } else { "✓" }),
                    bad,
                }
            })
            .collect()
    }

    fn help_lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Kubernetes: context {} at {}; {} pods, {} events.",
            self.context.as_deref().unwrap_or("?"),
            self.server.as_deref().unwrap_or("?"),
            self.pods.len(),
            self.events.len()
        )];
        for p in self.problems() {
            out.push(p);
        }
        out
    }
}

impl Feature for KubeState {
    type Event = KubeEvent;
    type Command = KubeCommand;

    fn start(&mut self, ctx: &Ctx) -> Vec<KubeCommand> {
        self.plan(ctx.target)
    }

    /// A new context or namespace: every watch starts again, and nothing
    /// of the old one is shown (the generation drops late answers).
    fn retarget(&mut self, ctx: &Ctx, before: &Target) -> Vec<KubeCommand> {
        let t = ctx.target;
        if t.context == before.context && (self.all_namespaces || t.namespace == before.namespace) {
            return vec![];
        }
        self.plan(t)
    }

    fn on_event(&mut self, ev: KubeEvent, _ctx: &Ctx) -> Outcome<KubeCommand> {
        if let KubeEvent::Forward { label, state } = ev {
            self.forwards.insert(label, state);
            return Outcome::changed(vec![]);
        }
        if !self.common.current(ev.gen()) {
            return Outcome::none();
        }
        match ev {
            KubeEvent::Connected {
                context,
                server,
                contexts,
                namespace,
                ..
            } => {
                self.context = Some(context);
                self.server = Some(server);
                self.contexts = contexts;
                self.namespace = namespace;
                self.errors.remove(&None);
            }
            KubeEvent::Pods { at_ms, change, .. } => return self.pods_changed(at_ms, change),
            KubeEvent::Events { at_ms, change, .. } => {
                self.common.health.count(at_ms, 0);
                self.on_events(change);
                self.errors.remove(&Some(Resource::Events));
                self.succeeded(at_ms);
            }
            KubeEvent::Usage { at_ms, result, .. } => {
                self.common.health.count(at_ms, 0);
                match result {
                    Ok(Some(v)) => {
                        self.usage = v
                            .into_iter()
                            .map(|u| ((u.namespace, u.pod), u.memory))
                            .collect();
                        self.usage_available = Some(true);
                        self.errors.remove(&Some(Resource::Metrics));
                    }
                    // no metrics-server: said in the pane, not a failure
                    Ok(None) => {
                        self.usage.clear();
                        self.usage_available = Some(false);
                        self.errors.remove(&Some(Resource::Metrics));
                    }
                    Err(e) => {
                        self.errors.insert(
                            Some(Resource::Metrics),
                            format!("get pods.metrics.k8s.io: {e}"),
                        );
                    }
                }
                self.succeeded(at_ms);
            }
            KubeEvent::Forward { .. } => {}
            KubeEvent::Failed {
                at_ms,
                resource,
                verb,
                error,
                ..
            } => {
                let what = match resource {
                    Some(r) => format!("{verb} {}: {error}", r.name()),
                    None => error.to_string(),
                };
                self.common
                    .health
                    .failed(at_ms, what.clone(), error.is_permanent());
                self.errors.insert(resource, what);
            }
        }
        Outcome::changed(vec![])
    }
}

/// One pod's marks: each container's last termination that was an
/// incident (an OOM kill or a non-zero exit; a Completed exit is not).
fn pod_marks(p: &PodInfo) -> Vec<crate::core::TimeMark> {
    p.containers
        .iter()
        .filter_map(|c| {
            let t = c.last.as_ref().filter(|t| t.is_oom() || t.exit_code != 0)?;
            Some(crate::core::TimeMark {
                at_ms: t.finished_ms?,
                pod: p.name.clone(),
                oom: t.is_oom(),
            })
        })
        .collect()
}

impl KubeState {
    /// Each container's last termination that was an incident (an OOM
    /// kill or a non-zero exit; a Completed exit is not), for the charts'
    /// time axes.
    fn marks(&self) -> Vec<crate::core::TimeMark> {
        let mut v: Vec<crate::core::TimeMark> = self.pods.values().flat_map(pod_marks).collect();
        v.sort_by_key(|m| m.at_ms);
        v
    }

    /// Pods listed or changed; the charts' marks re-sent when they change.
    fn pods_changed(&mut self, at_ms: i64, change: Change<PodInfo>) -> Outcome<KubeCommand> {
        self.common.health.count(at_ms, 0);
        // one pod changed: the marks change only if its own did
        // (no pass over 5,000 pods for each of 50 updates a second)
        let touched = match &change {
            Change::Replace(_) => None,
            Change::Upsert(p) | Change::Remove(p) => Some(p.key()),
        };
        // (a pod added or removed without marks changes none)
        let marks_of =
            |s: &Self, k: &(String, String)| s.pods.get(k).map(pod_marks).unwrap_or_default();
        let before = touched.as_ref().map(|k| marks_of(self, k));
        self.on_pods(at_ms, change);
        self.errors.remove(&Some(Resource::Pods));
        self.succeeded(at_ms);
        let after = touched.as_ref().map(|k| marks_of(self, k));
        if self.marked.is_some() && touched.is_some() && before == after {
            return Outcome::changed(vec![]);
        }
        // the charts mark each container's last termination
        let marks = self.marks();
        if self.marked.as_ref() != Some(&marks) {
            self.marked = Some(marks.clone());
            return Outcome::changed(vec![]).with(crate::core::Effect::Marks(marks));
        }
        Outcome::changed(vec![])
    }

    /// Healthy again once no resource is failing.
    fn succeeded(&mut self, at_ms: i64) {
        if self.errors.is_empty() {
            self.common.health.succeeded(at_ms);
        }
    }
}

#[cfg(test)]
mod tests;
