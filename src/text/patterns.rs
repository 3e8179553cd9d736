//! Local clustering of log lines into patterns, for the "top error
//! messages" view when Loki has no `/patterns` endpoint: [`template`] masks
//! the variable parts of a line with `<_>` (Loki's wildcard), [`Patterns`]
//! counts templates in a bounded table, [`matches`] tells whether a line
//! belongs to a pattern.
//!
//! This is token masking, not Loki's Drain clustering: two messages that
//! differ in a word (not an id or a number) stay two patterns.

use std::collections::HashMap;

use crate::text::{logfields::fields, logfields::FieldKind, loglevel::Level};

/// The wildcard that stands for a variable part.
pub const WILD: &str = "<_>";

/// A sensible cap for [`Patterns::new`].
pub const DEFAULT_CAP: usize = 5_000;

/// Name of the row that counts lines past the distinct-pattern cap.
pub const OTHER: &str = "<other>";

/// Keys whose values are messages (templated and kept) rather than data
/// (masked whole), for JSON fields and `key="…"` pairs; the last dotted
/// segment of a key counts.
const MESSAGE_KEYS: &str =
    "msg message error err event reason exception level lvl severity logger component caller body";

/// Split tokens at these (besides whitespace and `"`); they are kept.
const DELIMS: &[u8] = b",;()[]{}=|`";

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The pattern of `line`: variable tokens replaced by `<_>`, whitespace runs
/// as one space, and `<_>`s separated only by blanks or `.:-/,_+` merged.
///
/// Masked: numbers (decimals, signs, units such as `12ms`, `3.5s`, `10KiB`,
/// `1h2m3s`, `100%`), hex (`0x…`, or 6+ hex digits with a digit, or 16+),
/// UUIDs, IPv4/IPv6 with `:port` or `/prefix`, dates and times (ISO, nginx
/// `01/Jan/2026:…`), e-mail addresses, ids (8+ chars of `[A-Za-z0-9_+-]`
/// with a letter and a digit, e.g. pod names), Erlang pids `<0.1.0>`, the
/// digits of `E1122`-style prefixes, and inside paths or dotted names each
/// numeric or id-like part (`/users/<_>`, `main.go:<_>`).
///
/// `key="…"` has its contents masked (the key kept) unless the key is a
/// message key (`msg`, `message`, `error`, `err`, `reason`, `level`, …),
/// whose contents are templated instead; other quoted strings are
/// templated. A JSON object becomes `key=<_>` / `key="templated message"`
/// pairs in their order.
///
/// Idempotent (`template(template(x)) == template(x)`), so passing a
/// template is fine. It does not look at meaning: `user=alice` and
/// `user=bob` stay apart.
pub fn template(line: &str) -> String {
    let t = line.trim();
    let mut out = String::with_capacity(t.len());
    match fields(t) {
        Some(f) if f.kind == FieldKind::Json => {
            for (k, v) in &f.pairs {
                if !out.is_empty() {
                    out.push(' ');
                }
                text(k, 1, &mut out);
                out.push('=');
                if is_message_key(k) {
                    let mut inner = String::new();
                    text(v, 1, &mut inner);
                    let inner = collapse(&inner).replace('\\', "\\\\");
                    out.extend(["\"", &inner.replace('"', "\\\""), "\""]);
                } else {
                    out.push_str(WILD);
                }
            }
        }
        _ => text(t, 0, &mut out),
    }
    collapse(&out)
}

fn is_message_key(k: &str) -> bool {
    let last = k.rsplit('.').next().unwrap_or(k);
    MESSAGE_KEYS
        .split(' ')
        .any(|m| last.eq_ignore_ascii_case(m))
}

/// The key right before a quote: `key=` or `"key":` at the end of `out`.
fn key_before(out: &str) -> Option<&str> {
    let o = out.strip_suffix(['=', ':'])?;
    let o = o.strip_suffix('"').unwrap_or(o);
    let start = o
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "_.-@".contains(*c)))
        .map_or(0, |(p, c)| p + c.len_utf8());
    (start < o.len()).then(|| &o[start..])
}

