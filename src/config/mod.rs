//! Configuration: profiles, endpoints, secret references, themes and keymaps,
//! layered built-in < config file < flags.

pub mod colors;
pub mod error;
pub mod k8s_url;
pub mod paths;
pub mod secret;
pub mod settings;
pub mod theme;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use error::ConfigError;
pub use secret::{Secret, SecretRef};

use crate::text::units::parse_duration;

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub range: Option<Spanned<String>>,
    pub refresh: Option<Spanned<String>>,
    pub theme: Option<String>,
    pub dashboard: Option<String>,
    pub prometheus: Option<RawEndpoint>,
    pub loki: Option<RawEndpoint>,
    pub traces: Option<RawEndpoint>,
    pub alertmanager: Option<RawEndpoint>,
    /// Health endpoints: `probes = [{ name = "api", url = "…/readyz", expect = 200 }]`.
    #[serde(default)]
    pub probes: Vec<RawProbe>,
    pub job: Option<String>,
    /// A production profile: its name is shown in the warning colour, so a
    /// shared screen says which environment it is.
    #[serde(default)]
    pub production: bool,
    /// Dashboard variables (metric names, label names, thresholds).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// The log pane: `[profiles.NAME.logs] query, max_lines, max_bytes, backfill`.
    pub logs: Option<RawLogs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    /// LogQL instead of the one built from the scope.
    pub query: Option<String>,
    pub max_lines: Option<Spanned<u64>>,
    pub max_bytes: Option<Spanned<String>>,
    /// Newest lines of the window loaded at start.
    pub backfill: Option<Spanned<u64>>,
    /// How far back a re-read after a disconnect starts (late lines).
    pub reread: Option<Spanned<String>>,
}

/// One configured probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    pub name: String,
    pub endpoint: Endpoint,
    /// The status that means healthy.
    pub expect: u16,
}

impl ProbeSpec {
    /// `--probe URL`: named after its host and path, expecting 200.
    pub fn from_url(url: &str) -> ProbeSpec {
        let name = match reqwest::Url::parse(url) {
            Ok(u) => format!(
                "{}{}",
                crate::config::host_port(url),
                if u.path() == "/" { "" } else { u.path() }
            ),
            Err(_) => url.to_string(),
        };
        ProbeSpec {
            name,
            endpoint: Endpoint::plain(url),
            expect: 200,
        }
    }
}

/// `host:port` of a URL for names and messages (never the userinfo, path
/// or query).
pub fn host_port(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "?".into(),
        },
        Err(_) => "?".into(),
    }
}

/// Default re-read window after a log tail disconnect (`logs.reread`).
pub const DEFAULT_REREAD_SECS: f64 = 300.0;

/// The log pane's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsSettings {
    pub query: Option<String>,
    pub max_lines: usize,
    pub max_bytes: usize,
    pub backfill: usize,
    /// Seconds behind the newest line a re-read after a disconnect starts.
    pub reread_secs: f64,
}

impl Default for LogsSettings {
    fn default() -> Self {
        LogsSettings {
            query: None,
            max_lines: crate::store::logs::DEFAULT_MAX_LINES,
            max_bytes: crate::store::logs::DEFAULT_MAX_BYTES,
            backfill: 1000,
            reread_secs: DEFAULT_REREAD_SECS,
        }
    }
}

/// A probe as written: a name, the status that means healthy, and an
/// endpoint (url, auth, TLS) of its own: credentials are never borrowed from
/// another endpoint, so they cannot reach a host they were not meant for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    pub name: Option<String>,
    pub expect: Option<u16>,
    pub url: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub bearer_token: Option<Spanned<String>>,
    pub basic_user: Option<String>,
    pub basic_password: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub ca_file: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

impl RawProbe {
    fn into_parts(self) -> (Option<String>, Option<u16>, RawEndpoint) {
        let ep = RawEndpoint {
            url: self.url,
            timeout: self.timeout,
            bearer_token: self.bearer_token,
            basic_user: self.basic_user,
            basic_password: self.basic_password,
            headers: self.headers,
            ca_file: self.ca_file,
            client_cert: self.client_cert,
            client_key: self.client_key,
            insecure_skip_verify: self.insecure_skip_verify,
            max_concurrency: None,
            max_body: None,
            tenant: None,
        };
        (self.name, self.expect, ep)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub url: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub bearer_token: Option<Spanned<String>>,
    pub basic_user: Option<String>,
    pub basic_password: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub ca_file: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    pub max_concurrency: Option<usize>,
    /// Largest response body read, e.g. "32MiB".
    pub max_body: Option<Spanned<String>>,
    /// Tenant of a multi-tenant backend (Loki, Mimir, Tempo): sent as
    /// `X-Scope-OrgID`. An identifier, not a secret.
    pub tenant: Option<String>,
}

/// A validated endpoint: secrets are references, durations are parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub timeout_secs: f64,
    pub bearer_token: Option<SecretRef>,
    pub basic: Option<(String, SecretRef)>,
    pub headers: Vec<(String, SecretRef)>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub max_concurrency: usize,
    /// Response bodies are cut off (and the answer refused) beyond this.
    pub max_body_bytes: u64,
    /// `X-Scope-OrgID` for multi-tenant backends.
    pub tenant: Option<String>,
    /// Where it was configured, for errors found later (resolving a secret):
    /// "config.toml line 9, key profiles.prod.prometheus", or a flag.
    pub origin: String,
}

