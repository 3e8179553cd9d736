//! The log ring: lines (and markers for lines that could not be delivered)
//! in timestamp order, capped by lines and by bytes; the oldest go first and
//! are counted, and the count is shown in the pane title.

use std::collections::VecDeque;

use std::sync::Arc;

use crate::text::logline::Level;

pub const DEFAULT_MAX_LINES: usize = 50_000;
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Line(LogLine),
    Marker(Marker),
}

impl Row {
    pub fn ts_ns(&self) -> i64 {
        match self {
            Row::Line(l) => l.ts_ns,
            Row::Marker(m) => m.from_ns,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Row::Line(l) => l.heap_bytes(),
            Row::Marker(m) => m.why.len() + std::mem::size_of::<Marker>(),
        }
    }
}

/// A row and its id: ids only grow, so a selection survives inserts and
/// evictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: u64,
    pub row: Row,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogRing {
    rows: VecDeque<Stored>,
    bytes: usize,
    next_id: u64,
    pub max_lines: usize,
    pub max_bytes: usize,
    /// Rows dropped to stay within the caps.
    pub evicted: u64,
    /// Lines the server could not deliver (sum of marker counts).
    pub missing: u64,
}

impl Default for LogRing {
    fn default() -> Self {
        LogRing::new(DEFAULT_MAX_LINES, DEFAULT_MAX_BYTES)
    }
}

impl LogRing {
    pub fn new(max_lines: usize, max_bytes: usize) -> LogRing {
        LogRing {
            rows: VecDeque::new(),
            bytes: 0,
            next_id: 0,
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1024),
            evicted: 0,
            missing: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.bytes = 0;
        self.evicted = 0;
        self.missing = 0;
    }

    pub fn rows(&self) -> &VecDeque<Stored> {
        &self.rows
    }

    pub fn get(&self, i: usize) -> Option<&Stored> {
        self.rows.get(i)
    }

    /// Position of the row with this id.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        // ids grow with position except for late inserts: search both ways
        let guess = self.rows.partition_point(|s| s.id < id);
        if self.rows.get(guess).is_some_and(|s| s.id == id) {
            return Some(guess);
        }
        self.rows.iter().position(|s| s.id == id)
    }

    /// Inserts in timestamp order (a late line goes where it belongs; equal
    /// timestamps keep arrival order), then evicts the oldest over the caps.
    pub fn push(&mut self, row: Row) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if let Row::Marker(m) = &row {
            self.missing += m.count;
        }
        self.bytes += row.bytes();
        let ts = row.ts_ns();
        let stored = Stored { id, row };
        if self.rows.back().is_none_or(|b| b.row.ts_ns() <= ts) {
            self.rows.push_back(stored);
        } else {
            let at = self.rows.partition_point(|s| s.row.ts_ns() <= ts);
            self.rows.insert(at, stored);
        }
        while self.rows.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.rows.len() > 1)
        {
            if let Some(old) = self.rows.pop_front() {
                self.bytes -= old.row.bytes();
                self.evicted += 1;
            }
        }
        id
    }

    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.rows.iter().filter_map(|s| match &s.row {
            Row::Line(l) => Some(l),
            Row::Marker(_) => None,
        })
    }
}

/// Stream labels, sorted by name; shared by every entry of the stream.
pub type Labels = Arc<[(String, String)]>;

/// A line ready to store or print: sanitised, redacted, cut at LINE_CAP.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub ts_ns: i64,
    pub labels: Labels,
    pub text: Box<str>,
    /// The original length in bytes when the line was cut.
    pub cut: Option<usize>,
    pub level: Level,
    /// Structured metadata and parsed labels, sanitised and redacted.
    pub meta: Box<[(String, String)]>,
}

impl LogLine {
    /// A label of the stream (or of the metadata).
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .chain(self.meta.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Heap bytes held (for the ring's byte cap).
    pub fn heap_bytes(&self) -> usize {
        // labels are shared between lines of a stream; counted per line
        // anyway, so a flood of distinct (capped) label sets stays bounded
        let labels: usize = self.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
        labels
            + self.text.len()
            + self
                .meta
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
            + std::mem::size_of::<LogLine>()
    }
}

/// Lines the engine could not deliver: shown as a row, never silently.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub count: u64,
    pub from_ns: i64,
    pub to_ns: i64,
    pub why: String,
    /// Left out by a limit the user set (the backfill's `--limit`), not
    /// lost: the pane shows it, `watchfloor logs` does not print it.
    pub by_limit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::logline::Level;

    fn line(ts: i64, text: &str) -> Row {
        Row::Line(LogLine {
            ts_ns: ts,
            labels: vec![].into(),
            text: text.into(),
            cut: None,
            level: Level::Info,
            meta: Box::new([]),
        })
    }

    fn texts(r: &LogRing) -> Vec<String> {
        r.lines().map(|l| l.text.to_string()).collect()
    }

    #[test]
    fn late_lines_go_where_they_belong() {
        let mut r = LogRing::new(10, 1 << 20);
        r.push(line(1, "a"));
        r.push(line(3, "c"));
        r.push(line(2, "b"));
        r.push(line(3, "c2"));
        assert_eq!(texts(&r), ["a", "b", "c", "c2"]);
    }

    #[test]
    fn caps_by_lines_and_bytes_drop_the_oldest_and_count() {
        let mut r = LogRing::new(3, 1 << 20);
        for i in 0..5 {
            r.push(line(i, &format!("l{i}")));
        }
        assert_eq!(texts(&r), ["l2", "l3", "l4"]);
        assert_eq!(r.evicted, 2);
        let big = "x".repeat(1000);
        let mut r = LogRing::new(1000, 4096);
        for i in 0..10 {
            r.push(line(i, &big));
        }
        assert!(r.bytes() <= 4096, "{}", r.bytes());
        assert!(r.len() < 10 && r.len() >= 2);
        assert_eq!(r.evicted as usize + r.len(), 10);
    }

    #[test]
    fn ids_find_rows_after_inserts_and_evictions() {
        let mut r = LogRing::new(3, 1 << 20);
        let a = r.push(line(5, "a"));
        let b = r.push(line(1, "b"));
        assert_eq!(r.index_of(a), Some(1));
        assert_eq!(r.index_of(b), Some(0));
        r.push(line(6, "c"));
        r.push(line(7, "d"));
        assert_eq!(r.index_of(b), None);
        assert_eq!(r.index_of(a), Some(0));
    }
}
