//! Byte-level helpers shared by the scan and the rules: character classes,
//! runs of bytes, ASCII case-insensitive prefixes, and pushing a range.

use super::Ranges;

pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(super) fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `[A-Za-z0-9._~+/-]`: token68 without the `=` padding.
pub(super) fn is_tok68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._~+/-".contains(&b)
}

pub(super) fn not_eol(c: u8) -> bool {
    c != b'\n' && c != b'\r'
}

/// End of the run of bytes satisfying `f` starting at `from`.
pub(super) fn run(s: &[u8], from: usize, f: impl Fn(u8) -> bool) -> usize {
    from + s
        .get(from..)
        .map_or(0, |t| t.iter().take_while(|&&c| f(c)).count())
}

pub(super) fn skip_blank(s: &[u8], j: usize) -> usize {
    run(s, j, |c| c == b' ' || c == b'\t')
}

pub(super) fn starts_ci(s: &[u8], i: usize, lit: &[u8]) -> bool {
    s.get(i..i + lit.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(lit))
}

/// The first of `list` that `s` has at `i`, ignoring ASCII case.
pub(super) fn find_ci<'l>(s: &[u8], i: usize, list: &[&'l [u8]]) -> Option<&'l [u8]> {
    let first = s.get(i)?.to_ascii_lowercase();
    list.iter()
        .copied()
        .find(|w| w[0] == first && starts_ci(s, i, w))
}

pub(super) fn push(out: &mut Ranges, a: usize, b: usize) {
    if b > a {
        out.push((a, b));
    }
}

pub(super) fn want(cond: bool) -> Option<()> {
    cond.then_some(())
}
