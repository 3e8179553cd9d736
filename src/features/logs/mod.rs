//! The logs part of the state and what `update` does with log events and
//! log actions: the ring, the query (base + filters), follow vs paused,
//! selection, search, level filter, volume and patterns.

pub mod client;
pub mod completion;
pub mod dedupe;
pub mod engine;
pub mod events;
pub mod input;
pub mod keys;
pub mod pane;
pub mod runner;
pub mod views;

use std::collections::BTreeMap;

use crate::core::{Ctx, Effect, Feature, Outcome, Source, SourceCommon, Target};
use crate::features::logs::client::logql::{self, Filter, Scope};
use crate::features::logs::client::MatrixSeries;
use crate::features::logs::engine::CompletionAsk;
pub use crate::features::logs::events::{LogsEvent, LogsPlan, TailMode};
use crate::store::logs::LogLine;
use crate::store::logs::{LogRing, Row};
use crate::text::logline::Level;

/// What the logs source is told.
#[derive(Debug, Clone, PartialEq)]
pub enum LogsCommand {
    Start(LogsPlan),
    Stop,
    /// The top patterns of the window (on demand).
    Patterns {
        gen: u64,
        query: String,
        start_ns: i64,
    },
    /// Label names, values or the query's scope, for completion, over
    /// the pane's window [start, end) in ns.
    Complete {
        gen: u64,
        ask: CompletionAsk,
        window_ns: (i64, i64),
    },
}

/// Which columns precede the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Columns {
    /// time, pod and container
    #[default]
    All,
    TimePod,
    Time,
    None,
}

impl Columns {
    pub fn next(self) -> Columns {
        match self {
            Columns::All => Columns::TimePod,
            Columns::TimePod => Columns::Time,
            Columns::Time => Columns::None,
            Columns::None => Columns::All,
        }
    }
    pub fn time(self) -> bool {
        self != Columns::None
    }
    pub fn pod(self) -> bool {
        matches!(self, Columns::All | Columns::TimePod)
    }
    pub fn container(self) -> bool {
        self == Columns::All
    }
}

/// A row of the patterns view.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRow {
    pub pattern: String,
    pub count: u64,
    pub level: Level,
    /// From the server's /patterns (else clustered from retained lines).
    pub from_server: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogsState {
    /// Configured, generation and health.
    pub common: SourceCommon,
    pub mode: TailMode,
    pub ring: LogRing,
    /// The query typed with `e` (None: built from the Target).
    pub user_query: Option<String>,
    pub filters: Vec<Filter>,
    /// The query the source follows now (base + filters).
    pub query: String,
    /// The query without the filters (the pane's title lists those).
    pub base: String,
    /// Lines below this level are hidden (markers never are).
    pub min_level: Option<Level>,
    /// Following the newest line; else paused at `selected`.
    pub follow: bool,
    pub selected: Option<u64>,
    /// Bottom row while paused (so the view does not jump as lines arrive).
    pub anchor: Option<u64>,
    pub wrap: bool,
    pub columns: Columns,
    pub search: Option<String>,
    /// Log volume by level from the server (None: count retained lines).
    pub volume: Option<Vec<MatrixSeries>>,
    pub patterns: Option<Result<Vec<PatternRow>, String>>,
    /// Label names and values seen by completion.
    pub completions: BTreeMap<String, Vec<String>>,
    pub label_names: Vec<String>,
    /// Labels whose values were asked for since the editor opened.
    pub asked: std::collections::BTreeSet<String>,
    /// Mask secrets in lines (off only with --no-redaction).
    pub redact: bool,
    pub backfill: usize,
    /// How far behind the newest line a re-read after a disconnect starts.
    pub reread_secs: f64,
    /// Why the engine is in its mode, when that is no error ("tail
    /// refused: HTTP 404" while polling).
    pub note: Option<String>,
    /// Lines of this query stamped ahead of the clock (a skewed node).
    pub skewed: u64,
    /// Latest memory-sampler snapshot per pod (ts, snapshot).
    pub snapshots: BTreeMap<String, (i64, crate::text::sampler::Snapshot)>,
}

impl Default for LogsState {
    fn default() -> Self {
        LogsState {
            common: SourceCommon::new("loki"),
            mode: TailMode::Backfill,
            ring: LogRing::default(),
            user_query: None,
            filters: vec![],
            query: String::new(),
            base: String::new(),
            min_level: None,
            follow: true,
            selected: None,
            anchor: None,
            wrap: false,
            columns: Columns::All,
            search: None,
            volume: None,
            patterns: None,
            completions: BTreeMap::new(),
            label_names: vec![],
            asked: Default::default(),
            redact: true,
            backfill: 1000,
            reread_secs: crate::features::logs::engine::DEFAULT_REREAD_SECS,
            skewed: 0,
            note: None,
            snapshots: BTreeMap::new(),
        }
    }
}

