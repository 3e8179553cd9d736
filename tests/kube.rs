//! Kubernetes through the real kube-rs client and watcher against the
//! loopback API server (tests/common/kube.rs): pods with their OOM kills
//! and crash loops, warning events, a watch that expires and re-lists,
//! a 403 on one resource, and a context switch that leaves nothing stale.

mod common;

use std::time::Duration;

use common::kube::{pod, FakeKube};
use serde_json::json;
use tokio::sync::mpsc;
use watchfloor::app::run::Backends;
use watchfloor::app::run::Tasks;
use watchfloor::app::update::{self, Event};
use watchfloor::app::SourceEvent;
use watchfloor::app::{State, Target};
use watchfloor::export::buffer_to_text;
use watchfloor::features::kube::runner::{KubeBackend, KubeOptions};
use watchfloor::ui::render;

const WAIT: Duration = Duration::from_secs(30);

fn oom_pod() -> serde_json::Value {
    pod(
        &[(
            "api",
            json!({"restartCount": 7, "ready": false,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                    "startedAt": "2026-12-06T00:58:00Z", "finishedAt": "2026-12-06T01:00:00Z"}}}),
        )],
        "Running",
    )
}

fn healthy_pod() -> serde_json::Value {
    pod(
        &[(
            "api",
            json!({"state": {"running": {"startedAt": "2026-12-06T00:00:00Z"}}}),
        )],
        "Running",
    )
}

fn warning(pod: &str, reason: &str, msg: &str, count: i64) -> serde_json::Value {
    json!({
        "metadata": {"creationTimestamp": "2026-12-06T01:00:00Z"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
        "reason": reason, "message": msg, "type": "Warning", "count": count,
        "firstTimestamp": "2026-12-06T00:50:00Z", "lastTimestamp": "2026-12-06T01:00:00Z"
    })
}

fn kube_state(ns: &str) -> State {
    let mut s = State::new(
        None,
        Target {
            namespace: Some(ns.into()),
            range_secs: 900,
            ..Default::default()
        },
        1.0,
        watchfloor::config::theme::Theme::default_theme(),
        watchfloor::app::keymap::Keymap::default_keymap(),
    );
    // a kubeconfig only: no Prometheus, no Loki
    s.metrics.common.configured = false;
    watchfloor::app::run::configure_kube(&mut s, None, false);
    s
}

fn start(
    state: &mut State,
    kubeconfig: std::path::PathBuf,
) -> (Tasks, mpsc::Receiver<SourceEvent>) {
    let (tx, rx) = mpsc::channel(256);
    let backends = Backends {
        kube: Some(KubeBackend::Api(KubeOptions {
            kubeconfig: Some(kubeconfig),
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(state));
    (tasks, rx)
}

/// Types `:line` and Enter, as a user does; runs what it asks.
fn command(st: &mut State, tasks: &mut Tasks, line: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut key = |c: KeyCode| {
        let (cmds, _) = update::update(st, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
        tasks.exec(cmds);
    };
    key(KeyCode::Char(':'));
    for c in line.chars() {
        key(KeyCode::Char(c));
    }
    key(KeyCode::Enter);
}

fn screen(st: &State, w: u16, h: u16) -> String {
    buffer_to_text(&render(st, w, h))
}

fn names(st: &State) -> Vec<String> {
    st.kube.pods.values().map(|p| p.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_ooms_crash_loops_and_warnings_from_the_api() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-pods");
    let cfg = fake.kubeconfig(&dir, Some("s3cr3t-bearer-token-xyz"));
    fake.put_pod("shop", "api-7d9f8b-x2k4q", oom_pod());
    fake.put_pod("shop", "api-7d9f8b-mn3pq", healthy_pod());
    fake.put_pod("other", "elsewhere", healthy_pod());
    fake.put_event(
        "shop",
        "api.1",
        warning(
            "api-7d9f8b-x2k4q",
            "BackOff",
            "Back-off restarting failed container api",
            12,
        ),
    );
    // an API that echoes hostile text: escapes in a node name and a message
    let mut evil = healthy_pod();
    evil["spec"]["nodeName"] = json!("node-\u{1b}]0;pwned\u{7}x");
    fake.put_pod("shop", "api-7d9f8b-zz0zz", evil);
    fake.put_event(
        "shop",
        "api.3",
        warning(
            "api-7d9f8b-zz0zz",
            "Unhealthy",
            "probe \u{1b}[2Jfailed \u{1b}[31mred",
            1,
        ),
    );
    let mut normal = warning(
        "api-7d9f8b-mn3pq",
        "Pulled",
        "Container image already present",
        1,
    );
    normal["type"] = json!("Normal");
    fake.put_event("shop", "api.2", normal);
    fake.set_usage("shop", "api-7d9f8b-x2k4q", "api", "480Mi");
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube.pods.len() == 3 && s.kube.events.len() == 3 && !s.kube.usage.is_empty()
        })
        .await,
        "pods and events listed: {:?} {:?}",
        names(&st),
        st.kube.errors
    );
    assert_eq!(st.kube.context.as_deref(), Some("fake"));
    // the OOM kill goes to every chart's time axis
    assert_eq!(
        st.marks,
        [watchfloor::core::TimeMark {
            at_ms: 1_796_518_800_000,
            pod: "api-7d9f8b-x2k4q".into(),
            oom: true,
        }]
    );
    let s = screen(&st, 200, 30);
    let row = s
        .lines()
        .find(|l| l.contains("api-7d9f8b-x2k4q"))
        .unwrap_or_else(|| panic!("{s}"));
    for want in [
        "CrashLoopBackOff",
        "0/1",
        "OOMKilled (137)",
        "ago",
        "480 MiB / 512 MiB 94%",
        "node-a",
    ] {
        assert!(row.contains(want), "{want}: {row}\n{s}");
    }
    // worst first: the crash-looping pod above the healthy one
    let at = |n: &str| s.find(n).unwrap();
    assert!(at("api-7d9f8b-x2k4q") < at("api-7d9f8b-mn3pq"), "{s}");
    assert!(!s.contains("elsewhere"), "another namespace's pod:\n{s}");
    assert!(s.contains("BackOff") && s.contains("×12"), "{s}");
    assert!(!s.contains("Pulled"), "only warnings are listed:\n{s}");
    assert!(s.contains("Unhealthy"), "{s}");
    assert!(
        !s.contains('\u{1b}') && !s.contains('\u{7}'),
        "raw escapes on screen:\n{s}"
    );
    fake.delete_pod("shop", "api-7d9f8b-zz0zz");
    assert!(s.contains("k8s ✓"), "{s}");
    assert!(
        s.contains("memory: metrics.k8s.io"),
        "where the figures come from:\n{s}"
    );
    // a pod metrics-server has no figure for: request / limit, said so
    let other = s.lines().find(|l| l.contains("api-7d9f8b-mn3pq")).unwrap();
    assert!(
        other.contains("256 MiB / 512 MiB") && !other.contains('%'),
        "{other}"
    );
    assert!(!s.contains("s3cr3t"), "the token reached the screen:\n{s}");
    // the picker offers the API's pods
    assert!(st.pods().contains(&"api-7d9f8b-mn3pq".to_string()));

    // a new pod, a deletion and a restart arrive through the watch
    fake.put_pod("shop", "api-7d9f8b-zz9zz", healthy_pod());
    fake.delete_pod("shop", "api-7d9f8b-mn3pq");
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            names(s) == ["api-7d9f8b-x2k4q", "api-7d9f8b-zz9zz"]
        })
        .await,
        "{:?}",
        names(&st)
    );
    let mut restarted = oom_pod();
    restarted["status"]["containerStatuses"][0]["restartCount"] = json!(9);
    fake.put_pod("shop", "api-7d9f8b-x2k4q", restarted);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube.pods.values().any(|p| p.restarts() == 9)
        })
        .await
    );
    let s = screen(&st, 200, 30);
    assert!(s.contains("9 +2"), "restarts in the window:\n{s}");
}

