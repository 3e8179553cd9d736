//! The go story (the `go` preset, a Coder-like control plane): the database
//! slows down for every coderd, their `database/sql` pools fill up and API
//! latency rises. coderd-1 runs a handler that ignores request cancellation:
//! its requests pile up waiting for a connection, each holding goroutines and
//! buffers, so goroutines, stacks and heap climb with GC pauses and scheduler
//! latency until the container reaches its limit and is OOMKilled at 96 s.
//! The kill drops the leaked transactions, the database recovers, and
//! coderd-1's workspace agents reconnect (first to the other pods).
//!
//! Its logs are a Go server's `log/slog` text lines: requests with their
//! durations, slow queries on every pod as the database slows, coderd-1's
//! pool running dry and its requests failing with 500s, memory warnings
//! with the Go runtime's figures once its working set nears the limit, then
//! its start-up after the kill and its agents reconnecting.

use crate::demo::logs::{rule, Level, Line, LogRule, Pick, Who};
use crate::demo::{
    labels, mean, pod_row, Answer, Combine, DemoSource, Lognormal, Story, LIMIT_BYTES, MIB, OOM_AT,
    PERIOD_SECS,
};
use crate::store::Labels;

pub const NAMESPACE: &str = "coder";
pub const PODS: [&str; 3] = ["coderd-1", "coderd-2", "coderd-3"];
/// The pod with the goroutine leak.
pub const SICK: &str = "coderd-1";
pub const CONTAINER: &str = "coderd";
/// Per-pod pool size (`CODER_PG_CONN_MAX_OPEN`'s default).
pub const MAX_OPEN: f64 = 10.0;
/// Workspace agents connected to each coderd (one websocket each).
const AGENTS: f64 = 140.0;
/// Heap each leaked request keeps alive (request, rows, response buffers).
const LEAK_HEAP: f64 = 0.27 * MIB;
/// Goroutines each leaked request keeps alive (handler, pool waiter, watchers).
const LEAK_GOROUTINES: f64 = 6.0;
/// HTTP status codes of `coderd_api_requests_processed_total`, with the
/// share of requests each takes besides the 500s.
const CODES: [(&str, f64); 3] = [("200", 0.0), ("204", 0.10), ("404", 0.015)];
const BUILD_STATUSES: [&str; 3] = ["success", "failed", "canceled"];

/// What one coderd looks like at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct GoSample {
    pub working_set: f64,
    pub limit: f64,
    /// `go_memstats_*`: heap in use, stacks in use, everything mapped.
    pub heap_inuse: f64,
    pub stack_inuse: f64,
    pub sys: f64,
    pub goroutines: f64,
    pub threads: f64,
    /// `go_gc_duration_seconds{quantile="1"}`.
    pub gc_pause_max: f64,
    /// Scheduling events per second and their latency (seconds).
    pub sched: Lognormal,
    /// API requests per second; their latency (ms): a fast and a slow part.
    pub api_rate: f64,
    pub api: [Lognormal; 2],
    /// Share of API requests answered 500.
    pub error_ratio: f64,
    /// Requests that never finish (the leak).
    pub stuck: f64,
    pub concurrent: f64,
    pub websockets: f64,
    /// DB queries per second and their latency (seconds).
    pub db: [Lognormal; 2],
    pub pool_in_use: f64,
    pub pool_max_open: f64,
    /// `rate(go_sql_wait_count_total)`.
    pub pool_waits: f64,
    /// Workspace builds by status since the process started (counters).
    pub builds: [f64; 3],
}

impl GoSample {
    /// `go_memstats_sys_bytes` minus heap and stacks in use.
    pub fn other(&self) -> f64 {
        self.sys - self.heap_inuse - self.stack_inuse
    }

    /// `clamp_min(working set - Go sys, 0)`.
    pub fn unexplained(&self) -> f64 {
        (self.working_set - self.sys).max(0.0)
    }

    pub fn rss(&self) -> f64 {
        self.working_set * 0.93
    }

    pub fn cache(&self) -> f64 {
        self.working_set - self.rss()
    }

