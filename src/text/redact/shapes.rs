//! The shape rules: secrets recognised by their look rather than their value
//! (`Bearer` tokens, `Authorization:` and `Cookie:` headers, `key=value`
//! pairs with a secret-sounding key, YAML block values, PEM private keys,
//! JWTs, vendor token formats, URL userinfo). Each rule is tried where the
//! scan's prefilter says it may start and pushes the byte ranges to mask.

use super::bytes::{
    find_ci, is_b64url, is_tok68, is_ws, not_eol, push, run, skip_blank, starts_ci, want,
};
use super::Ranges;

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

/// What one scan remembers so that no rule rescans the same text for every
/// repeat on a hostile line.
#[derive(Default)]
pub(super) struct Scan {
    /// Where the last `Authorization:` / `Cookie:` value ends: a repeat
    /// inside it was handled by that rule.
    line_until: usize,
    /// Where the last PEM body ends (its footer, or the end of the text).
    pem_until: usize,
    /// Where the last YAML block value ends.
    block_until: usize,
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
pub(super) fn shapes_at(s: &[u8], i: usize, out: &mut Ranges, scan: &mut Scan) {
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
pub(super) fn userinfo(s: &[u8], i: usize, out: &mut Ranges) -> Option<()> {
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
