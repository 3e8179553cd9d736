//! The Kubernetes API client, shared by the features that talk to the API
//! server (the pods and events watches, the pod logs, the port-forwards):
//! configuration from `--kubeconfig`, `KUBECONFIG` (several files merged),
//! `~/.kube/config` or the in-cluster service account; every credential
//! registered with the redactor; exec plugins that never get the terminal.

pub mod pod;

use std::path::PathBuf;

use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use secrecy::ExposeSecret;

use crate::core::{ErrorKind, SourceError};

/// Where the client's configuration comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientOptions {
    /// `--kubeconfig`; None: `KUBECONFIG` (several files merged), else
    /// `~/.kube/config`, else the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Put in front of every exec credential plugin: (this program, the log
    /// file). The plugin then runs as `watchfloor --log-file LOG
    /// exec-credential -- PLUGIN ARGS…`, which sends its stderr to the log
    /// file (kube-rs would capture it and drop it).
    pub plugin_wrapper: Option<(PathBuf, PathBuf)>,
}

pub fn client_error(e: &kube::Error) -> SourceError {
    match e {
        kube::Error::Api(s) => SourceError {
            status: Some(s.code),
            kind: ErrorKind::Unspecified,
            message: s.message.clone(),
        },
        kube::Error::Auth(a) => SourceError::msg(auth_error(a)),
        kube::Error::Service(b) => match b.downcast_ref::<kube::client::AuthError>() {
            Some(a) => SourceError::msg(auth_error(a)),
            None => SourceError::msg(e.to_string()),
        },
        other => SourceError::msg(other.to_string()),
    }
}

/// A credential error without the plugin's command line: kube-rs writes
/// the command with its environment and arguments into the message, where
/// a secret may sit. The plugin's own last words (stderr) are kept.
fn auth_error(a: &kube::client::AuthError) -> String {
    use kube::client::AuthError as A;
    match a {
        A::AuthExecRun { out, .. } => {
            let code = out
                .status
                .code()
                .map_or("was killed".to_string(), |c| format!("exited {c}"));
            let err = String::from_utf8_lossy(&out.stderr);
            let tail = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("credential plugin {code}: {}", tail.trim())
        }
        A::AuthExecStart(e) => format!("credential plugin did not start: {e}"),
        other => {
            let s = other.to_string();
            // any other text that quotes a command: cut at it
            match s.find("Command {").or_else(|| s.find("cmd:")) {
                Some(i) => s[..i].trim_end().to_string(),
                None => s,
            }
        }
    }
}

/// The client for `context` (None: the current one). Every credential the
/// configuration holds is registered with the redactor before it is used,
/// and an exec credential plugin never gets the terminal: its
/// `interactiveMode` is forced to `Never`, so its stdin and stderr are
/// pipes, not the screen.
pub async fn client(
    opts: &ClientOptions,
    context: Option<&str>,
) -> Result<(Client, String, String, Vec<String>, String), SourceError> {
    let read = match &opts.kubeconfig {
        Some(p) => Kubeconfig::read_from(p).map(Some),
        None => match Kubeconfig::from_env() {
            Ok(Some(k)) => Ok(Some(k)),
            Ok(None) => match crate::config::paths::home_kubeconfig() {
                Some(p) if p.is_file() => Kubeconfig::read_from(p).map(Some),
                _ => Ok(None),
            },
            Err(e) => Err(e),
        },
    };
    let kc = read.map_err(|e| {
        let file = match &opts.kubeconfig {
            Some(p) => p.display().to_string(),
            None if std::env::var_os("KUBECONFIG").is_some() => "KUBECONFIG".into(),
            None => crate::config::paths::home_kubeconfig()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        };
        SourceError::msg(format!("kubeconfig {file}: {}", first_line(&e.to_string())))
    })?;
    let mut contexts = vec![];
    let (config, name) = match kc {
        Some(mut kc) => {
            contexts = kc.contexts.iter().map(|c| c.name.clone()).collect();
            plugins_never_interactive(&mut kc, opts);
            let name = context
                .map(str::to_string)
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            if !kc.contexts.iter().any(|c| c.name == name) {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(SourceError::msg(format!(
                    "no context `{}` in the kubeconfig (contexts: {})",
                    crate::text::display(&name),
                    known.join(", ")
                )));
            }
            let options = KubeConfigOptions {
                context: Some(name.clone()),
                ..Default::default()
            };
            let c = Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| SourceError::msg(format!("kubeconfig: {e}")))?;
            (c, name)
        }
        None => {
            let c = Config::incluster().map_err(|e| {
                SourceError::msg(format!(
                    "no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a cluster: {e}"
                ))
            })?;
            (c, "in-cluster".to_string())
        }
    };
    register_secrets(&config);
    let server = config.cluster_url.to_string();
    let default_ns = config.default_namespace.clone();
    let client = build(config).map_err(|e| client_error(&e))?;
    Ok((client, name, server, contexts, default_ns))
}

