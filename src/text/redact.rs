//! The one redactor every string passes through before it reaches the screen,
//! stdout/stderr, the log file or an export.
//!
//! * **Exact values** registered at start (tokens, passwords, header values)
//!   are masked wherever they occur: verbatim, lower-cased, percent-encoded
//!   (once or twice), JSON-escaped (also any mix of `\u00XX` escapes and
//!   literal characters), HTML-escaped, base64-encoded (standard or URL-safe,
//!   alone or inside a longer base64 string such as `user:token`), or with
//!   ASCII whitespace inserted between their characters (wrapped error
//!   bodies, `\r\n` inside).
//! * **Shapes** (on by default) catch secrets echoed back by backends:
//!   `Bearer <tok>`, `Authorization:` headers, JWTs, `password=…`-style pairs
//!   (also `private_key`, kubeconfig `client-key-data`/`token`, docker
//!   config `"auth"`), PEM private-key blocks, cookies, URL userinfo and
//!   well-known vendor token formats. Labels are kept so the reader knows
//!   what was there.
//!
//! Everything happens in one byte scan behind a 256-entry prefilter table, so
//! text without candidates costs a table lookup per byte and is returned
//! borrowed. Every match becomes a byte range; overlapping or touching ranges
//! are merged and each is replaced by one [`MASK`].

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The fixed mask that replaces every secret (6 bullet characters).
pub const MASK: &str = "••••••";

const EXACT: u8 = 1; // first byte of a registered needle
const PATTERN: u8 = 2; // first byte (either case) of a configured prefix
const WORD: u8 = 4; // first letter of a shape keyword, checked at word starts
const COLON: u8 = 8; // possible `://` of a URL
const ALNUM: u8 = 16; // ASCII alphanumeric: `>> 2` turns it into "no WORD at the next byte"

/// Prefilter for the shapes; exact/pattern bits are added per instance.
const BASE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    // first letters of the shape keywords and vendor prefixes (`rk_live_`,
    // `hf_`, `npm_` are lower-case only)
    let trig = b"abceghnprstxABCEGPSTX";
    let mut k = 0;
    while k < 256 {
        if (k as u8).is_ascii_alphanumeric() {
            t[k] = ALNUM;
        }
        k += 1;
    }
    k = 0;
    while k < trig.len() {
        t[trig[k] as usize] |= WORD;
        k += 1;
    }
    t[b':' as usize] = COLON;
    t
};

const KEYS: [&[u8]; 14] = [
    b"aws_secret_access_key",
    b"secret_access_key",
    b"api_key",
    b"apikey",
    b"api-key",
    b"token",
    b"password",
    b"passwd",
    b"passphrase",
    b"pwd",
    b"secret",
    b"private_key",
    b"client-key-data",
    b"credentials",
];

