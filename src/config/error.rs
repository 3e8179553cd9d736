//! Config errors that name the file, the line, the key and the problem.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config error in {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn at(
        file: &Path,
        src: &str,
        span: Option<std::ops::Range<usize>>,
        key: Option<String>,
        problem: impl Into<String>,
    ) -> Self {
        let line = span.as_ref().map(|s| line_of(src, s.start));
        let key = key.or_else(|| span.and_then(|s| key_at(src, s.start)));
        ConfigError {
            file: file.to_path_buf(),
            line,
            key,
            problem: problem.into(),
        }
    }

    /// Turns a toml parse/deserialise error into one that names the line and key.
    /// A key that holds a secret reference never has its value echoed, whatever
    /// its type: toml's message quotes the value (`invalid type: integer 123…`).
    pub fn from_toml(file: &Path, src: &str, err: &toml::de::Error) -> Self {
        let mut e = ConfigError::at(file, src, err.span(), None, err.message().trim());
        if e.key.as_deref().is_some_and(is_secret_key) {
            e.problem = "must be a secret reference string: `env:NAME` or `file:/path/to/secret` \
                         (the value is not shown)"
                .into();
        }
        e
    }
}

/// Whether a dotted config key holds a secret reference.
pub fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(
        last,
        "bearer_token" | "basic_password" | "headers" | "password" | "token"
    ) || key.contains(".headers.")
}

/// 1-based line number of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

/// The dotted key at a byte offset: the table header above it plus the key
/// written on that line, e.g. `profiles.prod.prometheus.timeout`.
pub fn key_at(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let line_start = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = src[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(src.len());
    let line = src[line_start..line_end].trim();
    let mut table = String::new();
    for l in src[..line_start].lines().rev() {
        let l = l.trim();
        if l.starts_with('[') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            break;
        }
    }
    if line.starts_with('[') {
        return Some(
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string(),
        );
    }
    let key = line.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() || line == key {
        return if table.is_empty() { None } else { Some(table) };
    }
    Some(if table.is_empty() {
        key.to_string()
    } else {
        format!("{table}.{key}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_uses_table_header() {
        let src = "a = 1\n[profiles.prod.prometheus]\nurl = \"x\"\ntimeout = 5\n";
        let off = src.find("timeout").unwrap() + 2;
        assert_eq!(
            key_at(src, off).as_deref(),
            Some("profiles.prod.prometheus.timeout")
        );
        assert_eq!(line_of(src, off), 4);
        assert_eq!(key_at(src, 1).as_deref(), Some("a"));
    }

    #[test]
    fn secret_keys_never_echo_values_of_any_type() {
        for (src, key) in [
            (
                "[profiles.p.prometheus]\nurl = \"http://h\"\nbearer_token = 123456789\n",
                "profiles.p.prometheus.bearer_token",
            ),
            (
                "[profiles.p.prometheus]\nurl = \"http://h\"\nbasic_password = 98765.4321\n",
                "profiles.p.prometheus.basic_password",
            ),
            (
                "[profiles.p.prometheus.headers]\nX-Token = 55555555\n",
                "profiles.p.prometheus.headers.X-Token",
            ),
        ] {
            let err = toml::from_str::<crate::config::FileConfig>(src).unwrap_err();
            let e = ConfigError::from_toml(Path::new("c.toml"), src, &err);
            let msg = e.to_string();
            assert_eq!(e.key.as_deref(), Some(key), "{msg}");
            for v in ["123456789", "98765", "55555555"] {
                assert!(!msg.contains(v), "{msg}");
            }
            assert!(msg.contains("env:NAME"), "{msg}");
        }
    }
}
