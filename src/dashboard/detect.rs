//! Which preset fits, per job: each preset is scored against the metric
//! names each job exposes, the best-covered job in scope wins, and the
//! choice explains itself (which signals were found, which are missing and
//! which collector would provide them). Label names are chosen from those
//! that exist (`pod`, `pod_name`, `kubernetes_pod_name`, else `instance`).

use std::collections::{BTreeMap, BTreeSet};

use crate::dashboard::model::Dashboard;
use crate::dashboard::signals::{collector, display_name, is_pattern, metric_names, name_matches};

/// What a Prometheus has that matters to the presets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// Per job, the preset-relevant metric names it exposes.
    pub jobs: BTreeMap<String, BTreeSet<String>>,
    /// Every label name.
    pub labels: BTreeSet<String>,
    /// Every job (for completion), capped.
    pub all_jobs: Vec<String>,
}

impl Inventory {
    /// Every name any job exposes.
    pub fn names(&self) -> BTreeSet<&str> {
        self.jobs
            .values()
            .flat_map(|s| s.iter().map(String::as_str))
            .collect()
    }
}

/// The choice and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub preset: String,
    /// The preset's variant the job fits (`codex-pooler`), if any.
    pub variant: Option<String>,
    /// The job the dashboard was scoped to (None: every job).
    pub job: Option<String>,
    /// Detect names of the preset the job exposes, of how many.
    pub score: (usize, usize),
    /// Signals (queries) with at least one convention whose metrics exist.
    pub found: usize,
    pub total: usize,
    /// "working set: container_memory_working_set_bytes (cAdvisor)".
    pub missing: Vec<String>,
    /// Label variables chosen from what exists (`pod_label` → `instance`).
    pub labels: BTreeMap<String, String>,
}

/// Every metric name the presets can use: their detect lists and every
/// name any query's conventions select, with name patterns (`.+_suffix`,
/// `prefix_.+`) as they are: the inventory asks for all of them in one
/// anchored regex, so PromEx's `<app>_prom_ex_beam_*` is found too.
pub fn wanted_names(presets: &[Dashboard]) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for d in presets {
        out.extend(d.detect.iter().cloned());
        for v in &d.variants {
            out.extend(v.detect.iter().cloned());
        }
        for q in resolved(d) {
            for e in &q.alternatives {
                out.extend(metric_names(e));
            }
        }
    }
    out.into_iter().collect()
}

/// The metric names of a dashboard's first convention for every query, and
/// its detect names: what a service written for that preset exposes.
pub fn first_convention_names(d: &Dashboard) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = d.detect.iter().cloned().collect();
    for q in resolved(d) {
        if let Some(e) = q.alternatives.first() {
            out.extend(metric_names(e));
        }
    }
    out
}

/// The dashboard's queries with its own variables filled in (metric names
/// such as `$ws_metric` become real names), for any target.
fn resolved(d: &Dashboard) -> Vec<crate::dashboard::model::ResolvedQuery> {
    d.resolve(&crate::dashboard::model::TargetVars {
        range_secs: 3600,
        step_secs: 15,
        ..Default::default()
    })
    .unwrap_or_default()
}

/// Label variables from what exists: the first candidate present wins.
pub fn choose_labels(labels: &BTreeSet<String>) -> BTreeMap<String, String> {
    let pick = |cands: &[&str], fallback: &str| {
        cands
            .iter()
            .find(|c| labels.contains(**c))
            .copied()
            .unwrap_or(fallback)
            .to_string()
    };
    let mut v = BTreeMap::new();
    if labels.is_empty() {
        return v;
    }
    v.insert(
        "pod_label".into(),
        pick(&["pod", "pod_name", "kubernetes_pod_name"], "instance"),
    );
    v.insert(
        "namespace_label".into(),
        pick(
            &["namespace", "kubernetes_namespace", "exported_namespace"],
            "namespace",
        ),
    );
    v.insert(
        "container_label".into(),
        pick(&["container", "container_name"], "container"),
    );
    v
}

/// Scores every (preset, job) in scope; the best wins, ties to the earlier
/// preset. `scope_job`: only that job counts. None when no preset's detect
/// names exist anywhere in scope.
pub fn detect(
    presets: &[Dashboard],
    inv: &Inventory,
    scope_job: Option<&str>,
) -> Option<Detection> {
    let mut best: Option<(usize, usize, &Dashboard, &str)> = None; // (score, -order)
    for (order, d) in presets.iter().enumerate() {
        for (job, names) in &inv.jobs {
            if scope_job.is_some_and(|j| j != job) {
                continue;
            }
            let score = d.detect.iter().filter(|m| exposes(names, m)).count();
            let better = match best {
                None => score > 0,
                Some((s, o, _, _)) => score > s || (score == s && order < o && score > 0),
            };
            if better {
                best = Some((score, order, d, job));
            }
        }
    }
    let (score, _, d, job) = best?;
    let names = &inv.jobs[job];
    let variant = d
        .variants
        .iter()
        .find(|v| v.detect.iter().any(|m| exposes(names, m)))
        .map(|v| v.name.clone());
    let (found, total, missing) = coverage(&d.clone().with_variant(variant.as_deref()), inv);
    Some(Detection {
        preset: d.name.clone(),
        variant,
        job: Some(job.to_string()),
        score: (score, d.detect.len()),
        found,
        total,
        missing,
        labels: choose_labels(&inv.labels),
    })
}