/// What follows a vendor prefix.
#[derive(Clone, Copy, PartialEq)]
enum Chars {
    /// `[A-Za-z0-9_-]`
    B64url,
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Z0-9]`
    UpperDigit,
}

/// Vendor token formats: prefix, then `min..=max` characters of the set
/// (the lengths of the real formats, so words and pod names do not match).
const VENDOR: [(&[u8], usize, usize, Chars); 17] = [
    (b"github_pat_", 10, usize::MAX, Chars::B64url),
    (b"ghp_", 10, usize::MAX, Chars::B64url),
    (b"gho_", 10, usize::MAX, Chars::B64url),
    // GitHub App installation and user-to-server tokens: 36 alphanumerics
    (b"ghs_", 36, 251, Chars::Alnum),
    (b"ghu_", 36, 251, Chars::Alnum),
    (b"glpat-", 10, usize::MAX, Chars::B64url),
    (b"xoxb-", 10, usize::MAX, Chars::B64url),
    (b"xoxp-", 10, usize::MAX, Chars::B64url),
    // Stripe secret and restricted keys: 24 or more alphanumerics
    (b"sk_live_", 24, usize::MAX, Chars::Alnum),
    (b"sk_test_", 24, usize::MAX, Chars::Alnum),
    (b"rk_live_", 24, usize::MAX, Chars::Alnum),
    (b"rk_test_", 24, usize::MAX, Chars::Alnum),
    // Hugging Face (34 letters today), npm (36)
    (b"hf_", 30, usize::MAX, Chars::Alnum),
    (b"npm_", 36, 36, Chars::Alnum),
    // Google API keys: 39 characters in all
    (b"AIza", 35, 35, Chars::B64url),
    (b"AKIA", 16, 16, Chars::UpperDigit),
    // OpenAI-style: must also hold an upper-case letter (spares `sk-worker-…`)
    (b"sk-", 20, usize::MAX, Chars::B64url),
];
const COOKIE_ATTRS: &str = "path domain expires max-age samesite secure httponly partitioned";
const URL_SECRET_PARAMS: &str =
    "token access_token api_key apikey key password secret auth sig signature";

type Ranges = Vec<(usize, usize)>;

/// What one scan remembers so that no rule rescans the same text for every
/// repeat on a hostile line.
#[derive(Default)]
struct Scan {
    /// Where the last `Authorization:` / `Cookie:` value ends: a repeat
    /// inside it was handled by that rule.
    line_until: usize,
    /// Where the last PEM body ends (its footer, or the end of the text).
    pem_until: usize,
    /// Where the last YAML block value ends.
    block_until: usize,
}

/// Masks registered secrets and secret-looking shapes. Deliberately not
/// `Debug`: its contents are the secrets.
#[derive(Clone)]
pub struct Redactor {
    /// Whitespace-free byte strings, sorted by first byte then longest first.
    needles: Vec<Box<[u8]>>,
    /// `needles[first[b]..first[b + 1]]` are the needles starting with byte `b`.
    first: [u32; 257],
    /// Bit `a << 8 | b` is set when a needle starts with the bytes `a b`: a
    /// second-byte filter before the needles are tried.
    pairs: [u64; 1024],
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
            pairs: [0; 1024],
            patterns: Vec::new(),
            class: BASE_CLASS,
            shapes: true,
        }
    }

    /// Registers an exact secret (trimmed). Values with fewer than 4
    /// non-whitespace characters are ignored, as are values containing the
    /// mask character. The raw value, its lower-cased form, its
    /// percent-encoded forms (form style as reqwest writes a query, and RFC
    /// 3986; also encoded twice), its JSON- and HTML-escaped forms and its
    /// base64 forms are all masked; `\uXXXX` escapes are read by the matcher.
    pub fn add_secret(&mut self, value: &str) {
        let v = value.trim();
        if v.contains('•') || v.chars().filter(|c| !c.is_ascii_whitespace()).count() < 4 {
            return;
        }
        let mut forms = vec![
            v.to_string(),
            v.to_ascii_lowercase(),
            percent(v, true),
            percent(v, false),
            percent(v, true).replace('%', "%25"),
            percent(v, false).replace('%', "%25"),
            json(v, false),
            json(v, true),
            go_json(v),
            html(v, false),
            html(v, true),
        ];
        forms.extend(base64_forms(v.as_bytes()));
        for form in forms {
            let n: Box<[u8]> = form.bytes().filter(|&b| !is_ws(b)).collect();
            if !self.needles.contains(&n) {
                self.needles.push(n);
            }
        }
        self.rebuild();
    }

    /// Registers a literal prefix such as `x-api-token=` (ASCII
    /// case-insensitive, matched anywhere); the value after it (a run of
    /// characters other than whitespace, quotes, `&` and `;`) is masked.
    /// Like exact values, patterns apply even with shapes off.
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
        self.pairs = [0; 1024];
        let mut pair = |a: u8, b: u8| {
            let k = usize::from(a) << 8 | usize::from(b);
            self.pairs[k >> 6] |= 1 << (k & 63);
        };
        for n in &self.needles {
            self.class[n[0] as usize] |= EXACT;
            match n.get(1) {
                Some(&second) => pair(n[0], second),
                None => (0..=255).for_each(|b| pair(n[0], b)),
            }
        }
        if !self.needles.is_empty() {
            // a `\u00XX` escape may stand for a needle's first byte
            self.class[b'\\' as usize] |= EXACT;
            pair(b'\\', b'u');
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
    /// matched. Never panics; `redact(redact(x)) == redact(x)`.
    pub fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.redact_with(s, self.shapes)
    }

    fn redact_with<'a>(&self, s: &'a str, shapes: bool) -> Cow<'a, str> {
        let Some(mut out) = self.redact_once(s, shapes) else {
            return Cow::Borrowed(s);
        };
        // Masking can change context (a word start, a quote that no longer
        // closes), so rescan until stable; rare, and only for masked lines.
        for _ in 0..8 {
            match self.redact_once(&out, shapes) {
                Some(next) if next != out => out = next,
                _ => break,
            }
        }
        Cow::Owned(out)
    }

    /// Only the registered secrets and patterns, not the shapes (log lines
    /// under `--no-redaction`: the tool's own credentials stay masked).
    pub fn redact_registered<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.redact_with(s, false)
    }

    /// One scan; `None` when nothing matched.
    fn redact_once(&self, s: &str, shapes: bool) -> Option<String> {
        let b = s.as_bytes();
        let allowed = if shapes {
            EXACT | PATTERN | WORD | COLON
        } else {
            EXACT | PATTERN
        };
        let mut out = Ranges::new();
        let mut after_alnum = 0;
        let mut scan = Scan::default();
        for (i, &c) in b.iter().enumerate() {
            let cls = self.class[c as usize];
            let hit = cls & allowed & !after_alnum;
            if hit != 0 && (hit != EXACT || self.may_start_needle(b, i)) {
                self.candidate(b, i, hit, &mut out, &mut scan);
            }
            after_alnum = (cls & ALNUM) >> 2;
        }
        (!out.is_empty()).then(|| apply(s, out))
    }

    /// Tries the rules the prefilter class `cls` allows at `i`. Kept out of
    /// line so the scan loop above stays in registers.
    #[inline(never)]
    fn candidate(&self, b: &[u8], i: usize, cls: u8, out: &mut Ranges, scan: &mut Scan) {
        if cls & EXACT != 0 {
            // Longest first: the first hit in a group covers the others.
            let mut hit = self.group(b[i]).iter().find_map(|n| match_spaced(b, i, n));
            if hit.is_none() && b[i] == b'\\' {
                // `\u0041…`: the needles starting with the escaped byte
                if let Some((ch, _, _)) = unescape(b, i) {
                    hit = self.group(ch[0]).iter().find_map(|n| match_spaced(b, i, n));
                }
            }
            if let Some(end) = hit {
                out.push((i, end));
            }
        }
        if cls & PATTERN != 0 {
            for p in self.patterns.iter().filter(|p| starts_ci(b, i, p)) {
                let v = i + p.len();
                push(out, v, run(b, v, |c| !is_ws(c) && !b"\"'&;".contains(&c)));
            }
        }
        if cls & WORD != 0 {
            shapes_at(b, i, out, scan);
        }
        if cls & COLON != 0 {
            userinfo(b, i, out);
        }
    }

    /// Whether the two bytes at `i` can start a needle; a blank or a `\` next
    /// (a needle spaced out or escaped) always can.
    fn may_start_needle(&self, b: &[u8], i: usize) -> bool {
        match b.get(i + 1) {
            Some(&n) if !is_ws(n) && n != b'\\' => {
                let k = usize::from(b[i]) << 8 | usize::from(n);
                self.pairs[k >> 6] >> (k & 63) & 1 != 0
            }
            _ => true,
        }
    }

    /// The needles starting with byte `c`.
    fn group(&self, c: u8) -> &[Box<[u8]>] {
        let c = c as usize;
        &self.needles[self.first[c] as usize..self.first[c + 1] as usize]
    }
}

/// Replaces the ranges of `s` (merged when overlapping or touching) with [`MASK`].
fn apply(s: &str, mut ranges: Ranges) -> String {
    for r in ranges.iter_mut() {
        // Safety net only: every rule already ends on ASCII bytes or whole chars.
        r.0 = r.0.min(s.len());
        r.1 = r.1.min(s.len());
        while !s.is_char_boundary(r.0) {
            r.0 -= 1;
        }
        while !s.is_char_boundary(r.1) {
            r.1 += 1;
        }
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(s.len() + MASK.len());
    let (mut last, mut cur) = (0, ranges[0]);
    for &(a, b) in ranges.iter().skip(1).chain(&[(usize::MAX, 0)]) {
        if a <= cur.1 {
            cur.1 = cur.1.max(b);
        } else {
            out.push_str(&s[last..cur.0]);
            out.push_str(MASK);
            (last, cur) = (cur.1, (a, b));
        }
    }
    out.push_str(&s[last..]);
    out
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `[A-Za-z0-9._~+/-]`: token68 without the `=` padding.
fn is_tok68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._~+/-".contains(&b)
}

fn not_eol(c: u8) -> bool {
    c != b'\n' && c != b'\r'
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

/// The first of `list` that `s` has at `i`, ignoring ASCII case.
fn find_ci<'l>(s: &[u8], i: usize, list: &[&'l [u8]]) -> Option<&'l [u8]> {
    let first = s.get(i)?.to_ascii_lowercase();
    list.iter()
        .copied()
        .find(|w| w[0] == first && starts_ci(s, i, w))
}

fn push(out: &mut Ranges, a: usize, b: usize) {
    if b > a {
        out.push((a, b));
    }
}

fn want(cond: bool) -> Option<()> {
    cond.then_some(())
}

/// Matches needle `n` (which has no whitespace) at `i`, allowing runs of
/// ASCII whitespace between its bytes and reading a JSON `\uXXXX` escape as
/// the character it stands for (any mix of escaped and literal characters);
/// returns the end of the matched span.
fn match_spaced(s: &[u8], i: usize, n: &[u8]) -> Option<usize> {
    if s[i..].starts_with(n) {
        return Some(i + n.len());
    }
    let (mut j, mut k) = (i, 0);
    while k < n.len() {
        if k > 0 {
            j = run(s, j, is_ws);
        }
        if s.get(j) == Some(&b'\\') {
            if let Some((ch, len, used)) = unescape(s, j) {
                if n[k..].starts_with(&ch[..len]) {
                    (j, k) = (j + used, k + len);
                    continue;
                }
            }
        }
        want(s.get(j) == Some(&n[k]))?;
        (j, k) = (j + 1, k + 1);
    }
    Some(j)
}

/// The JSON escape `\uXXXX` (or a surrogate pair `\uD83E\uDD80`) at `j`: the
/// UTF-8 bytes of its character, their count, and the escape's length.
fn unescape(s: &[u8], j: usize) -> Option<([u8; 4], usize, usize)> {
    let hex4 = |at: usize| -> Option<u32> {
        let e = s.get(at..at + 6)?;
        want(e.starts_with(b"\\u"))?;
        e[2..]
            .iter()
            .try_fold(0u32, |acc, &c| Some(acc * 16 + char::from(c).to_digit(16)?))
    };
    let hi = hex4(j)?;
    let (code, used) = match hi {
        0xD800..=0xDBFF => {
            let lo = hex4(j + 6).filter(|lo| (0xDC00..=0xDFFF).contains(lo))?;
            (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), 12)
        }
        _ => (hi, 6),
    };
    let mut buf = [0u8; 4];
    let len = char::from_u32(code)?.encode_utf8(&mut buf).len();
    Some((buf, len, used))
}

/// After a key: skips its closing quote (`"`, `'`, `\"`), blanks, and a `:`
/// (or, if `eq`, `=`) separator; returns the value start and the separator.
fn separator(s: &[u8], j: usize, eq: bool) -> Option<(usize, u8)> {
    let j = match s.get(j..j + 2) {
        Some(b"\\\"") => j + 2,
        _ if matches!(s.get(j), Some(b'"' | b'\'')) => j + 1,
        _ => j,
    };
    let j = skip_blank(s, j);
    let c = *s.get(j)?;
    want(c == b':' || (eq && c == b'='))?;
    Some((skip_blank(s, j + 1), c))
}

