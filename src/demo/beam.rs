//! The beam story (the `beam` preset, Codex Pooler): on app-1, binary memory
//! climbs with streaming buffers until the cgroup limit, the container is
//! OOMKilled at 96 s and restarts; the admission queue p95 rises and
//! rejections spike. app-2 and app-3 stay healthy.
//!
//! Its logs are the Elixir app's JSON: requests with thread and turn ids,
//! memory-sampler snapshots from app-1 as its memory climbs, admission
//! warnings and rejections, truncated stream buffers just before the OOM,
//! and the restart.

use crate::demo::logs::{rule, Level, Line, LogRule, Pick, Who};
use crate::demo::{labels, Answer, Combine, DemoSource, Story, PERIOD_SECS};
use crate::store::Labels;

/// Seconds into the cycle at which app-1 reaches its limit and is killed.
pub const OOM_AT: f64 = 96.0;
pub const NAMESPACE: &str = "codex-pooler";
pub const PODS: [&str; 3] = ["app-1", "app-2", "app-3"];
/// The pod whose memory climbs to its limit.
pub const SICK: &str = "app-1";
const MIB: f64 = 1024.0 * 1024.0;
pub const LIMIT_BYTES: f64 = 2048.0 * MIB;

/// The beam story; see the module documentation.
pub struct Beam;

impl Story for Beam {
    fn preset(&self) -> &'static str {
        "beam"
    }

    fn dashboard(&self) -> &'static str {
        "beam/codex-pooler"
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

    fn answer(&self, src: &DemoSource, key: &str, pod: &str, t_s: i64) -> Option<Answer> {
        src.beam_value(key, pod, t_s)
            .map(|rows| Answer::Rows(combine(key), rows))
    }

    fn log_rules(&self) -> &'static [LogRule] {
        &LOG_RULES
    }
}

/// app-1 restarts at the OOM, its stream buffers are truncated in the two
/// seconds before, admission rejects and warns as its queue fills, and it
/// logs a memory-sampler snapshot every 5 s once its memory is high.
const LOG_RULES: [LogRule; 7] = {
    use Level::*;
    use Pick::*;
    use Who::*;
    const ALL: (f64, f64) = (0.0, PERIOD_SECS as f64);
    [
        rule((OOM_AT, OOM_AT + 3.0), Share(50), Sick, Info, starting),
        rule((OOM_AT - 2.0, OOM_AT), Share(40), Sick, Error, truncated),
        rule((OOM_AT - 16.0, OOM_AT), Share(20), Any, Error, rejected),
        rule((OOM_AT - 36.0, OOM_AT), Share(12), Any, Warn, queue_warn),
        // every 5 s while memory is over the sampler threshold
        rule((60.0, OOM_AT), Every(25), Sick, Info, sampler),
        rule(ALL, Share(15), Any, Debug, pool_checkout),
        rule(ALL, Share(100), Any, Info, request),
    ]
};

fn pool_checkout(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"debug","msg":"pool checkout","pool":"repo","wait_ms":{}}}"#,
        l.time,
        l.h % 7
    )
}

fn request(l: &Line) -> String {
    let h = l.h;
    format!(
        r#"{{"time":"{}","level":"info","msg":"request completed","method":"POST","path":"/v1/responses","status":200,"duration_ms":{},"thread_id":"thr_{:06x}","turn_id":"turn_{:04x}","trace_id":"{}"}}"#,
        l.time,
        20 + h % 180,
        // a few dozen conversations, each of many turns
        0x65f000 + (h >> 8) % 24,
        (h >> 32) % 0x3f,
        l.trace
    )
}

fn queue_warn(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"warn","msg":"admission queue depth high","route_class":"responses","transport":"sse","depth":{}}}"#,
        l.time,
        20 + l.h % 40
    )
}

fn rejected(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"error","msg":"admission rejected: queue full","route_class":"responses","transport":"sse","trace_id":"{}"}}"#,
        l.time, l.trace
    )
}

fn truncated(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"error","msg":"upstream stream buffer truncated","pod":"{}","bytes":{},"trace_id":"{}"}}"#,
        l.time,
        l.pod,
        8_000_000 + l.h % 4_000_000,
        l.trace
    )
}