impl LogsState {
    /// Whether a row passes the level filter.
    pub fn shown(&self, row: &Row) -> bool {
        match (row, self.min_level) {
            (Row::Line(l), Some(min)) => l.level >= min && l.level != Level::Unknown,
            _ => true,
        }
    }

    /// Ring positions of the rows shown, oldest first.
    pub fn shown_positions(&self) -> Vec<usize> {
        (0..self.ring.len())
            .filter(|&i| self.ring.get(i).is_some_and(|s| self.shown(&s.row)))
            .collect()
    }

    /// Whether a line matches the search (smart case).
    pub fn matches(&self, line: &LogLine) -> bool {
        match &self.search {
            Some(s) if !s.is_empty() => text_matches(&line.text, s),
            _ => false,
        }
    }
}

/// Smart case: case-insensitive unless the needle has an upper-case letter.
pub fn text_matches(hay: &str, needle: &str) -> bool {
    if needle.chars().any(char::is_uppercase) {
        hay.contains(needle)
    } else if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(&needle.to_lowercase())
    }
}

/// The query for the current Target: the user's, or built from scope.
pub fn base_query(l: &LogsState, ctx: &Ctx) -> String {
    if let Some(q) = &l.user_query {
        return q.clone();
    }
    // a job's pods from the scope (never from another source's data, which
    // a re-target empties before this runs)
    let t = ctx.target;
    let pods = match (&t.pod, &t.job) {
        (None, Some(job)) => ctx.scope.pods_of(job),
        _ => vec![],
    };
    logql::selector(&Scope {
        namespace: t.namespace.as_deref(),
        pod: t.pod.as_deref(),
        pods: &pods,
    })
}

/// Values kept per label (and label names) for completion, and labels.
const COMPLETION_CAP: usize = 10_000;
const COMPLETION_LABELS: usize = 500;

/// A LogQL (Prometheus) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The pane's window [start, end) in ns: what the plan reads and what
/// completion asks about.
pub fn window_ns(ctx: &Ctx) -> (i64, i64) {
    let end = ctx.target.end_ms(ctx.now_ms) * 1_000_000;
    (end - ctx.target.range_secs as i64 * 1_000_000_000, end)
}

impl LogsState {
    /// A new generation and plan for the logs source (the Target or the
    /// query changed). The ring starts over: its lines belong to the old
    /// query.
    pub fn plan(&mut self, ctx: &Ctx) -> Vec<LogsCommand> {
        if !self.common.configured {
            return vec![];
        }
        let base = base_query(self, ctx);
        let query = logql::with_filters(&base, &self.filters);
        let (since_ns, end_ns) = window_ns(ctx);
        self.common.gen += 1;
        self.base = base;
        self.query = query.clone();
        self.ring.clear();
        self.skewed = 0;
        self.volume = None;
        self.patterns = None;
        self.selected = None;
        self.anchor = None;
        self.follow = true;
        self.mode = TailMode::Backfill;
        let step = crate::core::target::choose_step(ctx.target.range_secs, 60, 1);
        vec![LogsCommand::Start(LogsPlan {
            gen: self.common.gen,
            query,
            since_ns,
            until_ns: ctx.target.pinned_end_ms.map(|_| end_ns),
            backfill: self.backfill,
            follow: ctx.target.pinned_end_ms.is_none(),
            poll_every: std::time::Duration::from_secs_f64(ctx.refresh_secs.max(1.0)),
            redact: self.redact,
            volume_every: Some(std::time::Duration::from_secs(30)),
            volume_step_secs: step,
            reread_ns: (self.reread_secs * 1e9) as i64,
            context: ctx.target.context.clone(),
        })]
    }

    fn on_lines(&mut self, at_ms: i64, lines: Vec<LogLine>, skewed: u64) {
        self.skewed += skewed;
        let bytes: usize = lines.iter().map(|x| x.text.len()).sum();
        self.common.health.bytes += bytes as u64;
        self.common.health.succeeded(at_ms);
        for line in lines {
            if line.text.contains("sampler") {
                if let Some(s) = crate::text::sampler::parse(&line.text) {
                    let pod = line.label("pod").unwrap_or("").to_string();
                    let newer = self
                        .snapshots
                        .get(&pod)
                        .is_none_or(|(t, _)| *t <= line.ts_ns);
                    if newer {
                        self.snapshots.insert(pod, (line.ts_ns, s));
                    }
                }
            }
            self.ring.push(Row::Line(line));
        }
        if self
            .selected
            .is_some_and(|id| self.ring.index_of(id).is_none())
        {
            // the selected line was evicted: keep reading at the oldest
            self.selected = self.ring.get(0).map(|s| s.id);
        }
    }

