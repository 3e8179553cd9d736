//! CLI → config → logging → terminal guard → app::run.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use watchfloor::features::traces::client::TracesBackend;

use clap::Parser;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use watchfloor::app::keymap::Keymap;
use watchfloor::app::run::{self, initial_state, run_once, run_tui, Backends};
use watchfloor::app::State;
use watchfloor::cli::{parse_size, Cli, ColorMode, Command};
use watchfloor::config::colors::{self, ColorDepth};
use watchfloor::config::settings::Settings;
use watchfloor::config::theme::Theme;
use watchfloor::config::{self, paths, settings};
use watchfloor::demo::logs::DemoLogs;
use watchfloor::demo::DemoSource;
use watchfloor::features::kube::forward::{self, ForwardSpec};
use watchfloor::features::kube::runner::KubeOptions;
use watchfloor::features::logs::client::kube::KubeLogs;
use watchfloor::features::logs::client::loki::LokiClient;
use watchfloor::features::logs::client::LogsBackend;
use watchfloor::features::metrics::client::prometheus::PrometheusClient;
use watchfloor::features::metrics::client::MetricsBackend;
use watchfloor::{export, info, logging, terminal};

/// Writes to stderr without panicking when stderr is gone (an SSH drop):
/// `eprintln!` would panic on EIO. Everything is sanitised and redacted.
fn say(msg: &str) {
    let msg = watchfloor::text::display(msg);
    let _ = writeln!(std::io::stderr().lock(), "watchfloor: {msg}");
}

fn fail(msg: &str) -> ! {
    logging::log("ERROR", msg);
    say(msg);
    std::process::exit(2);
}

/// Every metrics query answered, and not one returned a series: the scope
/// (or the dashboard) matches nothing on this Prometheus.
fn nothing_matched(state: &watchfloor::app::State) -> bool {
    let m = &state.metrics;
    m.common.configured
        && state.all_answered()
        && m.queries
            .iter()
            .all(|q| m.store.get(&q.key).is_none_or(|d| d.series.is_empty()))
}

