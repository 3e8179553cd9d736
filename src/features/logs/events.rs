//! What the follow engine is told (`LogsPlan`), what it sends
//! (`LogsEvent`, with its `TailMode`), and how a wire entry becomes a
//! prepared line: sanitised, redacted, cut at `LINE_CAP`.

use std::time::Duration;

use crate::core::SourceError;
use crate::features::logs::client::wire::Entry;
use crate::store::logs::{LogLine, Marker};
use crate::text::logline::{self, Level};

/// Longest line kept (whole in the detail view); longer lines are cut and
/// say so.
pub const LINE_CAP: usize = 64 * 1024;

/// What to follow.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsPlan {
    pub gen: u64,
    pub query: String,
    /// Backfill from here (ns).
    pub since_ns: i64,
    /// A paused window's end (ns): the backfill reads back from there, not
    /// from now, so a moment in the past shows its own lines.
    pub until_ns: Option<i64>,
    /// Newest lines to backfill.
    pub backfill: usize,
    /// Keep tailing after the backfill.
    pub follow: bool,
    /// Poll period when the WebSocket is refused.
    pub poll_every: Duration,
    /// Mask secrets in lines (off only by the explicit flag).
    pub redact: bool,
    /// Ask the server for log volume by level every this often (None: never).
    pub volume_every: Option<Duration>,
    pub volume_step_secs: u64,
    /// After a disconnect, re-read from this far behind the newest line
    /// (lines written late arrive inside it; dedupe absorbs the overlap).
    pub reread_ns: i64,
    /// The Kubernetes context in view (None: the kubeconfig's current one),
    /// for a backend bound to one (the API's pod logs).
    pub context: Option<String>,
}

impl LogLine {
    pub fn from_entry(e: Entry, redact: bool) -> LogLine {
        let p = if redact {
            logline::prepare_string(e.line, LINE_CAP)
        } else {
            logline::prepare_unredacted(e.line.as_bytes(), LINE_CAP)
        };
        let meta: Box<[(String, String)]> = e
            .meta
            .into_iter()
            .map(|(k, v)| (clean(&k, redact), clean(&v, redact)))
            .collect();
        let level = meta
            .iter()
            .find(|(k, _)| k == "detected_level" || k == "level")
            .map(|(_, v)| Level::from_word(v, true))
            .filter(|l| *l != Level::Unknown)
            .unwrap_or_else(|| logline::detect_level(&p.text));
        LogLine {
            ts_ns: e.ts_ns,
            labels: e.labels,
            text: p.text.into_boxed_str(),
            cut: p.cut,
            level,
            meta,
        }
    }
}

fn clean(s: &str, redact: bool) -> String {
    if redact {
        crate::text::display(s).into_owned()
    } else {
        crate::text::sanitize(s).into_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailMode {
    Backfill,
    /// WebSocket open.
    Tailing,
    /// WebSocket refused: polling query_range.
    Polling,
    /// Between a disconnect and the next tail.
    Reconnecting,
    /// Backfill done, not following.
    Done,
}

impl TailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TailMode::Backfill => "loading",
            TailMode::Tailing => "tailing",
            TailMode::Polling => "polling",
            TailMode::Reconnecting => "reconnecting",
            TailMode::Done => "done",
        }
    }
}

/// What the logs source sends.
#[derive(Debug, Clone, PartialEq)]
pub enum LogsEvent {
    /// New lines, oldest first.
    Lines {
        gen: u64,
        at_ms: i64,
        lines: Vec<LogLine>,
        /// Of these, lines stamped ahead of the clock (stored at their own
        /// time, counted in the pane's title).
        skewed: u64,
    },
    Marker {
        gen: u64,
        marker: Marker,
    },
    /// The engine's mode changed, or a request failed (it retries).
    Status {
        gen: u64,
        at_ms: i64,
        mode: TailMode,
        error: Option<SourceError>,
        /// Requests made so far and bytes of lines received.
        requests: u64,
        /// Why the mode is what it is when that is not an error (the tail
        /// refused, so polling): shown beside the mode.
        note: Option<String>,
    },
    Volume {
        gen: u64,
        at_ms: i64,
        result: Result<Option<Vec<crate::features::logs::client::MatrixSeries>>, SourceError>,
    },
    Patterns {
        gen: u64,
        at_ms: i64,
        result: Result<Option<Vec<crate::features::logs::client::ServerPattern>>, SourceError>,
    },
    /// Label names or one label's values, for completion in the editor.
    /// Label names (label None) or one label's values; Err: the ask failed.
    Completions {
        gen: u64,
        label: Option<String>,
        values: Result<Vec<String>, String>,
    },
}

impl LogsEvent {
    pub fn gen(&self) -> u64 {
        match self {
            LogsEvent::Lines { gen, .. }
            | LogsEvent::Marker { gen, .. }
            | LogsEvent::Status { gen, .. }
            | LogsEvent::Volume { gen, .. }
            | LogsEvent::Patterns { gen, .. }
            | LogsEvent::Completions { gen, .. } => *gen,
        }
    }
}
