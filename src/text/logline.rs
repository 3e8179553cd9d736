//! Log lines from Loki made fit for the log pane: [`prepare`] (decode,
//! sanitise, redact, cut). The level ([`crate::text::loglevel`]) and structured
//! access (fields, pretty JSON, trace ids: [`crate::text::logfields`]) live in
//! their own files and are re-exported here, so callers only need
//! `text::logline`.
//!
//! Everything here is total (no panics on any input) and linear in the
//! length of the line.

use std::borrow::Cow;

pub use crate::text::logfields::{fields, pretty_json, trace_id, FieldKind, Fields};
pub use crate::text::loglevel::{detect_level, Level};

/// A line ready for the screen: sanitised, redacted, at most `cap` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub text: String,
    /// The original byte length when the text was cut, else `None`.
    pub cut: Option<usize>,
}

/// How far past `cap` a long line is sanitised and redacted before the cut,
/// so a secret that straddles the cut is still recognised whole.
const REDACT_MARGIN: usize = 8 * 1024;

/// Decodes `raw` (invalid UTF-8 becomes U+FFFD), drops trailing CR/LF,
/// sanitises it ([`crate::text::sanitize`]: escape sequences, controls and bidi
/// overrides removed, tabs expanded, inner CR/LF as spaces), redacts it
/// ([`crate::text::redact::redact`]), then cuts it to at most `cap` bytes on a char
/// boundary. The cut happens after redaction, so a secret is never half
/// shown (a mask itself may be cut).
///
/// Lines longer than `cap` + 8 KiB are redacted only up to there: the rest
/// is cut anyway, and this bounds the redactor's cost on hostile lines. If
/// a mask swallowed most of that window the text can be shorter than `cap`
/// while `cut` is still set.
///
/// Plain printable ASCII skips the sanitiser, and a clean line costs one
/// allocation (the returned `String`).
pub fn prepare(raw: &[u8], cap: usize) -> Prepared {
    prepare_with(raw, cap, crate::text::redact::redact)
}

/// [`prepare`] of a line already in a `String`: the same result, reusing
/// the allocation when nothing had to change (the common case).
pub fn prepare_string(raw: String, cap: usize) -> Prepared {
    if raw.len() <= cap
        && !raw.ends_with(['\n', '\r'])
        && raw.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        // clean and short: the redactor's answer is the text (masking
        // only shortens a line or grows it by less than the margin)
        let text = match crate::text::redact::redact(&raw) {
            Cow::Borrowed(_) => raw,
            Cow::Owned(masked) if masked.len() <= cap => masked,
            Cow::Owned(_) => return prepare(raw.as_bytes(), cap),
        };
        return Prepared { text, cut: None };
    }
    prepare(raw.as_bytes(), cap)
}

/// [`prepare`] without masking secrets in the line: only for the explicit
/// `--no-redaction` (configured credentials are still masked everywhere
/// else). Sanitised and cut the same way.
pub fn prepare_unredacted(raw: &[u8], cap: usize) -> Prepared {
    prepare_with(raw, cap, |s| {
        // configured secrets stay masked even with redaction off
        crate::text::redact::redact_registered(s)
    })
}

/// [`prepare`] with a given redactor (tests use their own instance, since
/// other tests toggle the process-wide one).
fn prepare_with(raw: &[u8], cap: usize, redact: impl Fn(&str) -> Cow<'_, str>) -> Prepared {
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let decoded = String::from_utf8_lossy(&raw[..end]);
    let clean: Cow<'_, str> = if decoded.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Cow::Borrowed(&decoded)
    } else {
        crate::text::sanitize(&decoded)
    };
    let window = &clean[..floor_boundary(&clean, cap.saturating_add(REDACT_MARGIN))];
    let redacted = redact(window);
    let keep = floor_boundary(&redacted, cap);
    let cut = (keep < redacted.len() || window.len() < clean.len()).then_some(raw.len());
    Prepared {
        text: redacted[..keep].to_owned(),
        cut,
    }
}