/// The value at `j` (bounded by `limit`): inside `"…"`, `'…'`, `[…]` or
/// `\"…\"` when it opens with one (backslash escapes honoured, the end of
/// the line ends it), otherwise the run of bytes satisfying `plain`.
fn value_at(s: &[u8], j: usize, limit: usize, plain: impl Fn(u8) -> bool) -> (usize, usize) {
    let s = &s[..limit.min(s.len())];
    let close = match s.get(j) {
        Some(b'\\') if s.get(j + 1) == Some(&b'"') => {
            let e = s[j + 2..].windows(2).position(|w| w == b"\\\"");
            return (
                j + 2,
                e.map_or_else(|| run(s, j + 2, not_eol), |p| j + 2 + p),
            );
        }
        Some(b'"') => b'"',
        Some(b'\'') => b'\'',
        Some(b'[') => b']',
        _ => return (j, run(s, j, plain)),
    };
    let mut k = j + 1;
    while k < s.len() && not_eol(s[k]) && s[k] != close {
        k += if s[k] == b'\\' { 2 } else { 1 };
    }
    (j + 1, k.min(s.len()))
}

/// An all-letters word like "authentication" or "unexpected": prose, not a token.
fn word_like(t: &[u8]) -> bool {
    t.len() < 24
        && t.iter().all(|c| c.is_ascii_alphabetic() || *c == b'-')
        && t.windows(2)
            .all(|w| w[1].is_ascii_lowercase() || w[1] == b'-' || w[0] == b'-')
}

