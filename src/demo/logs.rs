//! The demo's logs, behind the same `LogsBackend` trait as Loki: chatter from
//! every pod (JSON with request, thread and turn ids), memory-sampler
//! snapshots from the sick pod as its memory climbs, and errors carrying
//! trace ids at the admission spike and the OOM. Lines depend only on the
//! seed and the time, like the metrics.
//!
//! The demo understands the parts of LogQL the app writes: `pod="…"`,
//! `pod=~"a|b"`, `namespace="…"` and `|=` / `!=` line filters.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::core::{BoxFut, SourceError};
use crate::demo::{story_for, DemoSource, Story, PERIOD_SECS};
use crate::features::logs::client::wire::{labels_of, Entry, Labels, MatrixSeries, ServerPattern};
use crate::features::logs::client::{LogsBackend, TailMessage, TailOpenError, TailStream};

/// One line every SLOT_MS across all pods.
const SLOT_MS: i64 = 200;

pub struct DemoLogs {
    seed: u64,
    story: &'static dyn Story,
    streams: Vec<Labels>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Debug,
    Request,
    QueueWarn,
    Rejected,
    Truncated,
    Sampler,
    Starting,
}

impl Kind {
    fn level(self) -> &'static str {
        match self {
            Kind::Debug => "debug",
            Kind::Request | Kind::Starting | Kind::Sampler => "info",
            Kind::QueueWarn => "warn",
            Kind::Rejected | Kind::Truncated => "error",
        }
    }
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

/// What the demo's query selects.
#[derive(Debug, Default)]
struct Filter {
    pods: Option<Vec<String>>,
    namespace: Option<String>,
    include: Vec<String>,
    exclude: Vec<String>,
    /// `| json | name="value"` (or logfmt) label filters.
    fields: Vec<(String, String)>,
}

/// The demo speaks only the LogQL the app writes; anything without a
/// closed selector is refused the way Loki refuses it.
fn check(q: &str) -> Result<(), SourceError> {
    let q = q.trim();
    let sel = crate::features::logs::client::logql::selector_of(q);
    if sel.is_none() {
        let col = if q.starts_with('{') {
            q.chars().count() + 1
        } else {
            1
        };
        return Err(SourceError {
            status: Some(400),
            kind: crate::core::ErrorKind::Unspecified,
            message: format!(
                "parse error at line 1, col {col}: syntax error: unexpected {}",
                if q.starts_with('{') {
                    "$end, expecting } or ,"
                } else {
                    "IDENTIFIER"
                }
            ),
        });
    }
    Ok(())
}

