//! The one redactor every string passes through before it reaches the screen,
//! stdout/stderr, the log file or an export.
//!
//! Two kinds of matching, both done in a single byte scan with a 256-entry
//! prefilter table so text without candidates costs one table lookup a byte:
//!
//! * **Exact values** registered at start (tokens, passwords, header values):
//!   masked wherever they occur, also percent-encoded, JSON-escaped, or with
//!   ASCII whitespace inserted between their characters (wrapped error bodies).
//! * **Shapes** (on by default): `Bearer <tok>`, `Authorization:` headers,
//!   JWTs, `password=…`-style pairs, cookies, URL userinfo and well-known
//!   vendor token prefixes. Labels are kept so the reader knows what was there.
//!
//! Every match becomes a byte range; ranges are merged (overlapping or
//! touching) and each merged range is replaced by one [`MASK`], which makes
//! `redact` idempotent.

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};

/// The fixed mask that replaces every secret (6 bullet characters).
pub const MASK: &str = "••••••";

const EXACT: u8 = 1; // first byte of a registered needle
const PATTERN: u8 = 2; // first byte (either case) of a configured prefix
const WORD: u8 = 4; // first letter of a shape keyword, checked at word starts
const COLON: u8 = 8; // `://` of a URL

/// Prefilter entries for the shapes; exact/pattern bits are added per instance.
const BASE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let trig = b"abcegpstxABCEGPSTX";
    let mut k = 0;
    while k < trig.len() {
        t[trig[k] as usize] = WORD;
        k += 1;
    }
    t[b':' as usize] = COLON;
    t
};

const KEYS: [&[u8]; 7] = [
    b"api_key",
    b"apikey",
    b"api-key",
    b"token",
    b"password",
    b"passwd",
    b"secret",
];
const VENDOR: [&[u8]; 6] = [
    b"ghp_",
    b"gho_",
    b"github_pat_",
    b"glpat-",
    b"xoxb-",
    b"xoxp-",
];
const COOKIE_ATTRS: [&str; 11] = [
    "path",
    "domain",
    "expires",
    "max-age",
    "samesite",
    "secure",
    "httponly",
    "partitioned",
    "priority",
    "version",
    "comment",
];
const URL_SECRET_PARAMS: [&str; 10] = [
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "secret",
    "auth",
    "sig",
    "signature",
];

type Ranges = Vec<(usize, usize)>;

/// Masks registered secrets and secret-looking shapes. Deliberately not
/// `Debug`: its contents are the secrets.
#[derive(Clone)]
pub struct Redactor {
    /// Whitespace-free byte strings, sorted by first byte then longest first.
    needles: Vec<Box<[u8]>>,
    /// `needles[first[b]..first[b + 1]]` are the needles starting with byte `b`.
    first: [u32; 257],
    /// Lower-cased configured prefixes.
    patterns: Vec<Box<[u8]>>,
    class: [u8; 256],
    shapes: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    /// A redactor with shapes on and no exact values.
    pub const fn new() -> Redactor {
        Redactor {
            needles: Vec::new(),
            first: [0; 257],
            patterns: Vec::new(),
            class: BASE_CLASS,
            shapes: true,
        }
    }

    /// Registers an exact secret value (trimmed). Values with fewer than 4
    /// non-whitespace characters are ignored, as are values containing the
    /// mask character (they would make redaction non-idempotent). The raw
    /// value, its percent-encoded forms (form and RFC 3986 style, as reqwest
    /// puts it in a query string) and its JSON-escaped forms are all masked.
    pub fn add_secret(&mut self, value: &str) {
        let v = value.trim();
        if v.contains('•') || v.chars().filter(|c| !c.is_ascii_whitespace()).count() < 4 {
            return;
        }
        for form in [
            v.to_string(),
            percent(v, true),
            percent(v, false),
            json(v, false),
            json(v, true),
        ] {
            let n: Box<[u8]> = form.bytes().filter(|&b| !is_ws(b)).collect();
            if !self.needles.contains(&n) {
                self.needles.push(n);
            }
        }
        self.rebuild();
    }

    /// Registers a literal prefix such as `x-api-token=` (matched ASCII
    /// case-insensitively, anywhere); the value after it (a run of characters
    /// other than whitespace, quotes, `&` and `;`) is masked. Applies even
    /// with shapes off, like exact values.
    pub fn add_pattern(&mut self, literal_prefix: &str) {
        let p: Box<[u8]> = literal_prefix.to_ascii_lowercase().into_bytes().into();
        if !literal_prefix.trim().is_empty() && !self.patterns.contains(&p) {
            self.patterns.push(p);
            self.rebuild();
        }
    }

    /// Turns shape matching on or off (exact values and patterns stay on).
    pub fn set_shapes(&mut self, on: bool) {
        self.shapes = on;
    }

