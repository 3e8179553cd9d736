//! The Dashboard/Pane/Query model and its resolution against the focus.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::dashboard::vars::{interpolate, promql_regex_literal, Var};
use crate::text::units::Unit;

pub const PRESETS: [(&str, &str); 3] = [
    ("beam", include_str!("presets/beam.toml")),
    ("go", include_str!("presets/go.toml")),
    ("http", include_str!("presets/http.toml")),
];

/// The label names a dashboard may rename through `<name>_label` variables.
pub const LABEL_NAMES: [&str; 4] = ["pod", "namespace", "container", "job"];

/// Which widget draws a pane. One pane per file in `ui/panes/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaneKind {
    Memory,
    Scheduler,
    Restarts,
    Admission,
}

/// What a pane does with a query's series. Checked when a dashboard is
/// parsed: an unknown role, or one the pane's kind does not draw, is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    WorkingSet,
    Limit,
    Rss,
    Cache,
    RuntimeTotal,
    Category,
    Unexplained,
    Row,
    RestartsTotal,
    RestartsRecent,
    LastReason,
    /// When the container last terminated (unix seconds).
    LastTerminatedAt,
    Headline,
    Chart,
    Detail,
    /// How many series the query before it folds (aggregates or top-k's),
    /// shown as "N folded" under its rows.
    Folded,
}

impl Role {
    const NAMES: [(&'static str, Role); 16] = [
        ("working_set", Role::WorkingSet),
        ("limit", Role::Limit),
        ("rss", Role::Rss),
        ("cache", Role::Cache),
        ("runtime_total", Role::RuntimeTotal),
        ("category", Role::Category),
        ("unexplained", Role::Unexplained),
        ("row", Role::Row),
        ("restarts_total", Role::RestartsTotal),
        ("restarts_recent", Role::RestartsRecent),
        ("last_reason", Role::LastReason),
        ("last_terminated_at", Role::LastTerminatedAt),
        ("headline", Role::Headline),
        ("chart", Role::Chart),
        ("detail", Role::Detail),
        ("folded", Role::Folded),
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Role::NAMES.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }

    pub fn name(self) -> &'static str {
        Role::NAMES
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// The roles a pane of this kind draws.
    pub fn for_kind(kind: PaneKind) -> &'static [Role] {
        match kind {
            PaneKind::Memory => &[
                Role::WorkingSet,
                Role::Limit,
                Role::Rss,
                Role::Cache,
                Role::RuntimeTotal,
                Role::Category,
                Role::Unexplained,
            ],
            PaneKind::Scheduler => &[Role::Row],
            PaneKind::Restarts => &[
                Role::RestartsTotal,
                Role::RestartsRecent,
                Role::LastReason,
                Role::LastTerminatedAt,
            ],
            PaneKind::Admission => &[Role::Headline, Role::Chart, Role::Detail, Role::Folded],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub id: String,
    /// What the widget does with it (e.g. `working_set`, `category`,
    /// `headline`): a [`Role`] name, checked by `Dashboard::parse`.
    pub role: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub unit: Unit,
    /// The PromQL; or `exprs`: alternatives for each metric convention,
    /// tried in order, the first that returns data wins.
    #[serde(default)]
    pub expr: String,
    #[serde(default)]
    pub exprs: Vec<String>,
    /// Optional label per alternative (e.g. "resident memory" when the
    /// process fallback stands in for the cgroup working set).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Instant query (a table of current values) instead of a range.
    #[serde(default)]
    pub instant: bool,
    /// Threshold values (may use variables); higher is worse.
    pub warn: Option<String>,
    pub crit: Option<String>,
    /// Label names that tell this query's series apart on screen.
    #[serde(default)]
    pub by: Vec<String>,
    /// Only in this variant of the dashboard (a service-specific row, such
    /// as one application's gateway counters); None: in every variant.
    #[serde(default)]
    pub variant: Option<String>,
}

/// A service-specific flavour of a preset: its own rows (queries naming it)
/// on top of the generic ones, chosen when the job exposes any of `detect`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub detect: Vec<String>,
    /// Pane titles this variant uses instead (pane id → title).
    #[serde(default)]
    pub titles: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaneSpec {
    pub id: String,
    pub kind: PaneKind,
    pub title: String,
    /// Lower is more important; small terminals drop the highest first.
    #[serde(default)]
    pub priority: u8,
    pub queries: Vec<QuerySpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Metric names whose presence selects this preset.
    #[serde(default)]
    pub detect: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
    pub panes: Vec<PaneSpec>,
    /// The variant in use once chosen ([`Dashboard::with_variant`]).
    #[serde(skip)]
    pub variant: Option<String>,
}

/// A query ready to send: variables substituted, thresholds parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedQuery {
    /// `pane.query`, unique in the dashboard; the store key.
    pub key: String,
    pub pane: String,
    pub role: Role,
    pub label: String,
    pub unit: Unit,
    /// The expression in use: `alternatives[alt]`.
    pub expr: String,
    /// Every convention's expression, in order of preference.
    pub alternatives: Vec<String>,
    /// The label of each alternative (same length as `alternatives`).
    pub alt_labels: Vec<String>,
    pub alt: usize,
    pub instant: bool,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub by: Vec<String>,
    /// The pod and namespace the focus selects (None: all), for backends
    /// that do not read PromQL (the demo).
    pub target_pod: Option<String>,
    pub target_namespace: Option<String>,
}

/// What the target contributes to a query: the reserved variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetVars {
    pub namespace: Option<String>,
    pub job: Option<String>,
    pub pod: Option<String>,
    pub range_secs: u64,
    pub step_secs: u64,
}