/// A watch that expires (410 inside the 200) re-lists: a pod added and one
/// deleted while it was down are seen, and none is doubled or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_watch_relists_without_losing_or_doubling_a_pod() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-410");
    let cfg = fake.kubeconfig(&dir, None);
    for i in 0..3 {
        fake.put_pod("shop", &format!("p-{i}"), healthy_pod());
    }
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| s.kube.pods.len()
            == 3)
        .await
    );
    let lists_before = fake
        .requests()
        .iter()
        .filter(|r| r.contains("/pods") && !r.contains("watch=true"))
        .count();
    // compacted: the open watch ends with a 410, then changes happen
    fake.expire_watches();
    fake.delete_pod("shop", "p-0");
    fake.put_pod("shop", "p-3", healthy_pod());
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            names(s) == ["p-1", "p-2", "p-3"]
        })
        .await,
        "{:?} {:?}",
        names(&st),
        st.kube.errors
    );
    let lists_after = fake
        .requests()
        .iter()
        .filter(|r| r.contains("/pods") && !r.contains("watch=true"))
        .count();
    assert!(
        lists_after > lists_before,
        "no re-list: {:?}",
        fake.requests()
    );
    let s = screen(&st, 160, 20);
    for p in ["p-1", "p-2", "p-3"] {
        assert_eq!(s.matches(&format!("│{p} ")).count(), 1, "{p} once:\n{s}");
    }
    assert!(!s.contains("p-0 "), "{s}");
}

/// RBAC: events forbidden (in both APIs). The pane and header name the
/// resource and the verb; the pods keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_resource_is_named_and_the_rest_works() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-403");
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "api-1", healthy_pod());
    fake.forbid("events.k8s.io", "list");
    fake.forbid("events", "list");
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube.pods.len() == 1
                && s.kube
                    .errors
                    .contains_key(&Some(watchfloor::features::kube::Resource::Events))
                && s.kube.usage_available.is_some()
        })
        .await,
        "{:?}",
        st.kube.errors
    );
    let s = screen(&st, 200, 30);
    assert!(s.contains("api-1"), "{s}");
    assert!(s.contains("events ✗ list events: HTTP 403"), "{s}");
    assert!(
        s.contains("cannot list resource"),
        "the API's own words:\n{s}"
    );
    // --once knows it is settled (pods listed, events refused)
    assert!(watchfloor::core::Source::settled(&st.kube));
}

/// Events come from events.k8s.io/v1 (newer fields: regarding, note,
/// series), and from core/v1 when RBAC refuses the newer API; never from
/// both at once (one storage, two views: every event would show twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_events_k8s_io_or_core_never_both() {
    for refuse_v1 in [false, true] {
        let fake = FakeKube::start().await;
        let dir = common::tempdir("kube-events");
        let cfg = fake.kubeconfig(&dir, None);
        fake.put_pod("shop", "api-1", oom_pod());
        let mut ev = warning(
            "api-1",
            "BackOff",
            "Back-off restarting failed container api",
            3,
        );
        ev["series"] = json!({"count": 9, "lastObservedTime": "2026-12-06T01:05:00.000000Z"});
        fake.put_event("shop", "api-1.1", ev);
        fake.put_event(
            "shop",
            "api-1.2",
            warning(
                "api-1",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                4,
            ),
        );
        if refuse_v1 {
            fake.forbid("events.k8s.io", "list");
        }
        let mut st = kube_state("shop");
        let (mut tasks, mut rx) = start(&mut st, cfg);
        let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube.events.len() == 2 && s.kube.pods.len() == 1
        })
        .await;
        assert!(
            ok,
            "refuse_v1={refuse_v1}: {:?} {:?}",
            st.kube.events, st.kube.errors
        );
        // one more event: it arrives once, through the watch
        fake.put_event(
            "shop",
            "api-1.3",
            warning("api-1", "Killing", "Stopping container api", 1),
        );
        let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube.events.len() == 3
        })
        .await;
        assert!(ok, "{:?}", st.kube.events);
        let backoff = st
            .kube
            .events
            .iter()
            .find(|e| e.reason == "BackOff")
            .unwrap();
        // series.count wins over the deprecated count, in both APIs
        assert_eq!(backoff.count, 9);
        assert_eq!(backoff.message, "Back-off restarting failed container api");
        assert_eq!(backoff.pod.as_deref(), Some("api-1"));
        // no error shown: a refused newer API is not a failure
        assert!(st.kube.errors.is_empty(), "{:?}", st.kube.errors);
        let s = screen(&st, 200, 40);
        assert!(s.contains("Liveness probe failed"), "{s}");
        assert_eq!(s.matches("Stopping container api").count(), 1, "{s}");
        let reqs = fake.requests();
        let core = reqs
            .iter()
            .any(|r| r.contains("/api/v1/namespaces/shop/events"));
        let v1 = reqs.iter().any(|r| {
            r.contains("/apis/events.k8s.io/v1/namespaces/shop/events") && r.contains("watch")
        });
        assert_eq!((core, v1), (refuse_v1, !refuse_v1), "{reqs:?}");
        drop(tasks);
    }
}

/// Presses keys, as a user does; runs what they ask.
fn press(st: &mut State, tasks: &mut Tasks, keys: &[crossterm::event::KeyCode]) {
    use crossterm::event::{KeyEvent, KeyModifiers};
    for k in keys {
        let (cmds, _) = update::update(st, Event::Key(KeyEvent::new(*k, KeyModifiers::NONE)));
        tasks.exec(cmds);
    }
}