    /// True when no exact secret is registered.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    fn rebuild(&mut self) {
        self.needles
            .sort_by(|a, b| a[0].cmp(&b[0]).then(b.len().cmp(&a.len())));
        self.class = BASE_CLASS;
        for n in &self.needles {
            self.class[n[0] as usize] |= EXACT;
        }
        for p in &self.patterns {
            self.class[p[0] as usize] |= PATTERN;
            self.class[p[0].to_ascii_uppercase() as usize] |= PATTERN;
        }
        for (b, slot) in self.first.iter_mut().enumerate() {
            *slot = self.needles.partition_point(|n| (n[0] as usize) < b) as u32;
        }
    }

    /// Returns `s` with every secret masked; `Cow::Borrowed` when nothing
    /// matched. Never panics; the result is valid UTF-8 and idempotent.
    pub fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(mut out) = self.redact_once(s) else {
            return Cow::Borrowed(s);
        };
        // Masking can create new context (a word start, a quote that no longer
        // closes); repeat until stable so that redact(redact(x)) == redact(x).
        for _ in 0..8 {
            match self.redact_once(&out) {
                Some(next) if next != out => out = next,
                _ => break,
            }
        }
        Cow::Owned(out)
    }

    /// One scan; `None` when nothing matched.
    fn redact_once(&self, s: &str) -> Option<String> {
        let b = s.as_bytes();
        let allowed = if self.shapes { 0xff } else { EXACT | PATTERN };
        let mut ranges = Ranges::new();
        let mut prev_word = false;
        for (i, &c) in b.iter().enumerate() {
            let cls = self.class[c as usize] & allowed;
            if cls != 0 {
                if cls & EXACT != 0 {
                    self.exact_at(b, i, &mut ranges);
                }
                if cls & PATTERN != 0 {
                    self.patterns_at(b, i, &mut ranges);
                }
                if cls & WORD != 0 && !prev_word {
                    shapes_at(b, i, &mut ranges);
                }
                if cls & COLON != 0 {
                    userinfo(b, i, &mut ranges);
                }
            }
            prev_word = c.is_ascii_alphanumeric();
        }
        (!ranges.is_empty()).then(|| apply(s, ranges))
    }

    fn exact_at(&self, s: &[u8], i: usize, out: &mut Ranges) {
        let c = s[i] as usize;
        let group = &self.needles[self.first[c] as usize..self.first[c + 1] as usize];
        // Longest first: the first hit at this position covers the others.
        if let Some(end) = group.iter().find_map(|n| match_spaced(s, i, n)) {
            out.push((i, end));
        }
    }

    fn patterns_at(&self, s: &[u8], i: usize, out: &mut Ranges) {
        for p in &self.patterns {
            if starts_ci(s, i, p) {
                let v = i + p.len();
                push(
                    out,
                    v,
                    run(s, v, |c| {
                        !is_ws(c) && !matches!(c, b'"' | b'\'' | b'&' | b';')
                    }),
                );
            }
        }
    }
}

/// Replaces the (merged) ranges of `s` with [`MASK`].
fn apply(s: &str, mut ranges: Ranges) -> String {
    for r in ranges.iter_mut() {
        // Safety net: every rule ends on ASCII bytes or whole chars already.
        r.0 = floor_boundary(s, r.0);
        r.1 = ceil_boundary(s, r.1);
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(s.len() + MASK.len());
    let mut last = 0;
    let mut cur: Option<(usize, usize)> = None;
    for (a, b) in ranges
        .into_iter()
        .chain(std::iter::once((usize::MAX, usize::MAX)))
    {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            _ => {
                if let Some((ca, cb)) = cur {
                    out.push_str(&s[last..ca]);
                    out.push_str(MASK);
                    last = cb;
                }
                cur = Some((a, b));
            }
        }
    }
    out.push_str(&s[last..]);
    out
}

fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `[A-Za-z0-9._~+/-]`: token68 without the `=` padding.
fn is_tok68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'-')
}

/// End of the run of bytes satisfying `f` starting at `from`.
fn run(s: &[u8], from: usize, f: impl Fn(u8) -> bool) -> usize {
    from + s
        .get(from..)
        .map_or(0, |t| t.iter().take_while(|&&c| f(c)).count())
}

fn skip_blank(s: &[u8], j: usize) -> usize {
    run(s, j, |c| c == b' ' || c == b'\t')
}

fn starts_ci(s: &[u8], i: usize, lit: &[u8]) -> bool {
    s.get(i..i + lit.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(lit))
}

fn push(out: &mut Ranges, a: usize, b: usize) {
    if b > a {
        out.push((a, b));
    }
}