impl ResolvedQuery {
    /// Switches to alternative `alt` (a metric convention that answered).
    pub fn use_alt(&mut self, alt: usize) {
        if let Some(e) = self.alternatives.get(alt) {
            self.alt = alt;
            self.expr = e.clone();
            if let Some(l) = self.alt_labels.get(alt) {
                self.label = l.clone();
            }
        }
    }
}

impl Dashboard {
    /// A built-in by name: `beam` is the generic flavour (no variant's
    /// rows), `beam/codex-pooler` that variant.
    pub fn builtin(name: &str) -> Option<Dashboard> {
        let (preset, variant) = match name.split_once('/') {
            Some((p, v)) => (p, Some(v)),
            None => (name, None),
        };
        let d = Dashboard::builtin_all(preset)?;
        if variant.is_some_and(|v| !d.variants.iter().any(|x| x.name == v)) {
            return None;
        }
        Some(d.with_variant(variant))
    }

    /// A built-in with every variant's rows: what detection scores.
    pub fn builtin_all(preset: &str) -> Option<Dashboard> {
        PRESETS
            .iter()
            .find(|(n, _)| *n == preset)
            .map(|(n, src)| Dashboard::parse(n, src).expect("built-in preset is valid"))
    }

    /// Every built-in with every variant's rows (detection's candidates).
    pub fn builtins() -> Vec<Dashboard> {
        PRESETS
            .iter()
            .map(|(n, _)| Dashboard::builtin_all(n).unwrap())
            .collect()
    }

    /// Every name `--dashboard` accepts for a built-in.
    pub fn builtin_names() -> Vec<String> {
        let mut out = vec![];
        for d in Dashboard::builtins() {
            out.push(d.name.clone());
            out.extend(d.variants.iter().map(|v| format!("{}/{}", d.name, v.name)));
        }
        out
    }

    /// Keeps the generic rows and those of `variant` (None: the generic
    /// flavour), with that variant's pane titles.
    pub fn with_variant(mut self, variant: Option<&str>) -> Dashboard {
        let spec = self
            .variants
            .iter()
            .find(|v| Some(v.name.as_str()) == variant)
            .cloned();
        for p in &mut self.panes {
            p.queries
                .retain(|q| q.variant.is_none() || q.variant.as_deref() == variant);
            if let Some(t) = spec.as_ref().and_then(|s| s.titles.get(&p.id)) {
                p.title = t.clone();
            }
        }
        self.variant = spec.map(|s| s.name);
        self
    }

