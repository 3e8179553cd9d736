//! The Kubernetes reducer: generations, re-lists, restart increases, events.

use super::*;
use crate::core::Scope;

fn pod(ns: &str, name: &str, restarts: i64) -> PodInfo {
    PodInfo {
        namespace: ns.into(),
        name: name.into(),
        phase: "Running".into(),
        containers: vec![ContainerInfo {
            name: "app".into(),
            ready: true,
            restarts,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn ctx_with<'a>(t: &'a Target, scope: &'a Scope) -> Ctx<'a> {
    Ctx {
        target: t,
        now_ms: 1_000_000,
        scope,
        cursor_ms: None,
        trace_id: None,
        refresh_secs: 1.0,
    }
}

fn started(t: &Target) -> (KubeState, u64) {
    let mut k = KubeState::default();
    k.common.configured = true;
    let scope = Scope::default();
    let cmds = k.start(&ctx_with(t, &scope));
    let KubeCommand::Start(plan) = &cmds[0] else {
        panic!("{cmds:?}")
    };
    (k, plan.gen)
}

fn pods_ev(gen: u64, at_ms: i64, change: Change<PodInfo>) -> KubeEvent {
    KubeEvent::Pods { gen, at_ms, change }
}

#[test]
fn a_relist_replaces_and_late_answers_of_an_old_plan_are_dropped() {
    let t = Target {
        namespace: Some("shop".into()),
        ..Default::default()
    };
    let scope = Scope::default();
    let (mut k, gen) = started(&t);
    let c = ctx_with(&t, &scope);
    k.on_event(
        pods_ev(
            gen,
            1,
            Change::Replace(vec![pod("shop", "a", 0), pod("shop", "b", 0)]),
        ),
        &c,
    );
    k.on_event(pods_ev(gen, 2, Change::Upsert(pod("shop", "c", 0))), &c);
    k.on_event(pods_ev(gen, 3, Change::Remove(pod("shop", "a", 0))), &c);
    let names: Vec<&str> = k.pods.values().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    // a re-list after a 410 is the whole truth: c gone, d new, b once
    k.on_event(
        pods_ev(
            gen,
            4,
            Change::Replace(vec![pod("shop", "b", 0), pod("shop", "d", 0)]),
        ),
        &c,
    );
    let names: Vec<&str> = k.pods.values().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["b", "d"]);
    assert!(k.settled() || !k.synced.contains(&Resource::Events));
    // a namespace switch: a new generation, nothing old kept or accepted
    let before = t.clone();
    let t2 = Target {
        namespace: Some("other".into()),
        ..Default::default()
    };
    let c2 = ctx_with(&t2, &scope);
    let cmds = k.retarget(&c2, &before);
    assert_eq!(cmds.len(), 1);
    assert!(k.pods.is_empty());
    let o = k.on_event(pods_ev(gen, 5, Change::Upsert(pod("shop", "late", 0))), &c2);
    assert!(
        !o.changed && k.pods.is_empty(),
        "an old generation's answer"
    );
    // a key that changes neither context nor namespace plans nothing
    assert!(k.retarget(&c2, &t2).is_empty());
}

#[test]
fn restarts_within_the_window_count_from_the_last_count_before_it() {
    let t = Target::default();
    let scope = Scope::default();
    let (mut k, gen) = started(&t);
    let c = ctx_with(&t, &scope);
    k.on_event(
        pods_ev(gen, 1_000, Change::Replace(vec![pod("ns", "a", 5)])),
        &c,
    );
    k.on_event(pods_ev(gen, 5_000, Change::Upsert(pod("ns", "a", 6))), &c);
    k.on_event(pods_ev(gen, 9_000, Change::Upsert(pod("ns", "a", 8))), &c);
    let p = k.pods.values().next().unwrap().clone();
    let cont = &p.containers[0];
    // since 0: from the first count seen (5)
    assert_eq!(cont.restarts_since(0), 3);
    // since 6 s: from the count at 5 s (6)
    assert_eq!(cont.restarts_since(6_000), 2);
    // since 10 s: the last count is before it: none in the window
    assert_eq!(cont.restarts_since(10_000), 0);
    // a relist keeps what was seen; a pod seen once has none
    k.on_event(
        pods_ev(
            gen,
            9_500,
            Change::Replace(vec![pod("ns", "a", 8), pod("ns", "b", 4)]),
        ),
        &c,
    );
    let recent = |k: &KubeState, since| {
        let mut v: Vec<_> = k
            .pods
            .values()
            .map(|p| format!("{} {}", p.name, p.restarts_since(since)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(recent(&k, 0), ["a 3", "b 0"]);
    assert_eq!(recent(&k, 6_000), ["a 2", "b 0"]);
    // a pod removed and seen again starts over
    k.on_event(pods_ev(gen, 9_900, Change::Remove(pod("ns", "a", 8))), &c);
    k.on_event(pods_ev(gen, 9_950, Change::Upsert(pod("ns", "a", 9))), &c);
    assert_eq!(recent(&k, 0), ["a 0", "b 0"]);
}

#[test]
fn events_are_newest_first_once_each_and_capped() {
    let t = Target::default();
    let scope = Scope::default();
    let (mut k, gen) = started(&t);
    let c = ctx_with(&t, &scope);
    let ev = |uid: &str, last_ms: i64| EventInfo {
        uid: uid.into(),
        last_ms,
        warning: true,
        ..Default::default()
    };
    let events = |change| KubeEvent::Events {
        gen,
        at_ms: 1,
        change,
    };
    k.on_event(events(Change::Replace(vec![ev("a", 10), ev("b", 30)])), &c);
    k.on_event(events(Change::Upsert(ev("a", 40))), &c);
    let order: Vec<&str> = k.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(order, ["a", "b"]);
    let many: Vec<EventInfo> = (0..MAX_EVENTS as i64 + 50)
        .map(|i| ev(&i.to_string(), i))
        .collect();
    k.on_event(events(Change::Replace(many)), &c);
    assert_eq!(k.events.len(), MAX_EVENTS);
    assert_eq!(k.events[0].last_ms, MAX_EVENTS as i64 + 49);
}

/// A 403 on events names the resource and verb; pods still count as
/// healthy answers, and the source is settled for `--once`.
#[test]
fn a_failure_names_resource_and_verb() {
    let t = Target::default();
    let scope = Scope::default();
    let (mut k, gen) = started(&t);
    let c = ctx_with(&t, &scope);
    k.on_event(
        KubeEvent::Failed {
            gen,
            at_ms: 5,
            resource: Some(Resource::Events),
            verb: "list",
            error: SourceError {
                status: Some(403),
                kind: Default::default(),
                message: "events is forbidden".into(),
            },
        },
        &c,
    );
    assert!(!k.settled(), "pods not listed yet");
    k.on_event(
        pods_ev(gen, 6, Change::Replace(vec![pod("ns", "a", 0)])),
        &c,
    );
    assert!(!k.settled(), "metrics.k8s.io not asked yet");
    let usage = KubeEvent::Usage {
        gen,
        at_ms: 7,
        result: Ok(None),
    };
    k.on_event(usage, &c);
    assert!(k.settled());
    assert_eq!(k.usage_available, Some(false));
    assert_eq!(
        k.problems(),
        ["kubernetes events: list events: HTTP 403: events is forbidden"]
    );
    assert!(!k.common.health.ok(), "a resource is still failing");
}

/// OOM kills and crashes are marked on the charts; a Completed exit is not.
#[test]
fn only_incidents_are_marked() {
    let t = Target::default();
    let scope = Scope::default();
    let (mut k, gen) = started(&t);
    let c = ctx_with(&t, &scope);
    let ended = |name: &str, reason: &str, code: i32, at: i64| {
        let mut p = pod("ns", name, 1);
        p.containers[0].last = Some(Terminated {
            reason: reason.into(),
            exit_code: code,
            finished_ms: Some(at),
        });
        p
    };
    let all = vec![
        ended("a", "OOMKilled", 137, 30),
        ended("b", "Completed", 0, 20),
        ended("c", "Error", 1, 10),
    ];
    let o = k.on_event(pods_ev(gen, 1, Change::Replace(all)), &c);
    let marks: Vec<(String, bool)> = o
        .effects
        .iter()
        .find_map(|e| match e {
            crate::core::Effect::Marks(m) => {
                Some(m.iter().map(|m| (m.pod.clone(), m.oom)).collect())
            }
            _ => None,
        })
        .expect("marks sent");
    assert_eq!(marks, [("c".to_string(), false), ("a".to_string(), true)]);

    // one pod at a time: a new OOM kill is marked, an unrelated change
    // sends nothing, a removed pod's mark goes
    let marks_of = |o: &crate::core::Outcome<KubeCommand>| {
        o.effects.iter().find_map(|e| match e {
            crate::core::Effect::Marks(m) => {
                Some(m.iter().map(|m| m.pod.clone()).collect::<Vec<_>>())
            }
            _ => None,
        })
    };
    let o = k.on_event(
        pods_ev(gen, 2, Change::Upsert(ended("d", "OOMKilled", 137, 40))),
        &c,
    );
    assert_eq!(marks_of(&o), Some(vec!["c".into(), "a".into(), "d".into()]));
    let o = k.on_event(pods_ev(gen, 3, Change::Upsert(pod("ns", "e", 0))), &c);
    assert_eq!(marks_of(&o), None);
    let o = k.on_event(
        pods_ev(gen, 4, Change::Upsert(ended("d", "OOMKilled", 137, 50))),
        &c,
    );
    assert_eq!(marks_of(&o), Some(vec!["c".into(), "a".into(), "d".into()]));
    let o = k.on_event(
        pods_ev(gen, 5, Change::Remove(ended("a", "OOMKilled", 137, 30))),
        &c,
    );
    assert_eq!(marks_of(&o), Some(vec!["c".into(), "d".into()]));
}
