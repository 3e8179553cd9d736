//! The follow engine: a tail that never silently loses or duplicates a line.
//!
//! 1. Backfill: the newest `backfill` lines of the window (query_range,
//!    backward, paged).
//! 2. Tail the WebSocket from just before the newest line seen.
//! 3. On any disconnect (max tail duration, network, proxy, port-forward):
//!    re-read with query_range forward from `newest - reread` (default 5
//!    min: Loki accepts out-of-order writes and shippers retry batches, so
//!    lines stamped minutes ago can still arrive), paged, then open the tail
//!    again. With the WebSocket refused, keep polling the same way.
//! 4. `dropped_entries` are fetched back by (timestamp, stream) with
//!    query_range; what cannot be found becomes a marker (count and span).
//! 5. A line that arrives on the tail older than the re-read window turns
//!    every disconnect since its timestamp into a marker: lines as late
//!    written during that disconnect could not be checked.
//!
//! Every arrival passes one dedupe on (timestamp, stream, line), kept for the
//! re-read window behind the newest timestamp and bounded in count whatever
//! the timestamps ([`Dedupe`]); lines of different streams that share a
//! timestamp are all kept.
//! Lines are sanitised and redacted here, before anything stores or prints
//! them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::{now_ms, Sink, SourceError};
use crate::features::logs::client::wire::{Dropped, Entry, TailMessage};
use crate::features::logs::client::{LogsBackend, TailOpenError, TailStream};
pub use crate::features::logs::events::{LogsEvent, LogsPlan, TailMode, LINE_CAP};
use crate::store::logs::{LogLine, Marker};

/// How far behind the newest timestamp a reopened tail's own history
/// starts (the re-read before it covered the rest); the shortest re-read.
pub const HORIZON_NS: i64 = 10_000_000_000;

