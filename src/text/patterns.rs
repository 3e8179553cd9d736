//! Placeholder.
use super::logline::Level;
pub fn template(line: &str) -> String {
    line.split_whitespace()
        .map(|w| if w.chars().any(|c| c.is_ascii_digit()) { "<_>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}
pub struct PatternRow {
    pub pattern: String,
    pub count: u64,
    pub level: Level,
    pub first_ns: i64,
    pub last_ns: i64,
}
#[derive(Default)]
pub struct Patterns {
    m: std::collections::HashMap<String, (u64, Level, i64, i64)>,
}
impl Patterns {
    pub fn add(&mut self, t: &str, level: Level, ts: i64) {
        let e = self.m.entry(t.to_string()).or_insert((0, level, ts, ts));
        e.0 += 1;
        e.1 = e.1.max(level);
        e.3 = ts;
    }
    pub fn top(&self, n: usize) -> Vec<PatternRow> {
        let mut v: Vec<PatternRow> = self
            .m
            .iter()
            .map(|(k, v)| PatternRow { pattern: k.clone(), count: v.0, level: v.1, first_ns: v.2, last_ns: v.3 })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.pattern.cmp(&b.pattern)));
        v.truncate(n);
        v
    }
}