    /// Requests by status code per second; they add up to `api_rate`.
    pub fn requests_by_code(&self) -> Vec<(&'static str, f64)> {
        let errors = self.api_rate * self.error_ratio;
        let others: f64 = CODES.iter().map(|c| c.1).sum();
        let mut out: Vec<(&'static str, f64)> = CODES
            .iter()
            .map(|&(code, share)| {
                let v = if share == 0.0 {
                    self.api_rate * (1.0 - others) - errors
                } else {
                    self.api_rate * share
                };
                (code, v)
            })
            .collect();
        out.push(("500", errors));
        out
    }
}

impl DemoSource {
    /// How slow the shared database is, 0 (fine) to 1: it climbs with
    /// coderd-1's leaked transactions and recovers within seconds of the kill.
    pub fn go_db_slowness(&self, t_s: i64) -> f64 {
        let p = self.phase(t_s);
        if p < OOM_AT {
            (p / OOM_AT).powf(1.3)
        } else {
            (1.0 - (p - OOM_AT) / (PERIOD_SECS as f64 - OOM_AT)).powi(4)
        }
    }

    /// The state of coderd `pod` at `t_s` (unix seconds).
    pub fn go_sample(&self, pod: &str, t_s: i64) -> GoSample {
        let idx = PODS.iter().position(|p| *p == pod).unwrap_or(1) as u64;
        let n = |salt: u64| self.noise(100_000 + idx * 1000 + salt, t_s);
        let p = self.phase(t_s);
        let db = self.go_db_slowness(t_s);
        // seconds since coderd-1 restarted; its agents reconnect within 30 s,
        // meanwhile they are spread over the other two
        let since_kill = (p - OOM_AT).rem_euclid(PERIOD_SECS as f64);
        let sick_agents = (AGENTS * (since_kill / 30.0).min(1.0)).round();
        // the leak: 0 → 1 while coderd-1 builds up, None once restarted
        let leak = (pod == SICK && p < OOM_AT).then_some(p / OOM_AT);
        let x = leak.unwrap_or(0.0);
        let websockets = if pod == SICK {
            sick_agents
        } else {
            (AGENTS + ((AGENTS - sick_agents) / 2.0).round() + (3.0 * n(1)).round()).max(0.0)
        };

        let api_rate = 55.0 + 5.0 * n(2);
        let slow_share = if pod == SICK && leak.is_some() {
            0.03 + 0.6 * x.powf(1.3)
        } else {
            0.03 + 0.12 * db
        };
        let slow_ms = if pod == SICK {
            90.0 + 700.0 * db + 4500.0 * x * x
        } else {
            90.0 + 700.0 * db
        };
        let api = [
            Lognormal {
                weight: api_rate * (1.0 - slow_share),
                median: 22.0 * (1.0 + 0.8 * db) * (1.0 + 0.05 * n(3)),
                sigma: 0.8,
            },
            Lognormal {
                weight: api_rate * slow_share,
                median: slow_ms,
                sigma: 0.6,
            },
        ];
        let error_ratio = 0.002 + 0.02 * db * db + 0.10 * x * x;
        let stuck = (4800.0 * x.powf(1.3)).round();
        let concurrent = (api_rate * mean(&api) / 1000.0).round() + stuck;
        let goroutines = (300.0
            + 3.0 * websockets
            + 2.0 * (concurrent - stuck)
            + LEAK_GOROUTINES * stuck
            + 15.0 * n(4))
        .round();
        let threads = (12.0 + 2.0 * n(5) + 30.0 * x * x).round();

        let heap_inuse = (165.0 + 8.0 * n(6)) * MIB + websockets * 0.2 * MIB + stuck * LEAK_HEAP;
        let stack_inuse = goroutines * 8.0 * 1024.0 + 2.0 * MIB;
        let other = (80.0 + 3.0 * n(7)) * MIB + 0.12 * heap_inuse;
        let sys = heap_inuse + stack_inuse + other;
        // page cache of logs and cgo allocations: in the working set, not in Go's sys
        let outside_go = (40.0 + 3.0 * n(8) + 60.0 * x) * MIB;
        let working_set = (sys + outside_go).min(LIMIT_BYTES);

        let sched = Lognormal {
            weight: 25_000.0 + 20.0 * goroutines,
            median: 2e-6 * (1.0 + 1500.0 * x * x),
            sigma: 1.0,
        };
        let gc_pause_max = (0.35 + 0.1 * n(9) + 55.0 * x * x) / 1000.0;

        let db_rate = api_rate * 4.0;
        let db_slow = 0.01 + 0.25 * db;
        let db_q = [
            Lognormal {
                weight: db_rate * (1.0 - db_slow),
                median: 0.0015 * (1.0 + 2.0 * db),
                sigma: 0.7,
            },
            Lognormal {
                weight: db_rate * db_slow,
                median: 0.03 + 1.5 * db,
                sigma: 0.5,
            },
        ];
        let pool_in_use = if leak.is_some() {
            (2.0 + 8.0 * (x / 0.35).min(1.0)).round()
        } else {
            (2.0 + 0.8 * n(10) + 7.0 * db.powf(1.2)).round()
        }
        .clamp(0.0, MAX_OPEN);
        let pool_waits = if leak.is_some() && x > 0.35 {
            5.0 + 160.0 * (x - 0.35) / 0.65
        } else {
            2.0 * x + 30.0 * db.powi(3)
        };

        // builds since the process started: coderd-1 at its last restart,
        // the others when the pod was created
        let age = if pod == SICK {
            since_kill
        } else {
            (t_s - (t_s.div_euclid(3600) - 1) * 3600) as f64
        };
        let builds = [
            (0.25 * age).floor(),
            (0.004 * age + 12.0 * x * x).floor(),
            (0.002 * age).floor(),
        ];

        GoSample {
            working_set,
            limit: LIMIT_BYTES,
            heap_inuse,
            stack_inuse,
            sys,
            goroutines,
            threads,
            gc_pause_max,
            sched,
            api_rate,
            api,
            error_ratio,
            stuck,
            concurrent,
            websockets,
            db: db_q,
            pool_in_use,
            pool_max_open: MAX_OPEN,
            pool_waits,
            builds,
        }
    }

