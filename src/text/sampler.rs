//! Placeholder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub raw: String,
}
pub fn parse(line: &str) -> Option<Snapshot> {
    line.contains("memory sampler snapshot").then(|| Snapshot { raw: line.to_string() })
}