fn starting(l: &Line) -> String {
    format!(
        r#"{{"time":"{}","level":"info","msg":"application starting after restart","role":"api","pod":"{}"}}"#,
        l.time, l.pod
    )
}

/// The memory sampler's snapshot of the pod's VM, from the story's figures.
fn sampler(l: &Line) -> String {
    let (pod, time, ts_ms) = (l.pod, l.time, l.ts_ms);
    let s = l.src.sample(pod, l.t_s());
    let mib = |v: f64| v.round() as u64;
    format!(
        r#"{{"time":"{time}","level":"info","msg":"memory sampler snapshot","role":"api","pod":"{pod}","memory":{{"total":{},"processes":{},"binary":{},"ets":{},"code":{},"atom":{},"system":{}}},"cgroup":{{"usage":{},"limit":{},"working_set":{}}},"process_count":{},"port_count":{},"top_processes_by_memory":[{{"pid":"<0.4711.0>","name":"Elixir.CodexPooler.Gateway.Stream","memory":{},"message_queue_len":{}}},{{"pid":"<0.812.0>","name":"Elixir.CodexPooler.Repo","memory":{},"message_queue_len":0}}],"top_processes_by_message_queue":[{{"pid":"<0.4711.0>","name":"Elixir.CodexPooler.Gateway.Stream","memory":{},"message_queue_len":{}}}],"top_ets_tables":[{{"name":"gateway_sessions","memory":{},"size":{}}}]}}"#,
        mib(s.beam_total()),
        mib(s.processes_mem),
        mib(s.binary),
        mib(s.ets),
        mib(s.code),
        mib(s.atom),
        mib(s.system),
        mib(s.working_set),
        mib(s.limit),
        mib(s.working_set),
        s.processes.round() as u64,
        s.ports.round() as u64,
        mib(s.binary * 0.4),
        (s.queued * 10.0).round() as u64,
        mib(s.processes_mem * 0.05),
        mib(s.binary * 0.4),
        (s.queued * 10.0).round() as u64,
        mib(s.ets * 0.6),
        12_000 + (ts_ms / 1000) % 500,
    )
}

/// What one pod looks like at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodSample {
    pub working_set: f64,
    pub limit: f64,
    pub processes_mem: f64,
    pub binary: f64,
    pub ets: f64,
    pub code: f64,
    pub atom: f64,
    pub system: f64,
    pub unexplained: f64,
    pub run_queue: f64,
    pub processes: f64,
    pub ports: f64,
    pub enqueued: f64,
    pub queued: f64,
    pub rejected: f64,
    pub timed_out: f64,
    pub queue_p95: f64,
    pub http_rate: f64,
    pub error_ratio: f64,
    pub http_p95: f64,
    pub db_queue_p95: f64,
    pub oversized: f64,
    pub truncated: f64,
}

impl PodSample {
    pub fn beam_total(&self) -> f64 {
        self.processes_mem + self.binary + self.ets + self.code + self.atom + self.system
    }
}

