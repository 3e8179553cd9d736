//! The http story (the `http` preset, a generic RED service): a bad deploy of
//! checkout adds a query per cart item and a CPU-hungry serializer. From 0 s
//! every pod burns more CPU and is throttled, its DB pool fills up, slow
//! requests wait for connections and time out as 5xx, p95/p99 climb, and the
//! nodes run short of memory. checkout-3, the first pod on the new version,
//! also panics on a config it cannot parse and crash-loops (reason `Error`,
//! at 40 s and 80 s). At 96 s the deploy is rolled back and all of it
//! recovers by the end of the two-minute cycle.
//!
//! Its logs are the service's JSON lines: requests, slow requests making a
//! query per cart item, requests failing with 5xx as the DB pool runs dry
//! (on every pod, until the rollback has settled), and checkout-3's fatal
//! error just before each crash and its start-up right after.

use crate::demo::logs::{rule, Level, Line, LogRule, Pick, Who};
use crate::demo::{
    labels, pod_row, Answer, Combine, DemoSource, Lognormal, Story, MIB, PERIOD_SECS,
};
use crate::store::Labels;

pub const NAMESPACE: &str = "shop";
pub const PODS: [&str; 3] = ["checkout-1", "checkout-2", "checkout-3"];
/// The pod that crash-loops.
pub const SICK: &str = "checkout-3";
pub const CONTAINER: &str = "checkout";
/// Seconds into the cycle at which the deploy is rolled back.
pub const ROLLBACK_AT: f64 = 96.0;
/// Seconds into the cycle at which checkout-3 exits with an error.
pub const CRASHES_AT: [i64; 2] = [40, 80];
/// Seconds after a crash during which checkout-3 is not ready.
const NOT_READY_SECS: f64 = 8.0;
pub const LIMIT_BYTES: f64 = 1024.0 * MIB;
/// Per-pod DB pool size (`db_client_connections_max`).
pub const POOL_MAX: f64 = 20.0;
/// CFS periods per second (100 ms each) per container.
const CFS_PERIODS: f64 = 10.0;
const GIB: f64 = 1024.0 * MIB;
/// Three nodes of 16 GiB.
pub const NODE_MEMORY: f64 = 3.0 * 16.0 * GIB;
const BASE_RATE: f64 = 110.0;

/// What one checkout pod looks like at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSample {
    pub working_set: f64,
    pub limit: f64,
    /// CPU cores used.
    pub cpu: f64,
    /// Throttled CFS periods per second, out of `periods` per second.
    pub throttled: f64,
    pub periods: f64,
    /// Requests per second, and the 5xx among them.
    pub rate: f64,
    pub errors: f64,
    /// Request latency (seconds): a fast and a slow (waiting for a DB
    /// connection) part; weights are requests per second.
    pub latency: [Lognormal; 2],
    pub pool_used: f64,
    pub pool_max: f64,
}

impl HttpSample {
    pub fn rss(&self) -> f64 {
        self.working_set * 0.9
    }

    pub fn cache(&self) -> f64 {
        self.working_set - self.rss()
    }
}

impl DemoSource {
    /// How bad the deploy is, 0 (old version) to 1: it rolls out from 0 s
    /// and is rolled back at 96 s.
    pub fn http_severity(&self, t_s: i64) -> f64 {
        let p = self.phase(t_s);
        if p < ROLLBACK_AT {
            (p / ROLLBACK_AT).powf(1.5)
        } else {
            (1.0 - (p - ROLLBACK_AT) / (PERIOD_SECS as f64 - ROLLBACK_AT)).powi(3)
        }
    }

    /// Seconds since checkout-3 last started (after a crash, or since the
    /// rollback replaced it).
    pub fn http_since_start(&self, t_s: i64) -> f64 {
        let p = self.phase(t_s);
        CRASHES_AT
            .iter()
            .map(|&c| (p - c as f64).rem_euclid(PERIOD_SECS as f64))
            .fold(f64::MAX, f64::min)
    }

