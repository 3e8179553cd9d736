//! Layering: built-in defaults < config file profile < command-line flags.

use std::collections::BTreeMap;

use crate::cli::Cli;
use crate::config::{Config, Endpoint};
use crate::text::units::parse_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub profile: Option<String>,
    /// The profile is marked `production = true`.
    pub production: bool,
    pub demo: bool,
    pub prometheus: Option<Endpoint>,
    /// Logs (Loki).
    pub loki: Option<Endpoint>,
    /// Mask secrets in log lines (off only with --no-redaction).
    pub redact_logs: bool,
    /// The log pane: query, ring caps, backfill.
    pub logs: crate::config::LogsSettings,
    pub traces: Option<Endpoint>,
    pub alertmanager: Option<Endpoint>,
    pub probes: Vec<crate::config::ProbeSpec>,
    /// Watch Kubernetes: asked for (`--kubeconfig`, `--context`, `-A`), or
    /// a kubeconfig exists and nothing else is configured.
    pub kube: bool,
    pub namespace: Option<String>,
    pub job: Option<String>,
    pub pod: Option<String>,
    pub dashboard: Option<String>,
    pub range_secs: u64,
    pub refresh_secs: f64,
    pub theme: String,
    pub keymap: String,
    pub variables: BTreeMap<String, String>,
}

/// Limits on the time window and the refresh, for flags and the config file alike.
pub const RANGE_MIN_SECS: f64 = 60.0;
pub const RANGE_MAX_SECS: f64 = 400.0 * 86400.0;
pub const REFRESH_MIN_SECS: f64 = 0.5;
pub const REFRESH_MAX_SECS: f64 = 3600.0;

/// `what` within [min, max] seconds, else a message with the limits.
pub fn check_limit(what: &str, v: f64, min: f64, max: f64) -> Result<f64, String> {
    if v < min {
        Err(format!("{what} must be at least {}", limit_text(min)))
    } else if v > max {
        Err(format!("{what} must be at most {}", limit_text(max)))
    } else {
        Ok(v)
    }
}

fn limit_text(secs: f64) -> String {
    if secs >= 1.0 && secs.fract() == 0.0 {
        crate::text::units::prom_duration(secs as u64)
    } else {
        format!("{}ms", (secs * 1000.0).round())
    }
}

fn flag_duration(v: &Option<String>, flag: &str) -> Result<Option<f64>, String> {
    v.as_deref()
        .map(|s| parse_duration(s).map_err(|e| format!("--{flag}: {e}")))
        .transpose()
}

/// The theme for this terminal when none is named: the one made for the
/// colours it has (see `colors::ColorDepth`).
pub fn default_theme() -> String {
    crate::config::colors::ColorDepth::from_env()
        .default_theme()
        .into()
}

/// "choose a profile: --profile prod|staging (or set default_profile)".
fn choose_profile(config: &Config) -> String {
    let names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
    let file = config
        .file
        .as_ref()
        .map(|f| format!(" in {}", f.display()))
        .unwrap_or_default();
    format!(
        "{} profiles{file} and no default: choose one with --profile {} (or set default_profile = \"…\")",
        names.len(),
        names.join("|")
    )
}