fn quoted(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut it = rest.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = it.next() {
                    out.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        o => o,
                    });
                }
            }
            '"' => return Some((out, &rest[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

fn parse_filter(q: &str) -> Filter {
    let mut f = Filter::default();
    if let Some(i) = q.find("pod=~") {
        if let Some((v, _)) = quoted(&q[i + 5..]) {
            f.pods = Some(v.split('|').map(|p| p.replace('\\', "")).collect());
        }
    } else if let Some(i) = q.find("pod=") {
        if let Some((v, _)) = quoted(&q[i + 4..]) {
            f.pods = Some(vec![v]);
        }
    }
    if let Some(i) = q.find("namespace=\"") {
        if let Some((v, _)) = quoted(&q[i + 10..]) {
            f.namespace = Some(v);
        }
    }
    let mut at = q;
    while let Some(i) = at.find("| json |").or_else(|| at.find("| logfmt |")) {
        let after = &at[i..];
        let after = after.split_once('|').map(|x| x.1).unwrap_or("");
        let after = after
            .split_once('|')
            .map(|x| x.1)
            .unwrap_or("")
            .trim_start();
        if let Some((name, rest)) = after.split_once('=') {
            if let Some((v, r)) = quoted(rest) {
                f.fields.push((name.trim().to_string(), v));
                at = r;
                continue;
            }
        }
        break;
    }
    let mut rest = q;
    while let Some(i) = rest.find(['|', '!']) {
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("|=") {
            if let Some((v, r)) = quoted(t) {
                f.include.push(v);
                rest = r;
                continue;
            }
        } else if let Some(t) = tail.strip_prefix("!=") {
            if let Some((v, r)) = quoted(t) {
                f.exclude.push(v);
                rest = r;
                continue;
            }
        }
        rest = &tail[1..];
    }
    f
}

impl DemoLogs {
    pub fn new(seed: u64, preset: &str) -> DemoLogs {
        let story = story_for(preset);
        let streams = story
            .pods()
            .iter()
            .map(|p| {
                labels_of(BTreeMap::from([
                    ("container".to_string(), "app".to_string()),
                    ("namespace".to_string(), story.namespace().to_string()),
                    ("pod".to_string(), p.to_string()),
                ]))
            })
            .collect();
        DemoLogs {
            seed,
            story,
            streams,
        }
    }

    /// The line of slot `k` (unix ms / SLOT_MS): which pod, when, what.
    fn slot(&self, k: i64) -> (usize, i64, Kind) {
        let h = mix(self.seed ^ (k as u64).wrapping_mul(0x9e3779b97f4a7c15));
        let pods = self.streams.len();
        let mut pod = (h % pods as u64) as usize;
        let ts_ms = k * SLOT_MS + (h >> 20) as i64 % SLOT_MS;
        let p = (ts_ms / 1000).rem_euclid(PERIOD_SECS) as f64 + (ts_ms % 1000) as f64 / 1000.0;
        let roll = (h >> 40) % 100;
        let oom = crate::demo::OOM_AT;
        let sick = 0; // the first pod is the story's sick pod
        let kind = if (oom..oom + 3.0).contains(&p) && roll < 50 {
            pod = sick;
            Kind::Starting
        } else if (oom - 2.0..oom).contains(&p) && roll < 40 {
            pod = sick;
            Kind::Truncated
        } else if (oom - 16.0..oom).contains(&p) && roll < 20 {
            Kind::Rejected
        } else if (oom - 36.0..oom).contains(&p) && roll < 12 {
            Kind::QueueWarn
        } else if (60.0..oom).contains(&p) && k.rem_euclid(25) == 0 {
            // every 5 s while memory is over the sampler threshold
            pod = sick;
            Kind::Sampler
        } else if roll < 15 {
            Kind::Debug
        } else {
            Kind::Request
        };
        (pod, ts_ms, kind)
    }

    fn text(&self, k: i64, pod: usize, ts_ms: i64, kind: Kind) -> String {
        let h = mix(self.seed.wrapping_add(k as u64) ^ 0xabcdef);
        let trace = format!("{:016x}{:016x}", mix(h), mix(h ^ 1));
        let time = chrono::DateTime::from_timestamp_millis(ts_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let name = self.story.pods()[pod];
        match kind {
            Kind::Debug => format!(
                r#"{{"time":"{time}","level":"debug","msg":"pool checkout","pool":"repo","wait_ms":{}}}"#,
                h % 7
            ),
            Kind::Request => format!(
                r#"{{"time":"{time}","level":"info","msg":"request completed","method":"POST","path":"/v1/responses","status":200,"duration_ms":{},"thread_id":"thr_{:06x}","turn_id":"turn_{:04x}"}}"#,
                20 + h % 180,
                (h >> 8) % 0xffffff,
                (h >> 32) % 0x3f
            ),
            Kind::QueueWarn => format!(
                r#"{{"time":"{time}","level":"warn","msg":"admission queue depth high","route_class":"responses","transport":"sse","depth":{}}}"#,
                20 + h % 40
            ),
            Kind::Rejected => format!(
                r#"{{"time":"{time}","level":"error","msg":"admission rejected: queue full","route_class":"responses","transport":"sse","trace_id":"{trace}"}}"#
            ),
            Kind::Truncated => format!(
                r#"{{"time":"{time}","level":"error","msg":"upstream stream buffer truncated","pod":"{name}","bytes":{},"trace_id":"{trace}"}}"#,
                8_000_000 + h % 4_000_000
            ),
            Kind::Starting => format!(
                r#"{{"time":"{time}","level":"info","msg":"application starting after restart","role":"api","pod":"{name}"}}"#
            ),
            Kind::Sampler => self.sampler(name, ts_ms, &time),
        }
    }

    fn sampler(&self, pod: &str, ts_ms: i64, time: &str) -> String {
        // beam's memory model in every story (other stories' pods read as healthy)
        let src = DemoSource::with_preset(self.seed, self.story.preset());
        let s = src.sample(pod, ts_ms / 1000);
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

    fn selected(&self, f: &Filter, pod: usize) -> bool {
        let name = self.story.pods()[pod];
        f.pods.as_ref().is_none_or(|p| p.iter().any(|x| x == name))
            && f.namespace
                .as_deref()
                .is_none_or(|n| n == self.story.namespace())
    }

    /// Entries in [start, end) ns, oldest first.
    fn generate(
        &self,
        query: &str,
        start_ns: i64,
        end_ns: i64,
        cap: usize,
        newest: bool,
    ) -> Vec<Entry> {
        let f = parse_filter(query);
        let (a, b) = (start_ns.div_euclid(1_000_000), end_ns.div_euclid(1_000_000));
        let mut out = Vec::new();
        let push = |k: i64, out: &mut Vec<Entry>| {
            let (pod, ts_ms, kind) = self.slot(k);
            if ts_ms < a || ts_ms >= b || !self.selected(&f, pod) {
                return;
            }
            let line = self.text(k, pod, ts_ms, kind);
            let fields_ok = f.fields.is_empty()
                || crate::text::logline::fields(&line).is_some_and(|fl| {
                    f.fields.iter().all(|(n, v)| {
                        fl.pairs.iter().any(|(k, x)| {
                            crate::features::logs::client::logql::field_label(k) == *n && x == v
                        })
                    })
                });
            if fields_ok
                && f.include.iter().all(|i| line.contains(i.as_str()))
                && !f.exclude.iter().any(|x| line.contains(x.as_str()))
            {
                out.push(Entry {
                    ts_ns: ts_ms * 1_000_000,
                    labels: self.streams[pod].clone(),
                    line,
                    meta: vec![],
                });
            }
        };
        let (k0, k1) = (a.div_euclid(SLOT_MS), b.div_euclid(SLOT_MS) + 1);
        if newest {
            let mut k = k1;
            while k >= k0 && out.len() < cap {
                push(k, &mut out);
                k -= 1;
            }
            out.reverse();
        } else {
            for k in k0..=k1 {
                if out.len() >= cap {
                    break;
                }
                push(k, &mut out);
            }
        }
        out
    }
}

impl LogsBackend for DemoLogs {
    fn name(&self) -> &'static str {
        "logs"
    }

    fn query_range<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        forward: bool,
    ) -> BoxFut<'a, Result<Vec<Entry>, SourceError>> {
        Box::pin(async move {
            check(query)?;
            Ok(self.generate(query, start_ns, end_ns, limit, !forward))
        })
    }

    fn volume<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        end_ns: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Option<Vec<MatrixSeries>>, SourceError>> {
        Box::pin(async move {
            check(query)?;
            let f = parse_filter(query);
            let step = step_secs.max(1) as i64 * 1000;
            let (a, b) = (start_ns / 1_000_000, end_ns / 1_000_000);
            let mut by: BTreeMap<&'static str, BTreeMap<i64, f64>> = BTreeMap::new();
            for k in a / SLOT_MS..=b / SLOT_MS {
                let (pod, ts, kind) = self.slot(k);
                if ts < a || ts >= b || !self.selected(&f, pod) {
                    continue;
                }
                let bucket = ts.div_euclid(step) * step + step;
                *by.entry(kind.level())
                    .or_default()
                    .entry(bucket)
                    .or_default() += 1.0;
            }
            Ok(Some(
                by.into_iter()
                    .map(|(lvl, pts)| MatrixSeries {
                        labels: vec![("detected_level".to_string(), lvl.to_string())].into(),
                        points: pts.into_iter().collect(),
                    })
                    .collect(),
            ))
        })
    }

    fn patterns<'a>(
        &'a self,
        _query: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Option<Vec<ServerPattern>>, SourceError>> {
        // like a Loki without the pattern ingester: clustered locally
        Box::pin(async { Ok(None) })
    }

    fn labels(&self, _start_ns: i64, _end_ns: i64) -> BoxFut<'_, Result<Vec<String>, SourceError>> {
        Box::pin(async { Ok(vec!["container".into(), "namespace".into(), "pod".into()]) })
    }

    fn label_values<'a>(
        &'a self,
        name: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            Ok(match name {
                "pod" => self.story.pods().iter().map(|p| p.to_string()).collect(),
                "namespace" => vec![self.story.namespace().to_string()],
                "container" => vec!["app".into()],
                _ => vec![],
            })
        })
    }

    fn series<'a>(
        &'a self,
        selector: &'a str,
        _start_ns: i64,
        _end_ns: i64,
    ) -> BoxFut<'a, Result<Vec<Labels>, SourceError>> {
        Box::pin(async move {
            check(selector)?;
            let f = parse_filter(selector);
            let ns = self.story.namespace();
            if f.namespace.as_deref().is_some_and(|n| n != ns) {
                return Ok(vec![]);
            }
            Ok(self
                .story
                .pods()
                .iter()
                .filter(|p| f.pods.as_ref().is_none_or(|ps| ps.iter().any(|x| x == *p)))
                .map(|p| {
                    labels_of(
                        [("namespace", ns), ("pod", p), ("container", "app")]
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    )
                })
                .collect())
        })
    }

    fn tail<'a>(
        &'a self,
        query: &'a str,
        start_ns: i64,
        _limit: usize,
    ) -> BoxFut<'a, Result<Box<dyn TailStream>, TailOpenError>> {
        Box::pin(async move {
            check(query).map_err(TailOpenError::Failed)?;
            Ok(Box::new(DemoTail {
                logs: DemoLogs::new(self.seed, self.story.preset()),
                query: query.to_string(),
                from_ns: start_ns,
            }) as Box<dyn TailStream>)
        })
    }
}