/// Shape rules, tried at a word start (previous byte not alphanumeric);
/// the first two letters pick the rule.
fn shapes_at(s: &[u8], i: usize, out: &mut Ranges, scan: &mut Scan) {
    let Some(&next) = s.get(i + 1) else { return };
    match (s[i].to_ascii_lowercase(), next.to_ascii_lowercase()) {
        (b'a', b'u') if i < scan.line_until => json_auth(s, i, out),
        (b'a', b'u') => match header(s, i, out) {
            Some(()) => {
                scan.line_until = run(s, i, not_eol);
                Some(())
            }
            None => json_auth(s, i, out),
        },
        (b'c', b'o') if i < scan.line_until => None,
        (b'c', b'o') => cookie(s, i, out).map(|()| scan.line_until = run(s, i, not_eol)),
        // the first two letters of the KEYS
        (b'a', b'p' | b'w')
        | (b'p', b'a' | b'r' | b'w')
        | (b't', b'o')
        | (b's', b'e')
        | (b'c', b'l' | b'r') => key_value(s, i, out, scan),
        (b'b', b'e') => pem(s, i, out, &mut scan.pem_until).or_else(|| bearer(s, i, out)),
        (b'b', b'a') => bearer(s, i, out),
        (b'e', b'y') => jwt(s, i, out),
        // the first two letters of the VENDOR prefixes
        (b'a', b'k' | b'i')
        | (b's' | b'r', b'k')
        | (b'g', b'h' | b'i' | b'l')
        | (b'x', b'o')
        | (b'h', b'f')
        | (b'n', b'p') => vendor(s, i, out),
        _ => None,
    };
}

