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
mod tests {
    use super::*;

    #[test]
    fn html_and_go_json_escaped_forms_are_masked() {
        let r = with(&["it's&<Pass>99"]);
        for text in [
            "titled denied it&#x27;s&amp;&lt;Pass&gt;99",
            "denied it&#39;s&amp;&lt;Pass&gt;99",
            r#"{"error": "bad creds for it's\u0026\u003cPass\u003e99"}"#,
        ] {
            let out = r.redact(text);
            assert!(
                out.contains(MASK) && !out.contains("Pass"),
                "{text} -> {out}"
            );
        }
    }

    fn with(secrets: &[&str]) -> Redactor {
        let mut r = Redactor::new();
        secrets.iter().for_each(|s| r.add_secret(s));
        r
    }

    /// Each case marks what must be masked with `«…»`; the input is the case
    /// without the marks. Unmarked cases must come back borrowed. Also checks
    /// idempotence.
    fn check(r: &Redactor, cases: &[&str]) {
        for case in cases {
            let input: String = case.chars().filter(|c| !"«»".contains(*c)).collect();
            let mut want = String::new();
            let mut inside = false;
            for c in case.chars() {
                match c {
                    '«' => (inside, want) = (true, want + MASK),
                    '»' => inside = false,
                    _ if !inside => want.push(c),
                    _ => {}
                }
            }
            let got = r.redact(&input);
            assert_eq!(got, want, "case {case:?}");
            assert_eq!(r.redact(&got), got, "not idempotent: {case:?}");
            let borrowed = matches!(got, Cow::Borrowed(_));
            assert_eq!(borrowed, !case.contains('«'), "Cow kind for {case:?}");
        }
    }

    #[test]
    fn exact_values_whitespace_and_nesting() {
        let r = with(&["hunter2secret", "abcd1234efgh5678", "  abc ", "a b", "x\n"]);
        let cases = [
            "login «hunter2secret» failed",
            "«hunter2secrethunter2secret»",
            "body: «abcd1234\nefgh5678»\n",
            "«abcd12\r\n34efgh5678» ok",
            "«a b c d 1 2 3 4 e f g h 5 6 7 8»",
            "«abcd\t1234efgh\n\n5678».",
            "abc a b x hunter2-secret hunter2secre abcd1234efgh567-8",
        ];
        check(&r, &cases);
        assert!(!r.is_empty() && Redactor::new().is_empty() && with(&["abc"]).is_empty());
        let r = with(&["abcd1234", "xxabcd1234yy", "cd1234zzzz"]);
        check(
            &r,
            &[
                "[«xxabcd1234yy»]",
                "[«abcd1234zzzz»]",
                "«abcd1234» «abcd1234»",
            ],
        );
    }

    #[test]
    fn percent_and_json_forms() {
        let cases = [
            "GET /q?pw=«p%40ss+w%2Frd%2Bx%22q%5C»&a=1",
            "?pw=«p%40ss%20w%2Frd%2Bx%22q%5C»",
            r#"{"pw":"«p@ss w/rd+x\"q\\»"}"#,
            r#"{"pw":"«p@ss w\/rd+x\"q\\»"}"#,
        ];
        check(&with(&["p@ss w/rd+x\"q\\"]), &cases);
    }

