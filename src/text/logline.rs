//! Placeholder until the log-line module lands (prepare, level detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    #[default]
    Unknown,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}
impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
            Level::Unknown => "",
        }
    }
    pub fn from_word(w: &str, _short: bool) -> Level {
        match w.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" | "err" => Level::Error,
            "fatal" | "critical" => Level::Fatal,
            _ => Level::Unknown,
        }
    }
}
pub struct Prepared {
    pub text: String,
    pub cut: Option<usize>,
}
fn cut(t: String, raw: usize, cap: usize) -> Prepared {
    if t.len() > cap {
        let mut i = cap;
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        Prepared { text: t[..i].to_string(), cut: Some(raw) }
    } else {
        Prepared { text: t, cut: None }
    }
}
pub fn prepare(raw: &[u8], cap: usize) -> Prepared {
    let s = String::from_utf8_lossy(raw);
    cut(crate::text::display(&s).into_owned(), raw.len(), cap)
}
pub fn prepare_unredacted(raw: &[u8], cap: usize) -> Prepared {
    let s = String::from_utf8_lossy(raw);
    cut(crate::text::sanitize(&s).into_owned(), raw.len(), cap)
}
pub fn detect_level(s: &str) -> Level {
    for w in ["error", "warn", "info", "debug"] {
        if s.contains(&format!("\"level\":\"{w}\"")) {
            return Level::from_word(w, false);
        }
    }
    Level::Unknown
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Json,
    Logfmt,
}
pub struct Fields {
    pub kind: FieldKind,
    pub pairs: Vec<(String, String)>,
}
pub fn fields(line: &str) -> Option<Fields> {
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
    Some(Fields {
        kind: FieldKind::Json,
        pairs: v.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
    })
}
pub fn pretty_json(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    serde_json::to_string_pretty(&v).ok()
}