    /// Container restarts of `pod` at `t_s`: (total, last 15 minutes, last
    /// terminated reason).
    pub fn go_restarts(&self, pod: &str, t_s: i64) -> (f64, f64, Option<&'static str>) {
        match pod {
            SICK => {
                let (total, recent) = self.restart_counts(t_s, &[OOM_AT as i64]);
                (total, recent, Some("OOMKilled"))
            }
            // restarted once by a node drain, long ago
            "coderd-3" => (1.0, 0.0, Some("Completed")),
            _ => (0.0, 0.0, None),
        }
    }
}

/// The go story; see the module documentation.
pub struct Go;

impl Story for Go {
    fn preset(&self) -> &'static str {
        "go"
    }

    fn dashboard(&self) -> &'static str {
        "go/coderd"
    }

    fn pods(&self) -> &'static [&'static str] {
        &PODS
    }

    fn namespace(&self) -> &'static str {
        NAMESPACE
    }

    fn sick_pod(&self) -> &'static str {
        SICK
    }

    fn container(&self) -> &'static str {
        CONTAINER
    }

    fn log_rules(&self) -> &'static [LogRule] {
        &LOG_RULES
    }

    fn answer(&self, src: &DemoSource, key: &str, pod: &str, t_s: i64) -> Option<Answer> {
        use Combine::*;
        let s = src.go_sample(pod, t_s);
        let rows = |mode: Combine, v: f64| Some(Answer::Rows(mode, pod_row(pod, v)));
        let container = |v: f64, extra: &[(&str, &str)]| {
            let mut l: Labels = labels(&[("pod", pod), ("container", CONTAINER)]);
            l.extend(labels(extra));
            Some(Answer::Rows(PerPod, vec![(l, v)]))
        };
        let (total, recent, reason) = src.go_restarts(pod, t_s);
        match key {
            "memory.working_set" => rows(PerPod, s.working_set),
            "memory.limit" => rows(PerPod, s.limit),
            "memory.rss" => rows(PerPod, s.rss()),
            "memory.cache" => rows(PerPod, s.cache()),
            "memory.runtime_total" => rows(PerPod, s.sys),
            "memory.heap" => rows(PerPod, s.heap_inuse),
            "memory.stacks" => rows(PerPod, s.stack_inuse),
            "memory.other" => rows(PerPod, s.other()),
            "memory.unexplained" => rows(PerPod, s.unexplained()),
            "scheduler.goroutines" => rows(Sum, s.goroutines),
            "scheduler.threads" => rows(Sum, s.threads),
            "scheduler.sched_p95" => Some(Answer::Quantile(0.95, vec![s.sched])),
            "scheduler.gc_pause" => rows(Max, s.gc_pause_max),
            "restarts.total" => container(total, &[]),
            "restarts.recent" => container(recent, &[]),
            "restarts.last_reason" => match reason {
                Some(r) => container(1.0, &[("reason", r)]),
                None => Some(Answer::Rows(PerPod, vec![])),
            },
            "admission.concurrent" => rows(Sum, s.concurrent),
            "admission.websockets" => rows(Sum, s.websockets),
            "admission.api_p95" => Some(Answer::Quantile(0.95, s.api.to_vec())),
            "admission.requests_by_code" => Some(Answer::Rows(
                SumBy,
                s.requests_by_code()
                    .into_iter()
                    .map(|(code, v)| (labels(&[("code", code), ("pod", pod)]), v))
                    .collect(),
            )),
            "admission.db_p95" => Some(Answer::Quantile(0.95, s.db.to_vec())),
            "admission.pool" => Some(Answer::Ratio(s.pool_in_use, s.pool_max_open)),
            "admission.pool_wait" => rows(Sum, s.pool_waits),
            // the workspaces whose agents report through this coderd
            "admission.workspaces" => rows(Sum, AGENTS),
            "admission.workspaces_top" => Some(Answer::Rows(
                SumBy,
                BUILD_STATUSES
                    .iter()
                    .zip(s.builds)
                    .map(|(status, v)| (labels(&[("status", status), ("pod", pod)]), v))
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// Seconds into the cycle after which coderd-1 warns about its memory: its
/// working set is over the preset's warn line (75 % of the limit) by then.
pub const MEMORY_WARN_AT: f64 = 74.0;

/// coderd-1 starts up in the second after the kill while its agents move to
/// the other pods (and come back over the next half minute); before the
/// kill it warns about memory every 2 s, its requests fail as its pool
/// stays exhausted, and every pod logs slow queries as the database slows.
const LOG_RULES: [LogRule; 10] = {
    use Level::*;
    use Pick::*;
    use Who::*;
    const END: f64 = PERIOD_SECS as f64;
    const KILL: f64 = OOM_AT;
    const MEM: f64 = MEMORY_WARN_AT;
    [
        rule((KILL, KILL + 1.0), Share(100), Sick, Info, starting),
        rule((KILL, KILL + 4.0), Share(30), Others, Info, agent_connected),
        rule((KILL + 4.0, END), Share(8), Sick, Info, agent_connected),
        rule((MEM, KILL), Every(10), Sick, Warn, memory_pressure),
        rule((40.0, 70.0), Share(6), Sick, Error, request_failed),
        rule((70.0, KILL), Share(16), Sick, Error, request_failed),
        rule((34.0, KILL), Share(22), Sick, Warn, pool_exhausted),
        rule((36.0, KILL), Share(30), Any, Warn, slow_query),
        rule((0.0, END), Share(15), Any, Debug, conn_acquired),
        rule((0.0, END), Share(100), Any, Info, request),
    ]
};

/// A Go `time.Duration` as `String()` prints it, to a tenth of a
/// millisecond or a hundredth of a second.
fn duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1}ms", secs * 1000.0)
    } else {
        format!("{secs:.2}s")
    }
}

/// A factor in [e^-spread, e^spread] from the line's randomness.
fn spread(l: &Line, spread: f64) -> f64 {
    let u = ((l.h >> 16) % 2001) as f64 / 1000.0 - 1.0;
    (spread * u).exp()
}

const API: [(&str, &str); 5] = [
    ("POST", "/api/v2/workspaceagents/me/metadata"),
    ("GET", "/api/v2/workspaces"),
    ("GET", "/api/v2/users/me"),
    ("POST", "/api/v2/workspaceagents/me/report-stats"),
    ("GET", "/api/v2/workspacebuilds/{id}"),
];

fn request(l: &Line) -> String {
    let s = l.src.go_sample(l.pod, l.t_s());
    let (method, path) = API[(l.h % API.len() as u64) as usize];
    let code = if l.h.is_multiple_of(10) { 204 } else { 200 };
    format!(
        "time={} level=INFO msg=\"request completed\" method={method} path={path} status={code} duration={} request_id={:08x}",
        l.time,
        duration(s.api[0].median / 1000.0 * spread(l, 0.8)),
        (l.h >> 24) as u32
    )
}

fn conn_acquired(l: &Line) -> String {
    let db = l.src.go_db_slowness(l.t_s());
    format!(
        "time={} level=DEBUG msg=\"acquired database connection\" wait={}",
        l.time,
        duration((0.5 + (l.h % 7) as f64) * (1.0 + 40.0 * db * db) / 1000.0)
    )
}

const QUERIES: [&str; 4] = [
    "GetWorkspaceAgentByID",
    "GetWorkspaceByID",
    "InsertWorkspaceAgentStats",
    "GetProvisionerJobsByIDs",
];

fn slow_query(l: &Line) -> String {
    let s = l.src.go_sample(l.pod, l.t_s());
    format!(
        "time={} level=WARN msg=\"slow database query\" query={} duration={}",
        l.time,
        QUERIES[(l.h % QUERIES.len() as u64) as usize],
        duration(s.db[1].median * spread(l, 0.4))
    )
}

fn pool_exhausted(l: &Line) -> String {
    let s = l.src.go_sample(l.pod, l.t_s());
    format!(
        "time={} level=WARN msg=\"database connection pool exhausted\" in_use={} max_open={} waiting={}",
        l.time, s.pool_in_use, s.pool_max_open, s.stuck
    )
}

fn request_failed(l: &Line) -> String {
    let s = l.src.go_sample(l.pod, l.t_s());
    let (method, path) = API[(l.h % API.len() as u64) as usize];
    format!(
        "time={} level=ERROR msg=\"request failed\" method={method} path={path} status=500 duration={} error=\"acquire database connection: context deadline exceeded\" trace_id={}",
        l.time,
        duration(s.api[1].median / 1000.0 * spread(l, 0.3)),
        l.trace
    )
}

/// The container's memory against its limit, with the Go runtime's view.
fn memory_pressure(l: &Line) -> String {
    let s = l.src.go_sample(l.pod, l.t_s());
    let mib = |v: f64| (v / MIB).round() as u64;
    format!(
        "time={} level=WARN msg=\"memory usage near container limit\" working_set={}MiB limit={}MiB heap_inuse={}MiB stack_inuse={}MiB goroutines={} gc_pause_max={}",
        l.time,
        mib(s.working_set),
        mib(s.limit),
        mib(s.heap_inuse),
        mib(s.stack_inuse),
        s.goroutines,
        duration(s.gc_pause_max)
    )
}

/// The start-up after the kill, one step per slot of its first second.
fn starting(l: &Line) -> String {
    const STEPS: [&str; 5] = [
        "msg=\"starting coderd\" version=v2.18.2",
        "msg=\"connected to database\" max_open=10",
        "msg=\"database migrations up to date\"",
        "msg=\"started HTTP listener\" address=0.0.0.0:3000",
        "msg=\"provisioner daemons started\" count=3",
    ];
    let step = ((l.phase() - OOM_AT).max(0.0) * 5.0) as usize;
    format!(
        "time={} level=INFO {}",
        l.time,
        STEPS[step.min(STEPS.len() - 1)]
    )
}

fn agent_connected(l: &Line) -> String {
    let h = l.h;
    format!(
        "time={} level=INFO msg=\"workspace agent connected\" agent_id={:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        l.time,
        (h >> 32) as u32,
        (h >> 16) & 0xffff,
        (h >> 4) & 0xfff,
        (h >> 44) & 0xfff,
        h & 0xffff_ffff_ffff
    )
}