    /// The state of checkout `pod` at `t_s` (unix seconds).
    pub fn http_sample(&self, pod: &str, t_s: i64) -> HttpSample {
        let idx = PODS.iter().position(|p| *p == pod).unwrap_or(1) as u64;
        let n = |salt: u64| self.noise(200_000 + idx * 1000 + salt, t_s);
        let sev = self.http_severity(t_s);
        let sick = pod == SICK;
        // checkout-3 runs the new version first and worst
        let k = if sick { 1.0 } else { 0.6 };
        let since = self.http_since_start(t_s);
        let not_ready = since < NOT_READY_SECS;
        // while checkout-3 is not ready, its traffic goes to the others
        let rate = BASE_RATE
            * (1.0 + 0.05 * n(1))
            * match (sick, not_ready) {
                (true, true) => 0.25,
                (false, true) => 1.375,
                _ => 1.0,
            };
        // connections reset by the crash come back as 502s
        let err_share = 0.001 + 0.11 * k * sev + if sick && since < 3.0 { 0.2 } else { 0.0 };
        let slow = 0.01 + 0.35 * k * sev;
        let latency = [
            Lognormal {
                weight: rate * (1.0 - slow),
                median: 0.045 * (1.0 + 0.5 * sev) * (1.0 + 0.04 * n(2)),
                sigma: 0.5,
            },
            Lognormal {
                weight: rate * slow,
                median: 0.35 + 1.5 * sev,
                sigma: 0.45,
            },
        ];
        let cpu = (0.3 + 0.75 * k * sev + 0.03 * n(3)).clamp(0.05, 0.98);
        let throttled = CFS_PERIODS * (0.01 + 0.5 * k * sev + 0.005 * n(4)).clamp(0.0, 1.0);
        let pool_used = (3.0 + n(5) + 17.0 * (1.8 * k * sev).min(1.0))
            .round()
            .clamp(0.0, POOL_MAX);
        let working_set = if sick {
            (230.0 + 260.0 * (since / 40.0).min(1.0) + 150.0 * sev + 4.0 * n(6)) * MIB
        } else {
            (430.0 + 150.0 * sev + 6.0 * n(6)) * MIB
        };
        HttpSample {
            working_set,
            limit: LIMIT_BYTES,
            cpu,
            throttled,
            periods: CFS_PERIODS,
            rate,
            errors: rate * err_share.min(1.0),
            latency,
            pool_used,
            pool_max: POOL_MAX,
        }
    }

    /// Node CPU busy (ratio) and memory available (bytes) at `t_s`.
    pub fn http_nodes(&self, t_s: i64) -> (f64, f64) {
        let sev = self.http_severity(t_s);
        let n = |salt: u64| self.noise(210_000 + salt, t_s);
        let busy = (0.3 + 0.55 * sev + 0.02 * n(1)).clamp(0.0, 1.0);
        let used = 26.0 * GIB + 21.0 * GIB * sev + 0.2 * GIB * n(2);
        (busy, NODE_MEMORY - used)
    }

    /// Container restarts of `pod` at `t_s`: (total, last 15 minutes, last
    /// terminated reason).
    pub fn http_restarts(&self, pod: &str, t_s: i64) -> (f64, f64, Option<&'static str>) {
        match pod {
            SICK => {
                let (total, recent) = self.restart_counts(t_s, &CRASHES_AT);
                (total, recent, Some("Error"))
            }
            _ => (0.0, 0.0, None),
        }
    }
}

/// The http story; see the module documentation.
pub struct Http;

impl Story for Http {
    fn preset(&self) -> &'static str {
        "http"
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
        let s = src.http_sample(pod, t_s);
        let rows = |mode: Combine, v: f64| Some(Answer::Rows(mode, pod_row(pod, v)));
        let container = |v: f64, extra: &[(&str, &str)]| {
            let mut l: Labels = labels(&[("pod", pod), ("container", CONTAINER)]);
            l.extend(labels(extra));
            Some(Answer::Rows(PerPod, vec![(l, v)]))
        };
        let (total, recent, reason) = src.http_restarts(pod, t_s);
        let q = |q: f64| Some(Answer::Quantile(q, s.latency.to_vec()));
        match key {
            "memory.working_set" => rows(PerPod, s.working_set),
            "memory.limit" => rows(PerPod, s.limit),
            "memory.rss" => rows(PerPod, s.rss()),
            "memory.cache" => rows(PerPod, s.cache()),
            "scheduler.cpu" => rows(Sum, s.cpu),
            "scheduler.throttled" => Some(Answer::Ratio(s.throttled, s.periods)),
            "restarts.total" => container(total, &[]),
            "restarts.recent" => container(recent, &[]),
            "restarts.last_reason" => match reason {
                Some(r) => container(1.0, &[("reason", r)]),
                None => Some(Answer::Rows(PerPod, vec![])),
            },
            "admission.rate" => rows(Sum, s.rate),
            "admission.error_ratio" => Some(Answer::Ratio(s.errors, s.rate)),
            "admission.p50" => q(0.5),
            "admission.p95" => q(0.95),
            "admission.p99" => q(0.99),
            "admission.db_pool" => Some(Answer::Ratio(s.pool_used, s.pool_max)),
            _ => None,
        }
    }

    fn cluster(&self, src: &DemoSource, key: &str, t_s: i64) -> Option<f64> {
        let (busy, avail) = src.http_nodes(t_s);
        match key {
            "scheduler.node_cpu" => Some(busy),
            "scheduler.node_mem" => Some(avail),
            _ => None,
        }
    }
}

/// Seconds into the cycle from which requests fail: the 5xx ratio is over
/// the preset's warn line (1 %) by then.
pub const ERRORS_FROM: f64 = 24.0;
/// Seconds into the cycle after which no request fails any more: the
/// rollback has brought the 5xx ratio back under the warn line.
pub const ERRORS_UNTIL: f64 = ROLLBACK_AT + 10.0;