    #[test]
    fn bearer_and_basic() {
        let cases = [
            "401: you sent Authorization: Bearer «eyJhbGciOi.J9x_y.z-ab»",
            "curl -H 'authorization: basic «dXNlcjpwYXNz»' x",
            "token was Bearer «abcDEF123456==» (rejected)",
            "BEARER «0123456789abcdef»",
            r#"{"msg":"bad Bearer «abCD12345678»"}"#,
            "Authorization: Bearer «x»",
            "authorization: Bearer",
            r#"WWW-Authenticate: Bearer realm="prom""#,
            r#"www-authenticate: Bearer realm="prom", error="invalid_token", scope="x""#,
            "Bearer realm=prometheus, Basic authentication failed, bearer token expired",
            "Bearer short1, use Basic internationalization, Bearer",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn authorization_header_other_schemes() {
        let cases = [
            "Authorization: «Digest username=\"a\", response=\"9f\"»\r\nHost: h",
            r#"{"authorization": "«Token a\"b»", "x": 1}"#,
            "Proxy-Authorization: «Negotiate YIIabc»",
            "map[Authorization:[Bearer «xyz»] Accept:[*/*]]",
            r#"{\"Authorization\":\"«SSWS 00abc»\"}"#,
            "authorization failed for user bob; unauthorized: 3 times",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn jwt_shape() {
        let cases = [
            "id «eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_w»",
            "(«eyJhbGci.eyJzdWIi.c2lnbmF0»)",
            "eyJ.abcd.efgh eyJabc.defg eyJabcd.ef.ghij version 1.2.3 eyJhbGci",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn key_values() {
        let cases = [
            "GET /x?api_key=«abc123»&page=2",
            "apikey=«abc»; X-Api-Key: «k3y» v",
            "access_token=«ya29.a0» Token=«zzz»,other",
            "password: «hunter2» PASSWD='«p a s s»' secret=«s3»",
            "client_secret = «abc» passwd:«x1»",
            r#"{"password":"«my \"pass\" word»","user":"bob"}"#,
            r#"{"refresh_token": "«abc»", "n": 1}"#,
            r#"body: "{\"password\":\"«pw»\"}""#,
            "token expired; password is wrong; password=; password: incorrect",
            "tokens=5 token_count=3 passwordless=1 secrets: 4 mytoken=abc",
            "failed to fetch oauth token: unexpected status: 401 Unauthorized",
            r#"{"token_type":"Bearer","secret":null}"#,
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn aws_secret_keys_are_masked() {
        let r = Redactor::new();
        let out = r.redact("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY next");
        assert!(!out.contains("wJalrXUtnFEMI"), "{out}");
        assert!(out.ends_with(" next"), "{out}");
    }

    #[test]
    fn cookies() {
        let cases = [
            "Cookie: sid=«abc123»; theme=«dark»\nnext",
            "set-cookie: sid=\"«q1»\"; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly",
            "Set-Cookie: a=«1»; Secure, b=«2»; Max-Age=60",
            r#"{"cookie": "a=«1»; b=«x» y", "n": 2}"#,
            "cookie jar empty; cookies: 3; Cookie: none",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn url_userinfo_in_text() {
        let cases = [
            "dial postgres://admin:«s3cr3t»@db:5432/x failed",
            "GET https://«tok123»@host/x",
            r#"{"u":"http:\/\/u:«p»@h\/"}"#,
            "http://u:«p@ss»@h/",
            "http://host:9090/api?q=up@x https://example.com/users/@bob ://x@y a:b@c",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn vendor_tokens() {
        let cases = [
            "«ghp_16C7e42F292c6912E7710c838347Ae178B4a» «gho_16C7e42F292c6912E7710c8383»",
            "«github_pat_11ABCDEFG0123456789_abcdefghijklmnop» «glpat-xxxxxxxxxxxxxxxxxxxx»",
            "«xoxb-123456789012-1234567890123-AbCdEf», «xoxp-1234567890-12345»",
            "key=«AKIAIOSFODNN7EXAMPLE» «sk-proj-Ab3dEfGhIjKlMnOpQrStUv».",
            "pod sk-worker-deployment-7f9c8d-abcde ghp_short AKIA AKIAIOSFODNN7EXAMPLEX",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn pem_private_key_blocks() {
        let cases = [
            "-----BEGIN RSA PRIVATE KEY-----\n«MIIEpAIBAAKCAQEA0Z3VS5JJcds3\nxfn/ygWyF8PbnGy0AHB7»\n-----END RSA PRIVATE KEY-----\nnext",
            "-----BEGIN PRIVATE KEY-----\r\n«MIIEvQIBADANBgkqhkiG9w0BAQEFAASC»\r\n-----END PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----«MHcCAQEEIBb»-----END EC PRIVATE KEY-----",
            "-----BEGIN DSA PRIVATE KEY----- «MIIBuwIBAAKBgQ» -----END DSA PRIVATE KEY-----",
            "key: -----BEGIN ENCRYPTED PRIVATE KEY-----\n«MIIFHzBJBgkqhkiG»\n-----END ENCRYPTED PRIVATE KEY-----",
            // no footer: masked to the end of the text
            "-----BEGIN OPENSSH PRIVATE KEY-----\n«b3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAB»",
            // newlines as `\n` inside a JSON string
            r#"{"key":"-----BEGIN PRIVATE KEY-----\n«MIIEvQIBADANBg\nkqhkiG9w0BAQ»\n-----END PRIVATE KEY-----\n","n":1}"#,
            r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\n«MIIEpAIBAA»\n-----END RSA PRIVATE KEY-----\n"} {"k":"-----BEGIN PRIVATE KEY-----\n«MIIEvQ"}»"#,
            // not private keys
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
            "BEGIN PRIVATE KEY----- x; -----BEGIN PRIVATE KEY; -----BEGIN  PRIVATE KEY----- y",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn credential_files_keys() {
        let cases = [
            // a service account JSON: the key, not its id
            r#"{"type": "service_account", "private_key_id": "4f2a9c", "private_key": "«-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----\n»", "client_email": "sa@p.iam.gserviceaccount.com"}"#,
            // kubeconfig
            "    client-certificate-data: LS0tLS1CRUdJTiBDRVJU\n    client-key-data: «LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=»\n",
            "    token: «ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjkuZXlKcGMzTWlPaUpy»\n",
            // YAML block scalars: the value is on the lines below
            "  user:\n    token: |\n      «ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRw\n      aW5nIHRoZSBzZWNvbmQgbGluZQ»\n  name: x\n",
            "client-key-data: >-\r\n  «LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVk»\r\nnext: 1",
            // the same block flattened onto one line, as a log line is
            // after the sanitiser turns its newlines into spaces
            "client-key-data: |   «LS0tLS1CRUdJTiBSU0Eg   UFJJVkFURSBLRVk»   next: 1",
            "- token: |+\n\n   «abc»\n- name: y\ntoken: >\nnot: indented",
            "users:\n- name: sa\n  user:\n    token: «eyJhbGciOiJSUzI1NiIsImtpZCI6IkJGZ3UifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NhIn0.c2lnbmF0dXJl»\n",
            // docker config
            r#"{"auths":{"registry.example.com":{"auth":"«dXNlcjpwYXNzd29yZA==»"}}}"#,
            r#"{\"auths\":{\"r\":{\"auth\": \"«dXNlcjpw»\"}}}"#,
            "ssh-add: passphrase=«s3cr3t-phrase»; exit 1",
            "Server=db;Uid=app;Pwd=«p4ss-w0rd»;Database=x",
            "credentials=«/var/run/creds.json» CREDENTIALS: «AbC123xyz»",
            r#"{"credentials": "«e30=»", "passphrase": "«x y»", "pwd": "«z»"}"#,
            // prose, and a key that only starts like one
            "auth failed for bob; {\"msg\":\"auth failed\"} \"auth\" header missing; auth: required",
            "check your credentials; bad passphrase: incorrect; pwd is /home/app; pwd: unknown",
            r#"{"private_key_id": "4f2a9c", "auths": {}, "credentials_file": "/x"}"#,
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn more_vendor_tokens() {
        let cases = [
            "«sk_live_4eC39HqLyjWDarjtT1zdp7dc» «sk_test_51H8x2aLkdIwHu7ixY4m8ZWcX»",
            "key=«rk_live_51H8x2aLkdIwHu7ixY4m8ZWcXp» «rk_test_4eC39HqLyjWDarjtT1zdp7dc»",
            "«ghs_16C7e42F292c6912E7710c838347Ae178B4a» «ghu_16C7e42F292c6912E7710c838347Ae178B4a»",
            "HF_TOKEN=«hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh»",
            "//registry.npmjs.org/:_authToken=«npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789»",
            "?key=«AIzaSyA-1234567890abcdefghijklmnop_qrst»&x=1",
            // ordinary words, short or long look-alikes, pod names
            "sk_live_short rk_test_runner ghs_abc ghu_16C7e42F292c6912E7710c838347Ae178B4 hf_model",
            "npm_config_cache=/tmp npm_AbCdEfGhIjKlMnOpQrStUvWxYz01234567890 AIzaShort",
            "AIzaSyA-1234567890abcdefghijklmnop_qrstu hf-inference-7f9c8d-x2b rk-live-7f9c8d ghs-app",
            "huggingface hf_hub_download npm_lifecycle_event=install redis-master-0 node-7f9c8d",
        ];
        check(&Redactor::new(), &cases);
    }

    #[test]
    fn registered_secret_base64() {
        let r = with(&["S3cr3t~T0ken?>Val"]);
        let cases = [
            // alone, padded or not
            "auth «UzNjcjN0flQwa2VuPz5WYWw=» end",
            "auth=«UzNjcjN0flQwa2VuPz5WYWw»&x",
            // inside a longer string at each byte alignment, standard and URL-safe
            // (the whole unpadded form also matches here: the next byte's top
            // bits are zero, as the encoder's fill)
            "«UzNjcjN0flQwa2VuPz5WYWw»K «UzNjcjN0flQwa2VuPz5WYW»yK",
            "eF«MzY3IzdH5UMGtlbj8+VmFs»Cg== eF«MzY3IzdH5UMGtlbj8-VmFs»Cg",
            "dTp«TM2NyM3R+VDBrZW4/PlZhb»Ao= dTp«TM2NyM3R-VDBrZW4_PlZhb»Ao=",
            "creds dXNlcjp«TM2NyM3R+VDBrZW4/PlZhb»Ao=",
            "YWJjZF«MzY3IzdH5UMGtlbj8+VmFs»Cg== dXM6«UzNjcjN0flQwa2VuPz5WYWw»K",
            // wrapped at a line break
            "«UzNjcjN0flQw\na2VuPz5WYWw=»",
            // one character off: not the secret
            "UzNjcjN0flQwa2VuPz5WYmw= dTpTM2NyM3R+VDBrZW4/PlZib",
        ];
        check(&r, &cases);
        // shorter than 8 stable characters: no base64 form (too many false hits)
        let r = with(&["ab12"]);
        check(&r, &["YWIxMg== YWIxMg"]);
    }

    #[test]
    fn registered_secret_case_percent_and_json_escapes() {
        let r = with(&["S3cr3t~T0ken?>Val", "pässwörd-9", "key🦀crab"]);
        let cases = [
            "lower «s3cr3t~t0ken?>val» end",
            // percent-encoded twice (RFC 3986 and form style)
            "next=%2Flogin%3Ftok%3D«S3cr3t~T0ken%253F%253EVal»",
            "?u=«S3cr3t%257ET0ken%253F%253EVal»&x=1",
            // JSON with `\u00XX` escapes: any mix, the first one escaped too
            r#"{"t":"«S3cr3t\u007eT0ken\u003f>Val»"}"#,
            r#"{"t":"«\u0053\u0033\u0063\u0072\u0033\u0074\u007e\u0054\u0030\u006b\u0065\u006e\u003f\u003e\u0056\u0061\u006c»"}"#,
            r#"{"t":"«\u0053\u0033cr3t~T0ken?\u003EVal»"}"#,
            r#"{"p":"«p\u00e4ssw\u00F6rd-9»","k":"«key\ud83e\udd80crab»"}"#,
            // not the secret: a different escaped char, a broken escape
            r#"{"t":"S3cr3t\u007fT0ken?>Val","u":"S3cr3t\u07eT0ken?>Val","v":"\u0053\u0033"}"#,
            r#"lone "\ud83e" and "\udd80" and "\u00zz" and "\u0053" "\\\u"#,
        ];
        check(&r, &cases);
    }

    /// ~1 MiB hostile lines for the new rules: quadratic behaviour would
    /// take minutes, linear well under a second.
    #[test]
    fn new_rules_linear_on_long_lines() {
        let r = with(&["S3cr3t~T0ken?>Val"]);
        let lines = [
            "-----BEGIN PRIVATE KEY-----".repeat(40_000),
            "x -----BEGIN RSA PRIVATE KEY-----".repeat(30_000),
            "-----BEGIN PRIVATE KEY-----a-----END ".repeat(30_000),
            r#""auth":"\"auth\":\""#.repeat(50_000),
            // (was quadratic before: the end of the line was computed eagerly
            // for every escaped-quote value)
            r#"{\"password\":\"x\"} "#.repeat(50_000),
            r"\u0053\u0033\u0063".repeat(50_000),
            "UzNjcjN0flQwa2VuPz5WYW".repeat(40_000),
            format!("sk_live_{}", "a".repeat(1 << 20)),
            "hf_".repeat(300_000),
            "client-key-data: pwd= credentials: ".repeat(30_000),
            "token: |\n  x\n".repeat(80_000),
            // each block holds all the keys below it
            (0..3000)
                .map(|k| format!("{}token: |\n", " ".repeat(k)))
                .collect(),
        ];
        for line in &lines {
            let t = std::time::Instant::now();
            let once = r.redact(line);
            assert_eq!(r.redact(&once), once);
            assert!(
                t.elapsed().as_secs() < 2,
                "{:?} for {}",
                t.elapsed(),
                &line[..40]
            );
        }
    }

    #[test]
    fn prose_metrics_numbers_untouched() {
        let cases = [
            r#"http_requests_total{pod="api-7f9c8d-x2b", code="401"} 42 1712345678"#,
            "p99 latency 3.2s over 5m; 1,234 errors; token bucket full; basic metrics",
            "error: unauthorized (401): check your credentials; secret \"db\" not found",
            "level=info msg=\"token refreshed\" expires_in=3600s took=3ms",
            "https://grafana.example.com/d/abc?orgId=1&from=now-1h",
            "日本語のログ — naïve café ✓ 🦀",
            r#"kube_secret_info{namespace="prod",secret="«db-creds»"} 1"#,
        ];
        check(&with(&["hunter2secret"]), &cases);
    }

    #[test]
    fn shapes_off_and_patterns() {
        let mut r = with(&["hunter2secret"]);
        r.set_shapes(false);
        r.add_pattern("x-api-token=");
        r.add_pattern(" ");
        check(
            &r,
            &["password=foo Bearer abcdef123456789 pw «hunter2secret»"],
        );
        check(&r, &["GET /?X-API-TOKEN=«zzz»&a=1; x-api-token='q'"]);
        r.set_shapes(true);
        check(&r, &["password=«foo»"]);
    }

    #[test]
    fn utf8_safety() {
        let r = with(&["pässwörd日本", "секрет-ключ"]);
        check(&r, &["日本語 «pässwörd日本»✓", "é «секрет-\nключ»é"]);
        let s = "ü Bearer é password=ü🦀 pässwörd日本 eyJü.ab://x:y@z Cookie: a=é";
        let idx: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
        for (n, &a) in idx.iter().enumerate() {
            for &b in &idx[n..] {
                let once = r.redact(&s[a..b]);
                assert_eq!(r.redact(&once), once);
            }
        }
    }

    #[test]
    fn fuzz_no_panic_no_leak_idempotent() {
        let secrets = [
            "s3cretValue9",
            "tok_ABCDEFGH",
            "pässwörd",
            "Zx9!q\"w/e",
            "u:p@x",
        ];
        let r = with(&secrets);
        let pieces: Vec<&str> =
            "a|Bearer |basic |password|=|: |\"|'|\\|://|@|:|é|日本|🦀| |\n|\r\n|\t|;|,|&|\
            Cookie|Set-|Authorization|eyJab|.|AKIA|sk-|ghp_|0123456789|QWERTY|[|]|•|s3cret|Value9|\
            tok_|ABCDEFGH|päss|\\\"|token|%40"
                .split('|')
                .collect();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 8) as usize
        };
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..next() % 24 {
                let n = next();
                s.push_str(if n % 7 == 0 {
                    secrets[n % 5]
                } else {
                    pieces[n % pieces.len()]
                });
            }
            let out = r.redact(&s);
            assert_eq!(r.redact(&out), out, "not idempotent: {s:?}");
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
        let r = with(&["hunter2secret"]);
        let cases = [
            ("http://user:pass@host:9090/x", "http://host:9090/x"),
            ("https://tok@h", "https://h"),
            (
                "https://h/p?Token=a&q=u&X-Amz-Signature=f&k=#f",
                "https://h/p?Token=•&q=u&X-Amz-Signature=•&k=#f",
            ),
            (
                "https://h/?key=1&sig=2&monkey=3&refresh_token=4",
                "https://h/?key=•&sig=•&monkey=3&refresh_token=•",
            ),
            (
                "https://h/hunter2secret/users/@bob?q=a@b",
                "https://h/•/users/@bob?q=a@b",
            ),
            ("u:p@localhost:9090", "localhost:9090"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url_with(&r, url), want.replace('•', MASK), "{url}");
        }
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
        set_shapes(false);
        assert_eq!(redact("password=x"), "password=x");
        set_shapes(true);
        assert_eq!(redact("password=x"), "password=••••••");
    }

    #[test]
    #[ignore = "micro-benchmark: cargo test --release redact -- --ignored --nocapture"]
    fn bench_lines_per_second() {
        let base = "2026-05-01T12:00:00.123Z INFO watchfloor::sources::prom: query ok series=42 \
                    took=3.2ms url=http://prometheus.monitoring.svc:9090/api/v1/query_range \
                    step=15s pod=api-7f9c8d-x2b Bearer realm status=200 bytes=51234 cache=miss";
        let secrets: Vec<String> = (0..10)
            .map(|i| format!("S{i}cr3t-{i:x}q9Zk{}", i * 7919))
            .collect();
        let plain: Vec<String> = (0..1000)
            .map(|i| format!("{i:06} {base}")[..200].into())
            .collect();
        let dirty: Vec<String> = plain
            .iter()
            .map(|l| format!("{} {}", &l[..170], secrets[3]))
            .collect();
        for (n, lines, what) in [
            (0, &plain, "clean"),
            (10, &plain, "clean"),
            (10, &dirty, "1 secret"),
        ] {
            let r = with(&secrets[..n].iter().map(String::as_str).collect::<Vec<_>>());
            let start = std::time::Instant::now();
            for _ in 0..300 {
                for l in lines {
                    std::hint::black_box(r.redact(std::hint::black_box(l)));
                }
            }
            let rate = 300_000.0 / start.elapsed().as_secs_f64();
            println!("{n:>2} secrets, {what:<8} 200-byte lines: {rate:>9.0} lines/s");
        }
    }
}
