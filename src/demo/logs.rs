//! The demo's logs, behind the same `LogsBackend` trait as Loki. Each story
//! says what its pods log ([`Story::log_rules`]): rules over the two-minute
//! cycle pick, for every slot, which line a pod writes and whether it comes
//! from the story's sick pod, so the incident's lines (errors carrying trace
//! ids, memory pressure, the restart) appear when its metrics show it. Lines
//! depend only on the seed and the time, like the metrics.
//!
//! The demo understands the parts of LogQL the app writes: `pod="…"`,
//! `pod=~"a|b"`, `namespace="…"` and `|=` / `!=` line filters.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::core::{BoxFut, SourceError};
use crate::demo::{DemoSource, Story};
use crate::features::logs::client::wire::{labels_of, Entry, Labels, MatrixSeries, ServerPattern};
use crate::features::logs::client::{LogsBackend, TailMessage, TailOpenError, TailStream};
pub use crate::text::loglevel::Level;

/// One line every SLOT_MS across all pods.
const SLOT_MS: i64 = 200;

pub struct DemoLogs {
    src: DemoSource,
    story: &'static dyn Story,
    streams: Vec<Labels>,
    /// Index of the story's sick pod in its `pods()`.
    sick: usize,
}

/// One kind of line a story's pods write, and when: the first rule whose
/// window holds the slot's phase and whose pick takes the slot writes it.
#[derive(Clone, Copy)]
pub struct LogRule {
    /// Seconds into the cycle, `[from, to)` (no window crosses the cycle's end).
    pub from: f64,
    pub to: f64,
    pub pick: Pick,
    pub pod: Who,
    /// The level the line states (the volume endpoint counts by it).
    pub level: Level,
    /// The line.
    pub text: fn(&Line) -> String,
}

/// A rule over the cycle's seconds `[from, to)`.
pub const fn rule(
    (from, to): (f64, f64),
    pick: Pick,
    pod: Who,
    level: Level,
    text: fn(&Line) -> String,
) -> LogRule {
    LogRule {
        from,
        to,
        pick,
        pod,
        level,
        text,
    }
}

/// Which slots of its window a rule takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pick {
    /// Slots whose roll (0..100, one per slot, shared by all rules) is below
    /// this: a rule after an overlapping one gets only the rolls it left.
    Share(u64),
    /// Every n-th slot (a periodic report).
    Every(i64),
}

/// Which pod writes the line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Who {
    /// Whichever pod the slot fell to.
    Any,
    /// The story's sick pod.
    Sick,
    /// A pod other than the sick one.
    Others,
}

/// What a rule's line is written from: the story's metrics at that moment
/// (`src`), the pod, the time, per-line randomness and a trace id.
pub struct Line<'a> {
    pub src: &'a DemoSource,
    pub pod: &'a str,
    pub ts_ms: i64,
    /// RFC 3339, UTC, milliseconds.
    pub time: &'a str,
    /// Deterministic per-line randomness.
    pub h: u64,
    /// 32 hex digits.
    pub trace: &'a str,
}

impl Line<'_> {
    /// Unix seconds of the line.
    pub fn t_s(&self) -> i64 {
        self.ts_ms.div_euclid(1000)
    }

    /// Seconds into the cycle (with the millisecond).
    pub fn phase(&self) -> f64 {
        phase_ms(self.src, self.ts_ms)
    }
}

/// Seconds into the story's cycle at `ts_ms`, as the metrics count them.
fn phase_ms(src: &DemoSource, ts_ms: i64) -> f64 {
    src.phase(ts_ms.div_euclid(1000)) + ts_ms.rem_euclid(1000) as f64 / 1000.0
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
        let src = DemoSource::with_preset(seed, preset);
        let story = src.story();
        let streams = story
            .pods()
            .iter()
            .map(|p| {
                labels_of(BTreeMap::from([
                    ("container".to_string(), story.container().to_string()),
                    ("namespace".to_string(), story.namespace().to_string()),
                    ("pod".to_string(), p.to_string()),
                ]))
            })
            .collect();
        let sick = story
            .pods()
            .iter()
            .position(|p| *p == story.sick_pod())
            .expect("a story's sick pod is one of its pods");
        DemoLogs {
            src,
            story,
            streams,
            sick,
        }
    }

    /// The line of slot `k` (unix ms / SLOT_MS): which pod, when, and the
    /// story's rule that writes it.
    fn slot(&self, k: i64) -> (usize, i64, &'static LogRule) {
        let h = mix(self.src.seed ^ (k as u64).wrapping_mul(0x9e3779b97f4a7c15));
        let pods = self.streams.len();
        let pod = (h % pods as u64) as usize;
        let ts_ms = k * SLOT_MS + (h >> 20) as i64 % SLOT_MS;
        let p = phase_ms(&self.src, ts_ms);
        let roll = (h >> 40) % 100;
        let rules = self.story.log_rules();
        let rule = rules
            .iter()
            .find(|r| {
                (r.from..r.to).contains(&p)
                    && match r.pick {
                        Pick::Share(n) => roll < n,
                        Pick::Every(n) => k.rem_euclid(n) == 0,
                    }
            })
            .unwrap_or(&rules[rules.len() - 1]);
        let pod = match rule.pod {
            Who::Any => pod,
            Who::Sick => self.sick,
            Who::Others if pod == self.sick => (pod + 1) % pods,
            Who::Others => pod,
        };
        (pod, ts_ms, rule)
    }

    fn text(&self, k: i64, pod: usize, ts_ms: i64, rule: &LogRule) -> String {
        let h = mix(self.src.seed.wrapping_add(k as u64) ^ 0xabcdef);
        let rules = self.story.log_rules();
        let r = rules
            .iter()
            .position(|x| std::ptr::eq(x, rule))
            .unwrap_or(0);
        let trace = crate::demo::traces::trace_id(ts_ms, pod, r, h);
        let time = chrono::DateTime::from_timestamp_millis(ts_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        (rule.text)(&Line {
            src: &self.src,
            pod: self.story.pods()[pod],
            ts_ms,
            time: &time,
            h,
            trace: &trace,
        })
    }

    fn selected(&self, f: &Filter, pod: usize) -> bool {
        let name = self.story.pods()[pod];
        f.pods.as_ref().is_none_or(|p| p.iter().any(|x| x == name))
            && f.namespace
                .as_deref()
                .is_none_or(|n| n == self.story.namespace())
    }

    /// Entries in [start, end) ns, oldest first.
    pub(super) fn generate(
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
            let (pod, ts_ms, rule) = self.slot(k);
            if ts_ms < a || ts_ms >= b || !self.selected(&f, pod) {
                return;
            }
            let line = self.text(k, pod, ts_ms, rule);
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
                let (pod, ts, rule) = self.slot(k);
                if ts < a || ts >= b || !self.selected(&f, pod) {
                    continue;
                }
                let bucket = ts.div_euclid(step) * step + step;
                *by.entry(rule.level.as_str())
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
                "container" => vec![self.story.container().to_string()],
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
                        [
                            ("namespace", ns),
                            ("pod", p),
                            ("container", self.story.container()),
                        ]
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
                logs: DemoLogs::new(self.src.seed, self.story.preset()),
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
    use crate::demo::PERIOD_SECS;

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
