//! Tests of the three demo stories: every query of every preset answers,
//! values are finite and consistent, stories are deterministic for a seed,
//! and each sick pod's incident happens.

use crate::dashboard::detect::detect;
use crate::dashboard::model::TargetVars;
use crate::dashboard::Dashboard;
use crate::demo::*;

/// Phase 0 of the cycle for seed 0 (1_700_000_040 % 120 == 0).
const T0: i64 = 1_700_000_040;
const PRESETS: [&str; 3] = ["beam", "go", "http"];

/// The stories' logs.
mod logs;

fn queries(preset: &str, pod: Option<&str>) -> Vec<ResolvedQuery> {
    let story = story_for(preset);
    Dashboard::builtin(story.dashboard())
        .unwrap()
        .resolve(&TargetVars {
            namespace: Some(story.namespace().into()),
            pod: pod.map(str::to_string),
            range_secs: 300,
            step_secs: 5,
            ..Default::default()
        })
        .unwrap()
}

fn query<'a>(qs: &'a [ResolvedQuery], key: &str) -> &'a ResolvedQuery {
    qs.iter()
        .find(|q| q.key == key)
        .unwrap_or_else(|| panic!("{key}"))
}

/// The single value of an unlabelled (combined) query at `t`.
fn one(d: &DemoSource, qs: &[ResolvedQuery], key: &str, t: i64) -> f64 {
    let s = d.evaluate(query(qs, key), &[t]);
    assert_eq!(s.len(), 1, "{key}: {s:?}");
    s[0].points[0].1
}

/// Instants over two cycles, and at the edges of the OOM, crashes, rollback.
fn instants() -> Vec<i64> {
    let mut v: Vec<i64> = (0..240).step_by(7).map(|s| T0 + s).collect();
    v.extend([0, 1, 39, 40, 41, 79, 80, 95, 96, 97, 119].map(|s| T0 + s));
    v
}

fn is_int(v: f64) -> bool {
    v.fract() == 0.0
}

