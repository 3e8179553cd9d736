//! Sanitising untrusted text (label values, error bodies, log lines) before it
//! reaches the terminal. Whole escape sequences are removed, not just the ESC
//! byte, so a hostile string cannot move the cursor, retitle the terminal or
//! smuggle a hyperlink.
//!
//! Nothing is dropped in silence except what a terminal would swallow anyway:
//!
//! * CSI sequences (`ESC [ 31 m`, U+009B) are parsed (parameters, then
//!   intermediates, then a final byte) and removed silently: colour codes are
//!   everywhere in logs. If no final byte follows, only the introducer and
//!   what was read of its parameters go; the rest is kept.
//! * Control strings (OSC, DCS, SOS, PM, APC: `ESC ]`, `ESC P`, `ESC X`,
//!   `ESC ^`, `ESC _` and their C1 forms U+009D, U+0090, U+0098, U+009E,
//!   U+009F) end at BEL, ST (`ESC \` or U+009C) or any other ESC. One whose
//!   terminator is within [`STRING_WINDOW`] bytes is removed whole and leaves
//!   one [`MARK`] so the reader knows something was there; one without drops
//!   only its introducer and the text after it is kept (and still
//!   sanitised). Latin-1 mojibake makes stray C1 characters common: every
//!   emoji and the closing quote `”` carry one.
//! * `ESC` followed by a non-ASCII character, a control or nothing drops only
//!   the `ESC`.
//!
//! Linear in the input: how far the text was already searched for a string
//! terminator is remembered, so a megabyte of introducers costs one pass.

use std::borrow::Cow;

const TAB_WIDTH: usize = 4;

/// How far (bytes of text after the introducer) a control string's
/// terminator is looked for.
pub const STRING_WINDOW: usize = 4096;

/// At most this many intermediates in an nF sequence (`ESC ( B`); real ones
/// have one to three.
const NF_MAX: usize = 8;

/// What a control string removed whole leaves in its place.
pub const MARK: char = '\u{FFFD}';

/// Bidi overrides and invisible format characters (zero-width spaces and
/// joiners, word joiners, BOM, soft hyphen, line/paragraph separators):
/// terminals and ratatui disagree on their width, which shifts columns.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}'
        | '\u{061C}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}'
        // variation selectors: with the joiners gone, an emoji + VS16 is
        // one cell to ratatui and two to the terminal
        | '\u{FE00}'..='\u{FE0F}')
}

fn needs_work(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// What to do at an introducer: drop the bytes up to `end`, leaving a
/// [`MARK`] when `mark`.
struct Drop {
    end: usize,
    mark: bool,
}

fn silent(end: usize) -> Drop {
    Drop { end, mark: false }
}

/// Returns `s` with every escape sequence (CSI, OSC, DCS, APC, PM, SOS, and
/// two-byte ESC sequences), C0/C1 control, and bidi override removed (a
/// control string removed whole leaves a [`MARK`]); tabs are expanded to the
/// next multiple of four columns; newlines become spaces.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !needs_work(s) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut col = 0usize;
    // no string terminator starts before this (from any later introducer)
    let mut scanned = 0usize;
    // where a C1 string's search met an ESC that is no terminator
    let mut aborted = usize::MAX;
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        let next = i + c.len_utf8();
        let drop = match c {
            '\u{1b}' => escape(b, i, &mut scanned),
            '\u{9b}' => silent(csi(b, next)),
            // a C1 string introducer is taken for one only when what follows
            // looks like a real one (OSC `N;`, DCS params and a final byte):
            // in logs these are mostly mojibake (an emoji or “” read as
            // Latin-1), and the text after them must stay
            '\u{9d}' if osc_shape(b, next) => c1_string(b, next, &mut scanned, &mut aborted),
            '\u{90}' if dcs_shape(b, next) => c1_string(b, next, &mut scanned, &mut aborted),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => silent(next),
            '\t' => {
                let n = TAB_WIDTH - (col % TAB_WIDTH);
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
                silent(next)
            }
            '\n' | '\r' => {
                out.push(' ');
                col += 1;
                silent(next)
            }
            c if c.is_control() || is_bidi_control(c) => silent(next),
            c => {
                // copy the run of plain text up to the next byte that may
                // need work (ASCII controls, or any non-ASCII char)
                let end = next
                    + b[next..]
                        .iter()
                        .position(|&x| !(0x20..0x7f).contains(&x))
                        .unwrap_or(b.len() - next);
                out.push(c);
                out.push_str(&s[next..end]);
                col += 1 + (end - next);
                silent(end)
            }
        };
        if drop.mark {
            out.push(MARK);
            col += 1;
        }
        i = drop.end;
    }
    Cow::Owned(out)
}

