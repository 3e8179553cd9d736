//! Sanitising untrusted text (label values, error bodies, log lines) before it
//! reaches the terminal. Whole escape sequences are removed, not just the ESC
//! byte, so a hostile string cannot move the cursor, retitle the terminal or
//! smuggle a hyperlink.

use std::borrow::Cow;

const TAB_WIDTH: usize = 4;

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
    s.chars()
        .any(|c| c.is_control() || is_bidi_control(c) || c == '\u{9B}')
}

/// Returns `s` with every escape sequence (CSI, OSC, DCS, APC, PM, SOS, and
/// two-byte ESC sequences), C0/C1 control, and bidi override removed; tabs are
/// expanded to the next multiple of four columns; newlines become spaces.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !needs_work(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut col = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates until a final byte 0x40..=0x7E
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: string until ST (ESC \) or BEL
                Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => {
                    skip_string(&mut chars)
                }
                // nF sequences: intermediates 0x20..=0x2F then a final byte
                Some(i) if ('\u{20}'..='\u{2f}').contains(&i) => {
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if !('\u{20}'..='\u{2f}').contains(&n) {
                            break;
                        }
                    }
                }
                // two-byte sequence (ESC c, ESC 7, ...): drop both
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => {
                let n = TAB_WIDTH - (col % TAB_WIDTH);
                for _ in 0..n {
                    out.push(' ');
                }
                col += n;
            }
            '\n' | '\r' => {
                out.push(' ');
                col += 1;
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for n in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&n) {
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(n) = chars.next() {
        match n {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            sanitize("app-1 OOMKilled"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn removes_csi_and_osc_whole() {
        assert_eq!(sanitize("a\x1b[2J\x1b[1;1Hb"), "ab");
        assert_eq!(sanitize("x\x1b]0;pwned\x07y"), "xy");
        assert_eq!(
            sanitize("x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y"),
            "xlinky"
        );
        assert_eq!(sanitize("p\x1bPq#0;2;0;0;0\x1b\\q"), "pq");
        assert_eq!(sanitize("c1\u{9b}31mred"), "c1red");
    }

    #[test]
    fn removes_controls_and_bidi_and_expands_tabs() {
        assert_eq!(sanitize("a\u{7}\u{8}b"), "ab");
        assert_eq!(sanitize("ab\tc"), "ab  c");
        assert_eq!(sanitize("\u{202E}evil"), "evil");
        assert_eq!(sanitize("zw\u{200B}sp\u{FEFF}\u{2028}x\u{00AD}"), "zwspx");
        assert_eq!(sanitize("l1\nl2"), "l1 l2");
        assert_eq!(sanitize("e\x1bcz"), "ez");
    }
}