/// The body of a PEM private key, tried at the `B` of `-----BEGIN … PRIVATE
/// KEY-----` (`RSA`, `EC`, `DSA`, `OPENSSH`, `ENCRYPTED` or none): masked up
/// to the `-----END` footer, or to the end of the text without one. The
/// header, the footer and the line breaks next to them (real ones or a JSON
/// string's `\n`) are kept. `until` is where the last body ended: a header
/// inside it was masked already (and searching again for the footer from
/// every header would be quadratic).
fn pem(s: &[u8], i: usize, out: &mut Ranges, until: &mut usize) -> Option<()> {
    let at = |j: usize, lit: &[u8]| s.get(j..).is_some_and(|t| t.starts_with(lit));
    want(i >= 5 && i >= *until && &s[i - 5..i] == b"-----" && at(i, b"BEGIN "))?;
    let mut j = i + 6;
    // the key type: at most two upper-case words
    for _ in 0..2 {
        if at(j, b"PRIVATE KEY") {
            break;
        }
        let w = run(s, j, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
        want(w > j && s.get(w) == Some(&b' '))?;
        j = w + 1;
    }
    want(at(j, b"PRIVATE KEY-----"))?;
    let body = j + 16;
    let end = s[body..]
        .windows(8)
        .position(|w| w == b"-----END")
        .map_or(s.len(), |p| body + p);
    *until = end;
    let is_break = |t: &[u8]| t == b"\\n" || t == b"\\r";
    let (mut a, mut b) = (body, end);
    while a < b && (is_ws(s[a]) || (a + 2 <= b && is_break(&s[a..a + 2]))) {
        a += if is_ws(s[a]) { 1 } else { 2 };
    }
    while b > a && (is_ws(s[b - 1]) || (b >= a + 2 && is_break(&s[b - 2..b]))) {
        b -= if is_ws(s[b - 1]) { 1 } else { 2 };
    }
    push(out, a, b);
    Some(())
}

/// A docker config's `"auth": "…"` (base64 of `user:password`), only as a
/// quoted JSON key (`"auth"` or `\"auth\"`) with a quoted value, so prose
/// such as "auth failed" is untouched.
fn json_auth(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    want(i > 0 && s[i - 1] == b'"' && starts_ci(s, i, b"auth"))?;
    want(s.get(i + 4) == Some(&b'"') || starts_ci(s, i + 4, b"\\\""))?;
    let (j, _) = separator(s, i + 4, false)?;
    want(s.get(j) == Some(&b'"') || starts_ci(s, j, b"\\\""))?;
    let (a, b) = value_at(s, j, s.len(), not_eol);
    push(out, a, b);
    Some(())
}

/// `Bearer <tok>` / `Basic <b64>` anywhere: token68 of at least 8 chars that
/// is neither an auth-param (`realm="prom"`, `error=invalid`) nor a word.
fn bearer(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    let w = find_ci(s, i, &[b"bearer", b"basic"])?;
    want(matches!(s.get(i + w.len()), Some(b' ' | b'\t')))?;
    let t = skip_blank(s, i + w.len());
    let base = run(s, t, is_tok68);
    let end = run(s, base, |c| c == b'=');
    let param = end > base
        && s.get(end)
            .is_some_and(|&c| c == b'"' || c == b'\'' || is_tok68(c));
    want(!param && end - t >= 8 && !word_like(&s[t..end]))?;
    push(out, t, end);
    Some(())
}

/// `Authorization:` / `Proxy-Authorization:` (also as a JSON key): Bearer and
/// Basic keep the scheme word; any other scheme has the whole value masked.
fn header(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    want(starts_ci(s, i, b"authorization"))?;
    let (j, _) = separator(s, i + 13, false)?;
    let (vs, mut ve) = value_at(s, j, s.len(), not_eol);
    while ve > vs && is_ws(s[ve - 1]) {
        ve -= 1;
    }
    let v = &s[..ve];
    match find_ci(v, vs, &[b"bearer", b"basic"]) {
        Some(w) if v.get(vs + w.len()).is_none_or(|&c| c == b' ' || c == b'\t') => {
            let t = skip_blank(v, vs + w.len());
            push(out, t, run(v, t, |c| !is_ws(c) && c != b'"' && c != b'\''));
        }
        _ => push(out, vs, ve),
    }
    Some(())
}

/// `password=…`, `"api_key": "…"`, `access_token=…` and friends. After a bare
/// `:` a plain word is prose ("oauth token: unexpected status"), not a value;
/// a YAML block indicator (`token: |`) means the value is on the lines below.
fn key_value(s: &[u8], i: usize, out: &mut Ranges, scan: &mut Scan) -> Option<()> {
    // A key is followed by its separator, so it is the whole name here:
    // check the separator first (most words have none), then the name.
    let end = run(s, i, |c| {
        c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
    });
    let (j, sep) = separator(s, end, true)?;
    let name = &s[i..end];
    want(KEYS.iter().any(|k| k.eq_ignore_ascii_case(name)))?;
    let (a, b) = value_at(s, j, s.len(), |c| !is_ws(c) && !b"&;,\"'".contains(&c));
    if sep == b':' && a == j && matches!(&s[a..b], b"|" | b">" | b"|-" | b">-" | b"|+" | b">+") {
        return yaml_block(s, i, b, out, &mut scan.block_until);
    }
    let word = s[a..b].strip_suffix(b"}").unwrap_or(&s[a..b]);
    want(!(sep == b':' && a == j && word_like(word)))?;
    push(out, a, b);
    Some(())
}

/// A YAML block scalar (`token: |`, `client-key-data: >-`): the value is on
/// the lines below, indented deeper than the key's line; they are masked.
/// `until` is where the last block ended: a key inside it was masked with it
/// (and walking the lines again for every such key would be quadratic).
fn yaml_block(
    s: &[u8],
    key: usize,
    after: usize,
    out: &mut Ranges,
    until: &mut usize,
) -> Option<()> {
    want(key >= *until)?;
    let line = s[..key]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let indent = run(s, line, |c| c == b' ') - line;
    let eol = skip_blank(s, after);
    let eol = eol + usize::from(s.get(eol) == Some(&b'\r'));
    if s.get(eol).is_some_and(|&c| c != b'\n') {
        // the block flattened onto one line (a log line's newlines became
        // spaces): the words after the indicator, up to the next `key:`
        let (mut at, mut last) = (eol, None);
        for _ in 0..64 {
            let end = run(s, at, |c| !is_ws(c));
            if end == at || s[end - 1] == b':' {
                break;
            }
            last = Some(end);
            at = run(s, end, is_ws);
        }
        *until = last?;
        push(out, eol, last?);
        return Some(());
    }
    want(s.get(eol) == Some(&b'\n'))?;
    let (mut first, mut last) = (None, eol);
    let mut at = eol + 1;
    while at < s.len() {
        let text = run(s, at, |c| c == b' ');
        let end = run(s, at, not_eol);
        if end > text && text - at <= indent {
            break;
        }
        if end > text {
            first.get_or_insert(text);
            last = end;
        }
        at = end + 1;
    }
    *until = last;
    push(out, first?, last);
    Some(())
}

/// Three base64url segments (each ≥ 4 chars), the first starting with `eyJ`.
fn jwt(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    want(s[i..].starts_with(b"eyJ"))?;
    let mut j = i;
    for seg in 0..3 {
        let e = run(s, j, is_b64url);
        want(e - j >= 4 && (seg == 2 || s.get(e) == Some(&b'.')))?;
        j = if seg < 2 { e + 1 } else { e };
    }
    push(out, i, j);
    Some(())
}

/// Vendor tokens ([`VENDOR`]): GitHub, GitLab, Slack, Stripe, Hugging Face,
/// npm, Google and AWS key ids, and `sk-` API keys (which must contain an
/// upper-case letter, sparing pod names like `sk-worker-…`).
fn vendor(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    let t = &s[i..];
    let &(p, min, max, chars) = VENDOR.iter().find(|v| t.starts_with(v.0))?;
    let body = i + p.len();
    let end = match chars {
        Chars::B64url => run(s, body, is_b64url),
        Chars::Alnum => run(s, body, |c| c.is_ascii_alphanumeric()),
        Chars::UpperDigit => run(s, body, |c| c.is_ascii_uppercase() || c.is_ascii_digit()),
    };
    want((min..=max).contains(&(end - body)) && !s.get(end).is_some_and(|&c| is_b64url(c)))?;
    want(p != b"sk-" || s[body..end].iter().any(u8::is_ascii_uppercase))?;
    push(out, i, end);
    Some(())
}

/// `Cookie:` / `Set-Cookie:` lines: every value masked, names kept (and
/// Set-Cookie attributes such as `Path=/` or `Expires=…` kept).
fn cookie(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    want(starts_ci(s, i, b"cookie"))?;
    let set = i >= 4 && s[i - 4..i].eq_ignore_ascii_case(b"set-");
    let (j, _) = separator(s, i + 6, false)?;
    let (vs, ve) = value_at(s, j, s.len(), not_eol);
    let v = &s[..ve];
    let sep = |c: u8| c == b';' || (set && c == b',');
    let mut k = vs;
    while k < ve {
        k = skip_blank(v, k);
        let name_end = run(v, k, |c| c != b'=' && c != b'"' && !sep(c) && !is_ws(c));
        let name = &s[k..name_end];
        k = name_end;
        if v.get(k) == Some(&b'=') {
            let (a, b) = value_at(v, k + 1, ve, |c| {
                !is_ws(c) && !sep(c) && c != b'"' && c != b'\\'
            });
            if !(set
                && COOKIE_ATTRS
                    .split(' ')
                    .any(|n| name.eq_ignore_ascii_case(n.as_bytes())))
            {
                push(out, a, b);
            }
            k = b;
        }
        k = run(v, k, |c| !sep(c)) + 1;
    }
    Some(())
}

/// `scheme://user:pass@host` masks `pass`; `scheme://tok@host` masks `tok`;
/// also the JSON-escaped `scheme:\/\/…`. Tried at every `:`.
fn userinfo(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
    let skip = match s.get(i + 1..i + 3)? {
        b"//" => 3,
        b"\\/" if s.get(i + 3..i + 5) == Some(b"\\/") => 5,
        _ => return None,
    };
    want(i > 0 && s[i - 1].is_ascii_alphanumeric())?;
    let a0 = i + skip;
    let a1 = run(s, a0, |c| !is_ws(c) && !b"/?#\"'<>\\".contains(&c));
    let at = a0 + s[a0..a1].iter().rposition(|&c| c == b'@')?;
    match s[a0..at].iter().position(|&c| c == b':') {
        Some(c) => push(out, a0 + c + 1, at),
        None => push(out, a0, at),
    }
    Some(())
}

/// Percent-encoding: `form` is x-www-form-urlencoded (space as `+`, keeps
/// `*-._`, what reqwest's `.query()` writes), else RFC 3986 (keeps `-._~`).
fn percent(v: &str, form: bool) -> String {
    let mut o = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        match b {
            _ if b.is_ascii_alphanumeric() || b"-._".contains(&b) => o.push(b as char),
            b'*' if form => o.push('*'),
            b'~' if !form => o.push('~'),
            b' ' if form => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// JSON string escaping (`\"`, `\\`, `\n`, `\r`, `\t`), optionally `\/`.
fn json(v: &str, slash: bool) -> String {
    let mut o = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '"' | '\\' => o.extend(['\\', c]),
            '/' if slash => o.push_str("\\/"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            _ => o.push(c),
        }
    }
    o
}

/// Go's `encoding/json` form: `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`.
fn go_json(v: &str) -> String {
    json(v, false)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The base64 encodings of `v` worth looking for: standard and URL-safe,
/// each whole (padded and not) and, for `v` inside a longer encoded string
/// (`base64("user:" + v)`), the characters that depend on `v` alone at each
/// of the three byte alignments, when there are at least 8 of them.
fn base64_forms(v: &[u8]) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let encode = |data: &[u8], abc: &[u8; 64]| -> String {
        let bits = |k: usize| u32::from(data.get(k).copied().unwrap_or(0));
        (0..(data.len() * 8).div_ceil(6))
            .map(|m| {
                let (byte, shift) = (m * 6 / 8, m * 6 % 8);
                let w = (bits(byte) << 8) | bits(byte + 1);
                char::from(abc[((w >> (10 - shift)) & 63) as usize])
            })
            .collect()
    };
    let mut forms = Vec::new();
    for abc in [STD, URL] {
        let whole = encode(v, abc);
        if whole.len() >= 8 {
            let pad = "=".repeat((4 - whole.len() % 4) % 4);
            forms.push(format!("{whole}{pad}"));
            forms.push(whole);
        }
        for k in 0..3 {
            // character m covers bits [6m, 6m + 6) of (k bytes, then v)
            let data: Vec<u8> = std::iter::repeat_n(0, k).chain(v.iter().copied()).collect();
            let (lo, hi) = ((8 * k).div_ceil(6), 8 * (k + v.len()) / 6);
            if hi >= lo + 8 {
                forms.push(encode(&data, abc)[lo..hi].to_string());
            }
        }
    }
    forms
}

/// HTML-escaped, with `'` as `&#39;` or (`hex`) `&#x27;`, as servers write pages.
fn html(v: &str, hex: bool) -> String {
    let mut o = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str(if hex { "&#x22;" } else { "&quot;" }),
            '\'' => o.push_str(if hex { "&#x27;" } else { "&#39;" }),
            _ => o.push(c),
        }
    }
    o
}

