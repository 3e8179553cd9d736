//! The forms a registered secret is looked for in. Built once, when it is
//! registered: percent-encoded, JSON- and HTML-escaped, base64 (whole or
//! inside a longer encoded string). Read while matching: ASCII whitespace
//! between its characters and JSON `\uXXXX` escapes for any of them.

use super::bytes::{is_ws, run, want};

/// Matches needle `n` (which has no whitespace) at `i`, allowing runs of
/// ASCII whitespace between its bytes and reading a JSON `\uXXXX` escape as
/// the character it stands for (any mix of escaped and literal characters);
/// returns the end of the matched span.
pub(super) fn match_spaced(s: &[u8], i: usize, n: &[u8]) -> Option<usize> {
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
pub(super) fn unescape(s: &[u8], j: usize) -> Option<([u8; 4], usize, usize)> {
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

/// Percent-encoding: `form` is x-www-form-urlencoded (space as `+`, keeps
/// `*-._`, what reqwest's `.query()` writes), else RFC 3986 (keeps `-._~`).
pub(super) fn percent(v: &str, form: bool) -> String {
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
pub(super) fn json(v: &str, slash: bool) -> String {
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
pub(super) fn go_json(v: &str) -> String {
    json(v, false)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The base64 encodings of `v` worth looking for: standard and URL-safe,
/// each whole (padded and not) and, for `v` inside a longer encoded string
/// (`base64("user:" + v)`), the characters that depend on `v` alone at each
/// of the three byte alignments, when there are at least 8 of them.
pub(super) fn base64_forms(v: &[u8]) -> Vec<String> {
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
pub(super) fn html(v: &str, hex: bool) -> String {
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
