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
//!
//! This file holds the [`Redactor`] itself (the prefilter table, the scan
//! and the merging of ranges) and the process-wide instance with its free
//! functions; the rules live beside it: `shapes` (the shape rules),
//! `encodings` (the forms a registered value is looked for in) and `bytes`
//! (the byte helpers they share).

mod bytes;
mod encodings;
mod shapes;

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::{is_ws, push, run, starts_ci};
use encodings::{base64_forms, go_json, html, json, match_spaced, percent, unescape};
use shapes::{shapes_at, userinfo, Scan};

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

const URL_SECRET_PARAMS: &str =
    "token access_token api_key apikey key password secret auth sig signature";

type Ranges = Vec<(usize, usize)>;

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
mod tests;
