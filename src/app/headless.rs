//! `watchfloor logs`: the log engine (backfill, tail, resume, dedupe, fill
//! or mark, sanitise, redact) printing to stdout instead of the pane.
//! Markers for lines that could not be delivered go to stderr in text mode
//! and inline as `{"marker":…}` objects in jsonl. SIGINT / SIGTERM flush and
//! exit 0; a closed stdout (`| head`) ends quietly.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cli::Output;
use crate::features::logs::client::LogsBackend;
use crate::features::logs::engine;
use crate::features::logs::{LogsEvent, LogsPlan, TailMode};
use crate::store::logs::{LogLine, Marker};

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

/// One line as text: `TIME POD LINE` (the stream's labels when no pod).
pub fn text_line(l: &LogLine) -> String {
    let who = match l.label("pod") {
        Some(p) => crate::text::display(p).into_owned(),
        None => {
            let pairs: Vec<String> = l
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", crate::text::display(k), crate::text::display(v)))
                .collect();
            format!("{{{}}}", pairs.join(","))
        }
    };
    format!("{} {who} {}", rfc3339(l.ts_ns), l.text)
}

/// One line as a JSON object.
pub fn json_line(l: &LogLine) -> String {
    let labels: BTreeMap<String, String> = l
        .labels
        .iter()
        .map(|(k, v)| {
            (
                crate::text::display(k).into_owned(),
                crate::text::display(v).into_owned(),
            )
        })
        .collect();
    let meta: BTreeMap<&str, &str> = l
        .meta
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut o = serde_json::json!({
        "ts": l.ts_ns.to_string(),
        "time": rfc3339(l.ts_ns),
        "labels": labels,
        "line": &*l.text,
        "level": l.level.as_str(),
    });
    if !meta.is_empty() {
        o["meta"] = serde_json::json!(meta);
    }
    if let Some(c) = l.cut {
        o["cut_from_bytes"] = serde_json::json!(c);
    }
    o.to_string()
}

pub fn json_marker(m: &Marker) -> String {
    serde_json::json!({"marker": {
        "count": m.count,
        "from": m.from_ns.to_string(),
        "to": m.to_ns.to_string(),
        "why": crate::text::display(&m.why),
    }})
    .to_string()
}

pub fn text_marker(m: &Marker) -> String {
    if m.count == 0 {
        return format!(
            "{} (before {})",
            crate::text::display(&m.why),
            rfc3339(m.to_ns)
        );
    }
    format!(
        "{} lines missing between {} and {}: {}",
        m.count,
        rfc3339(m.from_ns),
        rfc3339(m.to_ns),
        crate::text::display(&m.why)
    )
}

/// A repeated error is printed once, then counted: a tail that reconnects
/// a hundred times says so in a line or two, not a hundred, even when two
/// errors alternate (a reset, then a 503). Each error's count is said once
/// a minute while it goes on, and at exit.
#[derive(Default)]
pub struct Repeats {
    /// (error, repeats not yet said, when it was last said), newest last.
    seen: Vec<(String, u64, std::time::Instant)>,
}

impl Repeats {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(60);
    const KEEP: usize = 8;

    /// What to print for this occurrence of `e`, if anything.
    pub fn see(&mut self, e: String, now: std::time::Instant) -> Option<String> {
        if let Some(x) = self.seen.iter_mut().find(|x| x.0 == e) {
            x.1 += 1;
            if now.duration_since(x.2) < Self::EVERY {
                return None;
            }
            x.2 = now;
            let n = std::mem::take(&mut x.1);
            return Some(format!("{e} (again {n}×)"));
        }
        if self.seen.len() >= Self::KEEP {
            self.seen.remove(0);
        }
        self.seen.push((e.clone(), 0, now));
        Some(e)
    }

    /// The counts not yet said (at exit), one line each.
    pub fn flush(&mut self) -> Option<String> {
        let lines: Vec<String> = self
            .seen
            .drain(..)
            .filter(|x| x.1 > 0)
            .map(|(e, n, _)| format!("{e} (again {n}×)"))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\nwatchfloor: loki: "))
    }
}

/// Runs until the backfill is printed (and, following, until a signal).
/// Returns the exit status.
pub async fn run(
    backend: Arc<dyn LogsBackend>,
    plan: LogsPlan,
    output: Output,
    out: Box<dyn Write + Send>,
    err: &mut dyn Write,
) -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let (wtx, writer) = spawn_writer(out);
    let (tx, mut rx) = mpsc::channel::<LogsEvent>(64);
    let mut report = Report::new(output, plan.follow);
    let handles = engine::spawn(backend, plan, crate::core::Sink::direct(tx));
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return 2;
    };
    let status = print_events(&mut rx, &wtx, &mut term, &mut int, &mut report, err).await;
    for h in handles {
        h.abort();
    }
    report.finish(err);
    // what was handed to the writer is written (unless stdout is stuck)
    drop(wtx);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while !writer.is_finished() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _ = err.flush();
    status
}