/// Matches needle `n` (no whitespace in it) at `i`, allowing runs of ASCII
/// whitespace between its bytes; returns the end of the matched span.
fn match_spaced(s: &[u8], i: usize, n: &[u8]) -> Option<usize> {
    if s[i..].starts_with(n) {
        return Some(i + n.len());
    }
    let mut j = i;
    for (k, &c) in n.iter().enumerate() {
        if k > 0 {
            j = run(s, j, is_ws);
        }
        if s.get(j) != Some(&c) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// Skips the closing quote of a quoted key: `"`, `'` or JSON-escaped `\"`.
fn skip_key_quote(s: &[u8], j: usize) -> usize {
    match s.get(j..j + 2) {
        Some(b"\\\"") => j + 2,
        _ if matches!(s.get(j), Some(b'"' | b'\'')) => j + 1,
        _ => j,
    }
}

/// Skips a JSON-ish key tail and a `:` (or, if `eq`, `=`) separator with
/// optional blanks; returns the start of the value and the separator.
fn separator(s: &[u8], j: usize, eq: bool) -> Option<(usize, u8)> {
    let j = skip_blank(s, skip_key_quote(s, j));
    match s.get(j) {
        Some(&c) if c == b':' || (eq && c == b'=') => Some((skip_blank(s, j + 1), c)),
        _ => None,
    }
}

/// The value starting at `j` (bounded by `limit`): inside `"…"`, `'…'`,
/// `[…]` or `\"…\"` when it opens with one (backslash escapes honoured, end
/// of line ends it), otherwise the run of bytes satisfying `plain`.
fn value_at(s: &[u8], j: usize, limit: usize, plain: impl Fn(u8) -> bool) -> (usize, usize) {
    let s = &s[..limit.min(s.len())];
    let close = match s.get(j) {
        Some(b'\\') if s.get(j + 1) == Some(&b'"') => {
            let v = j + 2;
            let e = s[v..]
                .windows(2)
                .position(|w| w == b"\\\"")
                .map_or(run(s, v, |c| c != b'\n'), |p| v + p);
            return (v, e);
        }
        Some(b'"') => b'"',
        Some(b'\'') => b'\'',
        Some(b'[') => b']',
        _ => return (j, run(s, j, plain)),
    };
    let mut k = j + 1;
    while k < s.len() && !matches!(s[k], b'\n' | b'\r') && s[k] != close {
        k += if s[k] == b'\\' { 2 } else { 1 };
    }
    (j + 1, k.min(s.len()))
}

fn not_eol(c: u8) -> bool {
    c != b'\n' && c != b'\r'
}

/// Shape rules that start at a word start (previous byte not alphanumeric).
fn shapes_at(s: &[u8], i: usize, out: &mut Ranges) {
    match s[i].to_ascii_lowercase() {
        b'a' => {
            header(s, i, out);
            key_value(s, i, out);
            vendor(s, i, out);
        }
        b'b' => bearer(s, i, out),
        b'c' => cookie(s, i, out),
        b'e' => jwt(s, i, out),
        b'p' | b't' => key_value(s, i, out),
        b's' => {
            key_value(s, i, out);
            vendor(s, i, out);
        }
        _ => vendor(s, i, out),
    }
}

/// An all-letters word such as "authentication": prose, not a token.
fn word_like(t: &[u8]) -> bool {
    t.len() < 24
        && t.iter().all(|c| c.is_ascii_alphabetic() || *c == b'-')
        && t.windows(2)
            .all(|w| w[1].is_ascii_lowercase() || w[1] == b'-' || w[0] == b'-')
}

/// `Bearer <tok>` / `Basic <b64>` anywhere: token68, at least 8 characters,
/// not an auth-param like `realm="prom"` / `error=invalid`, not a word.
fn bearer(s: &[u8], i: usize, out: &mut Ranges) {
    let Some(w) = [&b"bearer"[..], b"basic"]
        .into_iter()
        .find(|w| starts_ci(s, i, w))
    else {
        return;
    };
    if !matches!(s.get(i + w.len()), Some(b' ' | b'\t')) {
        return;
    }
    let t = skip_blank(s, i + w.len());
    let base = run(s, t, is_tok68);
    let end = run(s, base, |c| c == b'=');
    let param = end > base
        && s.get(end)
            .is_some_and(|&c| c == b'"' || c == b'\'' || is_tok68(c));
    if !param && end - t >= 8 && !word_like(&s[t..end]) {
        push(out, t, end);
    }
}

/// `Authorization:` / `Proxy-Authorization:` (also JSON): Bearer/Basic keep
/// the scheme word; any other scheme has the whole value masked.
fn header(s: &[u8], i: usize, out: &mut Ranges) {
    if !starts_ci(s, i, b"authorization") {
        return;
    }
    let Some((j, _)) = separator(s, i + 13, false) else {
        return;
    };
    let (vs, mut ve) = value_at(s, j, s.len(), not_eol);
    while ve > vs && is_ws(s[ve - 1]) {
        ve -= 1;
    }
    for w in [&b"bearer"[..], b"basic"] {
        if starts_ci(&s[..ve], vs, w)
            && (vs + w.len() == ve || matches!(s[vs + w.len()], b' ' | b'\t'))
        {
            let t = skip_blank(s, vs + w.len());
            push(
                out,
                t,
                run(&s[..ve], t, |c| !is_ws(c) && c != b'"' && c != b'\''),
            );
            return;
        }
    }
    push(out, vs, ve);
}

/// `password=…`, `"api_key": "…"`, `access_token=…` and friends. After a
/// bare `:` a plain word is prose ("oauth token: unexpected status").
fn key_value(s: &[u8], i: usize, out: &mut Ranges) {
    let Some(key) = KEYS.iter().find(|k| starts_ci(s, i, k)) else {
        return;
    };
    let Some((j, sep)) = separator(s, i + key.len(), true) else {
        return;
    };
    let (a, b) = value_at(s, j, s.len(), |c| {
        !is_ws(c) && !matches!(c, b'&' | b';' | b',' | b'"' | b'\'')
    });
    if !(sep == b':' && a == j && word_like(&s[a..b])) {
        push(out, a, b);
    }
}

/// Three base64url segments (each ≥ 4 chars), the first starting with `eyJ`.
fn jwt(s: &[u8], i: usize, out: &mut Ranges) {
    if !s[i..].starts_with(b"eyJ") {
        return;
    }
    let mut j = i;
    for seg in 0..3 {
        let e = run(s, j, is_b64url);
        if e - j < 4 || (seg < 2 && s.get(e) != Some(&b'.')) {
            return;
        }
        j = if seg < 2 { e + 1 } else { e };
    }
    push(out, i, j);
}

/// GitHub, GitLab, Slack, AWS access key ids and `sk-` API keys.
fn vendor(s: &[u8], i: usize, out: &mut Ranges) {
    let t = &s[i..];
    if let Some(p) = VENDOR.iter().find(|p| t.starts_with(p)) {
        let e = run(s, i + p.len(), is_b64url);
        if e - i - p.len() >= 10 {
            push(out, i, e);
        }
    } else if t.starts_with(b"AKIA") {
        let e = run(s, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if e - i == 20 && !s.get(e).is_some_and(u8::is_ascii_alphanumeric) {
            push(out, i, e);
        }
    } else if t.starts_with(b"sk-") {
        // Needs an upper-case letter: keeps lower-case pod names like sk-worker-….
        let e = run(s, i + 3, is_b64url);
        if e - i - 3 >= 20 && s[i + 3..e].iter().any(u8::is_ascii_uppercase) {
            push(out, i, e);
        }
    }
}

/// `Cookie:` / `Set-Cookie:` lines: every value masked, names kept (and
/// Set-Cookie attributes such as `Path=/` kept).
fn cookie(s: &[u8], i: usize, out: &mut Ranges) {
    if !starts_ci(s, i, b"cookie") {
        return;
    }
    let set = i >= 4 && s[i - 4..i].eq_ignore_ascii_case(b"set-");
    let Some((j, _)) = separator(s, i + 6, false) else {
        return;
    };
    let (vs, ve) = value_at(s, j, s.len(), not_eol);
    let sep = |c: u8| c == b';' || (set && c == b',');
    let mut k = vs;
    while k < ve {
        k = skip_blank(s, k);
        let name_end = run(&s[..ve], k, |c| {
            c != b'=' && !sep(c) && !is_ws(c) && c != b'"'
        });
        let name = &s[k..name_end];
        k = name_end;
        if k < ve && s[k] == b'=' {
            let (a, b) = value_at(s, k + 1, ve, |c| {
                !is_ws(c) && !sep(c) && c != b'"' && c != b'\\'
            });
            let attr = set
                && COOKIE_ATTRS
                    .iter()
                    .any(|n| name.eq_ignore_ascii_case(n.as_bytes()));
            if !attr {
                push(out, a, b);
            }
            k = b;
        }
        k = run(&s[..ve], k, |c| !sep(c)) + 1;
    }
}

/// `scheme://user:pass@host` masks `pass`; `scheme://tok@host` masks `tok`.
/// Also matches the JSON-escaped `scheme:\/\/…`. Called at every `:`.
fn userinfo(s: &[u8], i: usize, out: &mut Ranges) {
    let rest = &s[i + 1..];
    let skip = if rest.starts_with(b"//") {
        3
    } else if rest.starts_with(b"\\/\\/") {
        5
    } else {
        return;
    };
    if i == 0 || !s[i - 1].is_ascii_alphanumeric() {
        return;
    }
    let a0 = i + skip;
    let a1 = run(s, a0, |c| {
        !is_ws(c) && !matches!(c, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\')
    });
    let Some(at) = s[a0..a1].iter().rposition(|&c| c == b'@') else {
        return;
    };
    match s[a0..a0 + at].iter().position(|&c| c == b':') {
        Some(c) => push(out, a0 + c + 1, a0 + at),
        None => push(out, a0, a0 + at),
    }
}

/// Percent-encoding: `form` is application/x-www-form-urlencoded (space as
/// `+`, keeps `*-._`), otherwise RFC 3986 (space as `%20`, keeps `-._~`).
fn percent(v: &str, form: bool) -> String {
    let mut o = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_')
            || b == if form { b'*' } else { b'~' };
        match b {
            _ if keep => o.push(b as char),
            b' ' if form => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// JSON string escaping (`\"`, `\\`, control characters), optionally `\/`.
fn json(v: &str, slash: bool) -> String {
    let mut o = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '/' if slash => o.push_str("\\/"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            _ => o.push(c),
        }
    }
    o
}

static GLOBAL: RwLock<Redactor> = RwLock::new(Redactor::new());

fn global() -> std::sync::RwLockReadGuard<'static, Redactor> {
    GLOBAL.read().unwrap_or_else(PoisonError::into_inner)
}

fn global_mut() -> std::sync::RwLockWriteGuard<'static, Redactor> {
    GLOBAL.write().unwrap_or_else(PoisonError::into_inner)
}

/// Registers an exact secret in the process-wide redactor.
pub fn register_secret(value: &str) {
    global_mut().add_secret(value);
}

/// Registers a key prefix in the process-wide redactor.
pub fn register_pattern(prefix: &str) {
    global_mut().add_pattern(prefix);
}

/// Turns shape matching of the process-wide redactor on or off.
pub fn set_shapes(on: bool) {
    global_mut().set_shapes(on);
}

/// Redacts `s` with the process-wide redactor.
pub fn redact(s: &str) -> Cow<'_, str> {
    global().redact(s)
}

/// A URL for display: userinfo removed entirely, values of secret-looking
/// query parameters masked, then [`redact`] applied.
pub fn redact_url(url: &str) -> String {
    redact_url_with(&global(), url)
}

fn redact_url_with(r: &Redactor, url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(p) => url.split_at(p + 3),
        None => ("", url),
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = rest[..auth_end]
        .rfind('@')
        .map_or(rest, |at| &rest[at + 1..]);
    let (main, frag) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match main.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            for (k, part) in query.split('&').enumerate() {
                if k > 0 {
                    out.push('&');
                }
                match part.split_once('=') {
                    Some((name, v)) if !v.is_empty() && secret_param(name) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(MASK);
                    }
                    _ => out.push_str(part),
                }
            }
        }
        None => out.push_str(main),
    }
    out.push_str(frag);
    r.redact(&out).into_owned()
}