/// checkout-3 logs a fatal error in the last slot before each crash and
/// starts up in the second after; requests fail on every pod while the 5xx
/// ratio is over its warn line (more of them past its crit line, around
/// 72 s, fewer once rolled back) and slow requests come with them.
const LOG_RULES: [LogRule; 10] = {
    use Level::*;
    use Pick::*;
    use Who::*;
    const END: f64 = PERIOD_SECS as f64;
    const BACK: f64 = ROLLBACK_AT;
    let (from, until) = (ERRORS_FROM, ERRORS_UNTIL);
    let (c1, c2) = (CRASHES_AT[0] as f64, CRASHES_AT[1] as f64);
    [
        rule((c1 - 0.2, c1), Share(100), Sick, Fatal, crash),
        rule((c2 - 0.2, c2), Share(100), Sick, Fatal, crash),
        rule((c1, c1 + 1.0), Share(100), Sick, Info, starting),
        rule((c2, c2 + 1.0), Share(100), Sick, Info, starting),
        rule((from, 72.0), Share(8), Any, Error, request_failed),
        rule((72.0, BACK + 4.0), Share(18), Any, Error, request_failed),
        rule((BACK + 4.0, until), Share(6), Any, Error, request_failed),
        rule((28.0, BACK + 6.0), Share(28), Any, Warn, slow_request),
        rule((0.0, END), Share(15), Any, Debug, db_query),
        rule((0.0, END), Share(100), Any, Info, request),
    ]
};

const VERSION: &str = "2.14.0";

/// A factor in [e^-spread, e^spread] from the line's randomness.
fn spread(l: &Line, spread: f64) -> f64 {
    let u = ((l.h >> 16) % 2001) as f64 / 1000.0 - 1.0;
    (spread * u).exp()
}

const ROUTES: [(&str, &str); 4] = [
    ("GET", "/api/v1/cart"),
    ("GET", "/api/v1/products/{id}"),
    ("POST", "/api/v1/cart/items"),
    ("POST", "/api/v1/checkout"),
];

fn route(l: &Line) -> (&'static str, &'static str) {
    ROUTES[(l.h % ROUTES.len() as u64) as usize]
}

fn request(l: &Line) -> String {
    let s = l.src.http_sample(l.pod, l.t_s());
    let (method, path) = route(l);
    format!(
        r#"{{"time":"{}","level":"info","msg":"request completed","method":"{method}","path":"{path}","status":200,"duration_ms":{:.1},"request_id":"{:08x}"}}"#,
        l.time,
        s.latency[0].median * 1000.0 * spread(l, 0.5),
        (l.h >> 24) as u32
    )
}

fn db_query(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"debug","msg":"db query","table":"cart_items","rows":{},"duration_ms":{:.1}}}"#,
        l.time,
        1 + l.h % 12,
        0.4 + (l.h % 30) as f64 / 10.0
    )
}

/// The bad deploy loads a cart one query per item.
fn slow_request(l: &Line) -> String {
    let s = l.src.http_sample(l.pod, l.t_s());
    let items = 8 + l.h % 40;
    format!(
        r#"{{"time":"{}","level":"warn","msg":"slow request","method":"GET","path":"/api/v1/cart","status":200,"duration_ms":{:.0},"db_queries":{},"version":"{VERSION}"}}"#,
        l.time,
        s.latency[1].median * 1000.0 * spread(l, 0.3),
        items + 2
    )
}

/// A 5xx at the request's 5 s deadline: waiting for a DB connection once
/// the pod's pool is full, else on a query of the cart's many.
fn request_failed(l: &Line) -> String {
    let s = l.src.http_sample(l.pod, l.t_s());
    let (method, path) = route(l);
    let (status, error) = if s.pool_used >= s.pool_max {
        (503, "timed out waiting for a database connection")
    } else {
        (500, "canceling statement due to statement timeout")
    };
    format!(
        r#"{{"time":"{}","level":"error","msg":"request failed","method":"{method}","path":"{path}","status":{status},"duration_ms":{},"error":"{error}","db_pool_in_use":{},"db_pool_max":{},"trace_id":"{}"}}"#,
        l.time,
        5000 + l.h % 40,
        s.pool_used,
        s.pool_max,
        l.trace
    )
}

/// checkout-3's exit (the container's last terminated reason is `Error`).
fn crash(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"fatal","msg":"pricing rules reload failed, exiting","error":"rules[3].currency: unknown currency \"EURO\"","version":"{VERSION}","trace_id":"{}"}}"#,
        l.time, l.trace
    )
}

/// The start-up after a crash, one step per slot of its first second.
fn starting(l: &Line) -> String {
    const STEPS: [&str; 5] = [
        r#""msg":"starting checkout","version":"2.14.0""#,
        r#""msg":"connected to database","pool_max":20"#,
        r#""msg":"pricing rules loaded","rules":42"#,
        r#""msg":"listening","addr":":8080""#,
        r#""msg":"warming product cache""#,
    ];
    let since = l.src.http_since_start(l.t_s()) + l.phase().fract();
    let step = (since * 5.0) as usize;
    format!(
        r#"{{"time":"{}","level":"info",{}}}"#,
        l.time,
        STEPS[step.min(STEPS.len() - 1)]
    )
}
