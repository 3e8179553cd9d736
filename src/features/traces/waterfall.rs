//! The waterfall as rows of text: the span tree indented, each span's
//! service and operation, its duration in human units and a bar on the
//! trace's shared time axis; errors marked `✗` with their status message,
//! the critical path `◆`, orphans `⚠`, clock skew `~`. Only the rows asked
//! for are laid out (a trace of 100,000 spans scrolls a window of it).
//! Every text from the backend goes through the sanitiser and redactor.

use super::tree::Trace;
use crate::text::display;
use crate::text::units::{fit_middle, format_duration};

/// One laid-out span.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index in `Trace::spans`.
    pub span: usize,
    /// Indent, markers, `service: operation`, cut to the label width.
    pub label: String,
    pub duration: String,
    /// The bar, `bar_width` cells: ' ' before and after, '█' over the span
    /// ('▏' when it is shorter than a cell).
    pub bar: String,
    pub error: bool,
    pub critical: bool,
}

/// Widths of the three columns for a line `width` cells wide.
pub fn columns(width: usize) -> (usize, usize, usize) {
    let dur = 8;
    let label = (width * 2 / 5)
        .clamp(16, 70)
        .min(width.saturating_sub(dur + 4));
    let bar = width.saturating_sub(label + dur + 2).max(1);
    (label, dur, bar)
}

/// The rows of these spans (indices into `Trace::spans`, in the order
/// shown).
pub fn rows(t: &Trace, width: usize, spans: &[usize]) -> Vec<Row> {
    let (label_w, _, bar_w) = columns(width);
    let total = t.duration_ns().max(1) as f64;
    spans
        .iter()
        .map(|&i| {
            let s = &t.spans[i];
            let r = &s.raw;
            let mut marks = String::new();
            for (on, m) in [
                (s.critical, '◆'),
                (r.error, '✗'),
                (s.orphan, '⚠'),
                (s.skewed, '~'),
            ] {
                if on {
                    marks.push(m);
                }
            }
            let indent = "  ".repeat((s.depth as usize).min(label_w / 4));
            let text = format!(
                "{indent}{}{}{}: {}",
                marks,
                if marks.is_empty() { "" } else { " " },
                display(&r.service),
                display(&r.name)
            );
            let a = ((r.start_ns - t.start_ns) as f64 / total * bar_w as f64) as usize;
            let b = ((r.start_ns + r.dur_ns - t.start_ns) as f64 / total * bar_w as f64) as usize;
            let (a, b) = (a.min(bar_w.saturating_sub(1)), b.min(bar_w));
            let mut bar = String::with_capacity(bar_w * 3);
            for c in 0..bar_w {
                bar.push(match (c == a, b <= a, c >= a && c < b) {
                    // shorter than a cell
                    (true, true, _) => '▏',
                    (_, _, true) => '█',
                    _ => ' ',
                });
            }
            Row {
                span: i,
                label: fit_middle(&text, label_w),
                duration: format_duration(r.dur_ns as f64 / 1e9),
                bar,
                error: r.error,
                critical: s.critical,
            }
        })
        .collect()
}

/// The axis line over the bars: the start, three quarters and the end.
pub fn axis(t: &Trace, width: usize) -> String {
    let (label_w, dur_w, bar_w) = columns(width);
    let mut line: Vec<char> = vec![' '; bar_w];
    let total = t.duration_ns() as f64 / 1e9;
    // the end first (right-aligned), then the start and the quarters where
    // they fit with a blank between labels
    let mut taken: Vec<(usize, usize)> = vec![];
    for q in [4, 0, 2, 1, 3] {
        let text = format_duration(total * q as f64 / 4.0);
        let len = text.chars().count();
        let at = (bar_w.saturating_sub(1) * q / 4).min(bar_w.saturating_sub(len));
        if taken.iter().any(|&(a, b)| at < b + 1 && a < at + len + 1) {
            continue;
        }
        taken.push((at, at + len));
        for (k, ch) in text.chars().enumerate() {
            if let Some(c) = line.get_mut(at + k) {
                *c = ch;
            }
        }
    }
    format!(
        "{:label_w$} {:>dur_w$} {}",
        "",
        "",
        line.into_iter().collect::<String>()
    )
}

/// The trace as text (`--trace ID --once`): a title, the axis, every row
/// (at most `max_rows`, then how many more), and each error's message.
pub fn text(t: &Trace, width: usize, max_rows: usize) -> String {
    let (label_w, dur_w, _) = columns(width);
    let services = t.services();
    let title = format!(
        "trace {}  {}  {} spans  {} services  {} errors{}",
        t.id,
        format_duration(t.duration_ns() as f64 / 1e9),
        t.spans.len(),
        services.len(),
        t.errors(),
        if t.partial { "  (partial)" } else { "" }
    );
    let mut out: String = title.chars().take(width).collect();
    out.push('\n');
    for w in &t.warnings {
        out.push_str(&format!("warning: {}\n", display(w)));
    }
    out.push_str(&axis(t, width));
    out.push('\n');
    for r in rows(t, width, &t.order[..t.order.len().min(max_rows)]) {
        out.push_str(&format!(
            "{:label_w$} {:>dur_w$} {}\n",
            r.label,
            r.duration,
            r.bar,
            label_w = label_w,
            dur_w = dur_w
        ));
    }
    if t.order.len() > max_rows {
        out.push_str(&format!("… {} more spans\n", t.order.len() - max_rows));
    }
    for &i in &t.order {
        let r = &t.spans[i].raw;
        if r.error {
            out.push_str(&format!(
                "✗ {}: {}: {}\n",
                display(&r.service),
                display(&r.name),
                display(r.status.as_deref().unwrap_or("error"))
            ));
        }
    }
    out
}