impl Detection {
    /// The built-in to load: `beam` or `beam/codex-pooler`.
    pub fn dashboard_name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{v}", self.preset),
            None => self.preset.clone(),
        }
    }
}

/// Whether a job's names include `wanted`: the name itself, or for a
/// pattern (`.+_prom_ex_beam_memory_allocated_bytes`) any name it matches.
fn exposes(names: &BTreeSet<String>, wanted: &str) -> bool {
    names.contains(wanted) || (is_pattern(wanted) && names.iter().any(|n| name_matches(wanted, n)))
}

/// How many of a dashboard's signals can be filled from what exists, and
/// for the others what they need.
pub fn coverage(d: &Dashboard, inv: &Inventory) -> (usize, usize, Vec<String>) {
    let have = inv.names();
    let has =
        |n: &str| have.contains(n) || (is_pattern(n) && have.iter().any(|h| name_matches(n, h)));
    let (mut found, mut total, mut missing) = (0, 0, Vec::new());
    for q in resolved(d) {
        total += 1;
        let ok = q.alternatives.iter().any(|e| {
            let names = metric_names(e);
            // a regex selector names nothing plainly: count it as possible
            names.is_empty() || names.iter().all(|n| has(n))
        });
        if ok {
            found += 1;
        } else {
            let need: Vec<String> = q
                .alternatives
                .iter()
                .filter_map(|e| metric_names(e).into_iter().find(|n| !has(n)))
                .map(|n| format!("{} ({})", display_name(&n), collector(&n)))
                .collect();
            missing.push(format!("{}: {}", q.label.trim(), need.join(" or ")));
        }
    }
    (found, total, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(jobs: &[(&str, &[&str])], labels: &[&str]) -> Inventory {
        Inventory {
            jobs: jobs
                .iter()
                .map(|(j, n)| (j.to_string(), n.iter().map(|s| s.to_string()).collect()))
                .collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            all_jobs: vec![],
        }
    }

    #[test]
    fn each_job_is_scored_on_its_own_names() {
        let p = Dashboard::builtins();
        // Prometheus's own go_* metrics must not hide the BEAM service
        let i = inv(
            &[
                (
                    "prometheus",
                    &[
                        "go_goroutines",
                        "go_memstats_heap_inuse_bytes",
                        "go_threads",
                    ],
                ),
                (
                    "rabbitmq",
                    &[
                        "erlang_vm_memory_bytes_total",
                        "erlang_vm_process_count",
                        "erlang_vm_port_count",
                        "erlang_vm_statistics_run_queues_length",
                    ],
                ),
            ],
            &["instance", "job"],
        );
        let d = detect(&p, &i, Some("rabbitmq")).unwrap();
        assert_eq!(
            (d.preset.as_str(), d.job.as_deref()),
            ("beam", Some("rabbitmq"))
        );
        let d = detect(&p, &i, Some("prometheus")).unwrap();
        assert_eq!(d.preset, "go");
        // unscoped: the best-covered job wins
        let d = detect(&p, &i, None).unwrap();
        assert_eq!(d.job.as_deref(), Some("rabbitmq"), "{d:?}");
        assert!(d.found < d.total && !d.missing.is_empty());
        assert!(
            d.missing.iter().any(|m| m.contains("(cAdvisor)")),
            "{:?}",
            d.missing
        );
        // without pod labels the pod is the instance
        assert_eq!(d.labels["pod_label"], "instance");
        assert!(detect(&p, &inv(&[("x", &["up"])], &[]), None).is_none());
    }

    /// RabbitMQ (prometheus.erl) gets the generic BEAM dashboard: no
    /// Codex Pooler gateway rows counted as missing; the gateway's own names
    /// choose its variant. Likewise Prometheus (Go) without coderd's rows.
    #[test]
    fn a_generic_service_gets_the_generic_variant() {
        let p = Dashboard::builtins();
        let rabbit = [
            "erlang_vm_memory_bytes_total",
            "erlang_vm_process_count",
            "erlang_vm_statistics_run_queues_length",
        ];
        let d = detect(&p, &inv(&[("rabbitmq", &rabbit)], &["instance"]), None).unwrap();
        assert_eq!((d.dashboard_name().as_str(), d.variant), ("beam", None));
        assert!(
            d.missing
                .iter()
                .all(|m| !m.contains("gateway_") && !m.contains("repo_query")),
            "{:?}",
            d.missing
        );
        let generic = Dashboard::builtin("beam").unwrap();
        let adm = generic.pane("admission").unwrap();
        assert!(adm.queries.iter().all(|q| q.variant.is_none()));
        assert!(!adm.queries.is_empty(), "HTTP rows stay");
        assert_eq!(adm.title, "Requests & latency");

        let mut pooler: Vec<&str> = rabbit.to_vec();
        pooler.push("codex_pooler_gateway_admission_enqueued_count");
        let d = detect(&p, &inv(&[("app", &pooler)], &["pod"]), None).unwrap();
        assert_eq!(d.dashboard_name(), "beam/codex-pooler");
        let full = Dashboard::builtin(&d.dashboard_name()).unwrap();
        assert_eq!(full.pane("admission").unwrap().title, "Admission & latency");
        assert!(full
            .pane("admission")
            .unwrap()
            .queries
            .iter()
            .any(|q| q.id == "enqueued"));
        assert_eq!(full.full_name(), "beam/codex-pooler");

        let prom = [
            "go_goroutines",
            "go_memstats_heap_inuse_bytes",
            "go_threads",
        ];
        let d = detect(&p, &inv(&[("prometheus", &prom)], &["instance"]), None).unwrap();
        assert_eq!(d.dashboard_name(), "go");
        assert!(
            d.missing
                .iter()
                .all(|m| !m.starts_with("concurrent") && !m.contains("coderd_db")),
            "{:?}",
            d.missing
        );
        let mut coder: Vec<&str> = prom.to_vec();
        coder.push("coderd_api_concurrent_requests");
        let d = detect(&p, &inv(&[("coder", &coder)], &["pod"]), None).unwrap();
        assert_eq!(d.dashboard_name(), "go/coderd");
        assert!(Dashboard::builtin("go/nope").is_none());
    }

    #[test]
    fn a_variant_row_must_name_a_declared_variant() {
        let src = r#"
name = "x"
[[panes]]
id = "a"
kind = "scheduler"
title = "A"
[[panes.queries]]
id = "q"
role = "row"
expr = "up"
variant = "ghost"
"#;
        let e = Dashboard::parse("x.toml", src).unwrap_err();
        assert!(e.contains("variant `ghost` is not declared"), "{e}");
        let ok = src.replace(
            "[[panes]]",
            "[[variants]]\nname = \"ghost\"\ndetect = [\"up\"]\n[[panes]]",
        );
        let d = Dashboard::parse("x.toml", &ok).unwrap();
        assert!(d.clone().with_variant(None).panes[0].queries.is_empty());
        assert_eq!(d.with_variant(Some("ghost")).panes[0].queries.len(), 1);
    }

    #[test]
    fn promex_names_are_found_by_their_pattern() {
        let p = Dashboard::builtins();
        let w = wanted_names(&p);
        assert!(w
            .iter()
            .any(|n| n == ".+_prom_ex_beam_memory_allocated_bytes"));
        let i = inv(
            &[
                (
                    "shop",
                    &[
                        "shop_prom_ex_beam_memory_allocated_bytes",
                        "shop_prom_ex_beam_stats_process_count",
                        "shop_prom_ex_beam_stats_run_queue_count",
                    ],
                ),
                ("api", &["http_server_requests_seconds_count"]),
            ],
            &["instance", "job"],
        );
        let d = detect(&p, &i, Some("shop")).unwrap();
        assert_eq!((d.preset.as_str(), d.score.0), ("beam", 3));
        // a missing PromEx signal names the convention as people write it
        assert!(
            d.missing.iter().all(|m| !m.contains(".+")),
            "{:?}",
            d.missing
        );
        assert_eq!(detect(&p, &i, Some("api")).unwrap().preset, "http");
    }

    #[test]
    fn wanted_names_cover_every_convention() {
        let w = wanted_names(&Dashboard::builtins());
        for n in [
            "container_memory_working_set_bytes",
            "vm_memory_total_bytes",
            "go_goroutines",
            "kube_pod_container_status_restarts_total",
        ] {
            assert!(w.iter().any(|x| x == n), "{n}");
        }
        assert!(w.iter().all(|n| !n.contains('$')));
    }

    #[test]
    fn label_names_follow_what_exists() {
        let l: BTreeSet<String> = [
            "kubernetes_pod_name",
            "kubernetes_namespace",
            "container_name",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = choose_labels(&l);
        assert_eq!(v["pod_label"], "kubernetes_pod_name");
        assert_eq!(v["namespace_label"], "kubernetes_namespace");
        assert_eq!(v["container_label"], "container_name");
    }
}