/// `C` lists the kubeconfig's contexts and `:ns` the namespaces seen; what
/// is picked re-targets the Kubernetes pane as `:ctx NAME` and `:ns NAME` do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_and_namespaces_are_picked_from_lists() {
    use crossterm::event::KeyCode::{Char, Enter};
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-pick");
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "shop-api", healthy_pod());
    fake.put_pod("other", "other-api", healthy_pod());
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| s.kube.pods.len()
            == 1)
        .await
    );
    press(&mut st, &mut tasks, &[Char('C')]);
    let s = screen(&st, 160, 30);
    // the whole title: the picker is as wide as it
    assert!(s.contains("Context (type to filter, ↑↓ Enter, Esc)"), "{s}");
    assert!(s.contains("● the kubeconfig's current context"), "{s}");
    assert!(s.contains("fake") && s.contains("other"), "{s}");
    press(&mut st, &mut tasks, &[Char('o'), Char('t'), Enter]);
    assert_eq!(st.target.context.as_deref(), Some("other"));
    // the namespaces seen: the picker's first entry is every namespace,
    // which for Kubernetes means the context's own (`other` here)
    command(&mut st, &mut tasks, "ns");
    let s = screen(&st, 160, 30);
    assert!(
        s.contains("Namespace (type to filter") && s.contains("● shop"),
        "{s}"
    );
    press(&mut st, &mut tasks, &[crossterm::event::KeyCode::Up, Enter]);
    assert_eq!(st.target.namespace, None);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            names(s) == ["other-api"] && s.kube.context.as_deref() == Some("other")
        })
        .await,
        "{:?}",
        names(&st)
    );
    // the header says the namespace Kubernetes watches, not "all"
    let s = screen(&st, 160, 30);
    assert!(s.contains("ns other") && !s.contains("ns all"), "{s}");
    // the namespaces seen now: `other`, picked by typing
    command(&mut st, &mut tasks, "ns");
    let s = screen(&st, 160, 30);
    assert!(
        s.contains("● all namespaces") && s.contains("  other"),
        "{s}"
    );
    press(&mut st, &mut tasks, &[Char('o'), Char('t'), Enter]);
    assert_eq!(st.target.namespace.as_deref(), Some("other"));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| names(s)
            == ["other-api"]
            && s.kube.synced.len() == 2)
        .await,
        "{:?}",
        names(&st)
    );
}

/// A context switch restarts every watch: nothing of the old context shows,
/// even from answers already on their way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_switch_shows_no_stale_row() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-ctx");
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "shop-api", healthy_pod());
    fake.put_pod("other", "other-api", healthy_pod());
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| s.kube.pods.len()
            == 1)
        .await
    );
    // `:ctx other`, then `:ns other`
    command(&mut st, &mut tasks, "ctx other");
    let s = screen(&st, 160, 20);
    assert!(!s.contains("shop-api"), "stale row after the switch:\n{s}");
    command(&mut st, &mut tasks, "ns other");
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            names(s) == ["other-api"] && s.kube.context.as_deref() == Some("other")
        })
        .await,
        "{:?}",
        names(&st)
    );
    let s = screen(&st, 160, 20);
    assert!(s.contains("other-api") && !s.contains("shop-api"), "{s}");
    // an unknown context is refused, naming the ones there are
    command(&mut st, &mut tasks, "ctx nope");
    let (msg, err) = st.ui.message.clone().unwrap();
    assert!(
        err && msg.contains("no context `nope`") && msg.contains("fake, other"),
        "{msg}"
    );
    assert_eq!(st.target.context.as_deref(), Some("other"));
}

/// With only a kubeconfig (no Prometheus, no Loki): `--once` prints the
/// pods of the context's namespace, the OOM kill, the crash loop and the
/// warning events, and exits 0 once both lists answered.
#[test]
fn once_with_only_a_kubeconfig() {
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("kube-once");
    let cfg = fake.kubeconfig(&dir, Some("once-token-abc123"));
    fake.put_pod("shop", "api-7d9f8b-x2k4q", oom_pod());
    fake.put_pod("shop", "api-7d9f8b-mn3pq", healthy_pod());
    fake.put_pod("other", "elsewhere", healthy_pod());
    fake.put_event(
        "shop",
        "api.1",
        warning(
            "api-7d9f8b-x2k4q",
            "BackOff",
            "Back-off restarting failed container api",
            3,
        ),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["--once", "--size", "140x30", "--kubeconfig"])
        .arg(&cfg)
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    for want in [
        "Kubernetes · fake · ns shop · 2 pods",
        "CrashLoopBackOff",
        "OOMKilled (137)",
        "BackOff",
        "k8s ✓",
    ] {
        assert!(text.contains(want), "{want}:\n{text}\n{err}");
    }
    assert!(!text.contains("elsewhere"), "{text}");
    // no metrics-server here (404): said, not an error
    assert!(text.contains("no metrics-server"), "{text}");
    assert!(!text.contains("once-token") && !err.contains("once-token"));
    // the Prometheus panes are not drawn as failures: they are not configured
    assert!(!text.contains("✗"), "{text}");
}

/// An exec credential plugin whose tokens expire (as kubelogin's and the
/// cloud CLIs' do): when the API server stops taking the old token, the
/// client asks the plugin again and goes on, with no restart. Every token
/// the plugin returned is masked wherever it would show, even one the
/// server reflects back in an object (a hostile or broken proxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_exec_token_is_refreshed_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-exec-refresh");
    let counter = dir.join("issued");
    let script = dir.join("plugin.sh");
    // each run issues the next token, valid for 30 s (kube-rs asks again
    // when one has less than a minute left)
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
n=$(cat {c} 2>/dev/null || echo 0)
n=$((n+1))
echo $n > {c}
echo 'refreshing credentials' >&2
exp=$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"zq8-issued-credential-%s","expirationTimestamp":"%s"}}}}\n' $n $exp
"#,
            c = counter.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = fake.kubeconfig_exec(&dir, &script, "unused");
    fake.accept_tokens_from("zq8-issued-credential-", 1);
    fake.put_pod("shop", "api-1", healthy_pod());
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        s.kube.pods.len() == 1
    })
    .await;
    assert!(ok, "{:?}", st.kube.errors);
    let issued = |c: &std::path::Path| -> u64 {
        std::fs::read_to_string(c)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let first = issued(&counter);
    assert!(first >= 1);
    // every token so far expires; the watches are cut (a compaction), so
    // the client must list again, with a token the plugin has yet to issue
    fake.accept_tokens_from("zq8-issued-credential-", first + 1);
    fake.expire_watches();
    fake.put_pod("shop", "api-2", healthy_pod());
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        s.kube.pods.len() == 2 && s.kube.errors.is_empty()
    })
    .await;
    assert!(ok, "not refreshed: {:?}", st.kube.errors);
    assert!(issued(&counter) > first, "the plugin was not asked again");
    // a server that reflects the token it got: masked on screen
    let token = fake.last_token().expect("a token was sent");
    assert!(token.starts_with("zq8-issued-credential-"), "{token}");
    let mut p = healthy_pod();
    p["spec"]["nodeName"] = json!(token.clone());
    fake.put_pod("shop", "api-3", p);
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        s.kube.pods.len() == 3
    })
    .await;
    assert!(ok);
    let s = screen(&st, 200, 40);
    assert!(s.contains("api-3"), "{s}");
    assert!(
        !s.contains("issued-credential"),
        "a plugin's token on screen:\n{s}"
    );
}