/// stdout is written by a thread of its own: a reader that stops reading
/// (`| less` scrolled back) must not keep signals from ending us.
fn spawn_writer(
    out: Box<dyn Write + Send>,
) -> (mpsc::Sender<Vec<u8>>, std::thread::JoinHandle<()>) {
    let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(16);
    let writer = std::thread::spawn(move || {
        let mut out = out;
        while let Some(b) = wrx.blocking_recv() {
            if out.write_all(&b).and_then(|_| out.flush()).is_err() {
                return; // closed (`| head`): nothing more to say
            }
        }
        let _ = out.flush();
    });
    (wtx, writer)
}

/// The engine's events until it ends, a signal comes, stdout closes or
/// the backfill gives up: lines (and jsonl markers) to stdout, the rest
/// to stderr. Returns the exit status.
async fn print_events(
    rx: &mut mpsc::Receiver<LogsEvent>,
    wtx: &mpsc::Sender<Vec<u8>>,
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
    report: &mut Report,
    err: &mut dyn Write,
) -> i32 {
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = term.recv() => return 0,
            _ = int.recv() => return 0,
        };
        let Some(ev) = ev else {
            return 0;
        };
        report.count_skewed(&ev, err);
        if let Some(b) = stdout_text(report.output, &ev) {
            let sent = tokio::select! {
                r = wtx.send(b.into_bytes()) => r.is_ok(),
                _ = term.recv() => false,
                _ = int.recv() => false,
            };
            if !sent {
                return 0;
            }
            continue;
        }
        if let Some(status) = report.event(ev, err) {
            return status;
        }
    }
}

/// What an event prints on stdout: its lines, or (jsonl) its marker.
fn stdout_text(output: Output, ev: &LogsEvent) -> Option<String> {
    match ev {
        LogsEvent::Lines { lines, .. } => {
            let mut buf = String::new();
            for l in lines {
                buf.push_str(&match output {
                    Output::Text => text_line(l),
                    Output::Jsonl => json_line(l),
                });
                buf.push('\n');
            }
            Some(buf)
        }
        LogsEvent::Marker { marker, .. } if output == Output::Jsonl && !marker.by_limit => {
            Some(format!("{}\n", json_marker(marker)))
        }
        _ => None,
    }
}

/// What goes to stderr: text markers, why it polls, errors (repeats
/// counted), skewed lines; and whether the backfill gives up.
struct Report {
    output: Output,
    follow: bool,
    repeats: Repeats,
    skewed_total: u64,
    said_note: Option<String>,
    backfill_failures: u32,
}

impl Report {
    fn new(output: Output, follow: bool) -> Report {
        Report {
            output,
            follow,
            repeats: Repeats::default(),
            skewed_total: 0,
            said_note: None,
            backfill_failures: 0,
        }
    }

    /// Counts lines stamped ahead of the clock, saying so at the first.
    fn count_skewed(&mut self, ev: &LogsEvent, err: &mut dyn Write) {
        if let LogsEvent::Lines { skewed, .. } = ev {
            if *skewed > 0 && self.skewed_total == 0 {
                let _ = writeln!(
                    err,
                    "watchfloor: lines stamped ahead of the clock arrive (a node's clock is skewed?): printed at their own time, counted"
                );
            }
            self.skewed_total += skewed;
        }
    }

    /// An event not printed on stdout. Some(exit status): stop.
    fn event(&mut self, ev: LogsEvent, err: &mut dyn Write) -> Option<i32> {
        match ev {
            // the user's --limit left the older lines out: not a marker
            LogsEvent::Marker { marker, .. } if marker.by_limit => None,
            LogsEvent::Marker { marker, .. } => {
                let _ = writeln!(err, "watchfloor: {}", text_marker(&marker));
                None
            }
            LogsEvent::Status {
                mode, error, note, ..
            } => self.status(mode, error, note, err),
            _ => None,
        }
    }