static GLOBAL: RwLock<Redactor> = RwLock::new(Redactor::new());

fn global() -> RwLockReadGuard<'static, Redactor> {
    GLOBAL.read().unwrap_or_else(PoisonError::into_inner)
}

fn global_mut() -> RwLockWriteGuard<'static, Redactor> {
    GLOBAL.write().unwrap_or_else(PoisonError::into_inner)
}

/// The one way a secret value enters the process-wide redactor. Every
/// value the configuration resolves is registered when it is resolved
/// (`SecretRef::resolve`), and so is every form derived from one (a basic
/// credential's header value, URL userinfo); a credential that rotates at
/// run time (a Kubernetes exec token) is registered by whoever receives
/// it, before it is used.
pub struct Secrets;

impl Secrets {
    pub fn register(value: &str) {
        global_mut().add_secret(value);
    }
}

/// Registers an exact secret in the process-wide redactor
/// (`Secrets::register`).
pub fn register_secret(value: &str) {
    Secrets::register(value);
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

/// Only the registered secrets of the process-wide redactor, no shapes.
pub fn redact_registered(s: &str) -> Cow<'_, str> {
    global().redact_registered(s)
}

/// A URL for display: userinfo removed entirely, values of secret-looking
/// query parameters masked, then [`redact`] applied.
pub fn redact_url(url: &str) -> String {
    redact_url_with(&global(), url)
}