impl DemoSource {
    /// The state of `pod` at `t_s` (unix seconds).
    pub fn sample(&self, pod: &str, t_s: i64) -> PodSample {
        let idx = PODS.iter().position(|p| *p == pod).unwrap_or(1) as u64;
        let n = |salt: u64| self.noise(idx * 1000 + salt, t_s);
        let base = PodSample {
            working_set: 0.0,
            limit: LIMIT_BYTES,
            processes_mem: (170.0 + 6.0 * n(1)) * MIB,
            binary: (110.0 + 8.0 * n(2)) * MIB,
            ets: 88.0 * MIB,
            code: 61.0 * MIB,
            atom: 1.5 * MIB,
            system: (118.0 + 2.0 * n(3)) * MIB,
            unexplained: (150.0 + 5.0 * n(4)) * MIB,
            run_queue: (2.0 + n(5)).max(0.0).round(),
            processes: (4100.0 + 60.0 * n(6)).round(),
            ports: (118.0 + 3.0 * n(7)).round(),
            enqueued: 80.0 + 4.0 * n(8),
            queued: 4.0 + n(9),
            rejected: 0.02,
            timed_out: 0.0,
            queue_p95: 0.031 + 0.004 * n(10),
            http_rate: 95.0 + 5.0 * n(11),
            error_ratio: 0.002,
            http_p95: 0.12 + 0.01 * n(12),
            db_queue_p95: 0.005 + 0.001 * n(13),
            oversized: 0.05,
            truncated: 0.0,
        };
        let mut s = base;
        if pod == "app-1" {
            let p = self.phase(t_s);
            if p < OOM_AT {
                let x = p / OOM_AT; // 0 → 1 as the incident builds
                s.binary = (110.0 + 1260.0 * x.powf(1.6)) * MIB;
                s.unexplained = (150.0 + 97.5 * x) * MIB;
                s.run_queue = (2.0 + 44.0 * x.powi(3) + 2.0 * n(5)).max(0.0).round();
                s.processes = (4100.0 + 44_000.0 * x).round();
                s.ports = (118.0 + 193.0 * x).round();
                s.queued = 4.0 + 31.0 * x * x;
                s.rejected = if p < 70.0 {
                    0.02
                } else {
                    0.02 + 6.0 * ((p - 70.0) / (OOM_AT - 70.0)).powi(2)
                };
                s.timed_out = 0.4 * x.powi(3);
                s.queue_p95 = 0.031 + 0.75 * x.powf(2.5);
                s.error_ratio = 0.002 + 0.03 * x.powi(4);
                s.http_p95 = 0.12 + 0.33 * x.powi(2);
                s.db_queue_p95 = 0.005 + 0.035 * x.powi(2);
                s.oversized = 0.05 + 1.15 * x;
                s.truncated = if p > 60.0 {
                    0.6 * (p - 60.0) / (OOM_AT - 60.0)
                } else {
                    0.0
                };
            } else {
                // restarted: fresh VM, traffic shifts to the others for a while
                s.enqueued *= 0.5;
                s.processes = (3000.0 + 30.0 * n(6)).round();
            }
        }
        s.working_set = (s.beam_total() + s.unexplained).min(LIMIT_BYTES);
        s
    }

    /// OOM kills of app-1 since the epoch, at or before `t_s`.
    fn kills(&self, t_s: i64) -> i64 {
        self.cycle_events(t_s, OOM_AT as i64)
    }

    /// Restarts in the 15 minutes up to `t_s`.
    pub fn recent_restarts(&self, pod: &str, t_s: i64) -> f64 {
        match pod {
            "app-1" => (self.kills(t_s) - self.kills(t_s - 900)) as f64,
            _ => 0.0,
        }
    }

    /// Containers app-1 has restarted at or before `t_s` (one OOM per cycle).
    pub fn restarts(&self, pod: &str, t_s: i64) -> f64 {
        match pod {
            "app-1" => {
                // since the pod was created, at the start of the previous
                // UTC hour: the count stays readable, and the 15-minute
                // window always lies within its life (the total is never
                // below the last 15 minutes' restarts)
                let created = (t_s.div_euclid(3600) - 1) * 3600;
                (self.kills(t_s) - self.kills(created)) as f64
            }
            "app-3" => 1.0,
            _ => 0.0,
        }
    }