/// Default response-body cap: far above any dashboard's answer, far below
/// what would hurt (a flood of series is refused while it is read).
pub const DEFAULT_MAX_BODY: u64 = 32 * 1024 * 1024;
/// The traces endpoint's: one trace may be tens of MB.
pub const TRACES_MAX_BODY: u64 = 256 * 1024 * 1024;

impl Endpoint {
    pub fn plain(url: &str) -> Endpoint {
        Endpoint {
            url: url.trim_end_matches('/').to_string(),
            timeout_secs: 10.0,
            bearer_token: None,
            basic: None,
            headers: vec![],
            ca_file: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            max_concurrency: 4,
            max_body_bytes: DEFAULT_MAX_BODY,
            tenant: None,
            origin: String::new(),
        }
    }
}

/// A validated profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub range_secs: Option<f64>,
    pub refresh_secs: Option<f64>,
    pub theme: Option<String>,
    pub dashboard: Option<String>,
    pub prometheus: Option<Endpoint>,
    pub loki: Option<Endpoint>,
    pub traces: Option<Endpoint>,
    pub alertmanager: Option<Endpoint>,
    pub probes: Vec<ProbeSpec>,
    pub job: Option<String>,
    pub production: bool,
    pub variables: BTreeMap<String, String>,
    pub logs: LogsSettings,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub default_profile: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
}

/// Which config file to read: `--config`, then `WATCHFLOOR_CONFIG`, then the
/// platform default. The bool says whether the user named it (then it must exist).
pub fn config_path(flag: Option<&Path>) -> Option<(PathBuf, bool)> {
    if let Some(p) = flag {
        return Some((p.to_path_buf(), true));
    }
    if let Ok(p) = std::env::var("WATCHFLOOR_CONFIG") {
        if !p.is_empty() {
            return Some((PathBuf::from(p), true));
        }
    }
    paths::default_config_file().map(|p| (p, false))
}

/// Loads the config file; a missing default file is an empty config.
pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
    let Some((path, named)) = config_path(flag) else {
        return Ok(Config::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(src) => parse(&path, &src),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Ok(Config::default()),
        Err(e) => Err(ConfigError {
            file: path,
            line: None,
            key: None,
            problem: format!("cannot read: {e}"),
        }),
    }
}

/// Parses and validates config text; errors name file, line, key and problem.
pub fn parse(path: &Path, src: &str) -> Result<Config, ConfigError> {
    let raw: FileConfig = toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
    let mut profiles = BTreeMap::new();
    for (name, p) in raw.profiles {
        let v = Validator {
            path,
            src,
            prefix: format!("profiles.{name}"),
        };
        profiles.insert(name.clone(), v.profile(p)?);
    }
    if let Some(d) = &raw.default_profile {
        if !profiles.contains_key(d) {
            let off = src.find("default_profile").unwrap_or(0);
            return Err(ConfigError::at(
                path,
                src,
                Some(off..off + 1),
                Some("default_profile".into()),
                format!("no profile named `{d}` (defined: {})", names(&profiles)),
            ));
        }
    }
    Ok(Config {
        file: Some(path.to_path_buf()),
        default_profile: raw.default_profile,
        profiles,
    })
}