fn redact_url_with(r: &Redactor, url: &str) -> String {
    let (scheme, rest) = url.split_at(url.find("://").map_or(0, |p| p + 3));
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = rest[..auth_end]
        .rfind('@')
        .map_or(rest, |at| &rest[at + 1..]);
    let (main, frag) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    let Some((path, query)) = main.split_once('?') else {
        out.push_str(main);
        out.push_str(frag);
        return r.redact(&out).into_owned();
    };
    out.push_str(path);
    for (k, part) in query.split('&').enumerate() {
        out.push(if k == 0 { '?' } else { '&' });
        match part.split_once('=') {
            Some((name, v)) if !v.is_empty() && secret_param(name) => {
                out.extend([name, "=", MASK]);
            }
            _ => out.push_str(part),
        }
    }
    out.push_str(frag);
    r.redact(&out).into_owned()
}

/// Whether a URL query parameter named `name` holds a credential.
pub fn is_secret_param(name: &str) -> bool {
    secret_param(name)
}

/// `token`, `X-Amz-Signature`, `refresh_token`, `x-api-key`, … (any case).
fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    URL_SECRET_PARAMS.split(' ').any(|p| {
        n.strip_suffix(p)
            .is_some_and(|h| h.is_empty() || h.ends_with(['_', '-', '.']))
    })
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