/// A tail open this long counts as having worked even if no line came.
const TAIL_HEALTHY_AFTER: Duration = Duration::from_secs(1);
/// Entries per query_range page (Loki's default max_entries_limit is 5000).
pub const PAGE: usize = 2000;
/// While polling, how often the re-read window is swept for late lines.
const POLL_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Pages a late-line sweep may take (100,000 lines) after a disconnect.
const LATE_SWEEP_PAGES: usize = 50;
/// Pages one re-read may take (2000 × 500 = a million lines) before the
/// tail is reopened.
const MAX_FILL_PAGES: usize = 500;
/// Dropped entries are fetched back at most this often (a server that drops
/// lines is overloaded: one refill per message would add to it).
const REFILL_EVERY: Duration = Duration::from_secs(1);
/// Entries the tail's own history may send on connect.
const TAIL_LIMIT: usize = 1000;
/// `95s` → "1m35s", whole units for messages.
fn fmt_secs(s: i64) -> String {
    match s {
        s if s < 60 => format!("{s}s"),
        s if s % 60 == 0 && s < 3600 => format!("{}m", s / 60),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

fn now_ns() -> i64 {
    now_ms() * 1_000_000
}

struct Engine {
    backend: Arc<dyn LogsBackend>,
    plan: LogsPlan,
    tx: Sink<LogsEvent>,
    seen: Dedupe,
    streams: Interner,
    /// Lines older than this were left out by the backfill's limit.
    floor: i64,
    requests: u64,
    mode: TailMode,
    /// When the tail last went away (ns), until the re-read after it ran.
    disconnected_at: Option<i64>,
    /// Recent disconnects (start, end ns) not yet marked as unchecked.
    gaps: std::collections::VecDeque<(i64, i64)>,
    /// The last status sent carried an error.
    failing: bool,
    /// Streams inside a private key written one line per entry.
    pem: PemStreams,
    /// Why the engine polls (the tail refused), for the header.
    note: Option<String>,
}

/// Disconnects remembered for the late-line check.
const MAX_GAPS: usize = 64;

impl Engine {
    async fn send(&self, ev: LogsEvent) -> bool {
        self.tx.send(ev).await
    }

    async fn status(&mut self, mode: TailMode, error: Option<SourceError>) -> bool {
        self.mode = mode;
        self.failing = error.is_some();
        let ev = LogsEvent::Status {
            gen: self.plan.gen,
            at_ms: now_ms(),
            mode,
            error,
            requests: self.requests,
            note: self.note.clone(),
        };
        self.send(ev).await
    }

    /// Dedupes, prepares and sends entries (sorted oldest first).
    async fn deliver(&mut self, mut entries: Vec<Entry>) -> bool {
        entries.sort_by_key(|e| e.ts_ns);
        let redact = self.plan.redact;
        let skewed_before = self.seen.skewed;
        // a line older than a re-read would reach back from the newest
        // line seen is later than the window
        let reach = self
            .seen
            .newest()
            .map(|n| n.saturating_sub(self.seen.reread_ns()));
        let mut latest_late: Option<i64> = None;
        let mut lines = Vec::with_capacity(entries.len());
        for mut e in entries {
            if e.ts_ns >= self.floor && self.seen.admit(&e) {
                if reach.is_some_and(|r| e.ts_ns < r) {
                    latest_late = latest_late.max(Some(e.ts_ns));
                }
                e.labels = self.streams.get(e.labels);
                let key = redact.then(|| labels_hash(&e.labels));
                let mut line = LogLine::from_entry(e, redact);
                if let Some(k) = key {
                    self.pem.mask(k, &mut line);
                }
                lines.push(line);
            }
        }
        if let Some(ts) = latest_late {
            let newest = self.seen.newest().unwrap_or(ts);
            if !self.mark_unchecked_gaps(ts, newest).await {
                return false;
            }
        }
        if lines.is_empty() {
            return true;
        }
        let ev = LogsEvent::Lines {
            gen: self.plan.gen,
            at_ms: now_ms(),
            lines,
            skewed: self.seen.skewed - skewed_before,
        };
        self.send(ev).await
    }

    /// A line `newest - ts` late, past the re-read window, just arrived: lines
    /// as late written while the tail was away were before the re-read's
    /// start and cannot have been read back. Every disconnect after `ts`
    /// becomes a marker (once), never a silent loss.
    async fn mark_unchecked_gaps(&mut self, ts: i64, newest: i64) -> bool {
        let late = fmt_secs((newest - ts) / 1_000_000_000);
        let window = fmt_secs(self.seen.reread_ns() / 1_000_000_000);
        let (marked, kept): (Vec<_>, Vec<_>) = self.gaps.drain(..).partition(|g| g.1 > ts);
        self.gaps = kept.into();
        for (from_ns, to_ns) in marked {
            let m = Marker {
                count: 0,
                by_limit: false,
                from_ns,
                to_ns,
                why: format!(
                    "a line arrived {late} late, past the {window} re-read window: lines as late written during this reconnect could not be checked"
                ),
            };
            if !self
                .send(LogsEvent::Marker {
                    gen: self.plan.gen,
                    marker: m,
                })
                .await
            {
                return false;
            }
        }
        true
    }

    /// The tail went away (ends, fails to open): a gap starts.
    fn disconnected(&mut self) {
        self.disconnected_at.get_or_insert(now_ns());
    }

    /// The re-read after a disconnect ran: the gap is closed and
    /// remembered for the late-line check.
    fn reconnected(&mut self) {
        if let Some(from) = self.disconnected_at.take() {
            if self.gaps.len() >= MAX_GAPS {
                self.gaps.pop_front();
            }
            self.gaps.push_back((from, now_ns()));
        }
    }

    async fn range(
        &mut self,
        start: i64,
        end: i64,
        limit: usize,
        forward: bool,
    ) -> Result<Vec<Entry>, SourceError> {
        let q = self.plan.query.clone();
        let mut limit = limit;
        loop {
            self.requests += 1;
            match self
                .backend
                .query_range(&q, start, end, limit, forward)
                .await
            {
                // a page over the body cap (long lines): ask for fewer
                Err(e) if e.kind == crate::core::ErrorKind::TooLarge && limit > 10 => limit /= 2,
                r => return r,
            }
        }
    }

    /// The newest `n` lines of [since, now) (or of [since, until] when the
    /// window is paused), paging backward.
    async fn backfill(&mut self, since: i64, n: usize) -> Result<(), SourceError> {
        let mut end = self.plan.until_ns.map_or(now_ns(), |u| u) + 1;
        let mut got: Vec<Entry> = Vec::new();
        while got.len() < n {
            let want = (n - got.len()).min(PAGE);
            let page = self.range(since, end, want, false).await?;
            let full = page.len() >= want;
            let oldest = page.first().map(|e| e.ts_ns);
            got.extend(page);
            match oldest {
                // the next page ends at (and includes) the oldest timestamp
                // seen, so its twins are not lost; dedupe drops repeats
                Some(t) if full && t + 1 < end => end = t + 1,
                _ => break,
            }
        }
        // newest n, oldest first
        got.sort_by_key(|e| e.ts_ns);
        let mut seen = HashSet::new();
        got.retain(|e| seen.insert((e.ts_ns, hash_of(&*e.labels), hash_of(e.line.as_str()))));
        let skip = got.len().saturating_sub(n);
        let got = got.split_off(skip);
        // the window held more than the backfill asked for: lines older
        // than the oldest loaded were left out on purpose; say so once, and
        // never print them later from a re-read (they are not late lines)
        if got.len() >= n && n > 0 {
            if let Some(oldest) = got.first().map(|e| e.ts_ns) {
                self.floor = oldest;
                let m = Marker {
                    count: 0,
                    from_ns: since,
                    to_ns: oldest,
                    why: format!("older lines of the window not loaded (the newest {n} were)"),
                    by_limit: true,
                };
                if !self
                    .send(LogsEvent::Marker {
                        gen: self.plan.gen,
                        marker: m,
                    })
                    .await
                {
                    return Err(SourceError::msg("closed"));
                }
            }
        }
        if !self.deliver(got).await {
            return Err(SourceError::msg("closed"));
        }
        Ok(())
    }

    /// Sends a marker row; false when the receiver is gone.
    async fn mark(&self, from_ns: i64, to_ns: i64, why: String) -> bool {
        let marker = Marker {
            count: 0,
            by_limit: false,
            from_ns,
            to_ns,
            why,
        };
        self.send(LogsEvent::Marker {
            gen: self.plan.gen,
            marker,
        })
        .await
    }

    /// Everything in [from, now), paging forward, at most
    /// [`MAX_FILL_PAGES`] pages: what that leaves unread is a marker, never
    /// a silent gap. Returns false when the receiver is gone.
    async fn fill(&mut self, from: i64) -> Result<bool, SourceError> {
        let end = now_ns() + 1;
        // never ask for an empty or inverted range (a line from the future
        // must not stall the re-read)
        let mut start = from.min(end - 1);
        for _ in 0..MAX_FILL_PAGES {
            let page = self.range(start, end, PAGE, true).await?;
            let n = page.len();
            let last = page.last().map(|e| e.ts_ns);
            if page.iter().all(|e| e.ts_ns < start) && n > 0 {
                // the server ignores `start`: paging would never progress
                return Err(SourceError::msg(
                    "the server answered lines before the range asked for; not paging further",
                ));
            }
            if !self.deliver(page).await {
                return Ok(false);
            }
            match last {
                Some(t) if n >= PAGE => {
                    if t <= start {
                        // more than a page at one timestamp: say so, move on
                        let why = format!(
                            "more than {PAGE} lines share one timestamp; some may be missing"
                        );
                        if !self.mark(t, t, why).await {
                            return Ok(false);
                        }
                        start += 1;
                    } else {
                        start = t;
                    }
                }
                _ => return Ok(true),
            }
        }
        let why = format!(
            "the re-read stopped after {MAX_FILL_PAGES} pages ({} lines): the rest of this span was not read back",
            MAX_FILL_PAGES * PAGE
        );
        Ok(self.mark(start, end, why).await)
    }

    /// Late lines: [from, to) read backward (the most recent first, where
    /// late lines are most likely), at most [`LATE_SWEEP_PAGES`] pages; what
    /// the budget leaves unchecked is a marker. Dedupe drops what was seen.
    async fn sweep_late(&mut self, from: i64, to: i64) -> Result<bool, SourceError> {
        let mut end = to;
        for _ in 0..LATE_SWEEP_PAGES {
            if end <= from {
                return Ok(true);
            }
            let page = self.range(from, end, PAGE, false).await?;
            let full = page.len() >= PAGE;
            let oldest = page.first().map(|e| e.ts_ns);
            if !self.deliver(page).await {
                return Ok(false);
            }
            match oldest {
                // the next page ends at (and includes) the oldest timestamp
                // seen, so its twins are not lost; dedupe drops repeats
                Some(t) if full && t + 1 < end => end = t + 1,
                Some(t) if full => end = t,
                _ => return Ok(true),
            }
        }
        let why = format!(
            "not checked for late lines (more than {} lines in the re-read window): raise logs.reread's budget or narrow the query",
            LATE_SWEEP_PAGES * PAGE
        );
        Ok(self.mark(from, end, why).await)
    }

    /// Fetches dropped entries back; returns them and a marker for the rest.
    async fn refill(&mut self, dropped: &[Dropped]) -> (Vec<Entry>, Option<Marker>) {
        let from = dropped.iter().map(|d| d.ts_ns).min().unwrap_or(0);
        let to = dropped.iter().map(|d| d.ts_ns).max().unwrap_or(0);
        let mut want: HashMap<(i64, u64), usize> = HashMap::new();
        for d in dropped {
            *want.entry((d.ts_ns, hash_of(&*d.labels))).or_default() += 1;
        }
        let mut found = Vec::new();
        let mut start = from;
        let mut failed = None;
        loop {
            match self.range(start, to + 1, PAGE, true).await {
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
                Ok(page) => {
                    let n = page.len();
                    let last = page.last().map(|e| e.ts_ns);
                    for e in page {
                        if let Some(c) = want.get_mut(&(e.ts_ns, hash_of(&*e.labels))) {
                            if *c > 0 {
                                *c -= 1;
                                found.push(e);
                            }
                        }
                    }
                    match last {
                        Some(t) if n >= PAGE && t > start => start = t,
                        _ => break,
                    }
                }
            }
        }
        let missing: usize = want.values().sum();
        let marker = (missing > 0).then(|| Marker {
            count: missing as u64,
            by_limit: false,
            from_ns: from,
            to_ns: to,
            why: match failed {
                Some(e) => format!("dropped by the server's tail; fetching them back failed: {e}"),
                None => "dropped by the server's tail and no longer found".into(),
            },
        });
        (found, marker)
    }
}

/// Starts the engine (and the volume poller): the source's task slot.
pub fn spawn(
    backend: Arc<dyn LogsBackend>,
    plan: LogsPlan,
    tx: Sink<LogsEvent>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    if let Some(every) = plan.volume_every {
        let (b, q, gen, tx2) = (backend.clone(), plan.query.clone(), plan.gen, tx.clone());
        let until = plan.until_ns;
        let window = until.unwrap_or_else(now_ns) - plan.since_ns;
        let step = plan.volume_step_secs;
        handles.push(tokio::spawn(async move {
            loop {
                let end = until.unwrap_or_else(now_ns);
                let result = b.volume(&q, end - window, end, step).await;
                let ev = LogsEvent::Volume {
                    gen,
                    at_ms: now_ms(),
                    result,
                };
                if !tx2.send(ev).await {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }));
    }
    let engine = Engine {
        backend,
        seen: Dedupe::new(plan.reread_ns),
        plan,
        tx,
        streams: Interner::default(),
        floor: i64::MIN,
        requests: 0,
        mode: TailMode::Backfill,
        disconnected_at: None,
        gaps: Default::default(),
        failing: false,
        note: None,
        pem: PemStreams::default(),
    };
    handles.push(tokio::spawn(engine.run()));
    handles
}

pub use crate::features::logs::completion::{
    scope_values, spawn_completions, spawn_patterns, CompletionAsk,
};
use crate::features::logs::dedupe::{hash_of, labels_hash, Interner, PemStreams};
pub use crate::features::logs::dedupe::{
    Dedupe, DEFAULT_REREAD_SECS, FUTURE_GRACE_NS, MAX_DEDUPE_KEYS, SKEW_TOLERANCE_NS,
};

mod follow;
#[cfg(test)]
use follow::Backoff;

#[cfg(test)]
mod tests;
