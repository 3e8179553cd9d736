//! The logs part of the state and what `update` does with log events and
//! log actions: the ring, the query (base + filters), follow vs paused,
//! selection, search, level filter, volume and patterns.

use std::collections::BTreeMap;

use super::state::{Health, State};
use super::update::Command;
use crate::sources::loki::engine::CompletionAsk;
use crate::sources::loki::logql::{self, Filter, Scope};
use crate::sources::loki::{LogLine, LogsEvent, LogsPlan, MatrixSeries, TailMode};
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
    pub configured: bool,
    pub gen: u64,
    pub health: Health,
    pub mode: TailMode,
    pub ring: LogRing,
    /// The query typed with `e` (None: built from the Target).
    pub user_query: Option<String>,
    pub filters: Vec<Filter>,
    /// The query the source follows now (base + filters).
    pub query: String,
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
            configured: false,
            gen: 0,
            health: Health::default(),
            mode: TailMode::Backfill,
            ring: LogRing::default(),
            user_query: None,
            filters: vec![],
            query: String::new(),
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
            reread_secs: crate::sources::loki::engine::DEFAULT_REREAD_SECS,
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
pub fn base_query(state: &State) -> String {
    if let Some(q) = &state.logs.user_query {
        return q.clone();
    }
    // a job's pods from the scope (never from the metrics store, which a
    // re-target empties before this runs)
    let pods = match (&state.target.pod, &state.target.job) {
        (None, Some(job)) => state.scope.pods_of(job),
        _ => vec![],
    };
    logql::selector(&Scope {
        namespace: state.target.namespace.as_deref(),
        pod: state.target.pod.as_deref(),
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
pub fn window_ns(state: &State) -> (i64, i64) {
    let end = state.target.end_ms(state.now_ms) * 1_000_000;
    (end - state.target.range_secs as i64 * 1_000_000_000, end)
}

/// A new generation and plan for the logs source (the Target or the query
/// changed). The ring starts over: its lines belong to the old query.
pub fn plan(state: &mut State) -> Vec<Command> {
    if !state.logs.configured {
        return vec![];
    }
    let query = logql::with_filters(&base_query(state), &state.logs.filters);
    let (since_ns, _) = window_ns(state);
    let l = &mut state.logs;
    l.gen += 1;
    l.query = query.clone();
    l.ring.clear();
    l.skewed = 0;
    l.volume = None;
    l.patterns = None;
    l.selected = None;
    l.anchor = None;
    l.follow = true;
    l.mode = TailMode::Backfill;
    let step = crate::sources::prometheus::choose_step(state.target.range_secs, 60, 1);
    vec![Command::Logs(LogsCommand::Start(LogsPlan {
        gen: l.gen,
        query,
        since_ns,
        backfill: l.backfill,
        follow: state.target.pinned_end_ms.is_none(),
        poll_every: std::time::Duration::from_secs_f64(state.refresh_secs.max(1.0)),
        redact: l.redact,
        volume_every: Some(std::time::Duration::from_secs(30)),
        volume_step_secs: step,
        reread_ns: (l.reread_secs * 1e9) as i64,
    }))]
}

/// A log event: stored, counted, or dropped when of an old generation.
pub fn on_event(state: &mut State, ev: LogsEvent) -> (Vec<Command>, bool) {
    let l = &mut state.logs;
    if ev.gen() != l.gen {
        return (vec![], false);
    }
    match ev {
        LogsEvent::Lines {
            at_ms,
            lines,
            skewed,
            ..
        } => {
            l.skewed += skewed;
            let bytes: usize = lines.iter().map(|x| x.text.len()).sum();
            l.health.bytes += bytes as u64;
            l.health.succeeded(at_ms);
            for line in lines {
                if line.text.contains("sampler") {
                    if let Some(s) = crate::text::sampler::parse(&line.text) {
                        let pod = line.label("pod").unwrap_or("").to_string();
                        let newer = l.snapshots.get(&pod).is_none_or(|(t, _)| *t <= line.ts_ns);
                        if newer {
                            l.snapshots.insert(pod, (line.ts_ns, s));
                        }
                    }
                }
                l.ring.push(Row::Line(line));
            }
            if l.selected.is_some_and(|id| l.ring.index_of(id).is_none()) {
                // the selected line was evicted: keep reading at the oldest
                l.selected = l.ring.get(0).map(|s| s.id);
            }
            (vec![], true)
        }
        LogsEvent::Marker { marker, .. } => {
            l.ring.push(Row::Marker(marker));
            (vec![], true)
        }
        LogsEvent::Status {
            at_ms,
            mode,
            error,
            requests,
            note,
            ..
        } => {
            l.note = note;
            let new = requests.saturating_sub(l.health.requests);
            for _ in 0..new.min(1000) {
                l.health.count(at_ms, 0);
            }
            l.health.requests = requests;
            l.mode = mode;
            match error {
                Some(e) => l.health.failed(at_ms, e.to_string(), e.is_permanent()),
                // a tail open (or polling, or done) is an answer; "about
                // to try again" is not
                None if matches!(mode, TailMode::Tailing | TailMode::Polling | TailMode::Done) => {
                    l.health.succeeded(at_ms)
                }
                None => {}
            }
            (vec![], true)
        }
        LogsEvent::Volume { at_ms, result, .. } => {
            l.health.count(at_ms, 0);
            l.volume = match result {
                Ok(Some(m))
                    if m.iter()
                        .any(|s| s.labels.iter().any(|(k, _)| k == "detected_level")) =>
                {
                    Some(m)
                }
                _ => None,
            };
            (vec![], true)
        }
        LogsEvent::Patterns { at_ms, result, .. } => {
            l.health.count(at_ms, 0);
            match result {
                Ok(Some(p)) if !p.is_empty() => {
                    l.patterns = Some(Ok(p
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
                    if !matches!(l.patterns, Some(Ok(_))) {
                        l.patterns = Some(Err(e.to_string()));
                    }
                }
            }
            (vec![], true)
        }
        LogsEvent::Completions { label, values, .. } => {
            let asked = label.as_deref().filter(|n| l.asked.contains(*n));
            let values = match values {
                Ok(v) => v,
                Err(e) => {
                    // told on the editor's line; the next Tab asks again
                    if let Some(name) = asked {
                        let name = name.to_string();
                        l.asked.remove(&name);
                        state.ui.message = Some((
                            format!(
                                "values of {}: {}",
                                crate::text::display(&name),
                                crate::text::display(&crate::text::redact::redact(&e))
                            ),
                            true,
                        ));
                    }
                    return (vec![], true);
                }
            };
            // only what can be typed back faithfully and shown: a valid
            // label name; a value of sane size that the redactor leaves
            // alone (a secret-looking value would be masked on screen and
            // then match nothing)
            let keep = |v: &String| match label {
                None => is_label_name(v),
                Some(_) => {
                    v.len() <= crate::sources::loki::wire::MAX_LABEL_BYTES
                        && matches!(
                            crate::text::redact::redact(v),
                            std::borrow::Cow::Borrowed(_)
                        )
                }
            };
            let values: Vec<String> = values.into_iter().filter(keep).collect();
            // a label's values asked for by a Tab: say what came back (the
            // editor's line shows it)
            if let Some(name) = asked {
                let have = l.completions.get(name).map_or(0, Vec::len) + values.len();
                let name = crate::text::display(name);
                state.ui.message = Some(if have == 0 {
                    (format!("no values of {name} in the window"), true)
                } else {
                    (format!("values of {name}: Tab completes"), false)
                });
            }
            let l = &mut state.logs;
            if label.is_some()
                && !l.completions.contains_key(label.as_deref().unwrap_or(""))
                && l.completions.len() >= COMPLETION_LABELS
            {
                return (vec![], false);
            }
            // answers of several asks (names, a scope, one label) merge
            let into = match label {
                None => &mut l.label_names,
                Some(name) => l.completions.entry(name).or_default(),
            };
            into.extend(values);
            into.sort_unstable();
            into.dedup();
            // sorted first, so a prefix finds its values whatever order
            // the server sent
            into.truncate(COMPLETION_CAP);
            (vec![], true)
        }
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

/// The Target changed. Pausing keeps the lines and stops the tail;
/// resuming, or a new scope or window, starts over (a pod chosen anywhere
/// re-targets the query built from the Target).
/// The scope learned pods of the job in view: the query built from the
/// target narrows to them (once they are known), with a new plan.
pub fn on_scope(state: &mut State) -> Vec<Command> {
    let l = &state.logs;
    if !l.configured || l.user_query.is_some() || l.mode == TailMode::Done {
        return vec![];
    }
    if logql::with_filters(&base_query(state), &l.filters) == l.query {
        return vec![];
    }
    plan(state)
}

pub fn retarget(state: &mut State, before: &super::Target) -> Vec<Command> {
    if !state.logs.configured {
        return vec![];
    }
    let t = &state.target;
    let only_pause = t.same_scope(before) && t.range_secs == before.range_secs;
    if only_pause && t.pinned_end_ms.is_some() {
        state.logs.gen += 1;
        state.logs.mode = TailMode::Done;
        return vec![Command::Logs(LogsCommand::Stop)];
    }
    if !t.same_scope(before) {
        state.logs.user_query = None;
    }
    plan(state)
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