    /// A status: the polling note (once), an error (or giving up on the
    /// backfill, status 2), the end of a backfill not followed (status 0).
    fn status(
        &mut self,
        mode: TailMode,
        error: Option<crate::core::SourceError>,
        note: Option<String>,
        err: &mut dyn Write,
    ) -> Option<i32> {
        // polling is no error, but say once why it polls
        if mode == TailMode::Polling && note.is_some() && note != self.said_note {
            let _ = writeln!(
                err,
                "watchfloor: loki: polling ({})",
                crate::text::display(note.as_deref().unwrap_or(""))
            );
            self.said_note = note.clone();
        }
        if let Some(e) = error {
            // a query the server refuses, or missing auth, before
            // any line: asking again will not help
            if mode == TailMode::Backfill {
                self.backfill_failures += 1;
            }
            // not following: a server that stays down is an error
            // after a few tries, not a hang
            let give_up = !self.follow && self.backfill_failures >= 3;
            if (e.is_permanent() || give_up) && mode == TailMode::Backfill {
                let _ = writeln!(err, "watchfloor: loki: {e}");
                return Some(2);
            }
            let e = format!("{e} ({}, retrying)", mode.as_str());
            if let Some(say) = self.repeats.see(e, std::time::Instant::now()) {
                let _ = writeln!(err, "watchfloor: loki: {say}");
            }
        }
        (mode == TailMode::Done).then_some(0)
    }

    /// At exit: the error counts not yet said, and the skewed lines.
    fn finish(&mut self, err: &mut dyn Write) {
        if let Some(say) = self.repeats.flush() {
            let _ = writeln!(err, "watchfloor: loki: {say}");
        }
        if self.skewed_total > 0 {
            let _ = writeln!(
                err,
                "watchfloor: {} lines were stamped ahead of the clock",
                self.skewed_total
            );
        }
    }
}

/// `--trace ID --once`: the trace's waterfall as text for a `cols`x`rows`
/// terminal, or why it could not be read (within `timeout`).
pub async fn trace_text(
    backend: std::sync::Arc<dyn crate::features::traces::client::TracesBackend>,
    id: &str,
    (cols, rows): (u16, u16),
    timeout: std::time::Duration,
) -> Result<String, String> {
    let shown = crate::text::display(id).into_owned();
    match tokio::time::timeout(timeout, backend.trace(id)).await {
        Ok(Ok(t)) => {
            let max_rows = (rows as usize).saturating_sub(4).max(1);
            Ok(crate::features::traces::waterfall::text(
                &t,
                cols as usize,
                max_rows,
            ))
        }
        Ok(Err(e)) => Err(format!("trace {shown}: {e}")),
        Err(_) => Err(format!(
            "trace {shown}: no answer within {}",
            crate::text::units::format_duration(timeout.as_secs_f64())
        )),
    }
}

/// The trace backend of a run: the demo's own traces (its log lines carry
/// their ids) for `Some((seed, preset))`, else the configured Jaeger or
/// Tempo (`kind` from `--traces-kind`); None when there is none.
pub fn traces_backend(
    demo: Option<(u64, &str)>,
    endpoint: Option<&crate::config::Endpoint>,
    kind: Option<&str>,
) -> Result<Option<std::sync::Arc<dyn crate::features::traces::client::TracesBackend>>, String> {
    use crate::features::traces::client::HttpTraces;
    if let Some((seed, preset)) = demo {
        return Ok(Some(std::sync::Arc::new(
            crate::demo::traces::DemoTraces::new(seed, preset),
        )));
    }
    let Some(ep) = endpoint else {
        return Ok(None);
    };
    let kind = kind
        .map(|k| k.parse().map_err(|e| format!("--traces-kind {e}")))
        .transpose()?;
    Ok(Some(std::sync::Arc::new(HttpTraces::new(ep, kind)?)))
}

#[cfg(test)]
mod repeat_tests {
    use super::Repeats;
    use std::time::{Duration, Instant};

    #[test]
    fn a_repeated_error_is_said_once_then_counted() {
        let mut r = Repeats::default();
        let t = Instant::now();
        let reset = || "tail to loki:3100: closed (reconnecting, retrying)".to_string();
        let down = || "HTTP 503: no healthy upstream (reconnecting, retrying)".to_string();
        assert_eq!(r.see(reset(), t).as_deref(), Some(reset().as_str()));
        assert_eq!(r.see(down(), t).as_deref(), Some(down().as_str()));
        // alternating, 104 more times each within the minute: nothing
        for i in 1..105 {
            let at = t + Duration::from_millis(i * 500);
            assert_eq!(r.see(reset(), at), None, "{i}");
            assert_eq!(r.see(down(), at), None, "{i}");
        }
        // a minute on, each count is said once (and starts over)
        let said = r.see(reset(), t + Duration::from_secs(61)).unwrap();
        assert!(said.ends_with("(again 105×)"), "{said}");
        assert_eq!(r.see(reset(), t + Duration::from_secs(62)), None);
        // at exit, what was not said yet
        let left = r.flush().unwrap();
        assert!(
            left.contains("closed (reconnecting, retrying) (again 1×)"),
            "{left}"
        );
        assert!(
            left.contains("no healthy upstream (reconnecting, retrying) (again 104×)"),
            "{left}"
        );
        assert_eq!(r.flush(), None);
    }
}