/// Templates plain text into `out`. At `depth` > 0 (inside a quoted string)
/// quotes are ordinary delimiters, which bounds the recursion.
fn text(s: &str, depth: u8, out: &mut String) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
        } else if c == b'"' && depth == 0 {
            let mut k = i + 1;
            while k < b.len() && b[k] != b'"' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            let closed = k < b.len();
            let inner = &s[i + 1..k.min(b.len())];
            let mask = key_before(out).is_some_and(|k| !is_message_key(k));
            out.push('"');
            if mask {
                out.push_str(WILD);
            } else {
                text(inner, depth + 1, out);
            }
            if closed {
                out.push('"');
            }
            i = k.min(b.len()) + usize::from(closed);
        } else if DELIMS.contains(&c) || c == b'"' {
            out.push(c as char);
            i += 1;
        } else {
            let n = b[i..]
                .iter()
                .take_while(|c| !c.is_ascii_whitespace() && !DELIMS.contains(c) && **c != b'"')
                .count();
            token(&s[i..i + n], out);
            i += n;
        }
    }
}

fn token(tok: &str, out: &mut String) {
    let core = tok.trim_end_matches(['.', ',', ':', ';', '!', '?']);
    let core = if core.is_empty() { tok } else { core };
    let trail = &tok[core.len()..];
    if core != WILD && is_var(core) {
        out.push_str(WILD);
    } else {
        parts(core, out);
    }
    out.push_str(trail);
}

/// Masks the variable alphanumeric runs of a token that is not variable as
/// a whole (`/api/v1/users/42`, `main.go:42`, `#PID<0.1.0>`).
fn parts(t: &str, out: &mut String) {
    let b = t.as_bytes();
    let digits = b.iter().any(u8::is_ascii_digit);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let n = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == b'.')
                .count();
            if n > 0 && b.get(i + 1 + n) == Some(&b'>') && b[i + 1].is_ascii_digit() {
                out.push_str(WILD);
                i += n + 2;
                continue;
            }
        }
        if !b[i].is_ascii_alphanumeric() {
            let s0 = i;
            while i < b.len() && !b[i].is_ascii_alphanumeric() && b[i] != b'<' {
                i += 1;
            }
            out.push_str(&t[s0..i.max(s0 + 1)]);
            i = i.max(s0 + 1);
            continue;
        }
        let s0 = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let r = &t[s0..i];
        let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
        let month = digits && MONTHS.iter().any(|m| r.eq_ignore_ascii_case(m));
        if is_number(r) || is_hex(r) || is_id(r) || month {
            out.push_str(WILD);
        } else if letters > 0
            && r.len() - letters >= 4
            && r[letters..].bytes().all(|c| c.is_ascii_digit())
        {
            out.push_str(&r[..letters]);
            out.push_str(WILD);
        } else {
            out.push_str(r);
        }
    }
}

fn is_var(t: &str) -> bool {
    is_number(t) || is_numeric_punct(t) || is_hex(t) || is_ipv6(t) || is_email(t) || is_id(t)
}

/// `12`, `-3.5`, `12ms`, `10KiB`, `1h2m3.5s`, `100%`.
fn is_number(t: &str) -> bool {
    let b = t.strip_prefix(['-', '+']).unwrap_or(t).as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let d = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d == 0 {
            return false;
        }
        i += d;
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1 + b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        }
        let u = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if u > 3 {
            return false;
        }
        i += u;
        if b.get(i) == Some(&b'%') {
            i += 1;
        }
    }
    true
}

/// Dates, times, versions, IPv4 (`2026-01-01T12:00:00.123Z`, `10.0.0.1:80`,
/// `+02:00`): digits with `-+.:/,_` and the `T`/`Z` of a timestamp.
fn is_numeric_punct(t: &str) -> bool {
    let b = t.as_bytes();
    b.first()
        .is_some_and(|c| c.is_ascii_digit() || b"+-.".contains(c))
        && b.iter().any(u8::is_ascii_digit)
        && b.iter()
            .all(|c| c.is_ascii_digit() || b"-+.:/,_TZ".contains(c))
}

fn is_hex(t: &str) -> bool {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit());
    }
    t.len() >= 6
        && t.bytes().all(|c| c.is_ascii_hexdigit())
        && (t.len() >= 16 || t.bytes().any(|c| c.is_ascii_digit()))
}