fn names(p: &BTreeMap<String, Profile>) -> String {
    if p.is_empty() {
        "none".into()
    } else {
        p.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

struct Validator<'a> {
    path: &'a Path,
    src: &'a str,
    prefix: String,
}

impl Validator<'_> {
    fn err(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(
            self.path,
            self.src,
            Some(span),
            Some(format!("{}.{key}", self.prefix)),
            problem,
        )
    }

    fn duration(&self, v: &Option<Spanned<String>>, key: &str) -> Result<Option<f64>, ConfigError> {
        self.duration_in(v, key, f64::MIN_POSITIVE, f64::MAX)
    }

    /// A duration within [min, max] seconds; the error names the key and the limits.
    fn duration_in(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
        min: f64,
        max: f64,
    ) -> Result<Option<f64>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => match parse_duration(s.get_ref()) {
                Ok(d) if d <= 0.0 => Err(self.err(s.span(), key, "must be greater than zero")),
                Ok(d) => settings::check_limit(key, d, min, max)
                    .map(Some)
                    .map_err(|e| self.err(s.span(), key, e)),
                Err(e) => Err(self.err(s.span(), key, e)),
            },
        }
    }

    fn secret(&self, v: &Spanned<String>, key: &str) -> Result<SecretRef, ConfigError> {
        SecretRef::parse(v.get_ref()).map_err(|e| self.err(v.span(), key, e))
    }

    fn profile(&self, p: RawProfile) -> Result<Profile, ConfigError> {
        Ok(Profile {
            namespace: p.namespace,
            pod: p.pod,
            range_secs: self.duration_in(
                &p.range,
                "range",
                settings::RANGE_MIN_SECS,
                settings::RANGE_MAX_SECS,
            )?,
            refresh_secs: self.duration_in(
                &p.refresh,
                "refresh",
                settings::REFRESH_MIN_SECS,
                settings::REFRESH_MAX_SECS,
            )?,
            theme: p.theme,
            dashboard: p.dashboard,
            prometheus: p
                .prometheus
                .map(|e| self.endpoint(e, "prometheus"))
                .transpose()?,
            loki: p.loki.map(|e| self.endpoint(e, "loki")).transpose()?,
            traces: p.traces.map(|e| self.endpoint(e, "traces")).transpose()?,
            alertmanager: p
                .alertmanager
                .map(|e| self.endpoint(e, "alertmanager"))
                .transpose()?,
            probes: p
                .probes
                .into_iter()
                .enumerate()
                .map(|(i, raw)| {
                    let (name, expect, ep) = raw.into_parts();
                    let endpoint = self.endpoint(ep, &format!("probes[{i}]"))?;
                    let mut spec = ProbeSpec::from_url(&endpoint.url);
                    if let Some(n) = name {
                        spec.name = n;
                    }
                    spec.expect = expect.unwrap_or(200);
                    spec.endpoint = endpoint;
                    Ok(spec)
                })
                .collect::<Result<_, ConfigError>>()?,
            job: p.job,
            production: p.production,
            variables: p.variables,
            logs: self.logs(p.logs)?,
        })
    }

    fn logs(&self, l: Option<RawLogs>) -> Result<LogsSettings, ConfigError> {
        let mut out = LogsSettings::default();
        let Some(l) = l else { return Ok(out) };
        out.query = l.query;
        if let Some(n) = &l.max_lines {
            if !(100..=10_000_000).contains(n.get_ref()) {
                return Err(self.err(
                    n.span(),
                    "logs.max_lines",
                    "must be between 100 and 10000000",
                ));
            }
            out.max_lines = *n.get_ref() as usize;
        }
        if let Some(b) = &l.max_bytes {
            out.max_bytes = crate::text::units::parse_bytes(b.get_ref())
                .and_then(|v| {
                    if (1 << 20..=16u64 << 30).contains(&v) {
                        Ok(v as usize)
                    } else {
                        Err("must be between 1MiB and 16GiB".into())
                    }
                })
                .map_err(|p| self.err(b.span(), "logs.max_bytes", p))?;
        }
        if let Some(n) = &l.backfill {
            if *n.get_ref() > 100_000 {
                return Err(self.err(n.span(), "logs.backfill", "must be at most 100000"));
            }
            out.backfill = *n.get_ref() as usize;
        }
        if let Some(r) = self.duration_in(&l.reread, "logs.reread", 1.0, 86_400.0)? {
            out.reread_secs = r;
        }
        Ok(out)
    }

    fn endpoint(&self, e: RawEndpoint, name: &str) -> Result<Endpoint, ConfigError> {
        let origin = format!(
            "{} line {}, key `{}.{name}`",
            self.path.display(),
            error::line_of(self.src, e.url.span().start),
            self.prefix
        );
        let url = check_url(e.url.get_ref())
            .map_err(|p| self.err(e.url.span(), &format!("{name}.url"), p))?;
        if let Some(problem) = inline_url_secret(&url) {
            return Err(self.err(e.url.span(), &format!("{name}.url"), problem));
        }
        let timeout = self
            .duration(&e.timeout, &format!("{name}.timeout"))?
            .unwrap_or(10.0);
        let bearer_token = e
            .bearer_token
            .as_ref()
            .map(|s| self.secret(s, &format!("{name}.bearer_token")))
            .transpose()?;
        let basic = match (e.basic_user, e.basic_password) {
            (Some(u), Some(p)) => Some((u, self.secret(&p, &format!("{name}.basic_password"))?)),
            (None, None) => None,
            (Some(_), None) => {
                let off = self.src.find("basic_user").unwrap_or(0);
                return Err(self.err(
                    off..off + 1,
                    &format!("{name}.basic_user"),
                    "basic_user needs basic_password (as env:NAME or file:PATH)",
                ));
            }
            (None, Some(p)) => {
                return Err(self.err(
                    p.span(),
                    &format!("{name}.basic_password"),
                    "basic_password needs basic_user",
                ));
            }
        };
        let mut headers = Vec::new();
        for (k, v) in &e.headers {
            headers.push((k.clone(), self.secret(v, &format!("{name}.headers.{k}"))?));
        }
        if e.client_cert.is_some() != e.client_key.is_some() {
            let off = self.src.find("client_").unwrap_or(0);
            return Err(self.err(
                off..off + 1,
                &format!("{name}.client_cert"),
                "client_cert and client_key go together",
            ));
        }
        Ok(Endpoint {
            url,
            timeout_secs: timeout,
            bearer_token,
            basic,
            headers,
            ca_file: e.ca_file.as_deref().map(paths::expand_home),
            client_cert: e.client_cert.as_deref().map(paths::expand_home),
            client_key: e.client_key.as_deref().map(paths::expand_home),
            insecure_skip_verify: e.insecure_skip_verify,
            max_concurrency: e.max_concurrency.unwrap_or(4).clamp(1, 32),
            max_body_bytes: match &e.max_body {
                // a 100,000-span trace is ~35 MB of Jaeger JSON
                None if name == "traces" => TRACES_MAX_BODY,
                None => DEFAULT_MAX_BODY,
                Some(v) => crate::text::units::parse_bytes(v.get_ref())
                    .and_then(|b| {
                        if (64 * 1024..=1 << 30).contains(&b) {
                            Ok(b)
                        } else {
                            Err("must be between 64KiB and 1GiB".into())
                        }
                    })
                    .map_err(|p| self.err(v.span(), &format!("{name}.max_body"), p))?,
            },
            tenant: e.tenant,
            origin,
        })
    }
}