/// An exec credential plugin that writes to stderr (as kubelogin and the
/// cloud CLIs do) never reaches the screen: watchfloor forces its
/// interactiveMode to Never, so its stderr is a pipe. The token it returns
/// is used (the server requires it) and shown nowhere.
#[test]
fn an_exec_plugin_cannot_smear_the_screen_and_its_token_is_never_shown() {
    if !common::require("tmux") {
        return;
    }
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("kube-exec");
    let script = dir.join("plugin.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'PLUGIN-STDERR-NOISE \\033[2J\\033]0;pwned\\007\\n' >&2\n\
         echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token-7f3a9c\"}}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = fake.kubeconfig_exec(&dir, &script, "exec-token-7f3a9c");
    fake.put_pod("shop", "api-7d9f8b-x2k4q", oom_pod());
    let log = dir.join("wf.log");
    let cmd = format!(
        "HOME={} {} --kubeconfig {} --log-file {}",
        dir.display(),
        env!("CARGO_BIN_EXE_watchfloor"),
        cfg.display(),
        log.display()
    );
    let t = common::Tmux::start("kexec", &cmd, 120, 30, true);
    let s = t.wait_for("OOMKilled", 30);
    assert!(
        !s.contains("PLUGIN-STDERR"),
        "the plugin's stderr on screen:\n{s}"
    );
    assert!(!s.contains("exec-token"), "{s}");
    assert_ne!(t.title(), "pwned");
    assert!(
        fake.requests().iter().any(|r| r.contains("/pods")),
        "the token worked"
    );
    t.keys(&["?"]);
    t.wait_for("Sources", 10);
    // the log pane's lines come first (logs from the API): the next page
    t.keys(&["PageDown"]);
    let s = t.wait_for("Kubernetes: context fake", 10);
    assert!(!s.contains("exec-token"), "{s}");
    t.keys(&["Escape", "q"]);
    t.wait_for("EXITED 0", 10);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !logged.contains("exec-token-7f3a9c"),
        "token in the log file"
    );
    // the plugin's stderr is in the log file instead, without its escapes
    assert!(
        logged.contains("credential plugin") && logged.contains("PLUGIN-STDERR-NOISE"),
        "{logged}"
    );
    assert!(
        !logged.contains('\u{1b}') && !logged.contains('\u{7}'),
        "{logged:?}"
    );
}

/// An API server that does not answer: the pane and the header say so
/// (the list that failed, and why); the watcher keeps retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_said_in_the_pane_and_the_header() {
    let dir = common::tempdir("kube-down");
    let port = common::free_port();
    let cfg = dir.join("kubeconfig");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: down\nclusters:\n- name: down\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: down\n  context:\n    cluster: down\n    user: u\n    namespace: shop\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.kube
                .errors
                .contains_key(&Some(watchfloor::features::kube::Resource::Pods))
        })
        .await,
        "{:?}",
        st.kube.errors
    );
    let s = screen(&st, 160, 20);
    assert!(s.contains("k8s ✗"), "header:\n{s}");
    assert!(s.contains("list pods:"), "the pane names what failed:\n{s}");
    assert!(!watchfloor::core::Source::common(&st.kube).health.ok());
    // a bad kubeconfig names the file's problem
    let bad = dir.join("bad");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: leaked-token-9f8e\nclusters: [[[\n",
    )
    .unwrap();
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, bad.clone());
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| s
            .kube
            .errors
            .contains_key(&None))
        .await
    );
    let s = screen(&st, 160, 20);
    // the file and the line, never the file's text (a token may be near)
    let e = &st.kube.errors[&None];
    assert!(e.contains(&format!("kubeconfig {}", bad.display())), "{e}");
    assert!(e.contains(" line "), "{e}");
    assert!(
        !s.contains("leaked-token") && !e.contains("leaked-token"),
        "{e}"
    );
}

/// A Prometheus pod behind a Service, as a chart installs it: selector
/// `app=prometheus`, service port 9090 → the container port named `web`.
fn prometheus_pod(name: &str) -> serde_json::Value {
    let mut p = healthy_pod();
    p["metadata"]["labels"] = json!({"app": "prometheus", "pod-template-hash": "5c9"});
    p["metadata"]["uid"] = json!(format!("uid-{name}"));
    p["spec"]["containers"][0]["ports"] =
        json!([{"name": "web", "containerPort": 9090, "protocol": "TCP"}]);
    p
}