pub fn resolve(cli: &Cli, config: &Config) -> Result<Settings, String> {
    let (profile_name, profile) = config.select(cli.profile.as_deref())?;
    // the config file's values were checked against the same limits, naming file, line and key
    let range = match flag_duration(&cli.range, "range")? {
        Some(r) => check_limit("--range", r, RANGE_MIN_SECS, RANGE_MAX_SECS)?,
        None => profile
            .range_secs
            .unwrap_or(if cli.demo { 300.0 } else { 3600.0 }),
    };
    let refresh = match flag_duration(&cli.refresh, "refresh")? {
        Some(r) => check_limit("--refresh", r, REFRESH_MIN_SECS, REFRESH_MAX_SECS)?,
        None => profile
            .refresh_secs
            .unwrap_or(if cli.demo { 1.0 } else { 5.0 }),
    };
    let prometheus = match &cli.prometheus {
        Some(url) => {
            let url = crate::config::check_url(url).map_err(|p| {
                format!(
                    "--prometheus `{}`: {p}",
                    crate::text::redact::redact_url(url)
                )
            })?;
            // the flag replaces the URL but keeps the profile's auth/TLS
            let mut ep = profile
                .prometheus
                .clone()
                .unwrap_or_else(|| Endpoint::plain(&url));
            ep.url = url.trim_end_matches('/').to_string();
            ep.origin = "--prometheus".into();
            Some(ep)
        }
        None => profile.prometheus.clone(),
    };
    let mut loki = match &cli.loki {
        Some(url) => {
            let url = crate::config::check_url(url)
                .map_err(|p| format!("--loki `{}`: {p}", crate::text::redact::redact_url(url)))?;
            let mut ep = profile
                .loki
                .clone()
                .unwrap_or_else(|| Endpoint::plain(&url));
            ep.url = url.trim_end_matches('/').to_string();
            ep.origin = "--loki".into();
            Some(ep)
        }
        None => profile.loki.clone(),
    };
    let traces = match &cli.traces {
        Some(url) => {
            let url = crate::config::check_url(url)
                .map_err(|p| format!("--traces `{}`: {p}", crate::text::redact::redact_url(url)))?;
            let mut ep = profile.traces.clone().unwrap_or_else(|| Endpoint {
                max_body_bytes: crate::config::TRACES_MAX_BODY,
                ..Endpoint::plain(&url)
            });
            ep.url = url.trim_end_matches('/').to_string();
            ep.origin = "--traces".into();
            Some(ep)
        }
        None => profile.traces.clone(),
    };
    if let (Some(ep), Some(t)) = (loki.as_mut(), &cli.loki_tenant) {
        ep.tenant = Some(t.clone());
    }
    let mut probes = profile.probes.clone();
    for url in &cli.probes {
        let url = crate::config::check_url(url)
            .map_err(|p| format!("--probe `{}`: {p}", crate::text::redact::redact_url(url)))?;
        probes.push(crate::config::ProbeSpec::from_url(&url));
    }
    let nothing_else = prometheus.is_none()
        && probes.is_empty()
        && loki.is_none()
        && traces.is_none()
        && profile.alertmanager.is_none();
    let kube_asked = cli.kubeconfig.is_some() || cli.context.is_some() || cli.all_namespaces;
    let kubeconfig_found = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
        || crate::config::paths::home_kubeconfig().is_some_and(|p| p.is_file());
    let kube = kube_asked || (nothing_else && !cli.demo && kubeconfig_found);
    let nothing = nothing_else && !kube;
    let logs_command = matches!(cli.command, Some(crate::cli::Command::Logs(_)));
    if !cli.demo && logs_command && loki.is_none() {
        return Err(match (profile_name.is_none(), config.profiles.len()) {
            (true, n) if n > 1 => choose_profile(config),
            _ => "watchfloor logs needs a log source: pass --loki URL (or --demo), or set [profiles.NAME.loki] url in the config".into(),
        });
    }
    if !cli.demo && nothing {
        // several profiles and none chosen: say which there are
        if profile_name.is_none() && config.profiles.len() > 1 {
            return Err(choose_profile(config));
        }
        return Err("nothing to watch: pass --prometheus URL, --loki URL, --probe URL or --kubeconfig PATH, set [profiles.NAME.prometheus] url in the config, or try --demo".into());
    }
    // (the demo fills in its story's namespace when none is given)
    let namespace = cli.namespace.clone().or(profile.namespace.clone());
    Ok(Settings {
        profile: if cli.demo && profile_name.is_none() {
            Some("demo".into())
        } else {
            profile_name
        },
        demo: cli.demo,
        production: profile.production,
        prometheus,
        loki,
        redact_logs: !cli.no_redaction,
        logs: profile.logs.clone(),
        traces,
        alertmanager: profile.alertmanager.clone(),
        probes,
        kube,
        namespace,
        job: cli.job.clone().or(profile.job.clone()),
        pod: cli.pod.clone().or(profile.pod.clone()),
        dashboard: cli.dashboard.clone().or(profile.dashboard.clone()),
        range_secs: range.round() as u64,
        refresh_secs: refresh,
        theme: cli
            .theme
            .clone()
            .or(profile.theme.clone())
            .unwrap_or_else(default_theme),
        keymap: cli.keymap.clone().unwrap_or_else(|| "default".into()),
        variables: profile.variables.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("watchfloor").chain(args.iter().copied()))
    }

    #[test]
    fn flags_override_profile_which_overrides_defaults() {
        let cfg = super::super::parse(
            std::path::Path::new("c.toml"),
            "[profiles.p]\nnamespace = \"ns1\"\nrange = \"30m\"\nrefresh = \"10s\"\n[profiles.p.prometheus]\nurl = \"http://a:9090\"\nbearer_token = \"env:T\"\n",
        )
        .unwrap();
        let s = resolve(&cli(&[]), &cfg).unwrap();
        assert_eq!((s.range_secs, s.refresh_secs), (1800, 10.0));
        assert_eq!(s.namespace.as_deref(), Some("ns1"));
        let s = resolve(
            &cli(&[
                "--range",
                "2h",
                "--namespace",
                "ns2",
                "--prometheus",
                "http://b:9090",
            ]),
            &cfg,
        )
        .unwrap();
        assert_eq!(s.range_secs, 7200);
        assert_eq!(s.namespace.as_deref(), Some("ns2"));
        let ep = s.prometheus.unwrap();
        assert_eq!(ep.url, "http://b:9090");
        assert!(
            ep.bearer_token.is_some(),
            "flag URL keeps the profile's auth"
        );
    }

    #[test]
    fn two_profiles_without_a_default_name_the_profiles() {
        let cfg = super::super::parse(
            std::path::Path::new("c.toml"),
            "[profiles.prod.prometheus]\nurl = \"http://a:9090\"\n[profiles.staging.prometheus]\nurl = \"http://b:9090\"\n",
        )
        .unwrap();
        let err = resolve(&cli(&[]), &cfg).unwrap_err();
        assert!(err.contains("--profile prod|staging"), "{err}");
        assert!(resolve(&cli(&["--profile", "prod"]), &cfg).is_ok());
        // watchfloor logs without a Loki says what it needs, not --prometheus
        let err = resolve(
            &cli(&["--prometheus", "http://a:9090", "logs"]),
            &Config::default(),
        )
        .unwrap_err();
        assert!(
            err.contains("--loki") && !err.contains("--prometheus"),
            "{err}"
        );
    }

    #[test]
    fn needs_a_prometheus_or_demo() {
        let err = resolve(&cli(&[]), &Config::default()).unwrap_err();
        assert!(err.contains("--demo"));
        let s = resolve(&cli(&["--demo"]), &Config::default()).unwrap();
        assert_eq!(s.range_secs, 300);
        assert_eq!(s.namespace, None, "the demo's story fills it in");
        assert!(resolve(&cli(&["--demo", "--range", "10"]), &Config::default()).is_err());
    }

    #[test]
    fn limits_name_the_flag_or_the_config_key() {
        let none = Config::default();
        let err = resolve(&cli(&["--demo", "--range", "401d"]), &none).unwrap_err();
        assert!(err.contains("--range") && err.contains("400d"), "{err}");
        assert!(resolve(&cli(&["--demo", "--range", "400d"]), &none).is_ok());
        let err = resolve(&cli(&["--demo", "--refresh", "100ms"]), &none).unwrap_err();
        assert!(err.contains("--refresh"), "{err}");
        // the same limit in the config file names file, line and key, not a flag
        let err = super::super::parse(
            std::path::Path::new("/etc/wf.toml"),
            "[profiles.p]\nnamespace = \"a\"\nrange = \"10s\"\n",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("profiles.p.range"));
        let msg = err.to_string();
        assert!(
            msg.contains("/etc/wf.toml") && !msg.contains("--range"),
            "{msg}"
        );
        let err = super::super::parse(
            std::path::Path::new("c.toml"),
            "[profiles.p]\nrefresh = \"1ms\"\n",
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("profiles.p.refresh"));
    }

    #[test]
    fn bad_urls_are_rejected_at_start_without_echoing_passwords() {
        let none = Config::default();
        let err = resolve(&cli(&["--prometheus", "http://u:hunter22@"]), &none).unwrap_err();
        assert!(err.contains("--prometheus"), "{err}");
        assert!(!err.contains("hunter22"), "{err}");
        let err = resolve(&cli(&["--prometheus", "http://a b:9090"]), &none).unwrap_err();
        assert!(err.contains("not a valid URL"), "{err}");
        let err = super::super::parse(
            std::path::Path::new("c.toml"),
            "[profiles.p.prometheus]\nurl = \"http://[::1\"\n",
        )
        .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("profiles.p.prometheus.url"));
        assert_eq!(err.line, Some(2));
    }
}
