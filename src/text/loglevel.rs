//! The severity of a log line, found cheaply: [`detect_level`] looks at a
//! bounded head of the line and never allocates. Re-exported by
//! [`crate::text::logline`].

/// Severity of a log line. Ordered by severity with [`Level::Unknown`] the
/// lowest, so `max` over lines gives the most severe one seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
    #[default]
    Unknown,
}

impl Level {
    fn rank(self) -> u8 {
        match self {
            Level::Unknown => 0,
            Level::Trace => 1,
            Level::Debug => 2,
            Level::Info => 3,
            Level::Warn => 4,
            Level::Error => 5,
            Level::Fatal => 6,
        }
    }

    /// Short lower-case name ("warn", "error", …); "" for `Unknown`.
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

    /// A level name or alias in any case (`WARNING`, `err`, `crit`,
    /// `dpanic`, `Information`, `eror`, …). One-letter forms (`e`, `W`) only
    /// when `short` is set. `dpanic` (zap: panics only in development) maps
    /// to `Error`; `crit`, `panic`, `emerg` and `alert` to `Fatal`.
    pub fn from_word(w: &str, short: bool) -> Level {
        word_level(w.as_bytes(), short)
    }
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

fn word_level(w: &[u8], short: bool) -> Level {
    let mut buf = [0u8; 16];
    if w.is_empty() || w.len() > buf.len() || (w.len() == 1 && !short) {
        return Level::Unknown;
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    match &buf[..w.len()] {
        b"trace" | b"trc" | b"verbose" | b"vrb" | b"finest" | b"finer" | b"t" | b"v" => {
            Level::Trace
        }
        b"debug" | b"dbg" | b"dbug" | b"fine" | b"config" | b"d" => Level::Debug,
        b"info" | b"inf" | b"information" | b"informational" | b"notice" | b"i" => Level::Info,
        b"warn" | b"warning" | b"wrn" | b"w" => Level::Warn,
        b"error" | b"err" | b"eror" | b"erro" | b"severe" | b"dpanic" | b"e" => Level::Error,
        b"fatal" | b"ftl" | b"crit" | b"critical" | b"panic" | b"emerg" | b"emergency"
        | b"alert" | b"f" => Level::Fatal,
        _ => Level::Unknown,
    }
}

/// Plain formats are looked for only in this many leading bytes.
const HEAD: usize = 200;
/// logfmt `level=` keys are looked for in this many leading bytes.
const LOGFMT_HEAD: usize = 512;
/// JSON level keys are looked for in this many bytes from the `{`.
const JSON_HEAD: usize = 4096;

/// The severity of `line`, or `Unknown`. Tried in order: a JSON object
/// (starting in the first 200 bytes; keys `level`, `severity`, `lvl`,
/// `loglevel`, `log.level`, `@l`, `levelname`, `severity_text`/
/// `SeverityText`, numeric `severity_number` (OpenTelemetry 1–24), `level`
/// 10–60 (bunyan/pino), journald `PRIORITY` 0–7), a syslog `<N>` prefix, a
/// klog/glog header (`E1122 12:00:00.000000`), logfmt `level=`/`lvl=`/
/// `severity=`, then plain words in the first 200 bytes: a bracketed level
/// (`[error]`, `<warn>`), an upper-case one (`ERROR`, `WARN`), the first
/// word of the line in any case (`error: …`), or a lone upper-case letter
/// among header tokens (logcat's ` E `).
///
/// It does not allocate and does not parse the JSON (a key inside a string
/// value is skipped, a level deeper than 4 KiB is not found). Words glued to
/// digits, `_` or `/` are not levels.
pub fn detect_level(line: &str) -> Level {
    let b = line.as_bytes();
    let head = &b[..b.len().min(HEAD)];
    if let Some(p) = head.windows(2).position(|w| w == b"{\"") {
        let l = json_level(&b[p..b.len().min(p + JSON_HEAD)]);
        if l != Level::Unknown {
            return l;
        }
    }
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    let l = prefix_level(&head[start..]);
    if l != Level::Unknown {
        return l;
    }
    let l = logfmt_level(&b[..b.len().min(LOGFMT_HEAD)]);
    if l != Level::Unknown {
        return l;
    }
    plain_level(head)
}

#[derive(Clone, Copy, PartialEq)]
enum Key {
    Level,
    Otel,
    Syslog,
}

/// Which level key `k` is: ASCII case and `_ . - @` ignored.
fn level_key(k: &[u8]) -> Option<Key> {
    let mut buf = [0u8; 16];
    let mut n = 0;
    for &c in k {
        if matches!(c, b'_' | b'.' | b'-' | b'@') {
            continue;
        }
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    match &buf[..n] {
        b"level" | b"lvl" | b"severity" | b"loglevel" | b"severitytext" | b"levelname" => {
            Some(Key::Level)
        }
        b"l" if k == b"@l" => Some(Key::Level),
        b"severitynumber" => Some(Key::Otel),
        b"priority" => Some(Key::Syslog),
        _ => None,
    }
}

fn number_level(key: Key, n: u64) -> Level {
    match (key, n) {
        (Key::Otel, 1..=4) | (Key::Level, 10..=19) => Level::Trace,
        (Key::Otel, 5..=8) | (Key::Level, 20..=29) => Level::Debug,
        (Key::Otel, 9..=12) | (Key::Level, 30..=39) => Level::Info,
        (Key::Otel, 13..=16) | (Key::Level, 40..=49) => Level::Warn,
        (Key::Otel, 17..=20) | (Key::Level, 50..=59) => Level::Error,
        (Key::Otel, 21..=24) | (Key::Level, 60..=69) => Level::Fatal,
        (Key::Syslog, 0..=7) => syslog_level(n),
        _ => Level::Unknown,
    }
}

fn syslog_level(pri: u64) -> Level {
    match pri & 7 {
        0..=2 => Level::Fatal,
        3 => Level::Error,
        4 => Level::Warn,
        5 | 6 => Level::Info,
        _ => Level::Debug,
    }
}

/// End (exclusive, after the closing quote) of the JSON string opening at `i`.
fn string_end(b: &[u8], i: usize) -> usize {
    let mut k = i + 1;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    b.len()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn digits(b: &[u8], i: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut k = i;
    while k < b.len() && b[k].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(u64::from(b[k] - b'0'));
        k += 1;
    }
    (n, k)
}

/// Walks the JSON strings of `b`; a string followed by `:` is a key.
fn json_level(b: &[u8]) -> Level {
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let end = string_end(b, i);
        let key = &b[i + 1..end.saturating_sub(1).max(i + 1)];
        i = end;
        let colon = skip_ws(b, end);
        if b.get(colon) != Some(&b':') {
            continue;
        }
        let Some(kind) = level_key(key) else { continue };
        let v = skip_ws(b, colon + 1);
        let l = match b.get(v) {
            Some(b'"') => {
                let ve = string_end(b, v);
                let w = &b[v + 1..ve.saturating_sub(1).max(v + 1)];
                match w.first() {
                    Some(c) if c.is_ascii_digit() => number_level(kind, digits(w, 0).0),
                    _ => word_level(w, true),
                }
            }
            Some(c) if c.is_ascii_digit() => number_level(kind, digits(b, v).0),
            _ => Level::Unknown,
        };
        if l != Level::Unknown {
            return l;
        }
    }
    Level::Unknown
}

/// A syslog `<N>` priority or a klog header at the start of the line.
fn prefix_level(b: &[u8]) -> Level {
    if b.first() == Some(&b'<') {
        let (n, k) = digits(b, 1);
        if (2..=4).contains(&k) && b.get(k) == Some(&b'>') {
            return syslog_level(n);
        }
    }
    let klog = b.len() > 8
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6..8].iter().all(u8::is_ascii_digit)
        && b[8] == b':';
    match b.first() {
        Some(c) if klog => word_level(&[*c], true),
        _ => Level::Unknown,
    }
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'@')
}

