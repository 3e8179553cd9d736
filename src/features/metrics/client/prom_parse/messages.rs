//! Short messages about a body: what a body that is not the API's JSON is
//! (HTML with its title, an exporter's metrics page, binary, or its first
//! line of text), where invalid JSON breaks, and a shape error in words.
//! Every text is redacted and sanitised first, and raw bytes are never echoed.

use super::{EXPOSITION, SNIFF};

/// "invalid JSON at byte N": serde_json gives line and column, the offset is
/// computed from the body.
pub(super) fn json_error(e: &serde_json::Error, body: &[u8]) -> String {
    let line_start = match e.line() {
        0 | 1 => 0,
        l => body
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(l - 2)
            .map_or(body.len(), |(i, _)| i + 1),
    };
    if e.is_eof() {
        return format!("invalid JSON at byte {} (truncated?)", body.len());
    }
    let at = (line_start + e.column()).saturating_sub(1).min(body.len());
    format!("invalid JSON at byte {at}")
}

/// A shape error in words, without position and without long body excerpts.
pub(super) fn shape_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let pos = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(pos.as_str()).unwrap_or(&full);
    let msg = match msg
        .strip_prefix("invalid type: ")
        .and_then(|r| r.rsplit_once(", expected "))
    {
        Some((got, want)) => {
            let got = match got.split([' ', '`', '"']).next().unwrap_or("") {
                "string" => "a string",
                "integer" | "floating" => "a number",
                "boolean" => "a boolean",
                "map" => "an object",
                "sequence" => "a list",
                "null" => "null",
                _ => "something else",
            };
            format!("expected {want}, got {got}")
        }
        None => msg.to_string(),
    };
    clean(&msg, 200)
}

/// Names a body that is not JSON: HTML, metrics exposition, binary, or text.
pub(super) fn describe(ct: Option<&str>, body: &[u8]) -> String {
    let ct = ct.unwrap_or("").to_ascii_lowercase();
    let head = &body[..body.len().min(SNIFF)];
    let lead = head.trim_ascii_start();
    let starts = |p: &[u8]| lead.len() >= p.len() && lead[..p.len()].eq_ignore_ascii_case(p);
    let size = fmt_size(body.len());
    if ct.starts_with("text/html") || starts(b"<!doctype") || starts(b"<html") || starts(b"<head") {
        return match html_title(head) {
            Some(t) => format!("not a Prometheus API response (HTML, {size}) titled \"{t}\""),
            None => format!("not a Prometheus API response (HTML, {size})"),
        };
    }
    let exposition = ct.starts_with("application/openmetrics-text")
        || (ct.starts_with("text/plain") && ct.contains("version=0.0.4"))
        || head
            .split(|&b| b == b'\n')
            .take(200)
            .any(|l| l.starts_with(b"# HELP ") || l.starts_with(b"# TYPE "));
    if exposition {
        return EXPOSITION.into();
    }
    // masked whole before its first line is taken (a secret may be split
    // across the line break)
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !mostly_control(t))
        .map(crate::text::redact::redact);
    let line = text
        .as_deref()
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()));
    match line.map(|l| clean(l, 200)).filter(|l| !l.is_empty()) {
        Some(l) => l,
        None => format!("not a Prometheus API response (binary, {size})"),
    }
}

fn mostly_control(text: &str) -> bool {
    let (mut n, mut ctl) = (0usize, 0usize);
    for c in text.chars().take(4096) {
        n += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{1b}') {
            ctl += 1;
        }
    }
    ctl * 10 > n
}

fn html_title(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let find = |from: usize, pat: &[u8]| {
        lower
            .get(from..)?
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|i| i + from)
    };
    let open = find(0, b"<title")?;
    let text_start = open + lower[open..].iter().position(|&b| b == b'>')? + 1;
    let text_end = find(text_start, b"</title")?;
    let raw = String::from_utf8_lossy(&head[text_start..text_end]);
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text, |t, (from, to)| t.replace(from, to));
    Some(clean(&text, 60)).filter(|t| !t.is_empty())
}

/// "512 B", "1.2 KiB", "16.0 MiB".
pub(super) fn fmt_size(n: usize) -> String {
    const KIB: f64 = 1024.0;
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / KIB),
        _ => format!("{:.1} MiB", n as f64 / (KIB * KIB)),
    }
}

/// Drops control characters and whole ESC / C1 sequences (tabs and newlines
/// become spaces), trims, and keeps at most `max` chars (the last one an ellipsis).
pub(super) fn clean(s: &str, max: usize) -> String {
    // secrets are masked before anything is cut: a cut secret would no
    // longer match, and its first half would be shown; the one sanitiser
    // (whole sequences out, a stray introducer alone, tabs and newlines as
    // spaces) then makes it fit for the screen
    let s = crate::text::redact::redact(s);
    let s = crate::text::sanitize(&s);
    let mut out = String::new();
    for (n, c) in s.trim().chars().enumerate() {
        if n == max {
            out.pop();
            out.push('…');
            break;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}