/// `prometheus = "k8s://monitoring/svc/prometheus:9090"`: the Memory pane
/// reads a real Prometheus through the fake API server's port-forward.
/// The pod behind the Service is deleted mid-run: the forward says it is
/// reconnecting and the panes go stale; a new pod comes up under a new
/// name, the forward finds it (the Service is resolved at every connect)
/// and values resume, with no restart of anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_forward_follows_the_service_to_a_replaced_pod() {
    use watchfloor::features::kube::forward::{ForwardSpec, ForwardState};
    use watchfloor::features::metrics::client::prometheus::PrometheusClient;
    let Some((prom, story, _data)) = common::real_prometheus() else {
        return;
    };
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-forward");
    let cfg = fake.kubeconfig(&dir, Some("fwd-token-77"));
    let prom_addr: std::net::SocketAddr = format!("127.0.0.1:{}", prom.port).parse().unwrap();
    fake.put_service(
        "monitoring",
        "prometheus",
        &[("app", "prometheus")],
        &[("web", 9090, json!("web"))],
    );
    fake.put_pod("monitoring", "prometheus-5c9-aaaaa", prometheus_pod("a"));
    fake.set_backend("monitoring", "prometheus-5c9-aaaaa", 9090, prom_addr);
    // a pod of another app on the same port, never chosen
    fake.put_pod("monitoring", "grafana-0", healthy_pod());

    let spec = ForwardSpec::bind("prometheus", "k8s://monitoring/svc/prometheus:9090").unwrap();
    let url = spec.local_url();
    let client = PrometheusClient::new(&watchfloor::config::Endpoint::plain(&url))
        .unwrap()
        .0;
    let mut st = common::state(3600, 1.0, "prom", &url);
    let (tx, mut rx) = mpsc::channel(256);
    let backends = Backends {
        metrics: Some(std::sync::Arc::new(client)),
        kube: Some(KubeBackend::Api(KubeOptions {
            kubeconfig: Some(cfg),
            forwards: vec![spec],
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));

    // real values through the forward
    let app1 = |st: &State| -> Option<(i64, f64)> {
        st.metrics
            .store
            .get("memory.working_set")?
            .series
            .iter()
            .find(|s| s.label("pod") == "app-1")?
            .last()
    };
    let forward = |st: &State| st.kube.forwards.get("prometheus").cloned();
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        app1(s).is_some() && s.all_answered()
    })
    .await;
    assert!(
        ok,
        "no data through the forward: {:?} {:?}",
        st.metrics.common.health.last_error,
        forward(&st)
    );
    let (t_ms, v) = app1(&st).unwrap();
    let sample_t = ((t_ms / 1000 / common::STEP) * common::STEP).min(story.end);
    let want = story.working_set("app-1", sample_t);
    assert!((v - want).abs() < 1.0, "working set {v} != {want}");
    assert_eq!(
        forward(&st),
        Some(ForwardState::Ok {
            pod: "pod/prometheus-5c9-aaaaa".into()
        })
    );
    let screen_before = screen(&st, 160, 45);
    assert!(screen_before.contains("⇄ prometheus ok"), "{screen_before}");

    // the pod goes away: the forward cannot find one, and says so
    fake.delete_pod("monitoring", "prometheus-5c9-aaaaa");
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        matches!(forward(s), Some(ForwardState::Reconnecting { .. }))
    })
    .await;
    assert!(ok, "the forward did not notice: {:?}", forward(&st));
    let shown = screen(&st, 160, 45);
    assert!(shown.contains("⇄ prometheus reconnecting"), "{shown}");

    // a new pod under a new name (a rollout): the Service leads to it
    let opened = fake.forwards_opened();
    let replaced_ms = watchfloor::core::now_ms();
    fake.set_backend("monitoring", "prometheus-5c9-bbbbb", 9090, prom_addr);
    fake.put_pod("monitoring", "prometheus-5c9-bbbbb", prometheus_pod("b"));
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        forward(s)
            == Some(ForwardState::Ok {
                pod: "pod/prometheus-5c9-bbbbb".into(),
            })
            && s.metrics
                .common
                .health
                .last_ok_ms
                .is_some_and(|t| t > replaced_ms)
            && s.metrics.common.health.ok()
    })
    .await;
    assert!(
        ok,
        "values did not resume: {:?} {:?}",
        forward(&st),
        st.metrics.common.health.last_error
    );
    assert!(fake.forwards_opened() > opened);
    let (_, v) = app1(&st).unwrap();
    assert!(v > 0.0);
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/pods/prometheus-5c9-bbbbb/portforward?")),
        "{requests:?}"
    );
    assert!(!requests.iter().any(|r| r.contains("grafana-0/portforward")));
    // the kubeconfig's token reached the API server, never the screen
    assert!(!screen(&st, 160, 45).contains("fwd-token"));
}

/// With only a kubeconfig (no Prometheus, no Loki), the log pane reads the
/// pods' logs from the API: `--once` shows them, the crash-looping
/// container's previous instance marked as such, hostile escapes removed.
#[test]
fn once_shows_pod_logs_from_the_api_and_the_previous_instance_marked() {
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("kube-logs-once");
    let cfg = fake.kubeconfig(&dir, Some("logs-token-5e6f7a"));
    fake.put_pod("shop", "api-7d9f8b-x2k4q", oom_pod());
    fake.put_pod("shop", "api-7d9f8b-mn3pq", healthy_pod());
    fake.put_pod("other", "elsewhere", healthy_pod());
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let (sick, fine) = ("api-7d9f8b-x2k4q", "api-7d9f8b-mn3pq");
    fake.add_log_at(
        "shop",
        sick,
        "api",
        true,
        now - 90_000_000_000,
        "ERROR heap at 2.0G before the kill",
    );
    fake.add_log_at(
        "shop",
        sick,
        "api",
        false,
        now - 30_000_000_000,
        "INFO booted again after the kill",
    );
    fake.add_log_at(
        "shop",
        fine,
        "api",
        false,
        now - 20_000_000_000,
        "INFO serving \u{1b}[2J\u{1b}]0;pwned\u{7}requests fine",
    );
    fake.add_log(
        "other",
        "elsewhere",
        "api",
        false,
        "INFO from another namespace",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["--once", "--size", "160x40", "--kubeconfig"])
        .arg(&cfg)
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    let row = |what: &str| {
        text.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{what}:\n{text}\n{err}"))
            .to_string()
    };
    let prev = row("heap at 2.0G before the kill");
    assert!(prev.contains(sick) && prev.contains("previous"), "{prev}");
    let cur = row("booted again after the kill");
    assert!(!cur.contains("previous"), "{cur}");
    let hostile = row("requests fine");
    assert!(hostile.contains(fine), "{hostile}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    assert!(
        !text.contains("pwned"),
        "an OSC title reached the screen:\n{text}"
    );
    assert!(!text.contains("another namespace"), "{text}");
    for want in ["k8s logs ✓", "from the Kubernetes API", "k8s ✓"] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(!text.contains("logs-token") && !err.contains("logs-token"));
    // the previous instance was asked for the crash-looping container only
    let asks = fake.log_requests();
    let previous: Vec<&String> = asks
        .iter()
        .filter(|(_, q)| q.get("previous").is_some_and(|v| v == "true"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        !previous.is_empty() && previous.iter().all(|p| *p == sick),
        "{asks:?}"
    );
    // every read bounded by the server too (a follow is a stream)
    assert!(
        asks.iter()
            .all(|(_, q)| q.get("timestamps").is_some_and(|v| v == "true")
                && q.contains_key("sinceTime")
                && (q.contains_key("follow") || q.contains_key("limitBytes"))),
        "{asks:?}"
    );
}

fn logs_state(kubeconfig: std::path::PathBuf) -> (State, Backends) {
    use watchfloor::features::logs::client::kube::{KubeLogs, NAME};
    let mut s = State::new(
        None,
        Target {
            namespace: Some("shop".into()),
            range_secs: 900,
            ..Default::default()
        },
        1.0,
        watchfloor::config::theme::Theme::default_theme(),
        watchfloor::app::keymap::Keymap::default_keymap(),
    );
    s.metrics.common.configured = false;
    let b = KubeLogs::new(
        watchfloor::core::kube::ClientOptions {
            kubeconfig: Some(kubeconfig),
            ..Default::default()
        },
        None,
        false,
    );
    watchfloor::app::run::configure_logs(&mut s, NAME, &b.describe(), true);
    let backends = Backends {
        logs: Some(std::sync::Arc::new(b)),
        ..Default::default()
    };
    (s, backends)
}

fn ring_texts(st: &State) -> Vec<String> {
    st.logs.ring.lines().map(|l| l.text.to_string()).collect()
}

/// Following: a line written after the start appears; a follow stream the
/// API server ends is reopened from the second of the last line seen, and
/// the lines of that second it sends again are not shown twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followed_api_logs_show_new_lines_and_no_duplicate_after_a_reopen() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-logs-follow");
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "api-1", healthy_pod());
    // lines that share one whole second, a few seconds ago
    let second = chrono::Utc::now().timestamp() - 5;
    let at = |ms: i64| second * 1_000_000_000 + ms * 1_000_000;
    fake.add_log_at("shop", "api-1", "api", false, at(100), "line one");
    let (mut st, backends) = logs_state(cfg);
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));
    let tailing = |s: &State| s.logs.mode == watchfloor::features::logs::TailMode::Tailing;
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            tailing(s) && ring_texts(s).contains(&"line one".to_string())
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        st.logs.common.health
    );
    // written after the start: comes through the follow stream
    fake.add_log_at(
        "shop",
        "api-1",
        "api",
        false,
        at(200),
        "line two \u{1b}[31mred\u{1b}[0m",
    );
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            ring_texts(s).iter().any(|t| t.starts_with("line two"))
        })
        .await,
        "{:?}",
        ring_texts(&st)
    );
    let follows = |f: &FakeKube| {
        f.log_requests()
            .into_iter()
            .filter(|(_, q)| q.get("follow").is_some_and(|v| v == "true"))
            .collect::<Vec<_>>()
    };
    let opened = follows(&fake).len();
    // the API server drops the stream; a line of the same second follows
    fake.end_log_streams();
    fake.add_log_at("shop", "api-1", "api", false, at(300), "line three");
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            ring_texts(s).contains(&"line three".to_string())
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        fake.log_requests()
    );
    let reopened = follows(&fake);
    assert!(reopened.len() > opened, "{reopened:?}");
    let since = reopened.last().unwrap().1.get("sinceTime").cloned();
    let want = chrono::DateTime::from_timestamp(second, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(since, Some(want), "reopened from the last line's second");
    // one more round trip, so late duplicates would have arrived
    fake.add_log("shop", "api-1", "api", false, "line four");
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            ring_texts(s).contains(&"line four".to_string())
        })
        .await
    );
    let texts = ring_texts(&st);
    assert_eq!(
        texts,
        ["line one", "line two red", "line three", "line four"],
        "each line once, in order"
    );
    let s = screen(&st, 160, 30);
    assert_eq!(s.matches("line two red").count(), 1, "{s}");
    assert!(!s.contains('\u{1b}'), "{s}");
    assert!(s.contains("k8s logs ✓"), "{s}");
}