/// `token`, `X-Amz-Signature`, `refresh_token`, `x-api-key`, … (case-insensitive).
fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    URL_SECRET_PARAMS.iter().any(|p| {
        n.strip_suffix(p)
            .is_some_and(|head| head.is_empty() || head.ends_with(['_', '-', '.']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(secrets: &[&str]) -> Redactor {
        let mut r = Redactor::new();
        for s in secrets {
            r.add_secret(s);
        }
        r
    }

    /// Redacts, and checks idempotence on the way.
    fn red(r: &Redactor, s: &str) -> String {
        let once = r.redact(s).into_owned();
        assert_eq!(r.redact(&once), once, "not idempotent for {s:?}");
        once
    }

    fn unchanged(r: &Redactor, s: &str) {
        assert!(
            matches!(r.redact(s), Cow::Borrowed(_)),
            "masked prose: {s:?} -> {:?}",
            r.redact(s)
        );
    }

    #[test]
    fn exact_values() {
        let x = r(&["hunter2secret", "  abc ", "a b", "xy\n"]);
        assert_eq!(red(&x, "login hunter2secret failed"), "login •••••• failed");
        assert_eq!(red(&x, "hunter2secrethunter2secret"), "••••••");
        unchanged(&x, "abc xy a b hunter2-secret? no: hunter2secre");
        assert!(!x.is_empty() && Redactor::new().is_empty() && r(&["abc"]).is_empty());
    }

    #[test]
    fn split_across_lines() {
        let x = r(&["abcd1234efgh5678"]);
        for s in [
            "abcd1234\nefgh5678",
            "abcd12\r\n34efgh5678",
            "a b c d 1 2 3 4 e f g h 5 6 7 8",
            "abcd\t1234efgh\n\n5678",
        ] {
            assert_eq!(
                red(&x, &format!("body: {s}\nnext")),
                "body: ••••••\nnext",
                "{s:?}"
            );
        }
        assert_eq!(red(&x, "abcd1234efgh567-8"), "abcd1234efgh567-8");
    }

    #[test]
    fn percent_and_json_forms() {
        let x = r(&["p@ss w/rd+x\"q\\"]);
        assert_eq!(
            red(&x, "GET /q?pw=p%40ss+w%2Frd%2Bx%22q%5C&a=1"),
            "GET /q?pw=••••••&a=1"
        );
        assert_eq!(
            red(&x, "GET /q?pw=p%40ss%20w%2Frd%2Bx%22q%5C"),
            "GET /q?pw=••••••"
        );
        assert_eq!(
            red(&x, r#"{"pw":"p@ss w/rd+x\"q\\"}"#),
            r#"{"pw":"••••••"}"#
        );
        assert_eq!(
            red(&x, r#"{"pw":"p@ss w\/rd+x\"q\\"}"#),
            r#"{"pw":"••••••"}"#
        );
    }

    #[test]
    fn nested_and_overlapping_secrets() {
        let x = r(&["abcd1234", "xxabcd1234yy", "cd1234zzzz"]);
        assert_eq!(red(&x, "[xxabcd1234yy]"), "[••••••]");
        assert_eq!(red(&x, "[abcd1234zzzz]"), "[••••••]");
        assert_eq!(red(&x, "abcd1234 abcd1234"), "•••••• ••••••");
    }

    #[test]
    fn bearer_and_basic() {
        let x = Redactor::new();
        let cases = [
            (
                "401: you sent Authorization: Bearer eyJhbGciOi.J9x_y.z-ab",
                "401: you sent Authorization: Bearer ••••••",
            ),
            (
                "curl -H 'authorization: basic dXNlcjpwYXNz' x",
                "curl -H 'authorization: basic ••••••' x",
            ),
            (
                "token was Bearer abcDEF123456== (rejected)",
                "token was Bearer •••••• (rejected)",
            ),
            ("BEARER 0123456789abcdef", "BEARER ••••••"),
            (
                r#"{"msg":"bad Bearer abCD12345678"}"#,
                r#"{"msg":"bad Bearer ••••••"}"#,
            ),
            ("Authorization: Bearer x", "Authorization: Bearer ••••••"),
            ("authorization: Bearer", "authorization: Bearer"),
        ];
        for (i, o) in cases {
            assert_eq!(red(&x, i), o);
        }
        for s in [
            r#"WWW-Authenticate: Bearer realm="prom""#,
            r#"www-authenticate: Bearer realm="prom", error="invalid_token", error_description="expired""#,
            "Bearer realm=prometheus",
            "Basic authentication failed",
            "bearer token expired",
            "Bearer short1",
            "use Basic internationalization",
            "Bearer",
        ] {
            unchanged(&x, s);
        }
    }

    #[test]
    fn authorization_header_other_schemes() {
        let x = Redactor::new();
        assert_eq!(
            red(
                &x,
                "Authorization: Digest username=\"a\", response=\"9f\"\r\nHost: h"
            ),
            "Authorization: ••••••\r\nHost: h"
        );
        assert_eq!(
            red(&x, r#"{"authorization": "Token a\"b", "x": 1}"#),
            r#"{"authorization": "••••••", "x": 1}"#
        );
        assert_eq!(
            red(&x, "Proxy-Authorization: Negotiate YIIabc"),
            "Proxy-Authorization: ••••••"
        );
        assert_eq!(
            red(&x, "map[Authorization:[Bearer xyz] Accept:[*/*]]"),
            "map[Authorization:[Bearer ••••••] Accept:[*/*]]"
        );
        assert_eq!(
            red(&x, r#"{\"Authorization\":\"SSWS 00abc\"}"#),
            r#"{\"Authorization\":\"••••••\"}"#
        );
        unchanged(
            &x,
            "authorization failed for user bob; unauthorized: 3 times",
        );
    }

    #[test]
    fn jwt() {
        let x = Redactor::new();
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(red(&x, &format!("id_tok {t}, ok")), "id_tok ••••••, ok");
        assert_eq!(red(&x, &format!("({t})")), "(••••••)");
        unchanged(
            &x,
            "eyJ.abcd.efgh eyJabc.defg eyJabcd.ef.ghij version 1.2.3 eyJhbGci",
        );
    }

    #[test]
    fn key_values() {
        let x = Redactor::new();
        let cases = [
            (
                "GET /x?api_key=abc123&page=2",
                "GET /x?api_key=••••••&page=2",
            ),
            ("apikey=abc;", "apikey=••••••;"),
            ("X-Api-Key: k3y v", "X-Api-Key: •••••• v"),
            ("access_token=ya29.a0 next", "access_token=•••••• next"),
            ("Token=zzz,other", "Token=••••••,other"),
            ("password: hunter2", "password: ••••••"),
            ("PASSWD='p a s s' ok", "PASSWD='••••••' ok"),
            ("secret=s3", "secret=••••••"),
            ("client_secret = abc", "client_secret = ••••••"),
            (
                r#"{"password":"my \"pass\" word","user":"bob"}"#,
                r#"{"password":"••••••","user":"bob"}"#,
            ),
            (
                r#"{"refresh_token": "abc", "n": 1}"#,
                r#"{"refresh_token": "••••••", "n": 1}"#,
            ),
            (
                r#"body: "{\"password\":\"pw\"}""#,
                r#"body: "{\"password\":\"••••••\"}""#,
            ),
        ];
        for (i, o) in cases {
            assert_eq!(red(&x, i), o);
        }
        for s in [
            "token expired",
            "password is wrong",
            "tokens=5 token_count=3 passwordless=1 secrets: 4",
            "Token refresh in 30s",
            "password=",
            "mytoken=abc",
            "failed to fetch oauth token: unexpected status: 401 Unauthorized",
            "password: incorrect",
        ] {
            unchanged(&x, s);
        }
    }

    #[test]
    fn cookies() {
        let x = Redactor::new();
        assert_eq!(
            red(&x, "Cookie: sid=abc123; theme=dark\nnext"),
            "Cookie: sid=••••••; theme=••••••\nnext"
        );
        assert_eq!(
            red(&x, "set-cookie: sid=\"q1\"; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly, b=2; Secure"),
            "set-cookie: sid=\"••••••\"; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly, b=••••••; Secure"
        );
        assert_eq!(
            red(&x, r#"{"cookie": "a=1; b=x y", "n": 2}"#),
            r#"{"cookie": "a=••••••; b=•••••• y", "n": 2}"#
        );
        unchanged(&x, "cookie jar empty; cookies: 3; Cookie: none");
    }

    #[test]
    fn url_userinfo_in_text() {
        let x = Redactor::new();
        assert_eq!(
            red(&x, "dial postgres://admin:s3cr3t@db:5432/x failed"),
            "dial postgres://admin:••••••@db:5432/x failed"
        );
        assert_eq!(
            red(&x, "GET https://tok123@host/x"),
            "GET https://••••••@host/x"
        );
        assert_eq!(
            red(&x, r#"{"u":"http:\/\/u:p@h\/"}"#),
            r#"{"u":"http:\/\/u:••••••@h\/"}"#
        );
        assert_eq!(red(&x, "http://u:p@ss@h/"), "http://u:••••••@h/");
        unchanged(
            &x,
            "http://host:9090/api?q=up@x https://example.com/users/@bob ://x@y a:b@c",
        );
    }

    #[test]
    fn vendor_tokens() {
        let x = Redactor::new();
        for t in [
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
            "xoxb-123456789012-1234567890123-AbCdEf",
            "xoxp-123456789012-1234567890123-AbCdEf",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-Ab3dEfGhIjKlMnOpQrStUv",
        ] {
            assert_eq!(red(&x, &format!("key {t}.")), "key ••••••.", "{t}");
        }
        unchanged(&x, "pod sk-worker-deployment-7f9c8d-abcde ghp_short AKIA AKIAIOSFODNN7EXAMPLEX xoxb-1 task-sk-x");
    }

    #[test]
    fn prose_metrics_and_numbers_untouched() {
        let x = r(&["hunter2secret"]);
        for s in [
            r#"http_requests_total{pod="api-7f9c8d-x2b", code="401"} 42 1712345678"#,
            "p99 latency 3.2s over 5m; 1,234 errors; token bucket full",
            "kube_secret_info{namespace=\"prod\",secret=\"db-creds\"} 1",
            "error: unauthorized (401): check your credentials",
            "basic metrics: cpu 2.5 cores, mem 1.2GiB",
            "日本語のログ — naïve café ✓ 🦀",
        ] {
            if s.contains("secret=") {
                // Label named `secret`: masked by design (it is a key shape).
                assert!(red(&x, s).contains("secret=\"••••••\""));
            } else {
                unchanged(&x, s);
            }
        }
    }

    #[test]
    fn shapes_off_and_patterns() {
        let mut x = r(&["hunter2secret"]);
        x.set_shapes(false);
        x.add_pattern("x-api-token=");
        x.add_pattern(" ");
        unchanged(&x, "password=foo Bearer abcdef123456789");
        assert_eq!(red(&x, "pw hunter2secret"), "pw ••••••");
        assert_eq!(
            red(&x, "GET /?X-API-TOKEN=zzz&a=1; x-api-token='q'"),
            "GET /?X-API-TOKEN=••••••&a=1; x-api-token='q'"
        );
        x.set_shapes(true);
        assert_eq!(red(&x, "password=foo"), "password=••••••");
    }

    #[test]
    fn utf8_safety() {
        let x = r(&["pässwörd日本", "секрет-ключ"]);
        assert_eq!(red(&x, "日本語 pässwörd日本✓"), "日本語 ••••••✓");
        assert_eq!(red(&x, "é секрет-\nключé"), "é ••••••é");
        let s = "ü Bearer é password=ü🦀 pässwörd日本 eyJü.ab://x:y@z Cookie: a=é";
        let idx: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
        for &a in &idx {
            for &b in idx.iter().filter(|&&b| b >= a) {
                red(&x, &s[a..b]);
            }
        }
    }

    #[test]
    fn fuzz_no_panic_no_leak_idempotent() {
        let secrets = ["s3cretValue9", "tok_ABCDEFGH", "pässwörd", "Zx9!q\"w/e"];
        let x = r(&secrets);
        let pieces = [
            "a",
            "Bearer ",
            "basic ",
            "password",
            "=",
            ": ",
            "\"",
            "'",
            "\\",
            "://",
            "@",
            ":",
            "é",
            "日本",
            "🦀",
            " ",
            "\n",
            "\r\n",
            "\t",
            ";",
            ",",
            "&",
            "Cookie",
            "Set-",
            "Authorization",
            "eyJab",
            ".",
            "AKIA",
            "sk-",
            "ghp_",
            "0123456789",
            "QWERTY",
            "[",
            "]",
            "•",
            "s3cret",
            "Value9",
            "tok_",
            "ABCDEFGH",
            "päss",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..next() % 24 {
                let n = next();
                if n % 7 == 0 {
                    s.push_str(secrets[(n >> 8) as usize % secrets.len()]);
                } else {
                    s.push_str(pieces[(n >> 8) as usize % pieces.len()]);
                }
            }
            let out = red(&x, &s);
            let squeezed: String = out.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            for sec in secrets {
                assert!(
                    !squeezed.contains(sec),
                    "{sec:?} survived in {s:?} -> {out:?}"
                );
            }
        }
    }

    #[test]
    fn url_for_display() {
        let x = r(&["hunter2secret"]);
        let u = |s| redact_url_with(&x, s);
        assert_eq!(u("http://user:pass@host:9090/x"), "http://host:9090/x");
        assert_eq!(u("https://tok@h"), "https://h");
        assert_eq!(
            u("https://h/p?Token=a&q=up&X-Amz-Signature=f0&api_key=&n=1#frag"),
            "https://h/p?Token=••••••&q=up&X-Amz-Signature=••••••&api_key=&n=1#frag"
        );
        assert_eq!(
            u("https://h/p?key=1&sig=2&monkey=3&refresh_token=4"),
            "https://h/p?key=••••••&sig=••••••&monkey=3&refresh_token=••••••"
        );
        assert_eq!(
            u("https://h/hunter2secret/users/@bob?q=a@b"),
            "https://h/••••••/users/@bob?q=a@b"
        );
        assert_eq!(u("localhost:9090"), "localhost:9090");
    }

    #[test]
    fn global_instance() {
        register_secret("gl0bal-secret-value");
        register_pattern("X-Custom-Auth=");
        assert_eq!(redact("a gl0bal-secret-value b"), "a •••••• b");
        assert_eq!(redact("X-Custom-Auth=v1"), "X-Custom-Auth=••••••");
        assert_eq!(
            redact_url("https://u:gl0bal@h/?q=gl0bal-secret-value"),
            "https://h/?q=••••••"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
        set_shapes(true);
    }

    #[test]
    #[ignore]
    fn bench_lines_per_second() {
        let base = "2026-05-01T12:00:00.123Z INFO watchfloor::sources::prom: query ok series=42 took=3.2ms \
                    url=http://prometheus.monitoring.svc:9090/api/v1/query_range step=15s pod=api-7f9c8d-x2b ";
        let lines: Vec<String> = (0..1000)
            .map(|i| format!("{base}{i:08}").chars().take(200).collect())
            .collect();
        for n in [0, 10] {
            let x = r(&(0..n)
                .map(|i| format!("S{i}cr3t-{i:x}q9Zk{}", i * 7919))
                .collect::<Vec<_>>()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>());
            let start = std::time::Instant::now();
            let mut owned = 0;
            for _ in 0..300 {
                for l in &lines {
                    owned +=
                        usize::from(matches!(x.redact(std::hint::black_box(l)), Cow::Owned(_)));
                }
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{n:>2} secrets: {:.0} lines/s (200 B lines, {owned} masked)",
                300_000.0 / secs
            );
        }
    }
}