/// Every query key of every preset returns series at every instant, for all
/// pods and for the sick pod alone, with finite non-negative values and the
/// labels its pane reads: `pod` for memory rows, `pod`/`container` for
/// restarts (plus `reason` for the last reason), and the query's `by` labels.
#[test]
fn every_query_of_every_preset_answers() {
    for preset in PRESETS {
        for seed in [0, 7] {
            let d = DemoSource::with_preset(seed, preset);
            for focus in [None, Some(d.story().sick_pod())] {
                for q in queries(preset, focus) {
                    for t in instants() {
                        let series = d.evaluate(&q, &[t]);
                        assert!(!series.is_empty(), "{preset} {} at {t}", q.key);
                        for s in &series {
                            let v = s.points[0].1;
                            assert!(v.is_finite() && v >= 0.0, "{preset} {} = {v}", q.key);
                            for b in &q.by {
                                assert!(s.labels.contains_key(b), "{preset} {} {b}", q.key);
                            }
                            let need: &[&str] = match (q.pane.as_str(), q.role.name()) {
                                ("memory", _) => &["pod"],
                                ("restarts", "last_reason") => &["pod", "container", "reason"],
                                ("restarts", _) => &["pod", "container"],
                                _ => &[],
                            };
                            for l in need {
                                assert!(!s.label(l).is_empty(), "{preset} {} {l}", q.key);
                            }
                        }
                        if q.pane == "memory" && focus.is_none() {
                            assert_eq!(series.len(), d.story().pods().len(), "{}", q.key);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn range_queries_give_one_point_per_instant() {
    for preset in PRESETS {
        let d = DemoSource::with_preset(3, preset);
        let times: Vec<i64> = (0..60).map(|i| T0 + i * 5).collect();
        for q in queries(preset, None) {
            for s in d.evaluate(&q, &times) {
                assert_eq!(s.points.len(), times.len(), "{preset} {}", q.key);
            }
        }
    }
}

#[test]
fn deterministic_for_a_seed_every_story() {
    for preset in PRESETS {
        let (a, b, c) = (
            DemoSource::with_preset(7, preset),
            DemoSource::with_preset(7, preset),
            DemoSource::with_preset(8, preset),
        );
        let times: Vec<i64> = (0..40).map(|i| T0 + i * 3).collect();
        let mut differs = false;
        for q in queries(preset, None) {
            let (x, y, z) = (
                a.evaluate(&q, &times),
                b.evaluate(&q, &times),
                c.evaluate(&q, &times),
            );
            assert_eq!(x, y, "{preset} {}", q.key);
            differs |= x != z;
        }
        assert!(differs, "{preset}: seeds 7 and 8 give the same demo");
    }
}

#[test]
fn new_is_beam_and_unknown_presets_are_beam() {
    assert_eq!(DemoSource::new(1).story().preset(), "beam");
    assert_eq!(DemoSource::with_preset(1, "go").story().preset(), "go");
    assert_eq!(DemoSource::with_preset(1, "http").story().preset(), "http");
    assert_eq!(
        DemoSource::with_preset(1, "./my-board.toml")
            .story()
            .preset(),
        "beam"
    );
    assert_eq!(namespace_for(None), NAMESPACE);
    assert_eq!(namespace_for(Some("go")), go::NAMESPACE);
}

#[test]
fn inventory_picks_the_story_preset() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let presets = Dashboard::builtins();
    for preset in PRESETS {
        let inv = rt
            .block_on(DemoSource::with_preset(0, preset).inventory(&[]))
            .unwrap();
        let d = detect(&presets, &inv, None).unwrap();
        assert_eq!(d.dashboard_name(), story_for(preset).dashboard());
        assert_eq!(d.preset, preset);
    }
}

/// A focus on one pod keeps only its rows; another namespace has no pods
/// (node metrics are not namespaced); the default demo namespace is accepted.
#[test]
fn focus_selects_pod_and_namespace() {
    let d = DemoSource::with_preset(0, "go");
    let qs = queries("go", Some(go::SICK));
    let ws = d.evaluate(query(&qs, "memory.working_set"), &[T0]);
    assert_eq!(ws.len(), 1);
    assert_eq!(ws[0].label("pod"), go::SICK);
    let mut q = query(&qs, "memory.working_set").clone();
    q.target_namespace = Some("elsewhere".into());
    assert!(d.evaluate(&q, &[T0]).is_empty());
    q.target_namespace = Some(NAMESPACE.into());
    assert_eq!(d.evaluate(&q, &[T0]).len(), 1);
    let h = DemoSource::with_preset(0, "http");
    let mut q = query(&queries("http", None), "scheduler.node_mem").clone();
    q.target_namespace = Some("elsewhere".into());
    assert_eq!(h.evaluate(&q, &[T0]).len(), 1);
}

/// go invariants, per pod: working set ≤ limit; heap + stacks + other = Go
/// sys ≤ working set; unexplained = working set − sys; rss + cache = working
/// set; goroutines, threads, concurrent, websockets, pool connections,
/// builds and restarts are integers; in use ≤ max open; requests by code add
/// up to the request rate; recent restarts ≤ total. Combined: pool ratio =
/// Σ in use / Σ max open; p50 ≤ p95 ≤ p99 of API, DB and scheduler latency.
#[test]
fn go_values_are_consistent() {
    let d = DemoSource::with_preset(0, "go");
    let qs = queries("go", None);
    for t in instants() {
        let mut in_use = 0.0;
        for pod in go::PODS {
            let s = d.go_sample(pod, t);
            assert!(s.working_set <= s.limit, "{pod} {t}");
            assert!(s.sys <= s.working_set, "{pod} {t}");
            assert!(s.other() > 0.0 && s.unexplained() >= 0.0);
            let parts = s.heap_inuse + s.stack_inuse + s.other();
            assert!((parts - s.sys).abs() < 1.0);
            assert!((s.unexplained() - (s.working_set - s.sys)).abs() < 1.0);
            assert!((s.rss() + s.cache() - s.working_set).abs() < 1.0);
            for v in [s.goroutines, s.threads, s.concurrent, s.websockets] {
                assert!(is_int(v) && v >= 0.0, "{pod} {t}: {v}");
            }
            assert!(s.concurrent >= s.stuck);
            assert!(is_int(s.pool_in_use) && s.pool_in_use <= s.pool_max_open);
            assert!(s.builds.iter().all(|b| is_int(*b)));
            let by_code: f64 = s.requests_by_code().iter().map(|c| c.1).sum();
            assert!((by_code - s.api_rate).abs() < 1e-9);
            assert!(s.requests_by_code().iter().all(|c| c.1 >= 0.0));
            let (total, recent, _) = d.go_restarts(pod, t);
            assert!(is_int(total) && is_int(recent) && recent <= total);
            in_use += s.pool_in_use;
        }
        let pool = one(&d, &qs, "admission.pool", t);
        assert!((pool - in_use / (3.0 * go::MAX_OPEN)).abs() < 1e-12);
        let codes = d.evaluate(query(&qs, "admission.requests_by_code"), &[t]);
        let rate: f64 = go::PODS.iter().map(|p| d.go_sample(p, t).api_rate).sum();
        let summed: f64 = codes.iter().map(|s| s.points[0].1).sum();
        assert!((summed - rate).abs() < 1e-9);
        assert!(is_int(one(&d, &qs, "scheduler.goroutines", t)));
        let merged = |f: &dyn Fn(&go::GoSample) -> Vec<Lognormal>| -> Vec<Lognormal> {
            go::PODS
                .iter()
                .flat_map(|p| f(&d.go_sample(p, t)))
                .collect()
        };
        for comps in [
            merged(&|s| s.api.to_vec()),
            merged(&|s| s.db.to_vec()),
            merged(&|s| vec![s.sched]),
        ] {
            let (p50, p95, p99) = (
                quantile(0.5, &comps),
                quantile(0.95, &comps),
                quantile(0.99, &comps),
            );
            assert!(p50 <= p95 && p95 <= p99, "{t}: {p50} {p95} {p99}");
        }
        assert!(
            (one(&d, &qs, "admission.api_p95", t) - quantile(0.95, &merged(&|s| s.api.to_vec())))
                .abs()
                < 1e-9
        );
    }
}

/// coderd-1's goroutines and heap climb (goroutines at the end of the
/// build-up > 3× the start), its pool saturates (in use = max open, waits
/// rising), GC pause, scheduler latency and API p95 cross their thresholds,
/// the container reaches its limit, is OOMKilled and restarts; the other
/// pods keep few goroutines.
#[test]
fn go_sick_pod_leaks_until_oom_killed() {
    let d = DemoSource::with_preset(0, "go");
    let (start, mid, late, after) = (
        d.go_sample(go::SICK, T0),
        d.go_sample(go::SICK, T0 + 60),
        d.go_sample(go::SICK, T0 + 95),
        d.go_sample(go::SICK, T0 + 100),
    );
    assert!(late.goroutines > 3.0 * start.goroutines, "{late:?}");
    assert!(late.heap_inuse > 5.0 * start.heap_inuse);
    assert!(
        late.working_set >= 0.98 * LIMIT_BYTES,
        "{}",
        late.working_set / MIB
    );
    assert!(after.working_set < 0.5 * LIMIT_BYTES);
    assert_eq!(mid.pool_in_use, mid.pool_max_open);
    assert_eq!(late.pool_in_use, late.pool_max_open);
    assert!(late.pool_waits > mid.pool_waits && mid.pool_waits > 1.0);
    assert!(late.gc_pause_max > 20.0 * start.gc_pause_max);
    let (k95, k100) = (
        d.go_restarts(go::SICK, T0 + 95),
        d.go_restarts(go::SICK, T0 + 100),
    );
    assert_eq!(k100.0, k95.0 + 1.0);
    assert_eq!(k100.2, Some("OOMKilled"));
    assert!(k100.1 >= 7.0, "{k100:?}");
    let qs = queries("go", None);
    let api = query(&qs, "admission.api_p95");
    assert!(one(&d, &qs, "admission.api_p95", T0 + 90) > api.crit.unwrap());
    assert!(one(&d, &qs, "admission.api_p95", T0 + 5) < api.warn.unwrap());
    let sched = query(&qs, "scheduler.sched_p95");
    assert!(one(&d, &qs, "scheduler.sched_p95", T0 + 90) > sched.warn.unwrap());
    assert!(one(&d, &qs, "scheduler.sched_p95", T0 + 5) < sched.warn.unwrap());
    let gor = query(&qs, "scheduler.goroutines");
    assert!(one(&d, &qs, "scheduler.goroutines", T0 + 90) > gor.warn.unwrap());
    assert!(one(&d, &qs, "scheduler.goroutines", T0 + 5) < gor.warn.unwrap());
    let pool = query(&qs, "admission.pool");
    assert!(one(&d, &qs, "admission.pool", T0 + 90) > pool.warn.unwrap());
    let sick_pool = queries("go", Some(go::SICK));
    assert_eq!(one(&d, &sick_pool, "admission.pool", T0 + 60), 1.0);
    for pod in ["coderd-2", "coderd-3"] {
        assert!(d.go_sample(pod, T0 + 95).goroutines < 2000.0);
    }
    // the agents come back to coderd-1 within 30 s of the restart
    assert!(d.go_sample(go::SICK, T0 + 97).websockets < 20.0);
    assert_eq!(d.go_sample(go::SICK, T0 + 10).websockets, 140.0);
}

/// http invariants: the 5xx ratio = Σ 5xx / Σ requests and lies in [0, 1];
/// p50 ≤ p95 ≤ p99; throttled ratio = Σ throttled / Σ periods in [0, 1];
/// node CPU busy in [0, 1]; node memory available in (0, node memory);
/// working set ≤ limit, rss + cache = working set; DB connections integers
/// ≤ max; CPU ≤ 1 core per pod; restarts integers with recent ≤ total.
#[test]
fn http_values_are_consistent() {
    let d = DemoSource::with_preset(0, "http");
    let qs = queries("http", None);
    for t in instants() {
        let (mut errors, mut rate, mut thr, mut per) = (0.0, 0.0, 0.0, 0.0);
        for pod in http::PODS {
            let s = d.http_sample(pod, t);
            assert!(s.working_set <= s.limit && s.working_set > 0.0);
            assert!((s.rss() + s.cache() - s.working_set).abs() < 1.0);
            assert!(is_int(s.pool_used) && s.pool_used <= s.pool_max);
            assert!(s.cpu <= 1.0 && s.throttled <= s.periods);
            assert!(s.errors <= s.rate);
            let (total, recent, _) = d.http_restarts(pod, t);
            assert!(is_int(total) && is_int(recent) && recent <= total);
            errors += s.errors;
            rate += s.rate;
            thr += s.throttled;
            per += s.periods;
        }
        let ratio = one(&d, &qs, "admission.error_ratio", t);
        assert!((ratio - errors / rate).abs() < 1e-12 && (0.0..=1.0).contains(&ratio));
        assert!((one(&d, &qs, "admission.rate", t) - rate).abs() < 1e-9);
        let throttled = one(&d, &qs, "scheduler.throttled", t);
        assert!((throttled - thr / per).abs() < 1e-12 && throttled <= 1.0);
        let (p50, p95, p99) = (
            one(&d, &qs, "admission.p50", t),
            one(&d, &qs, "admission.p95", t),
            one(&d, &qs, "admission.p99", t),
        );
        assert!(p50 <= p95 && p95 <= p99, "{t}: {p50} {p95} {p99}");
        assert!((0.0..=1.0).contains(&one(&d, &qs, "scheduler.node_cpu", t)));
        let avail = one(&d, &qs, "scheduler.node_mem", t);
        assert!(avail > 0.0 && avail < http::NODE_MEMORY);
        assert!(one(&d, &qs, "admission.db_pool", t) <= 1.0);
    }
}

/// During the bad deploy the 5xx ratio, p95 and throttling exceed the
/// preset's crit thresholds, the DB pool is full, node memory runs low, and
/// checkout-3 restarts at each crash with reason Error; after the rollback
/// everything is back under warn.
#[test]
fn http_bad_deploy_then_rollback() {
    let d = DemoSource::with_preset(0, "http");
    let qs = queries("http", None);
    for key in [
        "admission.error_ratio",
        "admission.p95",
        "scheduler.throttled",
    ] {
        let q = query(&qs, key);
        assert!(one(&d, &qs, key, T0 + 90) > q.crit.unwrap(), "{key}");
        assert!(one(&d, &qs, key, T0 + 5) < q.warn.unwrap(), "{key}");
        assert!(one(&d, &qs, key, T0 + 119) < q.warn.unwrap(), "{key}");
    }
    assert!(one(&d, &qs, "admission.p99", T0 + 90) > one(&d, &qs, "admission.p95", T0 + 90));
    let sick = queries("http", Some(http::SICK));
    assert_eq!(one(&d, &sick, "admission.db_pool", T0 + 90), 1.0);
    assert!(one(&d, &qs, "admission.db_pool", T0 + 90) > 0.9);
    let avail = |s: i64| one(&d, &qs, "scheduler.node_mem", T0 + s);
    assert!(avail(90) < 4.0 * GIB_F && avail(5) > 20.0 * GIB_F);
    for c in http::CRASHES_AT {
        let (before, after) = (
            d.http_restarts(http::SICK, T0 + c - 1),
            d.http_restarts(http::SICK, T0 + c),
        );
        assert_eq!(after.0, before.0 + 1.0);
        assert_eq!(after.2, Some("Error"));
    }
    let (_, recent, _) = d.http_restarts(http::SICK, T0 + 100);
    let recent_q = query(&qs, "restarts.recent");
    assert!(recent > recent_q.crit.unwrap());
    assert_eq!(d.http_restarts("checkout-1", T0 + 100).0, 0.0);
}

const GIB_F: f64 = 1024.0 * MIB;

#[test]
fn quantile_of_one_lognormal_is_exact() {
    let c = [Lognormal {
        weight: 3.0,
        median: 0.2,
        sigma: 0.5,
    }];
    assert!((quantile(0.5, &c) - 0.2).abs() < 1e-6);
    // z(0.95) = 1.6449
    assert!((quantile(0.95, &c) - 0.2 * (0.5f64 * 1.644_854).exp()).abs() < 1e-5);
    assert!(quantile(0.95, &[]).is_nan());
}

/// No pod's total restarts is ever below its restarts of the last 15
/// minutes, in any story, at any time of the hour.
#[test]
fn total_restarts_never_below_the_last_15_minutes() {
    for preset in ["beam", "go", "http"] {
        let d = DemoSource::with_preset(0, preset);
        let qs = queries(preset, None);
        let total = qs
            .iter()
            .find(|q| q.key.ends_with("restarts.total") || q.key.ends_with(".total"))
            .filter(|q| q.key.contains("restart"));
        let recent = qs
            .iter()
            .find(|q| q.key.contains("restart") && q.key.ends_with("recent"));
        let (Some(total), Some(recent)) = (total, recent) else {
            panic!(
                "{preset}: no restart queries in {:?}",
                qs.iter().map(|q| &q.key).collect::<Vec<_>>()
            );
        };
        // every 5 minutes over two hours, from the top of an hour
        let base = T0 - T0.rem_euclid(3600);
        let times: Vec<i64> = (0..24).map(|i| base + i * 300 + 7).collect();
        let t_series = d.evaluate(total, &times);
        let r_series = d.evaluate(recent, &times);
        for t in &t_series {
            let pod = t.labels.get("pod").cloned().unwrap_or_default();
            let r = r_series
                .iter()
                .find(|r| r.labels.get("pod") == Some(&pod))
                .unwrap_or_else(|| panic!("{preset} {pod}: no recent series"));
            for ((ts, tv), (_, rv)) in t.points.iter().zip(r.points.iter()) {
                assert!(tv >= rv, "{preset} {pod} at {ts}: total {tv} < 15m {rv}");
            }
        }
    }
}

/// `LAST TERMINATED … ago`: the sick pod's container last terminated at
/// the second its restart count went up, never in the future, and the
/// count has not moved since; a pod without a last reason has no time.
#[test]
fn the_last_termination_is_when_the_count_last_went_up() {
    for preset in PRESETS {
        let d = DemoSource::with_preset(0, preset);
        let sick = d.story().sick_pod();
        let qs = queries(preset, Some(sick));
        let total = |t: i64| one(&d, &qs, "restarts.total", t);
        for t in instants() {
            let s = d.evaluate(query(&qs, "restarts.last_terminated_at"), &[t]);
            assert_eq!(s.len(), 1, "{preset} at {t}: {s:?}");
            assert_eq!(s[0].label("pod"), sick);
            let at = s[0].points[0].1 as i64;
            assert!(at <= t, "{preset}: terminated at {at}, after {t}");
            if t - at < 2 * PERIOD_SECS {
                assert!(total(at) > total(at - 1), "{preset}: no restart at {at}");
                assert_eq!(total(at), total(t), "{preset}: a restart after {at}");
            }
        }
        // every row with a last reason has a time, and only those
        let all = queries(preset, None);
        let t = T0 + 90;
        let reasons = d.evaluate(query(&all, "restarts.last_reason"), &[t]);
        let times = d.evaluate(query(&all, "restarts.last_terminated_at"), &[t]);
        let pods = |v: &[Series]| {
            let mut p: Vec<String> = v.iter().map(|s| s.label("pod").to_string()).collect();
            p.sort();
            p
        };
        assert_eq!(pods(&reasons), pods(&times), "{preset}");
    }
}

/// The demo's cluster agrees with its metrics: each pod's restart count,
/// last reason and its time are the metrics' own; the sick pod waits in
/// CrashLoopBackOff right after a kill and runs again later; an OOM kill
/// raises an OOMKilling warning at that second and a BackOff on the pod.
#[test]
fn the_demo_cluster_matches_the_metrics() {
    for preset in PRESETS {
        let d = DemoSource::with_preset(0, preset);
        let sick = d.story().sick_pod();
        let qs = queries(preset, Some(sick));
        for t in instants() {
            let pods = cluster::pods(&d, t);
            assert_eq!(pods.len(), d.story().pods().len(), "{preset}");
            let p = pods.iter().find(|p| p.name == sick).unwrap();
            assert_eq!(
                p.restarts() as f64,
                one(&d, &qs, "restarts.total", t),
                "{preset} {t}"
            );
            let (_, term) = p.last_terminated().expect("the sick pod was killed");
            let at = term.finished_ms.unwrap() / 1000;
            let s = d.evaluate(query(&qs, "restarts.last_terminated_at"), &[t]);
            assert_eq!(at as f64, s[0].points[0].1, "{preset} {t}");
            let waiting = p.containers[0].waiting.as_deref();
            if term.exit_code != 0 && t - at < 10 {
                assert_eq!(waiting, Some("CrashLoopBackOff"), "{preset} {t}");
                assert!(!p.containers[0].ready);
            } else {
                assert_eq!(waiting, None, "{preset} {t}");
            }
            let evs = cluster::events(&d, t);
            let backoff = evs
                .iter()
                .find(|e| e.reason == "BackOff" && e.pod.as_deref() == Some(sick))
                .unwrap_or_else(|| panic!("{preset} {t}: {evs:?}"));
            assert!(backoff.warning && backoff.last_ms >= at * 1000);
            let oom = evs.iter().find(|e| e.reason == "OOMKilling");
            assert_eq!(oom.is_some(), term.is_oom(), "{preset} {t}: {evs:?}");
            if let Some(o) = oom {
                assert_eq!(o.last_ms, at * 1000);
            }
        }
        // metrics-server's working set is the metrics' working set
        let t = T0 + 90;
        let u = cluster::usage(&d, t);
        let ws = d.evaluate(query(&qs, "memory.working_set"), &[t]);
        let mine = u.iter().find(|u| u.pod == sick).unwrap();
        assert_eq!(mine.memory, ws[0].points[0].1, "{preset}");
    }
}