/// The fake's log endpoint answers the API server's errors (what the
/// backend meets in a real cluster).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_log_endpoint_answers_the_api_servers_errors() {
    let fake = FakeKube::start().await;
    let two = pod(
        &[
            ("a", json!({"state": {"running": {}}})),
            ("b", json!({"state": {"running": {}}})),
        ],
        "Running",
    );
    fake.put_pod("shop", "x", two);
    fake.add_log("shop", "x", "a", false, "hello");
    let get = |q: &str| {
        let url = format!("{}/api/v1/namespaces/shop/pods/{q}", fake.url);
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (code, body) = get("x/log").await;
    assert_eq!(code, 400);
    assert!(
        body.contains("a container name must be specified for pod x, choose one of: [a b]"),
        "{body}"
    );
    let (code, body) = get("x/log?container=a&previous=true").await;
    assert_eq!(code, 400);
    assert!(
        body.contains(r#"previous terminated container \"a\" in pod \"x\" not found"#),
        "{body}"
    );
    let (code, body) = get("nope/log").await;
    assert_eq!(code, 404);
    assert!(body.contains(r#"pods \"nope\" not found"#), "{body}");
    let (code, body) = get("x/log?container=a&timestamps=true").await;
    assert_eq!(code, 200);
    assert!(
        body.ends_with(" hello\n") && body.as_bytes()[29] == b'Z',
        "{body}"
    );
}

/// A fake API server with one pod, `api-old`, whose log is being
/// followed (its line shown).
async fn following_api_old(
    name: &str,
) -> (
    FakeKube,
    State,
    Tasks,
    mpsc::Receiver<watchfloor::app::SourceEvent>,
) {
    let fake = FakeKube::start().await;
    let dir = common::tempdir(name);
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "api-old", healthy_pod());
    fake.add_log("shop", "api-old", "api", false, "from the old pod");
    let (mut st, backends) = logs_state(cfg);
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.logs.mode == watchfloor::features::logs::TailMode::Tailing
                && ring_texts(s).contains(&"from the old pod".to_string())
        })
        .await
    );
    (fake, st, tasks, rx)
}

/// A pod that appears while following (a rollout) is read too: the tail
/// lists the pods again and, the choice changed, is reopened over them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_appears_while_following_is_read() {
    let (fake, mut st, mut tasks, mut rx) = following_api_old("kube-logs-rollout").await;
    fake.put_pod("shop", "api-new", healthy_pod());
    fake.add_log("shop", "api-new", "api", false, "from the new pod");
    // the pods are listed again every 15 s
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, Duration::from_secs(60), |s| {
            ring_texts(s).contains(&"from the new pod".to_string())
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        fake.log_requests()
    );
    let texts = ring_texts(&st);
    assert_eq!(
        texts.iter().filter(|t| *t == "from the old pod").count(),
        1,
        "{texts:?}"
    );
    let s = screen(&st, 160, 30);
    assert!(s.contains("api-new") && s.contains("api-old"), "{s}");
}

/// A followed pod deleted (its stream ends, the reopen answers 404): the
/// tail is opened again over a new choice at once, not over the choice
/// the backfill and the tail share (kept a few seconds so they list the
/// pods once): the gone pod is asked for once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_is_asked_for_once_then_its_successor_is_read() {
    let (fake, mut st, mut tasks, mut rx) = following_api_old("kube-logs-gone").await;
    fake.put_pod("shop", "api-new", healthy_pod());
    fake.add_log("shop", "api-new", "api", false, "from the new pod");
    fake.delete_pod("shop", "api-old");
    let before = fake.log_requests().len();
    fake.end_log_streams();
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            ring_texts(s).contains(&"from the new pod".to_string())
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        fake.log_requests()
    );
    let asked: Vec<_> = fake.log_requests()[before..]
        .iter()
        .filter(|(pod, _)| pod == "api-old")
        .cloned()
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
}