struct DemoTail {
    logs: DemoLogs,
    query: String,
    from_ns: i64,
}

impl TailStream for DemoTail {
    fn next(&mut self) -> BoxFut<'_, Option<Result<TailMessage, SourceError>>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = crate::core::now_ms() * 1_000_000;
            let entries = self
                .logs
                .generate(&self.query, self.from_ns, now, 10_000, false);
            self.from_ns = now;
            Some(Ok(TailMessage {
                entries,
                dropped: vec![],
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_deterministic_and_filtered_by_pod_and_text() {
        let d = DemoLogs::new(7, "beam");
        let t0 = 1_700_000_000_000_000_000i64;
        let a = d.generate("{namespace=~\".+\"}", t0, t0 + 10_000_000_000, 1000, false);
        let b = d.generate("{namespace=~\".+\"}", t0, t0 + 10_000_000_000, 1000, false);
        assert_eq!(a, b);
        assert!(a.len() >= 45 && a.len() <= 51, "{}", a.len());
        assert!(a.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        let only = d.generate(
            "{pod=\"app-2\"} |= \"request\"",
            t0,
            t0 + 10_000_000_000,
            1000,
            false,
        );
        assert!(!only.is_empty());
        assert!(only
            .iter()
            .all(|e| e.labels.iter().any(|(k, v)| k == "pod" && v == "app-2")
                && e.line.contains("request")));
    }

    #[test]
    fn the_incident_logs_errors_with_trace_ids_and_sampler_snapshots() {
        let d = DemoLogs::new(7, "beam");
        // one whole cycle
        let t0 = 1_700_000_040_000_000_000i64
            - 1_700_000_040_000_000_000i64 % (PERIOD_SECS * 1_000_000_000);
        let all = d.generate(
            "{namespace=~\".+\"}",
            t0,
            t0 + PERIOD_SECS * 1_000_000_000,
            100_000,
            false,
        );
        assert!(all
            .iter()
            .any(|e| e.line.contains("\"level\":\"error\"") && e.line.contains("trace_id")));
        let snaps: Vec<_> = all
            .iter()
            .filter(|e| e.line.contains("memory sampler snapshot"))
            .collect();
        assert!(snaps.len() >= 5, "{}", snaps.len());
        assert!(snaps
            .iter()
            .all(|e| crate::text::sampler::parse(&e.line).is_some()));
    }
}