/// `level=warn`, `lvl=e`, `severity="ERROR"`, `level=50` at a word start.
fn logfmt_level(b: &[u8]) -> Level {
    let mut from = 0;
    while let Some(off) = b[from..].iter().position(|&c| c == b'=') {
        let eq = from + off;
        from = eq + 1;
        let mut ks = eq;
        while ks > 0 && is_key_byte(b[ks - 1]) {
            ks -= 1;
        }
        if ks > 0 && !matches!(b[ks - 1], b' ' | b'\t' | b'{' | b',') {
            continue;
        }
        let Some(kind) = level_key(&b[ks..eq]) else {
            continue;
        };
        let v = if b.get(eq + 1) == Some(&b'"') {
            eq + 2
        } else {
            eq + 1
        };
        let ve = v + b[v.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let w = &b[v.min(b.len())..ve.min(b.len())];
        let l = match w.first() {
            Some(c) if c.is_ascii_digit() => number_level(kind, digits(w, 0).0),
            _ => word_level(w, true),
        };
        if l != Level::Unknown {
            return l;
        }
    }
    Level::Unknown
}

/// Level words in plain text; see [`detect_level`].
fn plain_level(b: &[u8]) -> Level {
    let mut i = 0;
    let mut first_word = true;
    while i < b.len() {
        if !b[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let a = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let w = &b[a..i];
        let prev = if a > 0 { b[a - 1] } else { b' ' };
        let next = b.get(i).copied().unwrap_or(b' ');
        let glued = |c: u8| c.is_ascii_digit() || matches!(c, b'_' | b'/' | b'.' | b'-');
        if glued(prev) || glued(next) && !(next == b'.' && b.get(i + 1).is_none_or(|c| *c == b' '))
        {
            // part of an identifier, a path or a timestamp's T/Z
            continue;
        }
        let upper = w.iter().all(u8::is_ascii_uppercase);
        let bracketed = matches!((prev, next), (b'[', b']') | (b'<', b'>') | (b'(', b')'));
        let l = if bracketed || (first_word && w.len() > 1) {
            word_level(w, bracketed)
        } else if upper {
            word_level(w, first_word && prev == b' ' && next == b' ')
        } else {
            Level::Unknown
        };
        if l != Level::Unknown {
            return l;
        }
        if w.len() > 1 {
            first_word = false;
        }
    }
    Level::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_order_and_names() {
        assert!(Level::Unknown < Level::Trace && Level::Error < Level::Fatal);
        assert_eq!(
            [Level::Warn, Level::Unknown, Level::Error].iter().max(),
            Some(&Level::Error)
        );
        assert_eq!(Level::Warn.as_str(), "warn");
        assert_eq!(Level::Unknown.as_str(), "");
        assert_eq!(Level::from_word("WARNING", false), Level::Warn);
        assert_eq!(Level::from_word("e", false), Level::Unknown);
        assert_eq!(Level::from_word("dpanic", false), Level::Error);
    }

    /// One case a line: the expected level (`-` for Unknown), a space, the line.
    fn check_levels(table: &str) {
        for case in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (want, line) = case.split_once(' ').unwrap_or((case, ""));
            let name = want;
            let want = Level::from_word(want, false);
            assert!(want != Level::Unknown || name == "-", "bad case {case}");
            assert_eq!(detect_level(line), want, "{line}");
        }
    }

    #[test]
    fn levels_from_json() {
        check_levels(
            r#"
            warn {"time":"2026-01-01T12:00:00Z","level":"WARN","msg":"slow"}
            error {"msg":"level: debug","severity":"ERROR"}
            fatal {"msg":"x \"level\":\"info\"","lvl":"crit"}
            warn {"log.level":"warning","message":"m"}
            info {"@t":"2026","@l":"Information","@m":"hi"}
            debug {"SeverityText":"DEBUG","Body":"b"}
            error {"severity_number":17,"body":"b"}
            error {"level":50,"pid":1,"msg":"pino"}
            info {"level":30,"msg":"pino"}
            error {"PRIORITY":"3","MESSAGE":"x"}
            warn {"PRIORITY":4,"MESSAGE":"x"}
            fatal {"levelname":"CRITICAL","name":"root"}
            error {"log":{"level":"dpanic"}}
            trace {"level":"verbose"}
            - {"msg":"no level here","user":"error"}
            - {"msg":"nothing","count":3}
            error 2026-01-01T00:00:00Z stdout F {"level":"error"}
            "#,
        );
    }

    #[test]
    fn levels_from_logfmt_and_prefixes() {
        check_levels(
            r#"
            warn time=2026-01-01T12:00:00Z level=warn msg="slow query"
            error t=2026 lvl=e msg=boom
            error lvl=eror msg=x
            debug ts=1 caller=main.go:12 level="DEBUG" msg=x
            - ts=1 retry_level=3 msg=x
            error <3>kernel: oops
            info <14>Jan  1 12:00:00 host app: hello
            fatal <0>panic
            error E1122 12:00:00.000000   1234 controller.go:42] sync failed
            warn W0101 09:15:00.123456       1 reflector.go:1] watch closed
            info I0101 00:00:00.000000 1 main.go:1] started
            - Ignore 12:00:00 I said
            "#,
        );
    }

    #[test]
    fn levels_from_plain_formats() {
        check_levels(
            r#"
            error 12:00:00.123 [error] GenServer #PID<0.1.0> terminating
            info 12:00:00.123 request_id=F1 [info] Sent 200 in 3ms
            error ERROR:root:connection refused
            warn WARNING:urllib3:retrying
            error 2026-01-01 12:00:00,123 ERROR [main] c.e.Foo - failed
            info 2026-05-01T12:00:00.123Z  INFO watchfloor::core: ok
            warn 2026/01/01 12:00:00 [warn] 12#0: *3 upstream timed out
            error 01-01 12:00:00.000  1234  1234 E Tag: crash
            error error: could not connect
            warn Warning: deprecated flag
            fatal 2026-01-01 12:00:00 FATAL out of memory
            fatal Jan 1 12:00:00 host sshd[1]: <crit> disk
            warn [W] retrying
            - GET /api/error/ERROR_CODE 200
            - 1.2.3.4 - - [01/Jan/2026:12:00:00 +0000] "GET / HTTP/1.1" 500 0
            - the user said I am fine
            -
            "#,
        );
        let late = format!("{} ERROR late", "x ".repeat(150));
        assert_eq!(
            detect_level(&late),
            Level::Unknown,
            "plain words only in the head"
        );
    }
}