/// `:ctx` re-targets the log pane too: the API's logs are read through a
/// client for the new context (here its namespace differs), and nothing of
/// the old context stays in the pane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_switch_moves_the_api_logs_too() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-logs-ctx");
    let cfg = fake.kubeconfig(&dir, None);
    fake.put_pod("shop", "api-1", healthy_pod());
    fake.put_pod("other", "api-2", healthy_pod());
    fake.add_log("shop", "api-1", "api", false, "a line of the shop");
    fake.add_log(
        "other",
        "api-2",
        "api",
        false,
        "a line of the other namespace",
    );
    let (mut st, backends) = logs_state(cfg);
    // no namespace chosen: each context's own
    st.target.namespace = None;
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));
    let has = |s: &State, t: &str| ring_texts(s).iter().any(|x| x == t);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| has(
            s,
            "a line of the shop"
        ))
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        st.logs.common.health
    );
    command(&mut st, &mut tasks, "ctx other");
    assert!(!has(&st, "a line of the shop"), "{:?}", ring_texts(&st));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            has(s, "a line of the other namespace")
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        st.logs.common.health
    );
    assert!(!has(&st, "a line of the shop"), "{:?}", ring_texts(&st));
}

/// `k8s://` endpoints through the binary: a probe behind a two-port Service
/// with a numeric targetPort is reached (✓), and a forward that cannot work
/// (no such Service) says why in the header at once, not after the
/// client's timeout: `--once` reports it and exits 2.
#[test]
fn forwards_in_once_reach_a_probe_and_say_why_one_cannot_work() {
    let fake = FakeKube::start_in_thread();
    let dir = common::tempdir("kube-fwd-once");
    let cfg = fake.kubeconfig(&dir, Some("fwd-once-token-9a8b"));
    let web = common::http::serve_in_thread(common::http::handler(|_req| async {
        common::http::Response::new(200, "text/plain", "ok")
    }));
    let web_addr: std::net::SocketAddr = web.trim_start_matches("http://").parse().unwrap();
    fake.put_service(
        "shop",
        "web",
        &[("app", "web")],
        &[("metrics", 9100, json!(9100)), ("http", 80, json!(8080))],
    );
    let mut p = healthy_pod();
    p["metadata"]["labels"] = json!({"app": "web"});
    fake.put_pod("shop", "web-0", p);
    fake.set_backend("shop", "web-0", 8080, web_addr);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["--once", "--size", "200x30", "--kubeconfig"])
        .arg(&cfg)
        .args(["--probe", "k8s://shop/svc/web:80/healthz"])
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(text.contains("⇄ probe"), "{text}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.contains("/pods/web-0/portforward?&ports=8080")),
        "{:?}",
        fake.requests()
    );
    // a pod by name, its port by number
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["--once", "--size", "200x30", "--kubeconfig"])
        .arg(&cfg)
        .args(["--probe", "k8s://shop/pod/web-0:8080/healthz"])
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("⇄ probe"), "{text}");
    // no such Service: failed, with the API's words, and --once says so
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "--once",
            "--size",
            "200x30",
            "--once-timeout",
            "60s",
            "--kubeconfig",
        ])
        .arg(&cfg)
        .args(["--prometheus", "k8s://monitoring/svc/nope:9090"])
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
    assert!(
        text.contains("⇄ prometheus failed: svc/nope") && text.contains("not found"),
        "{text}\n{err}"
    );
    assert!(!text.contains("fwd-once-token") && !err.contains("fwd-once-token"));
}

/// `--demo` plays the embedded story: a `k8s://` endpoint beside it is
/// refused with a message naming where it came from (it was half used:
/// Loki's URL was tried as written).
#[test]
fn the_demo_refuses_a_k8s_endpoint() {
    let dir = common::tempdir("kube-demo-k8s");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["--demo", "--once", "--loki", "k8s://obs/svc/loki:3100"])
        .env("HOME", &dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--loki: a k8s:// endpoint needs a cluster"),
        "{err}"
    );
}

/// A credential plugin that fails is named with its exit status and its
/// last words, never with its command line: kube-rs writes the command with
/// its environment and arguments into the error, where secrets sit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_is_said_without_its_command_line() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-exec-fail");
    let script = dir.join("login.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'starting' >&2\necho 'login required: run kubectl oidc-login' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.join("kubeconfig");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: oidc\n    namespace: shop\nusers:\n- name: oidc\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [\"--client-secret=ArgSecret987x\", \"--token\", \"FlagValueSecret321\", \"--plain\"]\n      env:\n      - name: OIDC_CLIENT_SECRET\n        value: EnvSecretValue456\n",
            fake.url,
            script.display()
        ),
    )
    .unwrap();
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        s.kube
            .errors
            .values()
            .any(|e| e.contains("credential plugin"))
    })
    .await;
    assert!(ok, "{:?}", st.kube.errors);
    let e = st.kube.errors.values().next().unwrap().clone();
    assert!(
        e.contains("credential plugin exited 1: login required"),
        "{e}"
    );
    let s = screen(&st, 200, 30);
    for secret in [
        "ArgSecret987x",
        "FlagValueSecret321",
        "EnvSecretValue456",
        "KUBERNETES_EXEC_INFO",
    ] {
        assert!(
            !s.contains(secret) && !e.contains(secret),
            "{secret}:\n{s}\n{e}"
        );
    }
}

/// A kubeconfig whose user is an OIDC auth-provider (kube's `oidc`
/// feature): its id-token is sent, and its refresh token and client secret,
/// were a server to reflect them, are masked on screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_auth_provider_works_and_its_secrets_are_masked() {
    // header.payload.signature; exp 2100-01-01 (kube-rs reads it, not the signature)
    const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoib25jYWxsIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-oidc");
    // the server requires the id-token
    let _ = fake.kubeconfig(&dir, Some(ID_TOKEN));
    let cfg = dir.join("kubeconfig-oidc");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: oidc\n    namespace: shop\nusers:\n- name: oidc\n  user:\n    auth-provider:\n      name: oidc\n      config:\n        client-id: watchfloor\n        client-secret: OidcClientSecret77\n        id-token: {ID_TOKEN}\n        idp-issuer-url: https://issuer.example\n        refresh-token: OidcRefreshTok88\n",
            fake.url
        ),
    )
    .unwrap();
    let mut p = healthy_pod();
    p["spec"]["nodeName"] = json!("OidcRefreshTok88");
    fake.put_pod("shop", "api-1", p);
    fake.put_event(
        "shop",
        "api-1.1",
        warning(
            "api-1",
            "BackOff",
            "client-secret OidcClientSecret77 rejected",
            1,
        ),
    );
    let mut st = kube_state("shop");
    let (mut tasks, mut rx) = start(&mut st, cfg);
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        s.kube.pods.len() == 1 && !s.kube.events.is_empty()
    })
    .await;
    assert!(ok, "{:?}", st.kube.errors);
    assert_eq!(fake.last_token().as_deref(), Some(ID_TOKEN));
    let s = screen(&st, 200, 30);
    assert!(s.contains("api-1") && s.contains("rejected"), "{s}");
    for secret in ["OidcRefreshTok88", "OidcClientSecret77"] {
        assert!(!s.contains(secret), "{secret}:\n{s}");
    }
}