/// Why `--once` did not get what it needed from every configured source.
fn once_failure(state: &watchfloor::app::State) -> Option<String> {
    let problems = state.problems();
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// `watchfloor logs`: the engine printing to stdout.
fn headless_logs(
    backend: Arc<dyn LogsBackend>,
    s: &settings::Settings,
    args: &watchfloor::cli::LogsArgs,
    forwards: Option<KubeOptions>,
) -> i32 {
    let since = watchfloor::text::units::parse_duration(&args.since)
        .unwrap_or_else(|e| fail(&format!("--since: {e}")));
    let query = match &args.query {
        Some(q) => q.clone(),
        None => watchfloor::features::logs::client::logql::selector(
            &watchfloor::features::logs::client::logql::Scope {
                namespace: s.namespace.as_deref(),
                pod: s.pod.as_deref(),
                pods: &[],
            },
        ),
    };
    let reread = match &args.reread {
        Some(r) => watchfloor::text::units::parse_duration(r)
            .ok()
            .filter(|d| (10.0..=86_400.0).contains(d))
            .unwrap_or_else(|| {
                fail(&format!(
                    "--reread `{r}`: expected a duration from 10s to 1d"
                ))
            }),
        None => s.logs.reread_secs,
    };
    if !s.redact_logs {
        say("--no-redaction: secrets in log lines are printed as they are (credentials from the config stay masked)");
    }
    let now_ns = watchfloor::core::now_ms() * 1_000_000;
    let plan = watchfloor::features::logs::LogsPlan {
        gen: 1,
        query,
        since_ns: now_ns - (since * 1e9) as i64,
        until_ns: None,
        backfill: args.limit,
        follow: args.follow,
        poll_every: Duration::from_secs_f64(s.refresh_secs.max(1.0)),
        redact: s.redact_logs,
        volume_every: None,
        volume_step_secs: 60,
        reread_ns: (reread * 1e9) as i64,
        context: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    let status = rt.block_on(async {
        // a k8s:// Loki: its forward serves here too, its states logged
        if let Some(o) = forwards {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            for f in &o.forwards {
                let sink = watchfloor::core::Sink::direct(tx.clone());
                tokio::spawn(forward::serve(f.clone(), o.clone(), sink));
            }
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    info!("{ev:?}");
                }
            });
        }
        let mut err = std::io::stderr().lock();
        let out = Box::new(std::io::stdout());
        watchfloor::app::headless::run(backend, plan, args.output, out, &mut err).await
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    status
}

/// The trace backend: the demo's own, or the configured Jaeger or Tempo.
fn traces_backend(cli: &Cli, s: &settings::Settings) -> Option<Arc<dyn TracesBackend>> {
    let demo = s
        .demo
        .then(|| (cli.seed, s.dashboard.as_deref().unwrap_or("beam")));
    watchfloor::app::headless::traces_backend(demo, s.traces.as_ref(), cli.traces_kind.as_deref())
        .unwrap_or_else(|e| fail(&e))
}

/// `--trace ID --once`: the trace's waterfall, printed (0), or why it
/// could not be read (2).
fn print_trace(cli: &Cli, s: &settings::Settings, id: &str, forwards: KubeOptions) -> i32 {
    let Some(backend) = traces_backend(cli, s) else {
        fail("--trace needs a trace backend: pass --traces URL (Jaeger or Tempo), or set [profiles.NAME.traces] url in the config");
    };
    let (cols, rows) = match &cli.size {
        Some(sz) => parse_size(sz).unwrap_or_else(|e| fail(&e)),
        None => crossterm::terminal::size().unwrap_or((120, 40)),
    };
    let timeout = watchfloor::text::units::parse_duration(&cli.once_timeout)
        .unwrap_or_else(|e| fail(&format!("--once-timeout: {e}")));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    let got = rt.block_on(async {
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        for f in &forwards.forwards {
            let sink = watchfloor::core::Sink::direct(tx.clone());
            tokio::spawn(forward::serve(f.clone(), forwards.clone(), sink));
        }
        let timeout = Duration::from_secs_f64(timeout);
        watchfloor::app::headless::trace_text(backend, id, (cols, rows), timeout).await
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    match got {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            say(&e);
            2
        }
    }
}

/// Every `k8s://` endpoint gets a loopback listener, and its client the
/// listener's `http://127.0.0.1:PORT` instead (the forward heals behind it).
fn bind_forwards(s: &mut Settings) -> Vec<ForwardSpec> {
    let mut eps: Vec<(String, &mut config::Endpoint)> = vec![];
    for (label, ep) in [
        ("prometheus", s.prometheus.as_mut()),
        ("loki", s.loki.as_mut()),
        ("traces", s.traces.as_mut()),
        ("alertmanager", s.alertmanager.as_mut()),
    ] {
        if let Some(ep) = ep {
            eps.push((label.to_string(), ep));
        }
    }
    for p in &mut s.probes {
        eps.push((format!("probe {}", p.name), &mut p.endpoint));
    }
    let mut out = vec![];
    for (label, ep) in eps {
        if !ep.url.starts_with(forward::SCHEME) {
            continue;
        }
        let spec = ForwardSpec::bind(&label, &ep.url)
            .unwrap_or_else(|e| fail(&format!("{label} `{}`: {e}", ep.url)));
        info!("forward {label}: {} on {}", spec.target, spec.local_url());
        ep.url = spec.local_url();
        out.push(spec);
    }
    out
}

/// The settings, with the log file open and the demo's namespace filled in.
fn settings(cli: &Cli) -> (Settings, Vec<ForwardSpec>) {
    let cfg = config::load(cli.config.as_deref()).unwrap_or_else(|e| fail(&e.to_string()));
    let mut s = settings::resolve(cli, &cfg).unwrap_or_else(|e| fail(&e));
    if s.demo && s.namespace.is_none() {
        // the demo's story has a namespace of its own
        s.namespace = Some(watchfloor::demo::namespace_for(s.dashboard.as_deref()).into());
    }
    let log_path = cli.log_file.clone().unwrap_or_else(paths::default_log_file);
    if let Err(e) = logging::init(&log_path) {
        // not fatal: diagnostics are lost, the screen is not
        say(&format!("{e} (continuing without a log file)"));
    }
    info!(
        "start: profile={:?} demo={} range={}s refresh={}s",
        s.profile, s.demo, s.range_secs, s.refresh_secs
    );
    let forwards = if s.demo {
        // the demo is the embedded story: a cluster's endpoint has no place in it
        let k8s = [&s.prometheus, &s.loki, &s.traces, &s.alertmanager]
            .into_iter()
            .flatten()
            .chain(s.probes.iter().map(|p| &p.endpoint))
            .find(|e| e.url.starts_with(forward::SCHEME));
        if let Some(e) = k8s {
            fail(&format!(
                "{}: a k8s:// endpoint needs a cluster, and --demo plays the embedded story: drop one of them",
                e.origin
            ));
        }
        vec![]
    } else {
        bind_forwards(&mut s)
    };
    // every endpoint's credentials resolve (and so are registered with the
    // redactor) before anything can print: probes and kept endpoints too
    for ep in s
        .probes
        .iter()
        .map(|p| &p.endpoint)
        .chain([&s.loki, &s.traces, &s.alertmanager].into_iter().flatten())
    {
        if let Err(e) = watchfloor::core::http::build_client(ep) {
            fail(&e);
        }
    }
    (s, forwards)
}

/// The metrics backend: the demo, a Prometheus, or none; with its header
/// name and where it reads from.
fn metrics_backend(
    cli: &Cli,
    s: &Settings,
) -> Option<(Arc<dyn MetricsBackend>, &'static str, String)> {
    if s.demo {
        let preset = s.dashboard.as_deref().unwrap_or("beam");
        let demo = DemoSource::with_preset(cli.seed, preset);
        return Some((Arc::new(demo), "demo", "embedded simulation".into()));
    }
    let ep = s.prometheus.as_ref()?;
    let (client, warnings) = PrometheusClient::new(ep).unwrap_or_else(|e| fail(&e));
    for w in &warnings {
        logging::log("WARN", w);
    }
    let url = client.base_url();
    Some((Arc::new(client), "prom", url))
}

/// The log backend: a Loki, the demo's, the Kubernetes API's pod logs
/// (a kubeconfig and no Loki), or none; with where it reads from.
fn logs_backend(cli: &Cli, s: &Settings) -> Option<(Arc<dyn LogsBackend>, String)> {
    if let Some(ep) = s.loki.as_ref() {
        let (client, warnings) = LokiClient::new(ep).unwrap_or_else(|e| fail(&e));
        for w in &warnings {
            logging::log("WARN", w);
        }
        let url = client.base_url();
        return Some((Arc::new(client), url));
    }
    if s.demo {
        let preset = s.dashboard.as_deref().unwrap_or("beam");
        let demo: Arc<dyn LogsBackend> = Arc::new(DemoLogs::new(cli.seed, preset));
        return Some((demo, "embedded simulation".to_string()));
    }
    // a kubeconfig and no Loki: the pods' logs from the API server
    s.kube.then(|| {
        let opts = watchfloor::core::kube::ClientOptions {
            kubeconfig: cli.kubeconfig.clone(),
            plugin_wrapper: plugin_wrapper(cli),
        };
        let b = KubeLogs::new(opts, cli.context.clone(), cli.all_namespaces);
        let url = b.describe();
        (Arc::new(b) as Arc<dyn LogsBackend>, url)
    })
}

/// This program and its log file, to put in front of credential plugins.
fn plugin_wrapper(cli: &Cli) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    // /proc/PID/exe still runs this binary after a package upgrade replaced
    // the file (current_exe would name the deleted path)
    let proc_exe = std::path::PathBuf::from(format!("/proc/{}/exe", std::process::id()));
    let me = if proc_exe.exists() {
        proc_exe
    } else {
        std::env::current_exe().ok()?
    };
    Some((
        me,
        cli.log_file.clone().unwrap_or_else(paths::default_log_file),
    ))
}

/// The colours this run may use: none for `--color never`, `NO_COLOR` and
/// `TERM=dumb`; else what `COLORTERM` and `TERM` say.
fn color_depth(cli: &Cli) -> ColorDepth {
    let env = ColorDepth::from_env();
    match (cli.once, cli.color) {
        (true, ColorMode::Never) => ColorDepth::Mono,
        // asked for colours on a pipe: at least the 16
        (true, ColorMode::Always) if env == ColorDepth::Mono => ColorDepth::Ansi16,
        _ => env,
    }
}

/// `watchfloor exec-credential -- PLUGIN ARGS…`: runs a kubeconfig's
/// credential plugin for kube-rs with its stdout passed through and its
/// stderr sent to the log file, line by line (sanitised and redacted);
/// when it fails, its last lines also go to stderr, where kube-rs puts
/// them in the error the pane shows. Exits with the plugin's status.
fn exec_credential(cli: &Cli, args: &watchfloor::cli::ExecCredentialArgs) -> i32 {
    use std::io::BufRead;
    let log_path = cli.log_file.clone().unwrap_or_else(paths::default_log_file);
    let _ = logging::init(&log_path);
    // what kube-rs hands the plugin that looks like a credential is masked
    // in what the plugin says
    for (k, v) in std::env::vars() {
        if watchfloor::text::redact::is_secret_param(&k) {
            watchfloor::text::redact::register_secret(&v);
        }
    }
    let name = args.command[0].clone();
    let child = std::process::Command::new(&name)
        .args(&args.command[1..])
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("credential plugin {name}: {e}");
            logging::log("ERROR", &msg);
            say(&msg);
            return 1;
        }
    };
    let mut last = std::collections::VecDeque::new();
    if let Some(err) = child.stderr.take() {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            logging::log("INFO", &format!("credential plugin {name}: {line}"));
            last.push_back(line);
            if last.len() > 5 {
                last.pop_front();
            }
        }
    }
    let code = child.wait().map(|s| s.code().unwrap_or(1)).unwrap_or(1);
    if code != 0 {
        for l in last {
            say(&l);
        }
    }
    code
}

