//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

const EXAMPLES: &str = "\
Examples:
  watchfloor --demo                                   the simulated incident, no cluster needed
  watchfloor --prometheus http://localhost:9090 --namespace codex-pooler
  watchfloor --profile prod --pod app-1 --range 30m   a profile from the config file
  watchfloor --demo --once --size 120x40              print one frame as text and exit
  watchfloor --prometheus http://prom:9090 --dashboard go --theme high-contrast
  watchfloor --prometheus http://prom:9090 --loki http://loki:3100 -n codex-pooler
  watchfloor logs '{namespace=\"codex-pooler\"} |= \"error\"' --loki http://loki:3100 --since 15m --follow

Exit status:
  0    quit; --once: every configured source answered; logs: interrupted or done
  2    bad flags or config, a source that cannot be used, TERM=dumb without --once;
       --once: a source did not answer (the reason on stderr); logs: the backfill failed
  3    --once: every source answered but no query of the dashboard returned a series
  128+N  ended by signal N (SIGHUP 129, SIGINT 130, SIGTERM 143)

Config: $WATCHFLOOR_CONFIG or <config dir>/watchfloor/config.toml (see README).
Keys: ? in the app lists every key.";

#[derive(Debug, Clone, Parser)]
#[command(name = "watchfloor", version, about = "Runtime triage for on-call engineers: memory, schedulers, restarts/OOMs and admission latency from Prometheus, and live logs from Loki, in the terminal.", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Run the embedded simulated incident, metrics and logs (no Prometheus
    /// or Loki needed).
    #[arg(long, global = true)]
    pub demo: bool,
    /// Profile from the config file.
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,
    /// Config file (default: $WATCHFLOOR_CONFIG, then the platform config dir).
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Loki base URL (live logs).
    #[arg(long, value_name = "URL", global = true)]
    pub loki: Option<String>,
    /// Trace backend base URL: Jaeger query or Tempo (told apart from its
    /// API, or by --traces-kind).
    #[arg(long, value_name = "URL", global = true)]
    pub traces: Option<String>,
    /// The trace backend's kind when its API cannot tell: jaeger or tempo.
    #[arg(long, value_name = "KIND", global = true)]
    pub traces_kind: Option<String>,
    /// A trace to show, by id (16 or 32 hex digits); with --once its
    /// waterfall is printed.
    #[arg(long, value_name = "ID")]
    pub trace: Option<String>,
    /// Loki tenant (sent as X-Scope-OrgID).
    #[arg(long, value_name = "ID", global = true)]
    pub loki_tenant: Option<String>,
    /// Show log lines without masking secrets in them (a red REDACTION OFF
    /// badge stays on screen). Configured credentials are always masked.
    #[arg(long, global = true)]
    pub no_redaction: bool,
    /// Prometheus-API base URL (Prometheus, Thanos, Mimir, VictoriaMetrics).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Kubernetes namespace to show (default: all).
    #[arg(long, short = 'n', value_name = "NS", global = true)]
    pub namespace: Option<String>,
    /// Every namespace (Kubernetes: pods and events of all namespaces).
    #[arg(long, short = 'A', global = true)]
    pub all_namespaces: bool,
    /// Kubernetes config file (default: KUBECONFIG, several files merged,
    /// else ~/.kube/config, else the in-cluster service account).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Kubernetes context (default: the kubeconfig's current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Start focused on one pod (default: all pods).
    #[arg(long, value_name = "POD", global = true)]
    pub pod: Option<String>,
    /// Scope to one Prometheus job (default: all jobs).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
    /// A health endpoint to poll (repeatable), e.g. https://api.example/readyz.
    #[arg(long = "probe", value_name = "URL")]
    pub probes: Vec<String>,
    /// Dashboard: a built-in preset (beam, go, http), a name in the config
    /// dir's dashboards/, or a TOML path. Default: detected from the metrics.
    #[arg(long, value_name = "NAME|PATH")]
    pub dashboard: Option<String>,
    /// Time window, e.g. 15m, 1h, 6h.
    #[arg(long, value_name = "DURATION")]
    pub range: Option<String>,
    /// Refresh interval, e.g. 1s, 5s, 30s.
    #[arg(long, value_name = "DURATION")]
    pub refresh: Option<String>,
    /// Colour theme: default, default-16, high-contrast, mono, or a file.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: default, vim, or a file.
    #[arg(long, value_name = "NAME|PATH")]
    pub keymap: Option<String>,
    /// Render one frame headless, print it to stdout and exit.
    #[arg(long)]
    pub once: bool,
    /// For slow links: data redrawn at most every 3 s (keys at once), the clock every 10 s,
    /// ASCII borders and bars (one byte a cell instead of three).
    #[arg(long)]
    pub low_bandwidth: bool,
    /// Frame size for --once.
    #[arg(long, value_name = "COLSxROWS", requires = "once")]
    pub size: Option<String>,
    /// Colour for --once output (auto: ANSI when stdout is a terminal).
    #[arg(long, value_enum, default_value_t = ColorMode::Auto)]
    pub color: ColorMode,
    /// How long --once waits for the first data of every pane.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub once_timeout: String,
    /// Diagnostics log (default: <data dir>/watchfloor/watchfloor.log).
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,
    /// Seed of the demo simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print log lines headless (backfill, then follow with resume and
    /// dedupe; sanitised and redacted), e.g. for scripts and pipes.
    Logs(LogsArgs),
    /// Internal: runs a kubeconfig exec credential plugin with its stderr
    /// sent to the log file (watchfloor puts itself in front of each
    /// plugin, so the plugin never writes on the screen).
    #[command(hide = true)]
    ExecCredential(ExecCredentialArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExecCredentialArgs {
    /// The plugin and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// `TIME POD LINE`; markers for missing lines go to stderr.
    Text,
    /// One JSON object per line (`ts`, `labels`, `line`, …); markers as
    /// `{"marker": …}` objects.
    Jsonl,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// LogQL query (default: built from --namespace / --pod).
    #[arg(value_name = "LOGQL")]
    pub query: Option<String>,
    /// How far back to start.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub since: String,
    /// Keep following new lines until interrupted (SIGINT/SIGTERM flush
    /// and exit 0).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Newest lines of the window to print first.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// After a disconnect, re-read from this far behind the newest line
    /// (lines written late, e.g. by a retrying shipper); default 5m or the
    /// profile's logs.reread.
    #[arg(long, value_name = "DURATION")]
    pub reread: Option<String>,
}

/// Parses "200x50".
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("--size `{s}`: expected COLSxROWS, e.g. 200x50"))?;
    let w: u16 = w
        .trim()
        .parse()
        .map_err(|_| format!("--size `{s}`: bad column count"))?;
    let h: u16 = h
        .trim()
        .parse()
        .map_err(|_| format!("--size `{s}`: bad row count"))?;
    if !(20..=1000).contains(&w) || !(5..=500).contains(&h) {
        return Err(format!("--size `{s}`: between 20x5 and 1000x500"));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("200x50").unwrap(), (200, 50));
        assert!(parse_size("200").is_err());
        assert!(parse_size("5x5").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