/// kube-rs's client stack (base URI, auth, extra headers, timeouts, TLS),
/// with one layer more between the auth layer and the wire: the bearer
/// token each request carries is registered with the redactor the first
/// time it is seen. An exec plugin's or OIDC refresh's token lives inside
/// kube-rs and is renewed there; this is where it first becomes visible.
fn build(config: Config) -> Result<Client, kube::Error> {
    use kube::client::ConfigExt;
    if let Some(proxy) = &config.proxy_url {
        // kube-rs without its proxy features refuses one too: said, not ignored
        return Err(kube::Error::Service(
            format!(
                "the kubeconfig names a proxy-url ({}): proxies are not supported; reach the API server directly or through an SSH tunnel",
                crate::text::redact::redact_url(&proxy.to_string())
            )
            .into(),
        ));
    }
    let https = config.rustls_https_connector()?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    let last = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    // as kube-rs's own stack: 429, 503 and 504 retried with backoff,
    // honouring Retry-After
    let retry = config
        .default_retry
        .then(|| tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry()));
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_request(move |req: http::Request<kube::client::Body>| {
            register_bearer(req.headers(), &last);
            req
        })
        .map_err(|e: hyper_util::client::legacy::Error| -> tower::BoxError { e.into() })
        .service(hyper);
    Ok(Client::new(service, config.default_namespace))
}

/// Registers the request's bearer token with the redactor when it differs
/// from the last one seen (a refresh), so registering costs once per token.
fn register_bearer(h: &http::HeaderMap, last: &std::sync::Mutex<Vec<u8>>) {
    let Some(v) = h.get(http::header::AUTHORIZATION) else {
        return;
    };
    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
    if last.as_slice() == v.as_bytes() {
        return;
    }
    if let Some(token) = v.to_str().ok().and_then(|s| s.strip_prefix("Bearer ")) {
        crate::text::redact::register_secret(token);
    }
    *last = v.as_bytes().to_vec();
}

/// An exec credential plugin never gets the terminal: its
/// `interactiveMode` is forced to `Never` (stdin and stderr are pipes), and
/// with a wrapper it runs behind `watchfloor exec-credential`, which sends
/// its stderr to the log file.
fn plugins_never_interactive(kc: &mut Kubeconfig, opts: &ClientOptions) {
    register_plugin_secrets(kc);
    for a in &mut kc.auth_infos {
        if let Some(exec) = a.auth_info.as_mut().and_then(|i| i.exec.as_mut()) {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
            if let (Some((me, log)), Some(cmd)) = (&opts.plugin_wrapper, &exec.command) {
                let mut args = vec![
                    "--log-file".to_string(),
                    log.display().to_string(),
                    "exec-credential".into(),
                    "--".into(),
                    cmd.clone(),
                ];
                args.extend(exec.args.take().unwrap_or_default());
                exec.command = Some(me.display().to_string());
                exec.args = Some(args);
            }
        }
    }
}

/// What an exec plugin is given that may be a credential: the values of
/// its environment variables and flags whose names say so (`*TOKEN*`,
/// `--client-secret=…`); registered before anything can print them.
fn register_plugin_secrets(kc: &Kubeconfig) {
    use crate::text::redact::{is_secret_param, register_secret};
    let execs = kc
        .auth_infos
        .iter()
        .filter_map(|a| a.auth_info.as_ref()?.exec.as_ref());
    for exec in execs {
        for env in exec.env.iter().flatten() {
            if let (Some(n), Some(v)) = (env.get("name"), env.get("value")) {
                if is_secret_param(n) {
                    register_secret(v);
                }
            }
        }
        let args = exec.args.as_deref().unwrap_or_default();
        for (i, a) in args.iter().enumerate() {
            let flag = a.trim_start_matches('-');
            match flag.split_once('=') {
                Some((k, v)) if is_secret_param(k) => register_secret(v),
                None if a.starts_with('-') && is_secret_param(flag) => {
                    if let Some(v) = args.get(i + 1) {
                        register_secret(v);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The parser's first line (`… line 3 column 13: unclosed bracket`): the
/// rest quotes the file, where a token may sit.
fn first_line(e: &str) -> String {
    let e = e.split("-->").next().unwrap_or(e);
    e.lines().next().unwrap_or("").trim().to_string()
}

fn register_secrets(c: &Config) {
    let a = &c.auth_info;
    for s in [&a.token, &a.password, &a.client_key_data]
        .into_iter()
        .flatten()
    {
        crate::text::redact::register_secret(s.expose_secret());
    }
    // an auth-provider's (OIDC's) id-token, refresh-token, client-secret
    if let Some(p) = &a.auth_provider {
        for (k, v) in &p.config {
            if crate::text::redact::is_secret_param(k) {
                crate::text::redact::register_secret(v);
            }
        }
    }
    crate::core::http::register_url_secrets(&c.cluster_url.to_string());
}