fn main() {
    let cli = Cli::parse();
    if let Some(Command::ExecCredential(args)) = &cli.command {
        std::process::exit(exec_credential(&cli, args));
    }
    let (s, forwards) = settings(&cli);
    let depth = color_depth(&cli);
    let theme_name = if depth == ColorDepth::Mono {
        "mono".to_string()
    } else {
        s.theme.clone()
    };
    // every theme fits the terminal: a #rrggbb theme on a 256- or
    // 16-colour terminal gets the nearest colours it has
    let theme = colors::fit(Theme::load(&theme_name).unwrap_or_else(|e| fail(&e)), depth);
    let keymap = Keymap::load(&s.keymap).unwrap_or_else(|e| fail(&e));
    let backend = metrics_backend(&cli, &s);
    let logs = logs_backend(&cli, &s);
    if let Some(Command::Logs(args)) = &cli.command {
        let Some((b, _)) = logs else {
            fail("watchfloor logs needs a log source: pass --loki URL (or --demo), or set [profiles.NAME.loki] url in the config");
        };
        let o = KubeOptions {
            kubeconfig: cli.kubeconfig.clone(),
            context: cli.context.clone(),
            plugin_wrapper: plugin_wrapper(&cli),
            forwards: forwards.clone(),
        };
        std::process::exit(headless_logs(b, &s, args, Some(o)));
    }
    if let (Some(id), true) = (&cli.trace, cli.once) {
        let o = KubeOptions {
            kubeconfig: cli.kubeconfig.clone(),
            context: cli.context.clone(),
            plugin_wrapper: plugin_wrapper(&cli),
            forwards: forwards.clone(),
        };
        std::process::exit(print_trace(&cli, &s, id, o));
    }
    let mut state = initial_state(
        &s,
        backend.as_ref().map(|(_, n, u)| (*n, u.as_str())),
        theme,
        keymap,
    )
    .unwrap_or_else(|e| fail(&e));
    // `:theme` switches between these: every theme that loads, fitted to
    // the terminal (mono stays mono: NO_COLOR / dumb / --color never)
    if depth != ColorDepth::Mono {
        let current = state.theme.name.clone();
        state.themes = Theme::available()
            .iter()
            .filter_map(|n| Theme::load(n).ok())
            .map(|t| colors::fit(t, depth))
            .filter(|t| t.name != current)
            .collect();
        state.themes.insert(0, state.theme.clone());
    }
    if let Some((b, url)) = &logs {
        run::configure_logs(&mut state, b.name(), url, s.redact_logs);
    }
    let logs_configured = logs.is_some();
    // Kubernetes: the demo's cluster, or the API when asked for or when a
    // kubeconfig is all there is (settings)
    use watchfloor::features::kube::KubeBackend;
    let kube = if s.demo {
        let preset = s.dashboard.as_deref().unwrap_or("beam");
        Some(KubeBackend::Simulated(Arc::new(DemoSource::with_preset(
            cli.seed, preset,
        ))))
    } else {
        (s.kube || !forwards.is_empty()).then(|| {
            KubeBackend::Api(KubeOptions {
                kubeconfig: cli.kubeconfig.clone(),
                context: cli.context.clone(),
                plugin_wrapper: plugin_wrapper(&cli),
                forwards,
            })
        })
    };
    if s.kube || s.demo {
        run::configure_kube(&mut state, cli.context.clone(), cli.all_namespaces);
    }
    let traces = traces_backend(&cli, &s);
    match (&traces, &cli.trace) {
        (Some(b), id) => run::configure_traces(&mut state, &b.describe(), id.as_deref())
            .unwrap_or_else(|e| fail(&e)),
        (None, Some(_)) => fail("--trace needs a trace backend: pass --traces URL (Jaeger or Tempo), or set [profiles.NAME.traces] url in the config"),
        (None, None) => {}
    }
    let backends = Backends {
        metrics: backend.map(|b| b.0),
        logs: logs.map(|l| l.0),
        kube,
        traces,
        ..Default::default()
    };
    state.ui.low_bandwidth = cli.low_bandwidth;
    if let Some(ep) = &s.prometheus {
        if ep.insecure_skip_verify && !s.demo {
            state.warnings.push("TLS verify off".into());
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    if cli.once {
        if !s.redact_logs && logs_configured {
            say("--no-redaction: secrets in log lines are not masked (the printed frame is still redacted; credentials from the config stay masked)");
        }
        print_once(&cli, &rt, state, backends);
        return;
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        fail("TERM=dumb cannot show the full-screen view: use --once (a plain frame) or `watchfloor logs`");
    }
    let status = interactive(&rt, state, backends);
    // leave promptly even if a request is still in flight
    rt.shutdown_timeout(Duration::from_millis(200));
    std::process::exit(status);
}

/// `--once`: one frame, printed; the exit status says whether every
/// configured source answered (2) and whether anything matched (3).
fn print_once(cli: &Cli, rt: &tokio::runtime::Runtime, state: State, backends: Backends) {
    let size = match &cli.size {
        Some(sz) => parse_size(sz).unwrap_or_else(|e| fail(&e)),
        None => crossterm::terminal::size().unwrap_or((120, 40)),
    };
    let timeout = watchfloor::text::units::parse_duration(&cli.once_timeout)
        .unwrap_or_else(|e| fail(&format!("--once-timeout: {e}")));
    let state = rt.block_on(run_once(
        state,
        backends,
        size,
        Duration::from_secs_f64(timeout),
    ));
    let buf = watchfloor::ui::render(&state, size.0, size.1);
    let color = match cli.color {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => std::io::stdout().is_terminal(),
    };
    let text = if color {
        export::buffer_to_ansi(&buf)
    } else {
        export::buffer_to_text(&buf)
    };
    // every cell was redacted when drawn; this catches what a row joins
    let text = watchfloor::text::redact::redact(&text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    // exit 0 only when every configured source answered
    if let Some(why) = once_failure(&state) {
        fail(&why);
    }
    if nothing_matched(&state) {
        let scope = watchfloor::features::metrics::panes::scope_text(&state);
        let why = if scope.is_empty() {
            "no query of the dashboard returned a series: see the panes for what each needs"
                .to_string()
        } else {
            format!("scope {scope} matches no series")
        };
        logging::log("ERROR", &why);
        say(&why);
        std::process::exit(3);
    }
}

/// The full-screen UI until quit, a signal or the terminal's loss; returns
/// the exit status.
fn interactive(rt: &tokio::runtime::Runtime, state: State, backends: Backends) -> i32 {
    let guard =
        terminal::TerminalGuard::enter().unwrap_or_else(|e| fail(&format!("terminal: {e}")));
    let writer = terminal::CountingWriter::new(std::io::stdout());
    let counter = writer.count.clone();
    let started = std::time::Instant::now();
    let mut term = Terminal::new(CrosstermBackend::new(writer))
        .unwrap_or_else(|e| fail(&format!("terminal: {e}")));
    let (_state, exit) = rt.block_on(run_tui(
        &mut term,
        state,
        backends,
        run::Draw {
            full: watchfloor::ui::draw,
            header: watchfloor::ui::header_into,
        },
    ));
    terminal::release(term);
    drop(guard);
    let secs = started.elapsed().as_secs_f64();
    let bytes = counter.load(Ordering::Relaxed);
    info!(
        "exit after {secs:.1}s: {bytes} bytes written to the terminal ({:.0} B/s)",
        bytes as f64 / secs.max(0.001)
    );
    match &exit {
        run::Exit::Quit => info!("stopped: quit"),
        run::Exit::Signal(n) => info!("stopped: signal {n}"),
        run::Exit::TerminalGone(why) => info!("stopped: the terminal went away ({why})"),
    }
    exit.status()
}