/// Credentials written into a config URL (userinfo, or a query parameter
/// named like a secret): refused like every other inline secret. The
/// message names where to put them instead (worded so the redactor leaves
/// the hint readable).
fn inline_url_secret(url: &str) -> Option<&'static str> {
    let u = reqwest::Url::parse(url).ok()?;
    if u.password().is_some() || !u.username().is_empty() {
        return Some(
            "inline secrets are not accepted: the URL holds credentials (user:password@ or a \
             token@); remove them and set basic_user plus basic_password, or bearer_token, \
             each as env:NAME or file:/path/to/secret",
        );
    }
    if u.query_pairs()
        .any(|(k, _)| crate::text::redact::is_secret_param(&k))
    {
        return Some(
            "inline secrets are not accepted: a query parameter of the URL looks like a \
             credential; put it in [….headers] or bearer_token as env:NAME or file:/path instead",
        );
    }
    None
}

/// Checks an endpoint URL: http(s), parses, has a host. Returns it without a
/// trailing slash. The problem text never repeats the URL (it may hold a password).
pub fn check_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/').to_string();
    if url.starts_with(k8s_url::SCHEME) {
        // a port-forward: k8s://NAMESPACE/svc/NAME:PORT
        return k8s_url::parse(&url).map(|_| url);
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("must start with http://, https:// or k8s:// (a port-forward)".into());
    }
    match reqwest::Url::parse(&url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        Ok(_) => Err("has no host".into()),
        Err(e) => Err(format!("is not a valid URL ({e})")),
    }
}

impl Config {
    /// The profile to use: the named one, else `default_profile`, else the
    /// only one, else none (built-in defaults).
    pub fn select(&self, name: Option<&str>) -> Result<(Option<String>, Profile), String> {
        let want = name
            .map(str::to_string)
            .or_else(|| self.default_profile.clone());
        match want {
            Some(n) => self
                .profiles
                .get(&n)
                .cloned()
                .map(|p| (Some(n.clone()), p))
                .ok_or_else(|| {
                    format!(
                        "no profile `{n}` in {} (defined: {})",
                        self.file
                            .as_ref()
                            .map(|f| f.display().to_string())
                            .unwrap_or_else(|| "the config".into()),
                        names(&self.profiles)
                    )
                }),
            None if self.profiles.len() == 1 => {
                let (n, p) = self.profiles.iter().next().unwrap();
                Ok((Some(n.clone()), p.clone()))
            }
            None => Ok((None, Profile::default())),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