    fn on_status(
        &mut self,
        at_ms: i64,
        mode: TailMode,
        error: Option<crate::core::SourceError>,
        requests: u64,
        note: Option<String>,
    ) {
        self.note = note;
        let h = &mut self.common.health;
        let new = requests.saturating_sub(h.requests);
        for _ in 0..new.min(1000) {
            h.count(at_ms, 0);
        }
        h.requests = requests;
        self.mode = mode;
        match error {
            Some(e) => h.failed(at_ms, e.to_string(), e.is_permanent()),
            // a tail open (or polling, or done) is an answer; "about to try
            // again" is not
            None if matches!(mode, TailMode::Tailing | TailMode::Polling | TailMode::Done) => {
                h.succeeded(at_ms)
            }
            None => {}
        }
    }

    fn on_patterns(
        &mut self,
        result: Result<Option<Vec<client::ServerPattern>>, crate::core::SourceError>,
    ) {
        match result {
            Ok(Some(p)) if !p.is_empty() => {
                self.patterns = Some(Ok(p
                    .into_iter()
                    .map(|p| PatternRow {
                        pattern: crate::text::display(&p.pattern).into_owned(),
                        count: p.count,
                        level: p
                            .level
                            .as_deref()
                            .map(|w| Level::from_word(w, true))
                            .unwrap_or(Level::Unknown),
                        from_server: true,
                    })
                    .collect()));
            }
            // no endpoint (or nothing): the local clustering stays
            Ok(_) => {}
            Err(e) => {
                if !matches!(self.patterns, Some(Ok(_))) {
                    self.patterns = Some(Err(e.to_string()));
                }
            }
        }
    }

    /// Completion answers merge into what is known; a label asked for by a
    /// Tab says on the editor's line what came back.
    fn on_completions(
        &mut self,
        label: Option<String>,
        values: Result<Vec<String>, String>,
    ) -> Outcome<LogsCommand> {
        let asked = label.as_deref().filter(|n| self.asked.contains(*n));
        let values = match values {
            Ok(v) => v,
            Err(e) => {
                // told on the editor's line; the next Tab asks again
                let mut out = Outcome::changed(vec![]);
                if let Some(name) = asked {
                    let name = name.to_string();
                    self.asked.remove(&name);
                    out = out.with(Effect::Message(
                        format!(
                            "values of {}: {}",
                            crate::text::display(&name),
                            crate::text::display(&crate::text::redact::redact(&e))
                        ),
                        true,
                    ));
                }
                return out;
            }
        };
        // only what can be typed back faithfully and shown: a valid label
        // name; a value of sane size that the redactor leaves alone (a
        // secret-looking value would be masked on screen and then match
        // nothing)
        let keep = |v: &String| match label {
            None => is_label_name(v),
            Some(_) => {
                v.len() <= client::wire::MAX_LABEL_BYTES
                    && matches!(
                        crate::text::redact::redact(v),
                        std::borrow::Cow::Borrowed(_)
                    )
            }
        };
        let values: Vec<String> = values.into_iter().filter(keep).collect();
        let mut out = Outcome::changed(vec![]);
        if let Some(name) = asked {
            let have = self.completions.get(name).map_or(0, Vec::len) + values.len();
            let name = crate::text::display(name);
            out = out.with(if have == 0 {
                Effect::Message(format!("no values of {name} in the window"), true)
            } else {
                Effect::Message(format!("values of {name}: Tab completes"), false)
            });
        }
        if label.is_some()
            && !self
                .completions
                .contains_key(label.as_deref().unwrap_or(""))
            && self.completions.len() >= COMPLETION_LABELS
        {
            out.changed = false;
            return out;
        }
        // answers of several asks (names, a scope, one label) merge
        let into = match label {
            None => &mut self.label_names,
            Some(name) => self.completions.entry(name).or_default(),
        };
        into.extend(values);
        into.sort_unstable();
        into.dedup();
        // sorted first, so a prefix finds its values whatever order the
        // server sent
        into.truncate(COMPLETION_CAP);
        out
    }
}

/// Clusters the retained lines into patterns (when the server has none).
pub fn local_patterns(l: &LogsState) -> Vec<PatternRow> {
    let mut p = crate::text::patterns::Patterns::new(crate::text::patterns::DEFAULT_CAP);
    // the lines shown (the level filter applies: "top error messages")
    for line in l.ring.lines().filter(|x| {
        l.min_level
            .is_none_or(|m| x.level >= m && x.level != Level::Unknown)
    }) {
        p.add(
            &crate::text::patterns::template(&line.text),
            line.level,
            line.ts_ns,
        );
    }
    p.top(50)
        .into_iter()
        .map(|r| PatternRow {
            pattern: r.pattern,
            count: r.count,
            level: r.level,
            from_server: false,
        })
        .collect()
}