/// At an ESC (`b[i]`).
fn escape(b: &[u8], i: usize, scanned: &mut usize) -> Drop {
    match b.get(i + 1) {
        Some(b'[') => silent(csi(b, i + 2)),
        Some(b']' | b'P' | b'X' | b'^' | b'_') => string(b, i + 2, scanned),
        // nF: intermediates 0x20..=0x2F, then a final byte 0x30..=0x7E
        Some(0x20..=0x2f) => {
            let k = run(b, i + 1, NF_MAX + 1, |x| (0x20..=0x2f).contains(&x));
            match b.get(k) {
                Some(0x30..=0x7e) if k - (i + 1) <= NF_MAX => silent(k + 1),
                _ => silent(i + 1),
            }
        }
        // two-byte sequence (ESC c, ESC 7, ESC \ ...): drop both
        Some(0x30..=0x7e) => silent(i + 2),
        // a control, DEL, a non-ASCII char or the end: only the ESC goes
        _ => silent(i + 1),
    }
}

/// End of the run of at most `max` bytes satisfying `f` from `from`.
fn run(b: &[u8], from: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    from + b[from.min(b.len())..]
        .iter()
        .take(max)
        .take_while(|&&x| f(x))
        .count()
}

/// A CSI whose parameters start at `p`: parameter bytes 0x30..=0x3F,
/// intermediates 0x20..=0x2F, then a final byte 0x40..=0x7E. Returns the end
/// of what is dropped: past the final byte, or (no final byte) up to where
/// the parameters stopped. Parameters longer than [`STRING_WINDOW`] are not
/// a CSI: only the introducer goes.
fn csi(b: &[u8], p: usize) -> usize {
    let k = run(b, p, STRING_WINDOW, |x| (0x30..=0x3f).contains(&x));
    let k = run(b, k, STRING_WINDOW, |x| (0x20..=0x2f).contains(&x));
    if k - p >= STRING_WINDOW {
        return p;
    }
    match b.get(k) {
        Some(0x40..=0x7e) => k + 1,
        _ => k,
    }
}

/// A control string whose content starts at `p`: dropped whole with a mark
/// when a terminator (BEL, ST, or an ESC, which starts the next sequence)
/// is found within [`STRING_WINDOW`] bytes, else only its introducer.
/// `scanned` remembers how far the text is known to hold no terminator.
/// OSC's shape: a number, then `;` (`0;title`, `8;;url`, `52;c;…`).
fn osc_shape(b: &[u8], p: usize) -> bool {
    let k = run(b, p, 8, |x| x.is_ascii_digit());
    k > p && b.get(k) == Some(&b';')
}

/// DCS's shape: parameters, intermediates, then a final byte (`q` sixel,
/// `$q`, `+q`, `1000p`).
fn dcs_shape(b: &[u8], p: usize) -> bool {
    let k = run(b, p, 32, |x| (0x30..=0x3f).contains(&x));
    let k = run(b, k, 4, |x| (0x20..=0x2f).contains(&x));
    matches!(b.get(k), Some(0x40..=0x7e))
}

/// A string opened by a C1 character: as [`string`], but another sequence
/// starting before any terminator (a colour code after mojibake) means it
/// was no string: only the introducer goes, the text stays. `aborted`
/// remembers where such an ESC was met, so later introducers before it are
/// answered without searching again (linear).
fn c1_string(b: &[u8], p: usize, scanned: &mut usize, aborted: &mut usize) -> Drop {
    if p <= *aborted && *aborted != usize::MAX && *aborted <= (*scanned).max(p) {
        return silent(p);
    }
    let d = string(b, p, scanned);
    if d.mark && ended_by_escape(b, d.end) {
        *aborted = d.end;
        *scanned = (*scanned).max(d.end);
        return silent(p);
    }
    d
}

/// Whether a string that [`string`] dropped up to `end` ended at an ESC
/// that is no ST (BEL, `ESC \` and U+009C end it at the byte before `end`).
fn ended_by_escape(b: &[u8], end: usize) -> bool {
    let before = end.checked_sub(2).map(|i| &b[i..end]);
    b.get(end) == Some(&0x1b)
        && b.get(end - 1) != Some(&0x07)
        && before != Some(b"\x1b\\")
        && before != Some(&[0xc2, 0x9c])
}