fn is_ipv6(t: &str) -> bool {
    t.bytes().filter(|c| *c == b':').count() >= 2
        && t.bytes().any(|c| c.is_ascii_hexdigit())
        && t.bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.' || c == b'/')
}

fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c))
    };
    ok(local) && ok(domain) && domain.contains('.') && !domain.ends_with('.')
}

/// 8+ chars of `[A-Za-z0-9_+-]` with at least one letter and one digit
/// (this covers UUIDs, pod names, request ids).
fn is_id(t: &str) -> bool {
    t.len() >= 8
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_+-".contains(&c))
        && t.bytes().any(|c| c.is_ascii_digit())
        && t.bytes().any(|c| c.is_ascii_alphabetic())
}

/// Merges `<_>`s separated only by blanks or `.:-/,_+`, and drops brackets
/// around a lone `<_>` (`[::1]:80` and `10.0.0.1:80` become the same). One
/// pass, linear even for `[[[[1]]]]`.
fn collapse(s: &str) -> String {
    const SEPS: &[char] = &[' ', '.', ':', '-', '/', ',', '_', '+'];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find(WILD) {
        out.push_str(&rest[..p]);
        rest = &rest[p + WILD.len()..];
        loop {
            let keep = out.trim_end_matches(SEPS).len();
            if out[..keep].ends_with(WILD) {
                out.truncate(keep);
            } else {
                out.push_str(WILD);
            }
            let before = out.len() - WILD.len();
            if !(out[..before].ends_with('[') && rest.starts_with(']')) {
                break;
            }
            out.truncate(before - 1);
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out.trim().to_owned()
}

/// Whether `line_template` (a [`template`], or any text) fits `pattern`,
/// where each `<_>` in the pattern stands for any text, empty included.
/// Works with Loki's own patterns too. Worst case O(pattern × line).
pub fn matches(pattern: &str, line_template: &str) -> bool {
    let parts: Vec<&str> = pattern.split(WILD).collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == line_template;
    }
    let Some(mut rest) = line_template.strip_prefix(first) else {
        return false;
    };
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(p) => rest = &rest[p + mid.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// One pattern and what was seen of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternRow {
    pub pattern: String,
    pub count: u64,
    /// The most severe level seen.
    pub level: Level,
    pub first_ns: i64,
    pub last_ns: i64,
}

impl PatternRow {
    fn new(pattern: String, ts_ns: i64) -> Self {
        let (count, level, first_ns, last_ns) = (0, Level::Unknown, ts_ns, ts_ns);
        PatternRow {
            pattern,
            count,
            level,
            first_ns,
            last_ns,
        }
    }

    fn add(&mut self, level: Level, ts_ns: i64) {
        self.count += 1;
        self.level = self.level.max(level);
        self.first_ns = self.first_ns.min(ts_ns);
        self.last_ns = self.last_ns.max(ts_ns);
    }
}

/// Counts of templates, bounded: past `cap` distinct patterns, new ones are
/// counted in one [`OTHER`] row.
#[derive(Debug, Clone)]
pub struct Patterns {
    rows: HashMap<String, PatternRow>,
    other: Option<PatternRow>,
    cap: usize,
    total: u64,
}

impl Patterns {
    /// An empty table holding at most `cap` distinct patterns.
    pub fn new(cap: usize) -> Self {
        Patterns {
            rows: HashMap::new(),
            other: None,
            cap,
            total: 0,
        }
    }

    /// Counts one line (templated here; a template passes unchanged).
    pub fn add(&mut self, template_or_line: &str, level: Level, ts_ns: i64) {
        let t = template(template_or_line);
        self.total += 1;
        let row = if self.rows.len() < self.cap || self.rows.contains_key(&t) {
            let new = |k: &String| PatternRow::new(k.clone(), ts_ns);
            self.rows.entry(t).or_insert_with_key(new)
        } else {
            let new = || PatternRow::new(OTHER.into(), ts_ns);
            self.other.get_or_insert_with(new)
        };
        row.add(level, ts_ns);
    }

    /// The `n` largest rows (the [`OTHER`] row among them), by count
    /// descending then pattern.
    pub fn top(&self, n: usize) -> Vec<PatternRow> {
        let mut all: Vec<&PatternRow> = self.rows.values().chain(&self.other).collect();
        all.sort_by_key(|&r| (std::cmp::Reverse(r.count), &r.pattern));
        all.into_iter().take(n).cloned().collect()
    }

    /// Distinct patterns held (not counting [`OTHER`]).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Lines counted.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups are separated by blank lines. Lines in a group must share one
    /// template; groups must differ. Returns the templates.
    fn groups(table: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for g in table.split("\n\n").filter(|g| !g.trim().is_empty()) {
            let g: Vec<&str> = g.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let t = template(g[0]);
            for l in &g[1..] {
                assert_eq!(template(l), t, "{l:?} vs {:?}", g[0]);
            }
            assert!(!seen.contains(&t), "{t:?} shared by another group");
            assert_eq!(template(&t), t, "not idempotent");
            assert!(g.iter().all(|l| matches(&t, &template(l))), "{t}");
            seen.push(t);
        }
        seen
    }

    #[test]
    fn elixir_phoenix_lines() {
        let t = groups(
            "12:00:01.123 request_id=F6x2kZ9aB3q [info] Sent 200 in 3ms
             12:07:44.9 request_id=Gq81LmZ0zz1 [info] Sent 404 in 12.5ms

             12:00:01.123 [error] GenServer #PID<0.123.0> terminating
             13:10:00.001 [error] GenServer #PID<0.9981.12> terminating

             12:00:01.123 [error] Task #PID<0.1.0> started from Foo.Bar terminating",
        );
        assert_eq!(t[0], "<_> request_id=<_> [info] Sent <_> in <_>");
        assert_eq!(t[1], "<_> [error] GenServer #PID<_> terminating");
    }

    #[test]
    fn go_slog_json_lines() {
        let t = groups(
            r#"{"time":"2026-01-01T12:00:00.123Z","level":"ERROR","msg":"db query failed","err":"dial tcp 10.0.0.5:5432: connect: connection refused","duration":"12.5ms","user":"u-1"}
               {"time":"2026-01-02T01:02:03Z","level":"ERROR","msg":"db query failed","err":"dial tcp [fd00::12]:5432: connect: connection refused","duration":"3s","user":"u-77"}

               {"time":"2026-01-01T12:00:00Z","level":"ERROR","msg":"cache miss","err":"dial tcp 10.0.0.5:5432: connect: connection refused","duration":"1s","user":"x"}

               {"level":"WARN","msg":"say \"hi\" to 42","path":"/a"}"#,
        );
        assert_eq!(
            t[0],
            r#"time=<_> level="ERROR" msg="db query failed" err="dial tcp <_>: connect: connection refused" duration=<_> user=<_>"#
        );
        assert_eq!(t[2], r#"level="WARN" msg="say \"hi\" to <_>" path=<_>"#);
    }

    #[test]
    fn nginx_klog_java_lines() {
        let t = groups(
            r#"10.0.0.1 - - [01/Jan/2026:12:00:00 +0000] "GET /api/v1/users/42 HTTP/1.1" 200 512 "-" "curl/8.5.0"
               192.168.1.20 - - [02/Feb/2026:23:59:59 +0100] "GET /api/v1/users/9f8e7d6c HTTP/1.1" 500 0 "-" "curl/7.1"

               10.0.0.1 - - [01/Jan/2026:12:00:00 +0000] "POST /login HTTP/1.1" 200 512 "-" "curl/8.5.0"

               E1122 12:00:00.000000    1234 reflector.go:138] failed to watch *v1.Pod: Unauthorized
               E1123 08:00:00.123456       7 reflector.go:140] failed to watch *v1.Pod: Unauthorized

               W1122 12:00:00.000000    1234 reflector.go:138] failed to watch *v1.Pod: Unauthorized

               2026-01-01 12:00:00,123 ERROR [http-nio-8080-exec-3] c.e.OrderService - Order 12345 failed: timeout after 30000ms
               2026-01-01 12:00:09,999 ERROR [http-nio-8080-exec-10] c.e.OrderService - Order 7 failed: timeout after 5s

               2026-01-01 12:00:00,123 ERROR [main] c.e.OrderService - Order 12345 cancelled"#,
        );
        let want = r#"<_> "GET /api/v1/users/<_> HTTP/<_>" <_> "-" "curl/<_>""#;
        assert_eq!(t[0], want);
        assert_eq!(
            t[2],
            "E<_> reflector.go:<_>] failed to watch *v1.Pod: Unauthorized"
        );
        let want = "<_> ERROR <_> c.e.OrderService - Order <_> failed: timeout after <_>";
        assert_eq!(t[4], want);
    }

    #[test]
    fn masks_each_kind() {
        let cases = r#"
            id 550e8400-e29b-41d4-a716-446655440000 ok => id <_> ok
            at 0x7ffd5e8a and deadbeef42 not facade => at <_> and <_> not facade
            from ::1 and 2001:db8::1/64 to 10.1.2.3:8080. => from <_> and <_> to <_>.
            mail bob.smith+x@example.co.uk now => mail <_> now
            took -3.5s, 10KiB, 1h2m3s, 100% v1 http2 => took <_> v1 http2
            user="bob" msg="job 12 done" level=error => user="<_>" msg="job <_> done" level=error
            pod api-7f9c8d-x2b9q restarted => pod <_> restarted
            GET /users/42/orders?id=7 => GET /users/<_>/orders?id=<_>
            a  	 b <_> <_> c => a b <_> c
            tok aGVsbG8gd29ybGQ= => tok <_>=
            x [[[[1]]]] [y] [-1, 2] => x <_> [y] <_>"#;
        for case in cases.lines().filter(|l| !l.trim().is_empty()) {
            let (line, want) = case.split_once(" => ").unwrap_or((case, ""));
            assert_eq!(template(line), want, "{line}");
            assert_eq!(template(want), want, "idempotent {want}");
        }
    }

    #[test]
    fn matching() {
        let cases = "GET <_> in <_>|GET /x in <_>|y;<_>||y;a<_>b<_>c|abc|y;a<_>b<_>c|acb|n;\
                     GET <_>|POST /x|n;abc|abcd|n;ab<_>ba|aba|n";
        for case in cases.split(';') {
            let v: Vec<&str> = case.split('|').collect();
            assert_eq!(matches(v[0], v[1]), v[2] == "y", "{case}");
        }
    }

    #[test]
    fn table_counts_bounds_and_orders() {
        let mut p = Patterns::new(2);
        assert!(p.is_empty());
        p.add("job 1 done", Level::Info, 50);
        p.add("job 2 done", Level::Error, 10);
        p.add("job <_> done", Level::Warn, 70);
        p.add("cache miss", Level::Debug, 5);
        p.add("boom 1", Level::Info, 1);
        p.add("other thing", Level::Fatal, 99);
        p.add("cache miss", Level::Unknown, 6);
        let top: Vec<_> = (p.top(10).into_iter())
            .map(|r| (r.pattern, r.count, r.level, r.first_ns, r.last_ns))
            .collect();
        let want = [
            ("job <_> done", 3, Level::Error, 10, 70),
            ("<other>", 2, Level::Fatal, 1, 99),
        ];
        assert_eq!(
            top[..2],
            want.map(|(p, c, l, f, e)| (p.to_string(), c, l, f, e))
        );
        assert_eq!(top[2], ("cache miss".into(), 2, Level::Debug, 5, 6));
        assert_eq!((p.len(), p.total()), (2, 7));
        assert_eq!(p.top(1).len(), 1);
    }

    #[test]
    fn fuzz_total_and_idempotent() {
        let pieces: Vec<&str> = "a|Z|0|12|3.5s|-|:|.|/|\"|=|{|}|[|]|<|>|<_>|_|\\|é|日本|\
            |0x|ff|msg|user|,|@|%|+|E1122|#PID<0.1.0>|\t|\"msg\":|\"a\":1|deadbeef|T|Z"
            .split('|')
            .collect();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let mut table = Patterns::new(50);
        for round in 0..20_000 {
            let line: String = if round % 4 == 0 {
                let bytes: Vec<u8> = (0..next() % 48).map(|_| next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                (0..next() % 16)
                    .map(|_| pieces[next() % pieces.len()])
                    .collect()
            };
            let t = template(&line);
            assert_eq!(template(&t), t, "not idempotent: {line:?}");
            assert!(matches(&t, &t));
            let _ = matches(&line, &t);
            table.add(&line, Level::Info, round);
        }
        assert!(table.len() <= 50 && table.total() == 20_000);
    }
}