    /// `beam` or `beam/codex-pooler`.
    pub fn full_name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{v}", self.name),
            None => self.name.clone(),
        }
    }

    pub fn parse(origin: &str, src: &str) -> Result<Dashboard, String> {
        let d: Dashboard = toml::from_str(src).map_err(|e| {
            let line = e
                .span()
                .map(|s| crate::config::error::line_of(src, s.start).to_string())
                .unwrap_or_else(|| "?".into());
            format!("dashboard {origin}, line {line}: {}", e.message())
        })?;
        let mut seen = std::collections::HashSet::new();
        let variants: Vec<&str> = d.variants.iter().map(|v| v.name.as_str()).collect();
        for v in &d.variants {
            if let Some(p) = v.titles.keys().find(|p| d.pane(p).is_none()) {
                return Err(format!(
                    "dashboard {origin}: variant `{}` retitles pane `{p}`, which does not exist",
                    v.name
                ));
            }
        }
        for p in &d.panes {
            for q in &p.queries {
                if let Some(v) = q.variant.as_deref().filter(|v| !variants.contains(v)) {
                    return Err(format!(
                        "dashboard {origin}: pane `{}`, query `{}`: variant `{v}` is not declared in [[variants]]",
                        p.id, q.id
                    ));
                }
                if q.expr.is_empty() == q.exprs.is_empty() {
                    return Err(format!(
                        "dashboard {origin}: pane `{}`, query `{}`: give `expr` or `exprs` (alternatives), not both or neither",
                        p.id, q.id
                    ));
                }
                let allowed = Role::for_kind(p.kind);
                match Role::parse(&q.role) {
                    Some(r) if allowed.contains(&r) => {}
                    found => {
                        let names: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
                        return Err(format!(
                            "dashboard {origin}: pane `{}`, query `{}`: {} role `{}` (a {:?} pane draws: {})",
                            p.id,
                            q.id,
                            if found.is_some() { "misplaced" } else { "unknown" },
                            q.role,
                            p.kind,
                            names.join(", ")
                        ));
                    }
                }
                if !seen.insert(format!("{}.{}", p.id, q.id)) {
                    return Err(format!(
                        "dashboard {origin}: query {}.{} defined twice",
                        p.id, q.id
                    ));
                }
            }
        }
        Ok(d)
    }

    /// `--dashboard NAME|PATH`: a built-in, a file in the config dir, or a path.
    pub fn load(name_or_path: &str) -> Result<Dashboard, String> {
        if let Some(d) = Dashboard::builtin(name_or_path) {
            return Ok(d);
        }
        let mut candidates = vec![];
        if let Some(dir) = crate::config::paths::dashboards_dir() {
            candidates.push(dir.join(format!("{name_or_path}.toml")));
        }
        candidates.push(Path::new(name_or_path).to_path_buf());
        for c in candidates {
            if c.is_file() {
                let src =
                    std::fs::read_to_string(&c).map_err(|e| format!("{}: {e}", c.display()))?;
                return Dashboard::parse(&c.display().to_string(), &src);
            }
        }
        Err(format!(
            "no dashboard `{name_or_path}`: not a built-in ({}), not in the config dashboards folder, not a file",
            Dashboard::builtin_names().join(", ")
        ))
    }

    /// The user's variables override the preset's (config `[profiles.X.variables]`).
    pub fn with_overrides(mut self, vars: &BTreeMap<String, String>) -> Dashboard {
        for (k, v) in vars {
            self.variables.insert(k.clone(), v.clone());
        }
        self
    }

    /// The label this Prometheus uses for `which` (`pod`, `namespace`,
    /// `container`, `job`): the `<which>_label` variable, else `which`.
    pub fn label_name<'a>(&'a self, which: &'a str) -> &'a str {
        self.variables
            .get(&format!("{which}_label"))
            .map(String::as_str)
            .unwrap_or(which)
    }

    pub fn pane(&self, id: &str) -> Option<&PaneSpec> {
        self.panes.iter().find(|p| p.id == id)
    }

    /// Every variable visible to queries: preset/user variables plus the
    /// reserved `$namespace`, `$pod`, `$range`, `$rate_interval`, `$step`.
    pub fn variables_for(&self, f: &TargetVars) -> BTreeMap<String, Var> {
        let mut v: BTreeMap<String, Var> = self
            .variables
            .iter()
            .map(|(k, t)| (k.clone(), Var::Template(t.clone())))
            .collect();
        // values from the target are untrusted: regex-escaped literals
        let lit = |x: &Option<String>| {
            Var::Literal(
                x.as_deref()
                    .map(promql_regex_literal)
                    .unwrap_or_else(|| ".*".into()),
            )
        };
        v.insert("namespace".into(), lit(&f.namespace));
        v.insert("pod".into(), lit(&f.pod));
        if f.job.is_some() {
            v.insert("job".into(), lit(&f.job));
        }
        v.insert(
            "range".into(),
            Var::Literal(crate::text::units::prom_duration(f.range_secs)),
        );
        v.insert(
            "step".into(),
            Var::Literal(crate::text::units::prom_duration(f.step_secs)),
        );
        // Grafana's rule: at least four scrape intervals, and never below the step.
        let scrape = self
            .variables
            .get("scrape_interval")
            .and_then(|s| crate::text::units::parse_duration(s).ok())
            .unwrap_or(15.0) as u64;
        let rate = (4 * scrape).max(f.step_secs).max(1);
        v.entry("rate_interval".into())
            .or_insert_with(|| Var::Literal(crate::text::units::prom_duration(rate)));
        v.entry("container".into())
            .or_insert_with(|| Var::Literal(".*".into()));
        for which in LABEL_NAMES {
            v.entry(format!("{which}_label"))
                .or_insert_with(|| Var::Literal(which.to_string()));
        }
        v.entry("job".into())
            .or_insert_with(|| Var::Literal(".*".into()));
        v
    }

    pub fn resolve(&self, f: &TargetVars) -> Result<Vec<ResolvedQuery>, String> {
        let vars = self.variables_for(f);
        let mut out = Vec::new();
        for p in &self.panes {
            for q in &p.queries {
                let ctx = |what: &str, e: String| {
                    format!("dashboard {}: {}.{} {what}: {e}", self.name, p.id, q.id)
                };
                let templates: Vec<&String> = if q.exprs.is_empty() {
                    vec![&q.expr]
                } else {
                    q.exprs.iter().collect()
                };
                let alternatives = templates
                    .into_iter()
                    .map(|t| interpolate(t, &vars).map_err(|e| ctx("expr", e)))
                    .collect::<Result<Vec<_>, _>>()?;
                let threshold = |t: &Option<String>, what: &str| -> Result<Option<f64>, String> {
                    match t {
                        None => Ok(None),
                        Some(s) => {
                            let s = interpolate(s, &vars).map_err(|e| ctx(what, e))?;
                            s.trim()
                                .parse::<f64>()
                                .map(Some)
                                .map_err(|_| ctx(what, format!("`{s}` is not a number")))
                        }
                    }
                };
                let role = Role::parse(&q.role)
                    .ok_or_else(|| ctx("role", format!("unknown role `{}`", q.role)))?;
                let label = if q.label.is_empty() {
                    q.id.replace('_', " ")
                } else {
                    q.label.clone()
                };
                let alt_labels = (0..alternatives.len())
                    .map(|i| q.labels.get(i).cloned().unwrap_or_else(|| label.clone()))
                    .collect();
                out.push(ResolvedQuery {
                    key: format!("{}.{}", p.id, q.id),
                    pane: p.id.clone(),
                    role,
                    label,
                    unit: q.unit,
                    expr: alternatives[0].clone(),
                    alternatives,
                    alt_labels,
                    alt: 0,
                    instant: q.instant,
                    warn: threshold(&q.warn, "warn")?,
                    crit: threshold(&q.crit, "crit")?,
                    by: q.by.clone(),
                    target_pod: f.pod.clone(),
                    target_namespace: f.namespace.clone(),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn focus() -> TargetVars {
        TargetVars {
            namespace: Some("codex-pooler".into()),
            job: None,
            pod: Some("app-1".into()),
            range_secs: 3600,
            step_secs: 10,
        }
    }

    #[test]
    fn presets_parse_and_resolve_without_leftover_variables() {
        for d in Dashboard::builtins() {
            let qs = d.resolve(&focus()).unwrap_or_else(|e| panic!("{e}"));
            assert!(!qs.is_empty());
            for q in &qs {
                assert!(!q.expr.contains('$'), "{}: {}", q.key, q.expr);
            }
            let kinds: Vec<_> = d.panes.iter().map(|p| p.kind).collect();
            for k in [
                PaneKind::Memory,
                PaneKind::Scheduler,
                PaneKind::Restarts,
                PaneKind::Admission,
            ] {
                assert!(kinds.contains(&k), "{} lacks {k:?}", d.name);
            }
        }
    }

    #[test]
    fn focus_selects_pod_and_namespace() {
        let d = Dashboard::builtin("beam").unwrap();
        let qs = d.resolve(&focus()).unwrap();
        let ws = qs.iter().find(|q| q.key == "memory.working_set").unwrap();
        assert!(
            ws.expr.contains("namespace=~\"codex-pooler\""),
            "{}",
            ws.expr
        );
        assert!(ws.expr.contains("pod=~\"app-1\""), "{}", ws.expr);
        let all = d
            .resolve(&TargetVars {
                pod: None,
                namespace: None,
                ..focus()
            })
            .unwrap();
        let ws = all.iter().find(|q| q.key == "memory.working_set").unwrap();
        assert!(ws.expr.contains("pod=~\".*\""), "{}", ws.expr);
    }

    #[test]
    fn overrides_change_metric_names_and_thresholds() {
        let d = Dashboard::builtin("beam/codex-pooler")
            .unwrap()
            .with_overrides(&BTreeMap::from([
                ("container".to_string(), "gateway".to_string()),
                ("admission_p95_crit".to_string(), "2.5".to_string()),
            ]));
        let qs = d.resolve(&focus()).unwrap();
        let ws = qs.iter().find(|q| q.key == "memory.working_set").unwrap();
        assert!(ws.expr.contains("container=~\"gateway\""), "{}", ws.expr);
        let p95 = qs.iter().find(|q| q.key == "admission.queue_p95").unwrap();
        assert_eq!(p95.crit, Some(2.5));
    }

    #[test]
    fn unknown_or_misplaced_roles_name_file_pane_and_query() {
        let src = |role: &str| {
            format!("name = \"x\"\n[[panes]]\nid = \"mem\"\nkind = \"memory\"\ntitle = \"M\"\n[[panes.queries]]\nid = \"ws\"\nrole = \"{role}\"\nexpr = \"up\"\n")
        };
        let err = Dashboard::parse("/home/u/d.toml", &src("workingset")).unwrap_err();
        for want in [
            "/home/u/d.toml",
            "`mem`",
            "`ws`",
            "unknown role `workingset`",
            "working_set",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        let err = Dashboard::parse("d.toml", &src("headline")).unwrap_err();
        assert!(err.contains("misplaced role `headline`"), "{err}");
        assert!(Dashboard::parse("d.toml", &src("working_set")).is_ok());
    }

    #[test]
    fn label_names_are_variables() {
        let d = Dashboard::builtin("beam")
            .unwrap()
            .with_overrides(&BTreeMap::from([
                ("pod_label".to_string(), "kubernetes_pod_name".to_string()),
                (
                    "namespace_label".to_string(),
                    "kubernetes_namespace".to_string(),
                ),
            ]));
        assert_eq!(d.label_name("pod"), "kubernetes_pod_name");
        let qs = d.resolve(&focus()).unwrap();
        let ws = qs.iter().find(|q| q.key == "memory.working_set").unwrap();
        assert!(
            ws.expr.contains("kubernetes_pod_name=~\"app-1\""),
            "{}",
            ws.expr
        );
        assert!(ws.expr.contains("by (kubernetes_pod_name)"), "{}", ws.expr);
        assert!(ws.expr.contains("kubernetes_namespace=~"), "{}", ws.expr);
        for q in &qs {
            assert!(!q.expr.contains("pod=~"), "{}: {}", q.key, q.expr);
        }
    }

    #[test]
    fn a_job_in_the_target_scopes_the_queries() {
        let d = Dashboard::builtin("beam").unwrap();
        let qs = d
            .resolve(&TargetVars {
                job: Some("rabbit.mq".into()),
                ..focus()
            })
            .unwrap();
        let q = qs.iter().find(|q| q.key == "memory.runtime_total").unwrap();
        assert!(q.expr.contains("job=~\"rabbit\\\\.mq\""), "{}", q.expr);
    }

    #[test]
    fn bad_dashboard_names_line() {
        let err = Dashboard::parse(
            "x.toml",
            "name = \"x\"\n[[panes]]\nid = \"a\"\nkind = \"pie\"\ntitle=\"t\"\nqueries=[]\n",
        )
        .unwrap_err();
        assert!(err.contains("line 4"), "{err}");
        assert!(Dashboard::load("no-such-dashboard").is_err());
    }
}