fn string(b: &[u8], p: usize, scanned: &mut usize) -> Drop {
    let limit = (p + STRING_WINDOW).min(b.len());
    let from = p.max(*scanned).min(limit);
    let mut k = from;
    // search for the lead bytes, then check what follows
    let end = loop {
        match b[k..limit]
            .iter()
            .position(|&x| x == 0x07 || x == 0x1b || x == 0xc2)
        {
            Some(off) => k += off,
            None => break None,
        }
        match (b[k], b.get(k + 1)) {
            (0x07, _) => break Some(k + 1),
            (0x1b, Some(b'\\')) => break Some(k + 2),
            (0x1b, _) => break Some(k),
            (0xc2, Some(0x9c)) => break Some(k + 2),
            _ => k += 1,
        }
    };
    #[cfg(test)]
    tests::SCANNED.with(|n| n.set(n.get() + end.map_or(limit, |_| k + 1) - from));
    match end {
        Some(end) => Drop { end, mark: true },
        None => {
            *scanned = limit;
            silent(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{sanitize, MARK, STRING_WINDOW};
    use std::cell::Cell;

    thread_local! {
        /// Bytes searched for a string terminator (the linearity test).
        pub(super) static SCANNED: Cell<usize> = const { Cell::new(0) };
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            sanitize("app-1 OOMKilled"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(
            sanitize("naïve café ✓ 🦀 ð"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn removes_csi_and_osc_whole() {
        assert_eq!(sanitize("a\x1b[2J\x1b[1;1Hb"), "ab");
        assert_eq!(sanitize("x\x1b]0;pwned\x07y"), "x�y");
        // OSC 8 hyperlink: both halves dropped whole, the link text kept
        assert_eq!(
            sanitize("x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y"),
            "x�link�y"
        );
        assert_eq!(sanitize("p\x1bPq#0;2;0;0;0\x1b\\q"), "p�q");
        assert_eq!(sanitize("c1\u{9b}31mred"), "c1red");
        assert_eq!(sanitize("c1\u{9d}0;t\u{9c}x"), "c1�x");
        assert_eq!(
            sanitize("a\x1b_apc\x1b\\b\x1b^pm\x07c\x1bXsos\u{9c}d"),
            "a�b�c�d"
        );
        // an ESC inside a string ends it and starts the next sequence
        assert_eq!(sanitize("a\x1b]0;t\x1b[31mb"), "a�b");
        assert_eq!(MARK, '�');
    }

    #[test]
    fn mojibake_c1_keeps_the_rest_of_the_line() {
        assert_eq!(
            sanitize("user said ð\u{9f}\u{98}\u{80} then DELETED ALL ROWS in prod"),
            "user said ð then DELETED ALL ROWS in prod"
        );
        // the closing quote ” as Latin-1 mojibake: â + U+0080 + U+009D
        assert_eq!(
            sanitize("he said â\u{80}\u{9d}stop\u{e2}\u{80}\u{9d} and left"),
            "he said âstopâ and left"
        );
        assert_eq!(sanitize("x\u{9d}0;no terminator y"), "x0;no terminator y");
        assert_eq!(sanitize("x\u{90}"), "x");
    }

    #[test]
    fn unterminated_string_within_the_window_only() {
        // the terminator just inside the window: dropped whole
        let inside = format!("a\x1b]{}\x07b", "x".repeat(STRING_WINDOW - 1));
        assert_eq!(sanitize(&inside), "a�b");
        // just outside: only the introducer goes
        let outside = format!("a\x1b]{}\x07b", "x".repeat(STRING_WINDOW));
        assert_eq!(
            sanitize(&outside),
            format!("a{}b", "x".repeat(STRING_WINDOW))
        );
        assert_eq!(sanitize("a\x1b]0;title never ends"), "a0;title never ends");
        assert_eq!(sanitize("a\x1bP"), "a");
        // the text after it is still sanitised
        assert_eq!(sanitize("a\u{9e}b\u{9b}1mc\u{202e}d\te"), "abcd    e");
        // a C1 PM (mojibake, mostly) drops only itself, and another
        // sequence before any terminator means no string either
        assert_eq!(sanitize("a\u{9e}b\x1b[1mc"), "abc");
        // (an explicit ESC-form string still ends at the next ESC, whole)
        assert_eq!(sanitize("a\x1b_b\x1b[1mc"), "a�c");
        // the review's line: coloured, with an emoji read as Latin-1
        assert_eq!(
            sanitize("\x1b[32mINFO\x1b[0m user said ð\u{9f}\u{98}\u{80} then DELETED ALL ROWS in prod \x1b[31mdone\x1b[0m"),
            "INFO user said ð then DELETED ALL ROWS in prod done"
        );
        // ” … “ read as Latin-1: U+009D … U+009C is no OSC (no `N;`)
        assert_eq!(
            sanitize("she said \u{e2}\u{80}\u{9d}stop\u{e2}\u{80}\u{9c} twice"),
            "she said \u{e2}stop\u{e2} twice"
        );
        // an OSC-shaped C1 string cut by a colour code: only the introducer goes
        assert_eq!(sanitize("a\u{9d}0;t\x1b[1mb"), "a0;tb");
        // many such introducers before one ESC stay linear and all kept
        let many = format!("{}\x1b[1mz", "\u{9d}1;x".repeat(1 << 16));
        assert_eq!(sanitize(&many), format!("{}z", "1;x".repeat(1 << 16)));
    }

    #[test]
    fn csi_parsed_properly() {
        assert_eq!(sanitize("a\x1b[38;5;196mb\x1b[?25lc\x1b[1 qd"), "abcd");
        // no final byte: introducer and parameters go, the rest stays
        assert_eq!(sanitize("a\x1b[31é"), "aé");
        assert_eq!(sanitize("a\x1b[31\nb"), "a b");
        assert_eq!(sanitize("a\x1b[12"), "a");
        assert_eq!(sanitize("a\u{9b}1;2€uro"), "a€uro");
        // parameters past the window are not a CSI: only `ESC [` goes
        let long = format!("a\x1b[{}m", "1".repeat(STRING_WINDOW));
        assert_eq!(sanitize(&long), format!("a{}m", "1".repeat(STRING_WINDOW)));
    }

    #[test]
    fn esc_then_non_ascii_or_control_drops_only_the_esc() {
        assert_eq!(sanitize("a\x1bé b"), "aé b");
        assert_eq!(sanitize("a\x1b日本"), "a日本");
        assert_eq!(sanitize("a\x1b\tb"), "a   b");
        assert_eq!(sanitize("a\x1b"), "a");
        assert_eq!(sanitize("a\x1b\x1bcb"), "ab");
        // nF: intermediates then a final byte, as a whole; bounded
        assert_eq!(sanitize("a\x1b(Bb\x1b#8c"), "abc");
        assert_eq!(sanitize("a\x1b(éb"), "a(éb");
        let many = format!("a\x1b{}Bb", " ".repeat(20));
        assert_eq!(sanitize(&many), format!("a{}Bb", " ".repeat(20)));
    }

    #[test]
    fn removes_controls_and_bidi_and_expands_tabs() {
        assert_eq!(sanitize("a\u{7}\u{8}b"), "ab");
        assert_eq!(sanitize("ab\tc"), "ab  c");
        assert_eq!(sanitize("é\tc"), "é   c");
        assert_eq!(sanitize("\u{202E}evil"), "evil");
        assert_eq!(sanitize("zw\u{200B}sp\u{FEFF}\u{2028}x\u{00AD}"), "zwspx");
        assert_eq!(sanitize("l1\nl2"), "l1 l2");
        assert_eq!(sanitize("e\x1bcz"), "ez");
        assert_eq!(sanitize("stray\u{9c}st\x1b\\x"), "straystx");
    }

    /// A megabyte of introducers with no terminator: each looks up to
    /// STRING_WINDOW ahead, so without the memo this is 4096 × the work.
    #[test]
    fn hostile_megabyte_is_linear() {
        let inputs = [
            "\u{9d}".repeat(1 << 19),
            "\u{9f}a".repeat(1 << 18),
            "\x1b]".repeat(1 << 19),
            "\x1bP\u{9d}x".repeat(1 << 18),
            "\x1b[1;".repeat(1 << 18),
            format!("\x1b]{}", "\u{98}\u{80}".repeat(1 << 18)),
        ];
        for s in &inputs {
            SCANNED.with(|n| n.set(0));
            let out = sanitize(s);
            let scanned = SCANNED.with(Cell::get);
            assert!(
                scanned <= 2 * s.len(),
                "{scanned} bytes searched for {}",
                s.len()
            );
            assert!(!out.chars().any(|c| c.is_control()));
            assert_eq!(sanitize(&out), out, "idempotent");
        }
    }

    #[test]
    fn fuzz_no_control_survives_and_idempotent() {
        let pieces: Vec<&str> = "a|é|\x1b|[|]|P|X|^|_|\\|\x07|\u{9c}|\u{9d}|\u{9b}|\u{90}|\u{98}|\
            \u{9e}|\u{9f}|\u{80}|1|;|(|#| |m|\t|\n|\u{202e}|日"
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
            let s: String = (0..next() % 20)
                .map(|_| pieces[next() % pieces.len()])
                .collect();
            let out = sanitize(&s);
            assert!(
                !out.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{s:?} -> {out:?}"
            );
            assert_eq!(sanitize(&out), out, "{s:?}");
        }
    }
}