/// The longest literal run of a pattern (between `<_>`), for a line filter.
pub fn pattern_literal(pattern: &str) -> Option<String> {
    pattern
        .split("<_>")
        .map(str::trim)
        .max_by_key(|s| s.len())
        .filter(|s| s.len() >= 3)
        .map(str::to_string)
}

impl Source for LogsState {
    fn common(&self) -> &SourceCommon {
        &self.common
    }

    /// The backfill finished (lines or not), or failed.
    fn settled(&self) -> bool {
        !self.common.configured
            || !matches!(self.mode, TailMode::Backfill)
            || self.common.health.last_error.is_some()
    }

    fn note(&self) -> Option<String> {
        match (&self.note, self.mode) {
            (Some(n), TailMode::Polling) => Some(format!("polling ({n})")),
            _ => None,
        }
    }

    fn help_lines(&self) -> Vec<String> {
        let fmt = |b: usize| crate::text::units::format_bytes(b as f64);
        let mut out = vec![
            format!(
                "Log ring: {} lines, {} (caps {} lines, {}); {} oldest dropped; {} lines the server could not deliver.",
                self.ring.len(),
                fmt(self.ring.bytes()),
                self.ring.max_lines,
                fmt(self.ring.max_bytes),
                self.ring.evicted,
                self.ring.missing,
            ),
            format!(
                "Log query: {} ({})",
                crate::text::display(&self.query),
                self.mode.as_str()
            ),
        ];
        if !self.redact {
            out.push("REDACTION OFF: secrets in log lines are shown (--no-redaction).".into());
        }
        out
    }
}

impl Feature for LogsState {
    type Event = LogsEvent;
    type Command = LogsCommand;

    fn start(&mut self, ctx: &Ctx) -> Vec<LogsCommand> {
        self.plan(ctx)
    }

    /// Pausing keeps the lines and stops the tail; resuming, or a new
    /// scope or window, starts over (a pod chosen anywhere re-targets the
    /// query built from the Target).
    fn retarget(&mut self, ctx: &Ctx, before: &Target) -> Vec<LogsCommand> {
        if !self.common.configured {
            return vec![];
        }
        let t = ctx.target;
        let only_pause = t.same_scope(before) && t.range_secs == before.range_secs;
        if only_pause && t.pinned_end_ms.is_some() {
            self.common.gen += 1;
            self.mode = TailMode::Done;
            return vec![LogsCommand::Stop];
        }
        if !t.same_scope(before) {
            self.user_query = None;
        }
        self.plan(ctx)
    }

    /// A log event: stored, counted, or dropped when of an old generation.
    fn on_event(&mut self, ev: LogsEvent, _ctx: &Ctx) -> Outcome<LogsCommand> {
        if !self.common.current(ev.gen()) {
            return Outcome::none();
        }
        match ev {
            LogsEvent::Lines {
                at_ms,
                lines,
                skewed,
                ..
            } => self.on_lines(at_ms, lines, skewed),
            LogsEvent::Marker { marker, .. } => {
                self.ring.push(Row::Marker(marker));
            }
            LogsEvent::Status {
                at_ms,
                mode,
                error,
                requests,
                note,
                ..
            } => self.on_status(at_ms, mode, error, requests, note),
            LogsEvent::Volume { at_ms, result, .. } => {
                self.common.health.count(at_ms, 0);
                self.volume = match result {
                    Ok(Some(m))
                        if m.iter()
                            .any(|s| s.labels.iter().any(|(k, _)| k == "detected_level")) =>
                    {
                        Some(m)
                    }
                    _ => None,
                };
            }
            LogsEvent::Patterns { at_ms, result, .. } => {
                self.common.health.count(at_ms, 0);
                self.on_patterns(result);
            }
            LogsEvent::Completions { label, values, .. } => {
                return self.on_completions(label, values)
            }
        }
        Outcome::changed(vec![])
    }

    /// The scope learned pods of the job in view: the query built from the
    /// target narrows to them (once they are known), with a new plan.
    fn on_scope(&mut self, ctx: &Ctx) -> Vec<LogsCommand> {
        if !self.common.configured || self.user_query.is_some() || self.mode == TailMode::Done {
            return vec![];
        }
        if logql::with_filters(&base_query(self, ctx), &self.filters) == self.query {
            return vec![];
        }
        self.plan(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case_search() {
        assert!(text_matches("Upstream TIMEOUT", "timeout"));
        assert!(!text_matches("upstream timeout", "Timeout"));
        assert!(text_matches("ünïcode Straße", "straße"));
    }

    #[test]
    fn a_pattern_filters_on_its_longest_literal() {
        assert_eq!(
            pattern_literal("<_> level=error msg=\"upstream timeout\" id=<_>").as_deref(),
            Some("level=error msg=\"upstream timeout\" id=")
        );
        assert_eq!(pattern_literal("<_> <_>"), None);
    }
}