    fn beam_value(&self, key: &str, pod: &str, t_s: i64) -> Option<Vec<(Labels, f64)>> {
        let s = self.sample(pod, t_s);
        let one = |v: f64| Some(vec![(labels(&[("pod", pod)]), v)]);
        match key {
            "memory.working_set" => one(s.working_set),
            "memory.limit" => one(s.limit),
            "memory.rss" => one(s.working_set * 0.86),
            "memory.cache" => one(s.working_set * 0.14),
            "memory.runtime_total" => one(s.beam_total()),
            "memory.processes" => one(s.processes_mem),
            "memory.binary" => one(s.binary),
            "memory.ets" => one(s.ets),
            "memory.code" => one(s.code),
            "memory.atom" => one(s.atom),
            "memory.system" => one(s.system),
            "memory.unexplained" => one((s.working_set - s.beam_total()).max(0.0)),
            "scheduler.run_queue" => one(s.run_queue),
            "scheduler.run_queue_cpu" => one((s.run_queue * 0.8).round()),
            "scheduler.run_queue_io" => one(s.run_queue - (s.run_queue * 0.8).round()),
            "scheduler.processes" => one(s.processes),
            "scheduler.ports" => one(s.ports),
            "restarts.total" => Some(vec![(
                labels(&[("pod", pod), ("container", "app")]),
                self.restarts(pod, t_s),
            )]),
            "restarts.recent" => Some(vec![(
                labels(&[("pod", pod), ("container", "app")]),
                self.recent_restarts(pod, t_s),
            )]),
            "restarts.last_reason" => match pod {
                "app-1" => Some(vec![(
                    labels(&[("pod", pod), ("container", "app"), ("reason", "OOMKilled")]),
                    1.0,
                )]),
                "app-3" => Some(vec![(
                    labels(&[("pod", pod), ("container", "app"), ("reason", "Completed")]),
                    1.0,
                )]),
                _ => Some(vec![]),
            },
            "admission.enqueued" => one(s.enqueued),
            "admission.accepted" => one((s.enqueued - s.rejected - s.timed_out).max(0.0)),
            "admission.queued" => one(s.queued),
            "admission.rejected" => one(s.rejected),
            "admission.timed_out" => one(s.timed_out),
            "admission.queue_p95" => Some(
                [
                    ("responses", "http", 1.0),
                    ("responses", "websocket", 0.8),
                    ("chat", "http", 0.55),
                ]
                .iter()
                .map(|(rc, tr, f)| {
                    (
                        labels(&[("route_class", rc), ("transport", tr), ("pod", pod)]),
                        s.queue_p95 * f,
                    )
                })
                .collect(),
            ),
            "admission.http_by_class" => Some(vec![
                (
                    labels(&[("status_class", "2xx"), ("pod", pod)]),
                    s.http_rate * (1.0 - s.error_ratio - 0.01),
                ),
                (
                    labels(&[("status_class", "4xx"), ("pod", pod)]),
                    s.http_rate * 0.01,
                ),
                (
                    labels(&[("status_class", "5xx"), ("pod", pod)]),
                    s.http_rate * s.error_ratio,
                ),
            ]),
            "admission.error_ratio" => one(s.error_ratio),
            "admission.http_p95" => one(s.http_p95),
            "admission.db_queue_p95" => one(s.db_queue_p95),
            "admission.stream_oversized" => one(s.oversized),
            "admission.stream_truncated" => one(s.truncated),
            _ => None,
        }
    }
}

/// How values of one beam query combine across pods, mirroring its PromQL:
/// `max by (pod)` keeps pods apart, `sum(...)` adds them, ratios and
/// quantiles take the worst pod.
fn combine(key: &str) -> Combine {
    match key.split('.').next().unwrap_or("") {
        // the scheduler rows are per pod too: never a silent sum
        "memory" | "restarts" | "scheduler" => Combine::PerPod,
        _ => match key {
            "admission.error_ratio" | "admission.http_p95" | "admission.db_queue_p95" => {
                Combine::Max
            }
            "admission.queue_p95" => Combine::MaxBy,
            "admission.http_by_class" => Combine::SumBy,
            _ => Combine::Sum,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app1_climbs_to_limit_then_restarts() {
        let d = DemoSource::new(0);
        let t0 = 1_700_000_040; // phase 0 for seed 0 (1_700_000_040 % 120 == 0)
        assert_eq!(d.phase(t0), 0.0);
        let early = d.sample("app-1", t0 + 10);
        let late = d.sample("app-1", t0 + 95);
        let after = d.sample("app-1", t0 + 100);
        assert!(late.binary > early.binary * 5.0);
        assert!(
            late.working_set >= LIMIT_BYTES * 0.99,
            "{}",
            late.working_set / MIB
        );
        assert!(after.working_set < LIMIT_BYTES * 0.5);
        assert!(late.queue_p95 > 0.7 && early.queue_p95 < 0.05);
        assert!(late.rejected > 4.0);
        assert_eq!(
            d.restarts("app-1", t0 + 100),
            d.restarts("app-1", t0 + 95) + 1.0
        );
        // other pods stay healthy
        let other = d.sample("app-2", t0 + 95);
        assert!(other.working_set < LIMIT_BYTES * 0.5 && other.queue_p95 < 0.05);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = DemoSource::new(7).sample("app-2", 1_700_000_000);
        let b = DemoSource::new(7).sample("app-2", 1_700_000_000);
        let c = DemoSource::new(8).sample("app-2", 1_700_000_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