/// The largest char boundary of `s` that is `<= at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::redact::Redactor;

    fn prepare(raw: &[u8], cap: usize) -> Prepared {
        let r = Redactor::new();
        prepare_with(raw, cap, |s| r.redact(s))
    }

    #[test]
    fn prepare_plain_sanitised_redacted_and_cut() {
        let p = prepare(b"GET /x 200 3ms\n", 100);
        assert_eq!(
            p,
            Prepared {
                text: "GET /x 200 3ms".into(),
                cut: None
            }
        );
        let p = prepare(b"a\x1b[31mred\x1b[0m\tb\xffc\r\nd", 100);
        assert_eq!(p.text, "ared    b\u{FFFD}c  d");
        assert_eq!(p.cut, None);
        let p = prepare(b"login failed password=hunter2secret user=bob", 26);
        assert_eq!(p.text, "login failed password=\u{2022}");
        assert_eq!(p.cut, Some(44));
        let p = prepare("h\u{e9}llo".as_bytes(), 2);
        assert_eq!((p.text.as_str(), p.cut), ("h", Some(6)));
        assert_eq!(
            prepare(b"", 0),
            Prepared {
                text: String::new(),
                cut: None
            }
        );
    }

    /// A YAML block in one log entry: the sanitiser flattens its newlines
    /// before the redactor sees it, and the key's value is still masked.
    #[test]
    fn a_yaml_block_in_one_entry_is_masked_after_sanitising() {
        let p = prepare(b"dump: client-key-data: |\n  LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=\n  QUJDREVGR0g=\nnext: 1", 1000);
        assert!(!p.text.contains("LS0tLS1"), "{}", p.text);
        assert!(!p.text.contains("QUJDREVGR0g"), "{}", p.text);
        assert!(p.text.contains("next: 1"), "{}", p.text);
    }

    #[test]
    fn prepare_secret_straddling_the_cut_is_masked() {
        let mut line = "x".repeat(30);
        line.push_str(" Authorization: Bearer abcdefghijklmnop0123456789");
        let p = prepare(line.as_bytes(), 60);
        assert!(p.text.starts_with(&"x".repeat(30)));
        assert!(!p.text.contains("abcdef"), "{}", p.text);
        assert_eq!(p.cut, Some(line.len()));
    }

    #[test]
    fn prepare_long_lines_are_linear() {
        let hostile = "Authorization: x Cookie: a=1; ".repeat(40_000);
        let line = format!("{hostile}{}", "é".repeat(300_000));
        let p = prepare(line.as_bytes(), 4096);
        assert!(p.text.len() <= 4096 && p.cut == Some(line.len()));
        let p = prepare("é".repeat(600_000).as_bytes(), 5);
        assert_eq!((p.text.as_str(), p.cut), ("éé", Some(1_200_000)));
    }

    /// Every text function on ~1 MiB hostile lines: quadratic behaviour would
    /// take minutes here, linear takes well under a second even in debug.
    #[test]
    fn all_functions_linear_on_long_lines() {
        use crate::text::{patterns, sampler};
        let lines = [
            format!("{}1{}", "[".repeat(300_000), "]".repeat(300_000)),
            "a=\"\" ".repeat(150_000),
            format!(
                "{{\"memory\":{{\"top\":[{}]}}}}",
                "1,".repeat(300_000) + "1"
            ),
            "trace trace_id= traceparent:00- ".repeat(30_000),
            format!("[{}]", "{\"level\":\"x\"},".repeat(60_000) + "{}"),
            "<_> . ".repeat(150_000),
            "12:00 [ ".repeat(120_000),
            // control-string introducers with no terminator (the sanitiser
            // looks a bounded window ahead and remembers how far it looked)
            "\u{9d}".repeat(500_000),
            "\x1b]0;".repeat(250_000),
        ];
        // megabyte lines: linear work finishes in milliseconds, a quadratic
        // path would not finish (no wall-clock assertion)
        for line in &lines {
            let _ = detect_level(line);
            let _ = fields(line);
            let _ = pretty_json(line);
            let _ = trace_id(line, &[]);
            let tpl = patterns::template(line);
            let _ = patterns::matches(&tpl, &tpl);
            let _ = sampler::parse(line);
            let _ = super::super::sanitize(line);
            let p = prepare(line.as_bytes(), 4096);
            assert!(p.text.len() <= 4096);
            assert!(!super::super::sanitize(&p.text)
                .chars()
                .any(char::is_control));
        }
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn fuzz_total() {
        let pieces: Vec<&str> = "{|}|\"|level|:|=|\\|[|]|<|>|3|E1122 12:00:00| |error|WARN|é|\u{1b}[|\t|\n|\
            trace_id|00-|4bf92f3577b34da6a3ce929d0e0e4736|,|\"msg\"|lvl|password=|Bearer |[1,2]|null|-|\u{202e}"
            .split('|')
            .collect();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..20_000 {
            let line: Vec<u8> = if round % 3 == 0 {
                (0..xorshift(&mut seed) % 64)
                    .map(|_| xorshift(&mut seed) as u8)
                    .collect()
            } else {
                let n = xorshift(&mut seed) % 24;
                (0..n)
                    .flat_map(|_| pieces[xorshift(&mut seed) as usize % pieces.len()].bytes())
                    .collect()
            };
            let cap = (xorshift(&mut seed) % 80) as usize;
            let p = prepare(&line, cap);
            assert!(p.text.len() <= cap);
            assert!(!p.text.chars().any(|c| c.is_control()));
            let s = String::from_utf8_lossy(&line);
            let _ = detect_level(&s);
            let _ = detect_level(&p.text);
            let _ = Level::from_word(&s, true);
            let _ = fields(&s);
            let _ = pretty_json(&s);
            if let Some(id) = trace_id(&s, &[("traceparent".into(), s.to_string())]) {
                assert!(id.len() == 32 || id.len() == 16, "{id}");
            }
        }
    }

    #[test]
    #[ignore = "micro-benchmark: cargo test --release --lib text::logline -- --ignored --nocapture"]
    fn bench_prepare_and_level() {
        use crate::text::{patterns, redact};
        let base =
            "2026-05-01T12:00:00.123Z INFO watchfloor::features::logs::client: query ok series=42 \
                    took=3.2ms url=http://loki.monitoring.svc:3100/loki/api/v1/query_range \
                    step=15s pod=api-7f9c8d-x2b status=200 bytes=51234 cache=miss trace_id=x";
        let json = r#""time":"2026-05-01T12:00:00.123Z","level":"INFO","msg":"request served","method":"GET","path":"/api/v1/users/12345","status":200,"duration_ms":3.2,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#;
        let make = |f: &dyn Fn(usize) -> String| -> Vec<String> {
            (0..1000).map(|i| f(i)[..200].to_string()).collect()
        };
        let plain = make(&|i| format!("{i:06} {base}"));
        let jsons = make(&|i| format!("{{\"i\":{i},{json}"));
        let utf8 = make(&|i| format!("{i:06} café ✓ {base}"));
        let rate = |what: &str, lines: &[String], f: &dyn Fn(&str) -> usize| {
            let start = std::time::Instant::now();
            let mut n = 0usize;
            for _ in 0..300 {
                n += lines
                    .iter()
                    .map(|l| f(std::hint::black_box(l)))
                    .sum::<usize>();
            }
            let rate = 300.0 * lines.len() as f64 / start.elapsed().as_secs_f64();
            println!("{what:<42} {rate:>10.0} lines/s ({n})");
        };
        let full = |l: &str| detect_level(&super::prepare(l.as_bytes(), 4096).text) as usize;
        rate("prepare+detect_level, 200-byte plain", &plain, &full);
        rate("prepare+detect_level, 200-byte json", &jsons, &full);
        rate("prepare+detect_level, 200-byte non-ASCII", &utf8, &full);
        rate("  redact only, plain", &plain, &|l| redact::redact(l).len());
        rate("  redact only, json", &jsons, &|l| redact::redact(l).len());
        rate("  detect_level only, plain", &plain, &|l| {
            detect_level(l) as usize
        });
        rate("  detect_level only, json", &jsons, &|l| {
            detect_level(l) as usize
        });
        rate("fields, json", &jsons, &|l| {
            fields(l).map_or(0, |f| f.pairs.len())
        });
        rate("patterns::template, plain", &plain, &|l| {
            patterns::template(l).len()
        });
        rate("patterns::template, json", &jsons, &|l| {
            patterns::template(l).len()
        });
        let time = |what: &str, line: &str, cap: usize| {
            let start = std::time::Instant::now();
            let p = super::prepare(line.as_bytes(), cap);
            println!(
                "{what:<42} {:>10.2?} ({} bytes)",
                start.elapsed(),
                p.text.len()
            );
        };
        time(
            "prepare 1 MiB plain line, no cap",
            &"word ".repeat(200_000),
            usize::MAX,
        );
        time(
            "prepare 1 MiB plain line, cap 4096",
            &"word ".repeat(200_000),
            4096,
        );
        let hostile = |n| "Authorization: x Cookie: a=1; ".repeat(n);
        time(
            "prepare 1 MiB hostile line, cap 4096",
            &hostile(35_000),
            4096,
        );
        // redact() itself on whole hostile lines: Cookie:/Authorization: scan
        // to the end of the line at each occurrence (time and ranges grow
        // with the square), which is why prepare redacts a bounded window
        time(
            "prepare 32 KiB hostile line, no cap",
            &hostile(1_000),
            usize::MAX,
        );
        time(
            "prepare 64 KiB hostile line, no cap",
            &hostile(2_000),
            usize::MAX,
        );
    }
}