/// `watchfloor exec-credential -- PLUGIN ARGS`: the plugin's stdout and
/// exit status pass through (kube-rs reads them), its stderr goes to the
/// log file, and a failing plugin's last words to stderr.
#[test]
fn the_credential_wrapper_passes_stdout_and_status_and_logs_stderr() {
    let dir = common::tempdir("kube-wrapper");
    let log = dir.join("wf.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("--log-file")
        .arg(&log)
        .args(["exec-credential", "--", "sh", "-c"])
        .arg("cat; echo '{\"kind\":\"ExecCredential\"}'; echo 'opening browser' >&2; echo 'no session' >&2; exit 3")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"from stdin\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_eq!(stdout, "from stdin\n{\"kind\":\"ExecCredential\"}\n");
    // failing: the last words on stderr too, for kube-rs's error
    assert!(stderr.contains("no session"), "{stderr}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("credential plugin sh: opening browser")
            && logged.contains("credential plugin sh: no session"),
        "{logged}"
    );
}

/// The pods are listed in pages (500 a page here, as the API server may
/// cut them): the container that terminated last is read even when its pod
/// is on the last page, and only five container logs are opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_logs_choose_across_list_pages() {
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-logs-pages");
    let cfg = fake.kubeconfig(&dir, None);
    for i in 0..620 {
        fake.put_pod("shop", &format!("p-{i:03}"), healthy_pod());
    }
    let mut crashed = oom_pod();
    crashed["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"] =
        json!("2026-12-06T02:00:00Z");
    fake.put_pod("shop", "p-611", crashed);
    fake.add_log("shop", "p-611", "api", false, "from the last page");
    fake.add_log("shop", "p-000", "api", false, "from the first page");
    fake.add_log("shop", "p-300", "api", false, "from the middle");
    let (mut st, backends) = logs_state(cfg);
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));
    let has = |s: &State, t: &str| ring_texts(s).iter().any(|x| x == t);
    let ok = common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
        has(s, "from the last page") && has(s, "from the first page")
    })
    .await;
    assert!(ok, "{:?} {:?}", ring_texts(&st), st.logs.common.health);
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .any(|r| r.contains("/pods?") && r.contains("continue=")),
        "not paged: {:?}",
        reqs.iter()
            .filter(|r| r.contains("/pods?"))
            .collect::<Vec<_>>()
    );
    // five: p-611 (terminated last), then by name p-000 … p-003; not p-300
    assert!(!has(&st, "from the middle"), "{:?}", ring_texts(&st));
}

/// `L` on the Kubernetes pane: the killed pod's logs around the kill,
/// paused, read from the API: its previous instance's last lines (marked
/// as such) and the new instance's first; lines of other moments and of
/// the other pod are not there. Esc goes back to every pod, live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l_on_a_kill_shows_that_pods_logs_around_it_with_its_previous_instance() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let fake = FakeKube::start().await;
    let dir = common::tempdir("kube-logs-kill");
    let cfg = fake.kubeconfig(&dir, None);
    let now_s = chrono::Utc::now().timestamp();
    let kill_s = now_s - 300;
    let rfc = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    fake.put_pod(
        "shop",
        "api-1",
        pod(
            &[(
                "api",
                json!({"restartCount": 1, "ready": true,
                    "state": {"running": {"startedAt": rfc(kill_s + 2)}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                        "startedAt": rfc(kill_s - 3600), "finishedAt": rfc(kill_s)}}}),
            )],
            "Running",
        ),
    );
    fake.put_pod("shop", "api-2", healthy_pod());
    let ns = |s: i64| s * 1_000_000_000;
    for (p, prev, at, text) in [
        ("api-1", true, kill_s - 600, "long before the kill"),
        ("api-1", true, kill_s - 20, "heap at 2.0G before the kill"),
        ("api-1", false, kill_s + 10, "booted again after the kill"),
        ("api-1", false, now_s - 5, "much later"),
        ("api-2", false, kill_s, "the other pod"),
    ] {
        fake.add_log_at("shop", p, "api", prev, ns(at), text);
    }
    let (mut st, mut backends) = logs_state(cfg.clone());
    watchfloor::app::run::configure_kube(&mut st, None, false);
    backends.kube = Some(KubeBackend::Api(KubeOptions {
        kubeconfig: Some(cfg),
        ..Default::default()
    }));
    update::update(&mut st, Event::Resize(160, 45));
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Tasks::new(backends, tx, 1.0);
    tasks.exec(update::start(&mut st));
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            s.marks.iter().any(|m| m.pod == "api-1" && m.oom)
                && s.logs.mode == watchfloor::features::logs::TailMode::Tailing
        })
        .await,
        "marks {:?}",
        st.marks
    );
    let before = st.target.clone();
    st.ui.focused = watchfloor::app::state::Focus::Kube;
    let key = |st: &mut State, c: char| {
        update::update(
            st,
            Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        )
        .0
    };
    tasks.exec(key(&mut st, 'L'));
    assert_eq!(st.target.pod.as_deref(), Some("api-1"));
    assert_eq!(st.target.pinned_end_ms, Some((kill_s + 30) * 1000));
    let has = |s: &State, t: &str| ring_texts(s).iter().any(|x| x == t);
    assert!(
        common::drive(&mut st, &mut tasks, &mut rx, WAIT, |s| {
            has(s, "heap at 2.0G before the kill") && has(s, "booted again after the kill")
        })
        .await,
        "{:?} {:?}",
        ring_texts(&st),
        st.logs.common.health
    );
    for absent in ["long before the kill", "much later", "the other pod"] {
        assert!(!has(&st, absent), "{absent}: {:?}", ring_texts(&st));
    }
    let prev = st
        .logs
        .ring
        .lines()
        .find(|l| &*l.text == "heap at 2.0G before the kill")
        .unwrap();
    assert_eq!(prev.label("previous"), Some("true"));
    let (cmds, _) = update::update(
        &mut st,
        Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    tasks.exec(cmds);
    assert_eq!(st.target, before);
}
